//! `modelgate.yaml`: the raw serde shapes (a public contract, so key names
//! never change silently) and their validated form, which is all the engine
//! ever sees. Paths in the validated form are resolved against the config
//! file's directory, so the engine never depends on the working directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::error::{Error, Result};

/// Every key the config accepts, so a typo can be answered with a suggestion.
const KNOWN_KEYS: &[&str] = &[
    "model",
    "holdout",
    "candidate",
    "production",
    "metrics",
    "path",
    "label",
    "id",
    "amount",
    "positive",
    "scores",
    "column",
    "join_on",
    "threshold",
    "at_fpr",
    "reference",
    "gates",
    "uses",
    "severity",
    "timeout",
    "memory",
    "with",
    "linfa",
    "onnx",
    "xgboost",
    "lightgbm",
    "features",
    "registry",
    "kind",
    "repository",
    "token_env",
    "promote",
    "dispatch",
    "event_type",
    "webhooks",
    "url",
    "secret_env",
    "lineage",
    "training_data",
    "params",
];

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The model's registry name: letters, digits, `-`, `_` and `.`.
    #[serde(deserialize_with = "model_name")]
    model: String,
    /// The labelled holdout both models are scored on.
    holdout: RawHoldout,
    /// The model to gate: `scores`, `onnx`, `xgboost`, `lightgbm` or `linfa`.
    candidate: RawModel,
    /// What the candidate is compared with; `registry: production` for the registry's alias.
    production: Option<RawModel>,
    /// Operating threshold and reported false-positive rates.
    #[serde(default)]
    metrics: RawMetrics,
    /// Reference data for data checks and drift (default `lineage.training_data`).
    reference: Option<RawReference>,
    /// WebAssembly quality gates, run in a sandbox; any failure blocks promotion.
    #[serde(default)]
    gates: Vec<RawGate>,
    /// Where versions and the production alias live (default: a local directory).
    registry: Option<RawRegistry>,
    /// Deploy triggers fired after production moves.
    promote: Option<RawPromote>,
    /// What each version records about the data and parameters that made it.
    lineage: Option<RawLineage>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[serde(default)]
    kind: RegistryKind,
    path: Option<PathBuf>,
    repository: Option<String>,
    token_env: Option<String>,
}

