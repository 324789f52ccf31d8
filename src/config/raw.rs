//! The raw serde shapes of `modelgate.yaml`: a public contract, so key
//! names never change silently. They parse the file, describe it (the JSON
//! Schema is generated from them, and the known keys behind "did you mean"
//! come from that schema), and [`super::validate`] turns them into the
//! validated types the engine sees.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::DataFormat;
use super::units::{UnitText, byte_size, duration};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// The model's registry name: letters, digits, `-`, `_` and `.`.
    #[serde(deserialize_with = "model_name")]
    pub(super) model: String,
    /// The labelled holdout both models are scored on.
    pub(super) holdout: RawHoldout,
    /// The model to gate: `scores`, `onnx`, `xgboost`, `lightgbm` or `linfa`.
    pub(super) candidate: RawModel,
    /// What the candidate is compared with; `registry: production` for the registry's alias.
    pub(super) production: Option<RawModel>,
    /// Operating threshold and reported false-positive rates.
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    /// The bootstrap behind every confidence interval and paired test.
    #[serde(default)]
    pub(super) stats: RawStats,
    /// What a false positive and a missed fraud cost, for the cost metrics.
    pub(super) cost: Option<RawCost>,
    /// Holdout columns to cut the metrics by (country, merchant category,
    /// amount bands), each model's metrics and the paired tests per segment.
    #[serde(default)]
    pub(super) segments: Vec<RawSegment>,
    /// Reference data for data checks and drift (default `lineage.training_data`).
    pub(super) reference: Option<RawReference>,
    /// WebAssembly quality gates, run in a sandbox; any failure blocks promotion.
    #[serde(default)]
    pub(super) gates: Vec<RawGate>,
    /// Where versions and the production alias live (default: a local directory).
    pub(super) registry: Option<RawRegistry>,
    /// Deploy triggers fired after production moves.
    pub(super) promote: Option<RawPromote>,
    /// What each version records about the data and parameters that made it.
    pub(super) lineage: Option<RawLineage>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    #[serde(default)]
    pub(super) kind: RegistryKind,
    pub(super) path: Option<PathBuf>,
    pub(super) repository: Option<String>,
    pub(super) token_env: Option<String>,
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
pub(super) struct RawPromote {
    pub(super) dispatch: Option<RawDispatch>,
    #[serde(default)]
    pub(super) webhooks: Vec<RawWebhook>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDispatch {
    pub(super) event_type: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) url: String,
    /// The variable holding the signing secret: `whsec_` + base64, as
    /// Standard Webhooks generates them.
    pub(super) secret_env: Option<String>,
    /// Also send the pre-0.2 `X-Modelgate-*` headers, for receivers not yet
    /// moved to Standard Webhooks (kept for one minor version).
    #[serde(default)]
    pub(super) legacy_headers: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLineage {
    pub(super) training_data: Option<DataPath>,
    /// A map of training parameters, or the path of a JSON/YAML file.
    #[schemars(with = "Option<serde_json::Value>")]
    pub(super) params: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReference {
    pub(super) path: DataPath,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub(super) uses: String,
    /// The component's sha256 (64 hex digits); required when `uses` is an
    /// `https://` URL: the download is accepted only with these bytes.
    pub(super) sha256: Option<String>,
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) severity: Severity,
    /// Time limit, e.g. `10s`, `500ms`, `2m` (default 10s).
    #[serde(default, deserialize_with = "duration")]
    #[schemars(with = "Option<UnitText>")]
    pub(super) timeout: Option<Duration>,
    /// Memory limit, e.g. `512MiB`, `1GiB` (default 512MiB).
    #[serde(default, deserialize_with = "byte_size")]
    #[schemars(with = "Option<UnitText>")]
    pub(super) memory: Option<u64>,
    /// The gate's own settings (see `modelgate gate inspect`).
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub(super) with: Option<serde_norway::Value>,
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHoldout {
    /// The holdout file (or `summary`).
    pub(super) path: Option<DataPath>,
    /// A `modelgate.summary/v1` directory, written by
    /// `spark/modelgate_summaries.py`, instead of `path`: for holdouts
    /// beyond one machine.
    pub(super) summary: Option<PathBuf>,
    pub(super) label: String,
    pub(super) id: Option<String>,
    pub(super) amount: Option<String>,
    /// Each row's sample weight (for example an inverse propensity): every
    /// metric, curve and interval counts a row by it.
    pub(super) weight: Option<String>,
    pub(super) positive: Option<LabelValue>,
}

/// A model reference. Only one source key may be set; later formats (ONNX,
/// trees, linfa, the registry) become further optional keys here and further
/// variants of [`ModelRef`].
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    pub(super) scores: Option<RawScores>,
    pub(super) linfa: Option<RawArtifact>,
    pub(super) onnx: Option<RawArtifact>,
    pub(super) xgboost: Option<RawArtifact>,
    pub(super) lightgbm: Option<RawArtifact>,
    /// `production` (or another alias) of the configured registry.
    pub(super) registry: Option<String>,
    pub(super) features: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArtifact {
    pub(super) path: PathBuf,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScores {
    pub(super) column: String,
    pub(super) path: Option<DataPath>,
    pub(super) join_on: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    #[serde(default = "default_threshold")]
    pub(super) threshold: Threshold,
    #[serde(default = "default_at_fpr", deserialize_with = "rates")]
    pub(super) at_fpr: Vec<f64>,
    /// How many alerts investigators can work: precision and recall when
    /// each model flags only that many.
    pub(super) alert_budget: Option<RawAlertBudget>,
}

/// `metrics.alert_budget`: `{ per_day: 500, timestamp: event_time }` or
/// `{ fraction: 0.005 }`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertBudget {
    /// Alerts per calendar day (UTC) of `timestamp`.
    pub(super) per_day: Option<u64>,
    /// The holdout column that dates each row (a date or datetime).
    pub(super) timestamp: Option<String>,
    /// The share of the holdout's rows flagged, in (0, 1].
    pub(super) fraction: Option<f64>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            threshold: default_threshold(),
            at_fpr: default_at_fpr(),
            alert_budget: None,
        }
    }
}

