//! The validated configuration: all the engine ever sees. Every path is
//! resolved against the config file's directory, so the engine never
//! depends on the working directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

pub use super::raw::{LabelValue, RegistryKind, Severity, Threshold};
use super::raw::{
    default_at_fpr, default_confidence, default_resamples, default_seed, default_threshold,
};

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
    pub stats: StatsSpec,
    /// `segments:`, in the config's order.
    pub segments: Vec<SegmentSpec>,
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
    /// Also send the old `X-Modelgate-*` headers.
    pub legacy_headers: bool,
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
    /// `https://…` (or `http://…`): downloaded once into the cache and
    /// accepted only with the pinned sha256.
    Url { url: String, sha256: Option<String> },
    /// `oci://registry/repository@sha256:…`: pulled by manifest digest.
    Oci(String),
}

impl GateSource {
    /// Parses a `uses:` value; a relative path is taken from `dir`.
    pub fn parse(dir: &Path, uses: &str) -> GateSource {
        if uses.starts_with("oci://") {
            return GateSource::Oci(uses.to_string());
        }
        if uses.starts_with("https://") || uses.starts_with("http://") {
            return GateSource::Url {
                url: uses.to_string(),
                sha256: None,
            };
        }
        match uses.strip_prefix("builtin:") {
            Some(name) => GateSource::Builtin(name.to_string()),
            None => GateSource::File(dir.join(uses)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HoldoutSpec {
    /// The holdout file, or with `summary` its summary directory.
    pub path: PathBuf,
    pub format: DataFormat,
    /// `holdout.summary`: `path` is a `modelgate.summary/v1` directory,
    /// whose counts stand in for the rows.
    pub summary: bool,
    pub label: String,
    pub id: Option<String>,
    pub amount: Option<String>,
    /// `holdout.weight`: each row's sample weight.
    pub weight: Option<String>,
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
    /// `cost:`, for the cost metrics.
    pub cost: Option<CostSpec>,
    /// `metrics.alert_budget`, for the metrics at the budget.
    pub alert_budget: Option<AlertBudget>,
}

/// How many alerts each model may raise.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertBudget {
    /// This many a calendar day (UTC) of the `timestamp` column.
    PerDay { alerts: u64, timestamp: String },
    /// This share of the rows.
    Fraction(f64),
}

/// A holdout column that cuts the metrics into segments.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    pub column: String,
    /// Ascending bin edges for a numeric column; `None` makes each distinct
    /// value a segment.
    pub bins: Option<Vec<f64>>,
    /// Fewer positives than this and a segment is too small to judge.
    pub min_positives: u64,
}

/// The default of `segments[].min_positives`: below about 30 positives a
/// segment's AUC interval is wider than any margin worth setting.
pub const DEFAULT_SEGMENT_MIN_POSITIVES: u64 = 30;

/// What each error costs (`cost:` in the config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostSpec {
    /// Per legitimate transaction flagged.
    pub false_positive: f64,
    pub false_negative: MissCost,
}

/// A missed fraud's cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MissCost {
    /// Its own `holdout.amount`.
    Amount,
    /// The same for every fraud.
    Each(f64),
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            threshold: default_threshold(),
            at_fpr: default_at_fpr(),
            cost: None,
            alert_budget: None,
        }
    }
}

/// The bootstrap's settings (`stats:`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsSpec {
    /// Resamples; 0 turns the bootstrap off.
    pub resamples: u32,
    pub seed: u64,
    /// Confidence level of every interval.
    pub confidence: f64,
}

impl Default for StatsSpec {
    fn default() -> Self {
        StatsSpec {
            resamples: default_resamples(),
            seed: default_seed(),
            confidence: default_confidence(),
        }
    }
}

/// Fewer resamples cannot place the tails of a 95% percentile interval.
pub const MIN_RESAMPLES: u32 = 200;

/// More resamples add time, not precision that any decision can use.
pub const MAX_RESAMPLES: u32 = 100_000;

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