/// Which registry backend holds the versions and the production alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryKind {
    /// A directory; the default, and what dry-runs and tests use.
    #[default]
    Local,
    /// GitHub Releases and tags.
    Github,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPromote {
    dispatch: Option<RawDispatch>,
    #[serde(default)]
    webhooks: Vec<RawWebhook>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawDispatch {
    event_type: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    secret_env: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLineage {
    training_data: Option<DataPath>,
    /// A map of training parameters, or the path of a JSON/YAML file.
    #[schemars(with = "Option<serde_json::Value>")]
    params: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawReference {
    path: DataPath,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawGate {
    uses: String,
    id: Option<String>,
    #[serde(default)]
    severity: Severity,
    /// Time limit, e.g. `10s`, `500ms`, `2m` (default 10s).
    #[serde(default, deserialize_with = "duration")]
    #[schemars(with = "Option<UnitText>")]
    timeout: Option<Duration>,
    /// Memory limit, e.g. `512MiB`, `1GiB` (default 512MiB).
    #[serde(default, deserialize_with = "byte_size")]
    #[schemars(with = "Option<UnitText>")]
    memory: Option<u64>,
    /// The gate's own settings (see `modelgate gate inspect`).
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    with: Option<serde_yaml::Value>,
}

/// Whether a failing gate blocks promotion.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A `fail` verdict blocks promotion (the default).
    #[default]
    Fail,
    /// A `fail` verdict is reported but does not block. Errors still block.
    Warn,
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((t, ""), |i| t.split_at(i));
    let n: f64 = num.trim().parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" | "min" => n * 60.0,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0 && secs <= 3600.0).then(|| Duration::from_secs_f64(secs))
}

/// Parses `512MiB`, `1GiB`, `64MB`, `1048576` (bytes).
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((t, ""), |i| t.split_at(i));
    let n: f64 = num.trim().parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    let bytes = n * mult;
    (1.0..=64.0 * 1024.0 * 1024.0 * 1024.0)
        .contains(&bytes)
        .then_some(bytes as u64)
}

/// In the JSON Schema: a duration or size, as text or a bare number.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only describes the schema; values are parsed by `duration`/`byte_size`.
enum UnitText {
    Text(String),
    Number(f64),
}

/// A string or number from YAML as text, for the unit parsers.
fn scalar_text<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) => s,
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn duration<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Duration>, D::Error> {
    let text = scalar_text(d)?;
    parse_duration(&text).map(Some).ok_or_else(|| {
        de::Error::custom(format!(
            "`{text}` is not a duration; expected e.g. 10s, 500ms or 2m (at most 1 hour)"
        ))
    })
}

fn byte_size<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let text = scalar_text(d)?;
    parse_byte_size(&text).map(Some).ok_or_else(|| {
        de::Error::custom(format!(
            "`{text}` is not a memory size; expected e.g. 512MiB or 1GiB"
        ))
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawHoldout {
    path: DataPath,
    label: String,
    id: Option<String>,
    amount: Option<String>,
    positive: Option<LabelValue>,
}

/// A model reference. Only one source key may be set; later formats (ONNX,
/// trees, linfa, the registry) become further optional keys here and further
/// variants of [`ModelRef`].
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawModel {
    scores: Option<RawScores>,
    linfa: Option<RawArtifact>,
    onnx: Option<RawArtifact>,
    xgboost: Option<RawArtifact>,
    lightgbm: Option<RawArtifact>,
    /// `production` (or another alias) of the configured registry.
    registry: Option<String>,
    features: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawArtifact {
    path: PathBuf,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawScores {
    column: String,
    path: Option<DataPath>,
    join_on: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    #[serde(default = "default_threshold")]
    threshold: Threshold,
    #[serde(default = "default_at_fpr", deserialize_with = "rates")]
    at_fpr: Vec<f64>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            threshold: default_threshold(),
            at_fpr: default_at_fpr(),
        }
    }
}

fn default_threshold() -> Threshold {
    Threshold::Fixed(0.5)
}

fn default_at_fpr() -> Vec<f64> {
    vec![0.001, 0.01]
}

/// The value of the label column that marks the positive (fraud) class.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum LabelValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl fmt::Display for LabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelValue::Bool(b) => write!(f, "{b}"),
            LabelValue::Int(i) => write!(f, "{i}"),
            LabelValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// The operating threshold: a fixed score, or the score at which each model
/// reaches a false-positive rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Fixed(f64),
    AtFpr(f64),
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number such as 0.5, or a map `{ at_fpr: 0.01 }`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Threshold, E> {
                Ok(Threshold::Fixed(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Threshold, E> {
                Ok(Threshold::Fixed(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Threshold, E> {
                Ok(Threshold::Fixed(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Threshold, A::Error> {
                let mut at = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "at_fpr" && at.is_none() {
                        at = Some(check_rate(map.next_value::<f64>()?)?);
                    } else if key == "at_fpr" {
                        return Err(de::Error::duplicate_field("at_fpr"));
                    } else {
                        return Err(de::Error::unknown_field(&key, &["at_fpr"]));
                    }
                }
                at.map(Threshold::AtFpr)
                    .ok_or_else(|| de::Error::missing_field("at_fpr"))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Threshold {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Threshold".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A fixed score threshold, or `{ at_fpr: r }`: each model's threshold at that false-positive rate.",
            "anyOf": [
                { "type": "number" },
                {
                    "type": "object",
                    "properties": { "at_fpr": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 } },
                    "required": ["at_fpr"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Checks that a false-positive rate lies strictly inside (0, 1). Done while
/// parsing, so the error carries the value's line and column.
fn check_rate<E: de::Error>(v: f64) -> std::result::Result<f64, E> {
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(E::custom(format!(
            "{v} is not a rate strictly between 0 and 1"
        )))
    }
}

/// One rate of a list, so an error names its index.
struct Rate(f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        check_rate(f64::deserialize(d)?).map(Rate)
    }
}

fn rates<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    Ok(Vec::<Rate>::deserialize(d)?
        .into_iter()
        .map(|r| r.0)
        .collect())
}

/// A data file path whose format is known from its name, checked while
/// parsing so the error points at the line.
#[derive(Debug, Clone)]
struct DataPath(PathBuf, DataFormat);

impl<'de> Deserialize<'de> for DataPath {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let p = PathBuf::deserialize(d)?;
        match DataFormat::from_path(&p) {
            Some(f) => Ok(DataPath(p, f)),
            None => Err(de::Error::custom(format!(
                "path `{}`: cannot tell the file format from its name; expected {}",
                p.display(),
                DataFormat::EXPECTED
            ))),
        }
    }
}

impl schemars::JsonSchema for DataPath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DataPath".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A data file, relative to the config file: .parquet, .csv, .csv.gz, .ndjson or .jsonl.",
            "type": "string",
            "pattern": "\\.(parquet|pq|csv|csv\\.gz|ndjson|jsonl|PARQUET|PQ|CSV|CSV\\.GZ|NDJSON|JSONL)$"
        })
    }
}

/// The JSON Schema of `modelgate.yaml`, generated from the types that parse
/// it, so editors and the parser always agree.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), "modelgate.yaml".into());
        o.insert(
            "$id".into(),
            "https://github.com/modelgate/modelgate/modelgate.schema.json".into(),
        );
    }
    schema
}

/// A registry name, checked while parsing.
fn model_name<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(de::Error::custom(format!(
            "`{name}` is not a valid registry name; use letters, digits, `-`, `_` and `.`"
        )))
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file itself, for error messages and relative paths.
    pub file: PathBuf,
    pub model: String,
    pub holdout: HoldoutSpec,
    pub candidate: ModelRef,
    pub production: Option<ModelRef>,
    pub metrics: MetricsSpec,
    /// Training or reference data for data checks and drift.
    pub reference: Option<ReferenceSpec>,
    pub gates: Vec<GateSpec>,
    pub registry: RegistrySpec,
    pub promote: PromoteSpec,
    pub lineage: LineageSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistrySpec {
    pub kind: RegistryKind,
    /// Local registry directory (resolved).
    pub path: PathBuf,
    /// `owner/repo`; `None` means `$GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// The environment variable holding the token (`GITHUB_TOKEN` by default).
    pub token_env: String,
}

/// The default local registry, relative to the config file.
pub const DEFAULT_REGISTRY_DIR: &str = ".modelgate/registry";

impl RegistrySpec {
    /// The local default next to `dir`.
    pub fn local_default(dir: &Path) -> RegistrySpec {
        RegistrySpec {
            kind: RegistryKind::Local,
            path: dir.join(DEFAULT_REGISTRY_DIR),
            repository: None,
            token_env: "GITHUB_TOKEN".into(),
        }
    }
}

/// What happens after the alias moves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromoteSpec {
    /// `repository_dispatch` event type; `None` sends none.
    pub dispatch: Option<String>,
    pub webhooks: Vec<WebhookSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSpec {
    pub url: String,
    /// Environment variable with the HMAC secret; unsigned when absent.
    pub secret_env: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineageSpec {
    pub training_data: Option<ReferenceSpec>,
    pub params: LineageParams,
}

/// Training parameters for the lineage: inline, or a JSON/YAML file the
/// training job writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LineageParams {
    #[default]
    None,
    Inline(serde_json::Value),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSpec {
    pub path: PathBuf,
    pub format: DataFormat,
}

/// Default time limit of a gate.
pub const DEFAULT_GATE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default memory limit of a gate.
pub const DEFAULT_GATE_MEMORY: u64 = 512 << 20;

/// One configured gate.
#[derive(Debug, Clone)]
pub struct GateSpec {
    /// The `uses:` text as written.
    pub uses: String,
    pub source: GateSource,
    pub id: Option<String>,
    pub severity: Severity,
    pub timeout: Duration,
    pub memory: u64,
    /// The `with:` map as JSON (`{}` when absent).
    pub with: serde_json::Value,
}

/// Where a gate's component comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum GateSource {
    /// `builtin:<name>`: embedded in the binary.
    Builtin(String),
    /// A `.wasm` file, resolved against the config file's directory.
    File(PathBuf),
}

impl GateSource {
    /// Parses a `uses:` value; a relative path is taken from `dir`.
    pub fn parse(dir: &Path, uses: &str) -> GateSource {
        match uses.strip_prefix("builtin:") {
            Some(name) => GateSource::Builtin(name.to_string()),
            None => GateSource::File(dir.join(uses)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HoldoutSpec {
    pub path: PathBuf,
    pub format: DataFormat,
    pub label: String,
    pub id: Option<String>,
    pub amount: Option<String>,
    pub positive: Option<LabelValue>,
}

/// Where a model's scores come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRef {
    Scores(ScoreSource),
    /// A model file scored natively.
    Artifact(ArtifactRef),
    /// An alias of the configured registry, resolved to an artifact before
    /// evaluation.
    Registry {
        alias: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactRef {
    pub format: ArtifactFormat,
    pub path: PathBuf,
    /// Feature columns in the model's input order; `None` uses the model's own.
    pub features: Option<Vec<String>>,
}

/// A model file format modelgate can score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactFormat {
    /// `modelgate.model.linfa/v1` JSON, written by `modelgate train`.
    Linfa,
    /// ONNX (skl2onnx, onnxmltools exports).
    Onnx,
    /// XGBoost `save_model` JSON or UBJ.
    Xgboost,
    /// LightGBM `save_model` text.
    Lightgbm,
}

impl ArtifactFormat {
    pub const ALL: [ArtifactFormat; 4] = [
        ArtifactFormat::Linfa,
        ArtifactFormat::Onnx,
        ArtifactFormat::Xgboost,
        ArtifactFormat::Lightgbm,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ArtifactFormat::Linfa => "linfa",
            ArtifactFormat::Onnx => "onnx",
            ArtifactFormat::Xgboost => "xgboost",
            ArtifactFormat::Lightgbm => "lightgbm",
        }
    }

    pub fn from_key(key: &str) -> Option<ArtifactFormat> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// A guess from the file name, for `--model-file`.
    pub fn guess(path: &Path) -> Option<ArtifactFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".linfa.json") || name.ends_with(".linfa") {
            Some(ArtifactFormat::Linfa)
        } else if name.ends_with(".onnx") {
            Some(ArtifactFormat::Onnx)
        } else if name.ends_with(".ubj") || name.ends_with(".json") {
            Some(ArtifactFormat::Xgboost)
        } else if name.ends_with(".txt") {
            Some(ArtifactFormat::Lightgbm)
        } else {
            None
        }
    }
}

/// Refuses pickle-based files: loading one runs arbitrary code.
pub fn refuse_pickle(path: &Path) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if [".pkl", ".pickle", ".joblib", ".sav"]
        .iter()
        .any(|ext| name.ends_with(ext))
    {
        return Err(Error::Model {
            path: path.to_path_buf(),
            message: "pickle and joblib files are refused: unpickling executes arbitrary code from the file. Export the model instead, e.g. `skl2onnx.to_onnx(model, X[:1].astype(numpy.float32), options={\"zipmap\": False})`, or train it with `modelgate train`".into(),
        });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScoreSource {
    /// A column of the holdout itself.
    Column(String),
    /// A column of another file, joined one-to-one on an id.
    File {
        path: PathBuf,
        format: DataFormat,
        column: String,
        join_on: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSpec {
    pub threshold: Threshold,
    pub at_fpr: Vec<f64>,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            threshold: default_threshold(),
            at_fpr: default_at_fpr(),
        }
    }
}

/// A tabular file format, inferred from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Parquet,
    Csv,
    CsvGz,
    NdJson,
}

impl DataFormat {
    pub const EXPECTED: &'static str = ".parquet, .csv, .csv.gz or .ndjson (.jsonl)";

    pub fn from_path(path: &Path) -> Option<DataFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(DataFormat::Parquet)
        } else if name.ends_with(".csv.gz") {
            Some(DataFormat::CsvGz)
        } else if name.ends_with(".csv") {
            Some(DataFormat::Csv)
        } else if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Some(DataFormat::NdJson)
        } else {
            None
        }
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(file: &Path) -> Result<Config> {
        let text =
            std::fs::read_to_string(file).map_err(|e| Error::io("cannot read config", file, e))?;
        Config::parse(file, &text)
    }

    /// Parses config text; `file` names it in errors and anchors relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Config> {
        let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| yaml_error(file, &e))?;
        validate(file, raw)
    }
}

fn config_error(file: &Path, message: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        line: None,
        column: None,
        message: message.into(),
    }
}

fn yaml_error(file: &Path, e: &serde_yaml::Error) -> Error {
    let (line, column) = match e.location() {
        Some(loc) => (Some(loc.line()), Some(loc.column())),
        None => (None, None),
    };
    // serde_yaml appends " at line L column C"; we print the location ourselves.
    let mut message = e.to_string();
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    Error::Config {
        file: file.to_path_buf(),
        line,
        column,
        message: humanise_serde_message(&message),
    }
}

/// Rewrites serde's "unknown field" wording into the config's vocabulary and
/// adds a "did you mean" suggestion when a known key is close.
fn humanise_serde_message(message: &str) -> String {
    // serde_yaml prefixes the key path, e.g. "metrics: unknown field ...".
    let Some(at) = message.find("unknown field `") else {
        return message.to_string();
    };
    let prefix = &message[..at];
    let rest = &message[at + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return message.to_string();
    };
    let key = &rest[..end];
    let expected: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
    let candidates: &[&str] = if expected.is_empty() {
        KNOWN_KEYS
    } else {
        &expected
    };
    let best = candidates
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.len() / 3));
    match best {
        Some((_, k)) => format!("{prefix}unknown key `{key}`, did you mean `{k}`?"),
        None if !expected.is_empty() => {
            format!(
                "{prefix}unknown key `{key}`, expected one of: {}",
                expected.join(", ")
            )
        }
        None => format!("{prefix}unknown key `{key}`"),
    }
}