/// `cost:`: what each error costs.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCost {
    /// The cost of reviewing or declining one legitimate transaction.
    pub(super) false_positive: f64,
    /// A missed fraud's cost: `amount` (its `holdout.amount`) or a number.
    pub(super) false_negative: RawMissCost,
}

/// One `segments:` entry: a holdout column whose values (or bins) cut the
/// holdout into segments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSegment {
    /// The holdout column.
    pub(super) column: String,
    /// Bin edges for a numeric column, ascending (`.inf` allowed): bin i is
    /// `[edges[i], edges[i+1])`. Without bins, each distinct value is a
    /// segment.
    pub(super) bins: Option<Vec<f64>>,
    /// Segments with fewer positives are reported as too small and not
    /// judged (default 30).
    pub(super) min_positives: Option<u64>,
}

/// `amount`, or a constant cost per missed fraud.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(super) enum RawMissCost {
    Each(f64),
    Column(String),
}

/// `stats:`: how intervals and paired tests are computed.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStats {
    /// Bootstrap resamples (0 turns the bootstrap off: ROC AUC and the
    /// losses keep their closed-form tests, other metrics get none).
    #[serde(default = "default_resamples")]
    pub(super) bootstrap: u32,
    /// Seed of the resamples: the same seed gives the same intervals.
    #[serde(default = "default_seed")]
    pub(super) seed: u64,
    /// Confidence level of every interval, between 0.5 and 1.
    #[serde(default = "default_confidence")]
    pub(super) confidence: f64,
}

impl Default for RawStats {
    fn default() -> Self {
        RawStats {
            bootstrap: default_resamples(),
            seed: default_seed(),
            confidence: default_confidence(),
        }
    }
}

pub(super) fn default_resamples() -> u32 {
    2000
}

pub(super) fn default_seed() -> u64 {
    7
}

pub(super) fn default_confidence() -> f64 {
    0.95
}

pub(super) fn default_threshold() -> Threshold {
    Threshold::Fixed(0.5)
}

pub(super) fn default_at_fpr() -> Vec<f64> {
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
pub(super) fn check_rate<E: de::Error>(v: f64) -> std::result::Result<f64, E> {
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(E::custom(format!(
            "{v} is not a rate strictly between 0 and 1"
        )))
    }
}

/// One rate of a list, so an error names its index.
pub(super) struct Rate(pub(super) f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        check_rate(f64::deserialize(d)?).map(Rate)
    }
}

pub(super) fn rates<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    Ok(Vec::<Rate>::deserialize(d)?
        .into_iter()
        .map(|r| r.0)
        .collect())
}

/// A data file path whose format is known from its name, checked while
/// parsing so the error points at the line.
#[derive(Debug, Clone)]
pub(super) struct DataPath(pub(super) PathBuf, pub(super) DataFormat);

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
pub(super) fn model_name<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
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