/// Levenshtein distance; keys are short, so the quadratic version is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn resolve(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn validate(file: &Path, raw: RawConfig) -> Result<Config> {
    for (key, value) in [
        ("holdout.label", Some(&raw.holdout.label)),
        ("holdout.id", raw.holdout.id.as_ref()),
        ("holdout.amount", raw.holdout.amount.as_ref()),
    ] {
        if value.is_some_and(|v| v.is_empty()) {
            return Err(config_error(
                file,
                format!("{key}: the column name is empty"),
            ));
        }
    }
    let holdout = HoldoutSpec {
        format: raw.holdout.path.1,
        path: resolve(file, &raw.holdout.path.0),
        label: raw.holdout.label,
        id: raw.holdout.id,
        amount: raw.holdout.amount,
        positive: raw.holdout.positive,
    };
    let candidate = model_ref(file, "candidate", raw.candidate, &holdout)?;
    let production = raw
        .production
        .map(|m| model_ref(file, "production", m, &holdout))
        .transpose()?;
    let metrics = MetricsSpec {
        threshold: raw.metrics.threshold,
        at_fpr: raw.metrics.at_fpr,
    };
    if let Threshold::Fixed(t) = metrics.threshold
        && !t.is_finite()
    {
        return Err(config_error(
            file,
            "metrics.threshold: expected a finite number",
        ));
    }
    let lineage = LineageSpec {
        training_data: raw
            .lineage
            .as_ref()
            .and_then(|l| l.training_data.as_ref())
            .map(|p| ReferenceSpec {
                path: resolve(file, &p.0),
                format: p.1,
            }),
        params: match raw.lineage.and_then(|l| l.params) {
            None => LineageParams::None,
            Some(serde_yaml::Value::String(p)) => LineageParams::File(resolve(file, Path::new(&p))),
            Some(v @ serde_yaml::Value::Mapping(_)) => {
                LineageParams::Inline(serde_json::to_value(&v).map_err(|e| {
                    config_error(
                        file,
                        format!("lineage.params: cannot be expressed as JSON: {e}"),
                    )
                })?)
            }
            Some(_) => {
                return Err(config_error(
                    file,
                    "lineage.params: expected a map of parameters or the path of a JSON/YAML file",
                ));
            }
        },
    };
    // The data that trained the model is the natural reference for data
    // checks and drift, unless another is named.
    let reference = raw
        .reference
        .map(|r| ReferenceSpec {
            path: resolve(file, &r.path.0),
            format: r.path.1,
        })
        .or_else(|| lineage.training_data.clone());
    let dir = file.parent().unwrap_or(Path::new("."));
    let registry = match raw.registry {
        None => RegistrySpec::local_default(dir),
        Some(r) => {
            if r.kind == RegistryKind::Github && r.path.is_some() {
                return Err(config_error(
                    file,
                    "registry.path: only for `kind: local`; a GitHub registry lives in `repository`",
                ));
            }
            if r.kind == RegistryKind::Local && r.repository.is_some() {
                return Err(config_error(
                    file,
                    "registry.repository: only for `kind: github`",
                ));
            }
            if let Some(repo) = &r.repository
                && !valid_repository(repo)
            {
                return Err(config_error(
                    file,
                    format!("registry.repository: `{repo}` is not `owner/name`"),
                ));
            }
            RegistrySpec {
                kind: r.kind,
                path: resolve(
                    file,
                    r.path.as_deref().unwrap_or(Path::new(DEFAULT_REGISTRY_DIR)),
                ),
                repository: r.repository,
                token_env: r.token_env.unwrap_or_else(|| "GITHUB_TOKEN".into()),
            }
        }
    };
    let promote = match raw.promote {
        None => PromoteSpec::default(),
        Some(p) => {
            let dispatch = p
                .dispatch
                .map(|d| d.event_type.unwrap_or_else(|| "model-promoted".into()));
            if let Some(e) = &dispatch
                && (e.is_empty() || e.chars().count() > 100)
            {
                return Err(config_error(
                    file,
                    "promote.dispatch.event_type: must be 1 to 100 characters (GitHub's limit)",
                ));
            }
            let mut webhooks = Vec::new();
            for (i, w) in p.webhooks.into_iter().enumerate() {
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    return Err(config_error(
                        file,
                        format!(
                            "promote.webhooks[{i}].url: `{}` is not an http(s) URL",
                            w.url
                        ),
                    ));
                }
                webhooks.push(WebhookSpec {
                    url: w.url,
                    secret_env: w.secret_env,
                });
            }
            PromoteSpec { dispatch, webhooks }
        }
    };
    let mut gates = Vec::with_capacity(raw.gates.len());
    for (i, g) in raw.gates.into_iter().enumerate() {
        let with = match g.with {
            None => serde_json::Value::Object(Default::default()),
            Some(v) => serde_json::to_value(&v).map_err(|e| {
                config_error(
                    file,
                    format!("gates[{i}].with: cannot be expressed as JSON: {e}"),
                )
            })?,
        };
        if !with.is_object() {
            return Err(config_error(
                file,
                format!("gates[{i}].with: expected a map of settings"),
            ));
        }
        if g.uses.trim().is_empty() {
            return Err(config_error(
                file,
                format!(
                    "gates[{i}].uses: empty; expected `builtin:<name>` or a path to a .wasm file"
                ),
            ));
        }
        if let Some(id) = &g.id
            && (id.is_empty() || id.chars().any(|c| c.is_whitespace()))
        {
            return Err(config_error(
                file,
                format!("gates[{i}].id: `{id}` must be non-empty without spaces"),
            ));
        }
        gates.push(GateSpec {
            source: GateSource::parse(file.parent().unwrap_or(Path::new(".")), &g.uses),
            uses: g.uses,
            id: g.id,
            severity: g.severity,
            timeout: g.timeout.unwrap_or(DEFAULT_GATE_TIMEOUT),
            memory: g.memory.unwrap_or(DEFAULT_GATE_MEMORY),
            with,
        });
    }
    Ok(Config {
        file: file.to_path_buf(),
        model: raw.model,
        holdout,
        candidate,
        production,
        metrics,
        reference,
        gates,
        registry,
        promote,
        lineage,
    })
}

/// `owner/name` with GitHub's allowed characters.
pub fn valid_repository(repo: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((o, n)) if ok(o) && ok(n))
}

const MODEL_KEYS: &str =
    "`scores`, `onnx`, `xgboost`, `lightgbm`, `linfa`, or `registry: production`";

fn model_ref(file: &Path, key: &str, raw: RawModel, holdout: &HoldoutSpec) -> Result<ModelRef> {
    let given: Vec<&str> = [
        ("scores", raw.scores.is_some()),
        ("linfa", raw.linfa.is_some()),
        ("onnx", raw.onnx.is_some()),
        ("xgboost", raw.xgboost.is_some()),
        ("lightgbm", raw.lightgbm.is_some()),
        ("registry", raw.registry.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if given.len() > 1 {
        return Err(config_error(
            file,
            format!(
                "{key}: several model sources given ({}); choose one",
                given.join(", ")
            ),
        ));
    }
    if let Some(features) = &raw.features
        && (features.is_empty() || features.iter().any(|f| f.is_empty()))
    {
        return Err(config_error(
            file,
            format!("{key}.features: expected a non-empty list of column names"),
        ));
    }
    for (format, a) in [
        (ArtifactFormat::Linfa, raw.linfa),
        (ArtifactFormat::Onnx, raw.onnx),
        (ArtifactFormat::Xgboost, raw.xgboost),
        (ArtifactFormat::Lightgbm, raw.lightgbm),
    ] {
        if let Some(a) = a {
            let path = resolve(file, &a.path);
            refuse_pickle(&path)?;
            return Ok(ModelRef::Artifact(ArtifactRef {
                format,
                path,
                features: raw.features,
            }));
        }
    }
    if let Some(alias) = raw.registry {
        if alias != "production" {
            return Err(config_error(
                file,
                format!("{key}.registry: `{alias}` is not an alias; the registry has `production`"),
            ));
        }
        return Ok(ModelRef::Registry { alias });
    }
    if raw.features.is_some() {
        return Err(config_error(
            file,
            format!("{key}.features: only meaningful for a model file"),
        ));
    }
    let Some(scores) = raw.scores else {
        return Err(config_error(
            file,
            format!("{key}: no model given; expected one of {MODEL_KEYS}"),
        ));
    };
    if scores.column.is_empty() {
        return Err(config_error(
            file,
            format!("{key}.scores.column: the column name is empty"),
        ));
    }
    let source = match scores.path {
        None => {
            if scores.join_on.is_some() {
                return Err(config_error(
                    file,
                    format!(
                        "{key}.scores.join_on: only meaningful with `path` (an external score file)"
                    ),
                ));
            }
            ScoreSource::Column(scores.column)
        }
        Some(path) => {
            let join_on = scores.join_on.or_else(|| holdout.id.clone()).ok_or_else(|| {
                config_error(
                    file,
                    format!(
                        "{key}.scores: an external score file needs `join_on` (or `holdout.id`) to match its rows to the holdout"
                    ),
                )
            })?;
            if holdout.id.is_none() {
                return Err(config_error(
                    file,
                    format!(
                        "{key}.scores: an external score file needs `holdout.id`, the holdout's join key"
                    ),
                ));
            }
            ScoreSource::File {
                format: path.1,
                path: resolve(file, &path.0),
                column: scores.column,
                join_on,
            }
        }
    };
    Ok(ModelRef::Scores(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/cfg/modelgate.yaml"), text)
    }

    const BASE: &str = "model: fraud\nholdout:\n  path: h.parquet\n  label: y\ncandidate:\n  scores: { column: s }\n";

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let c = parse(BASE).unwrap();
        assert_eq!(c.holdout.path, Path::new("/cfg/h.parquet"));
        assert_eq!(c.metrics, MetricsSpec::default());
        assert!(c.production.is_none());
        assert_eq!(
            c.candidate,
            ModelRef::Scores(ScoreSource::Column("s".into()))
        );
    }

    #[test]
    fn threshold_accepts_number_or_at_fpr_map() {
        let c = parse(&format!(
            "{BASE}metrics:\n  threshold: {{ at_fpr: 0.02 }}\n"
        ))
        .unwrap();
        assert_eq!(c.metrics.threshold, Threshold::AtFpr(0.02));
        let c = parse(&format!("{BASE}metrics:\n  threshold: 1\n")).unwrap();
        assert_eq!(c.metrics.threshold, Threshold::Fixed(1.0));
        let e = parse(&format!("{BASE}metrics:\n  threshold: {{ at_fpr: 2 }}\n")).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains(":8:14: metrics.threshold: 2 is not a rate"),
            "{e}"
        );
        let e = parse(&format!("{BASE}metrics:\n  at_fpr: [0.01, 0]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("metrics.at_fpr: 0 is not a rate"), "{e}");
    }

    #[test]
    fn unknown_key_suggests_the_close_one_with_location() {
        let e = parse(&format!("{BASE}metrics:\n  treshold: 0.3\n"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/cfg/modelgate.yaml:8:3: "), "{e}");
        assert!(
            e.contains("unknown key `treshold`, did you mean `threshold`?"),
            "{e}"
        );
    }

    #[test]
    fn unknown_extension_is_a_config_error() {
        let e = parse(&BASE.replace("h.parquet", "h.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3:3: holdout: path `h.xlsx`") && e.contains(".parquet, .csv"),
            "{e}"
        );
    }

    #[test]
    fn external_scores_default_join_on_to_holdout_id() {
        let text = "model: m\nholdout: { path: h.csv.gz, label: y, id: tx }\ncandidate:\n  scores: { path: s.parquet, column: p }\n";
        let c = parse(text).unwrap();
        match c.candidate {
            ModelRef::Scores(ScoreSource::File {
                join_on, format, ..
            }) => {
                assert_eq!(join_on, "tx");
                assert_eq!(format, DataFormat::Parquet);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(c.holdout.format, DataFormat::CsvGz);
    }

    #[test]
    fn label_positive_accepts_strings_and_numbers() {
        let c = parse(&BASE.replace("label: y", "label: y\n  positive: fraud")).unwrap();
        assert_eq!(c.holdout.positive, Some(LabelValue::Text("fraud".into())));
        let c = parse(&BASE.replace("label: y", "label: y\n  positive: 2")).unwrap();
        assert_eq!(c.holdout.positive, Some(LabelValue::Int(2)));
    }

    #[test]
    fn gates_parse_with_limits_and_defaults() {
        let text = format!(
            "{BASE}reference: {{ path: train.parquet }}\ngates:\n  - uses: builtin:drift\n  - uses: ./g.wasm\n    id: mine\n    severity: warn\n    timeout: 500ms\n    memory: 64MiB\n    with: {{ a: 1 }}\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.reference.unwrap().path, Path::new("/cfg/train.parquet"));
        assert_eq!(c.gates[0].source, GateSource::Builtin("drift".into()));
        assert_eq!(c.gates[0].timeout, DEFAULT_GATE_TIMEOUT);
        assert_eq!(c.gates[1].source, GateSource::File("/cfg/./g.wasm".into()));
        assert_eq!(c.gates[1].severity, Severity::Warn);
        assert_eq!(c.gates[1].timeout, Duration::from_millis(500));
        assert_eq!(c.gates[1].memory, 64 << 20);
        assert_eq!(c.gates[1].with, serde_json::json!({"a": 1}));
        let e = parse(&format!(
            "{BASE}gates:\n  - uses: builtin:x\n    timeout: forever\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`forever` is not a duration"), "{e}");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_byte_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_byte_size("12 parsecs"), None);
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("treshold", "threshold"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
