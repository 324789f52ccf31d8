//! The modelgate gate SDK: write a quality gate as a plain Rust type and
//! export it as a WebAssembly component with [`export_gate!`].
//!
//! ```ignore
//! use modelgate_gate_sdk::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Config { min_auc: f64 }
//!
//! struct MinAuc;
//! impl Gate for MinAuc {
//!     type Config = Config;
//!     const NAME: &'static str = "min-auc";
//!     const VERSION: &'static str = "0.1.0";
//!     const DESCRIPTION: &'static str = "ROC AUC must reach a floor.";
//!     fn config_schema() -> serde_json::Value {
//!         serde_json::json!({"type": "object", "required": ["min_auc"],
//!                            "properties": {"min_auc": {"type": "number"}}})
//!     }
//!     fn evaluate(config: Config) -> Result<Outcome, String> {
//!         let auc = metrics(ModelRole::Candidate).ok_or("no evaluation")?.require("roc_auc")?;
//!         Ok(Outcome::from_checks(vec![check("roc_auc", auc, Comparison::Ge, config.min_auc)]))
//!     }
//! }
//! export_gate!(MinAuc);
//! ```

use std::collections::BTreeMap;

/// Bindings generated from `gates/wit`, the same files the host reads.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gate",
        pub_export_macro: true,
        default_bindings_module: "modelgate_gate_sdk::bindings",
    });
}

pub use bindings::modelgate::gate::host;
pub use bindings::modelgate::gate::types::{
    CategoryCount, ColumnProfile, Comparison, Context, Dataset, DatasetOverlap, DeltaTest,
    DistributionTest, FeatureAuc, Histogram, IntegrityFacts, LogLevel, MarginTest, Metadata,
    Metric, ModelEvaluation, ModelRole, Observation, Outcome, Quantile, Segment, SegmentStatus,
    Verdict, VerdictReason,
};
pub use serde;
pub use serde_json;

/// Rows per host call when streaming a column: large enough to amortise the
/// call, small enough to keep guest memory flat.
pub const CHUNK_ROWS: u32 = 65_536;

/// A quality gate. Implement it and call [`export_gate!`].
pub trait Gate {
    /// The `with:` config, deserialised from JSON.
    type Config: serde::de::DeserializeOwned;
    const NAME: &'static str;
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;
    /// JSON Schema of [`Gate::Config`], shown by `modelgate gate inspect`.
    fn config_schema() -> serde_json::Value;
    /// Judges the run. Return `Err` when the gate cannot decide (it then
    /// blocks promotion as an error).
    fn evaluate(config: Self::Config) -> Result<Outcome, String>;
}

#[doc(hidden)]
pub fn __metadata<G: Gate>() -> Metadata {
    Metadata {
        name: G::NAME.to_string(),
        version: G::VERSION.to_string(),
        description: G::DESCRIPTION.to_string(),
        config_schema: G::config_schema().to_string(),
    }
}

#[doc(hidden)]
pub fn __evaluate<G: Gate>() -> Result<Outcome, String> {
    let text = host::config();
    let config: G::Config = serde_json::from_str(&text)
        .map_err(|e| format!("invalid `with:` config for {}: {e}", G::NAME))?;
    G::evaluate(config)
}

/// Exports a [`Gate`] implementation as the component's `gate` world.
#[macro_export]
macro_rules! export_gate {
    ($gate:ty) => {
        struct __ModelgateExport;
        impl $crate::bindings::Guest for __ModelgateExport {
            fn metadata() -> $crate::Metadata {
                $crate::__metadata::<$gate>()
            }
            fn evaluate() -> ::core::result::Result<$crate::Outcome, ::std::string::String> {
                $crate::__evaluate::<$gate>()
            }
        }
        $crate::bindings::export!(__ModelgateExport with_types_in $crate::bindings);
    };
}

/// A model's metrics by name, with the direction the host knows for each.
#[derive(Debug, Clone)]
pub struct Metrics(pub BTreeMap<String, (Option<f64>, Option<bool>)>);

impl Metrics {
    /// The value of a metric, or an error naming the metrics that exist.
    pub fn require(&self, name: &str) -> Result<f64, String> {
        match self.0.get(name) {
            Some((Some(v), _)) => Ok(*v),
            Some((None, _)) => Err(format!("metric `{name}` does not apply to this model")),
            None => Err(format!(
                "unknown metric `{name}`; available: {}",
                self.0.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The value of a metric if it exists and applies.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).and_then(|m| m.0)
    }

    /// Whether a higher value of the metric is better, when it has a direction.
    pub fn greater_is_better(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(|m| m.1)
    }

    /// Why the holdout cannot support any paired test, when it cannot: a
    /// paired test needs at least two positives and two negatives.
    pub fn too_few_for_a_test(&self) -> Option<String> {
        let positives = self.get("positives")?;
        let negatives = self.get("rows")? - positives;
        (positives < 2.0 || negatives < 2.0).then(|| {
            format!(
                "insufficient evidence: {positives:.0} positives and {negatives:.0} negatives \
                 cannot support a paired test (each class needs at least 2); collect more \
                 labelled rows"
            )
        })
    }
}

/// The metrics of a model, or `None` (production may be absent).
pub fn metrics(role: ModelRole) -> Option<Metrics> {
    host::evaluation(role).map(|e| {
        Metrics(
            e.metrics
                .into_iter()
                .map(|m| (m.name, (m.value, m.greater_is_better)))
                .collect(),
        )
    })
}

/// Statistical tests of candidate minus production, by metric: `roc_auc`
/// by DeLong's test, `log_loss` and `brier` by a paired z-test, the other
/// metrics by a paired bootstrap; empty without a production model.
pub fn delta_tests() -> BTreeMap<String, DeltaTest> {
    host::delta_tests()
        .into_iter()
        .map(|t| (t.metric.clone(), t))
        .collect()
}

/// The confidence level of the intervals in [`delta_tests`] (0.95 unless
/// the config's `stats.confidence` says otherwise).
pub fn confidence_level() -> f64 {
    host::confidence_level()
}

/// The exact two-sample KS test of a numeric column between the reference
/// data and the holdout; `None` without reference data or a numeric column
/// on both sides.
pub fn distribution_test(column: &str) -> Option<DistributionTest> {
    host::test_distribution(column)
}

/// Duplicate rows and ids, overlap with the reference data and each
/// numeric feature's AUC alone, computed by the host before the gates run.
pub fn integrity() -> IntegrityFacts {
    host::integrity()
}

/// The level as a percentage for messages: `95%`, `97.5%`.
pub fn confidence_percent() -> String {
    format!("{}%", (confidence_level() * 1000.0).round() / 10.0)
}

/// A one-sided test of `metric`'s improvement (candidate minus production
/// in its better direction) against `bound`: positive for superiority by a
/// margin, negative for non-inferiority within one; `alpha` sets the level
/// of its `detectable` effect. `None` without production or without a
/// paired test for the metric.
pub fn margin_test(
    metric: &str,
    bound: f64,
    greater_is_better: bool,
    alpha: f64,
) -> Option<MarginTest> {
    host::test_margin(metric, bound, greater_is_better, alpha)
}

/// Every segment of every `segments:` column, in the config's column order
/// (empty without `segments:`): each model's metrics on the segment's rows
/// and the paired tests of candidate minus production there.
pub fn segments() -> Vec<Segment> {
    host::segments()
}

/// [`margin_test`] on the rows of one segment; `None` without production,
/// without the segment, or without a paired test for the metric there.
pub fn segment_margin_test(
    column: &str,
    value: &str,
    metric: &str,
    bound: f64,
    greater_is_better: bool,
    alpha: f64,
) -> Option<MarginTest> {
    host::test_segment_margin(column, value, metric, bound, greater_is_better, alpha)
}

/// Column profiles of a dataset by name, or `None` when not configured.
pub fn profiles(data: Dataset) -> Option<Vec<ColumnProfile>> {
    host::profiles(data)
}

/// Streams a numeric column in chunks of [`CHUNK_ROWS`] (missing values are NaN).
pub fn numeric_chunks(data: Dataset, column: &str) -> Chunks<f64> {
    let column = column.to_string();
    Chunks::new(Box::new(move |offset, len| {
        host::read_numeric(data, &column, offset, len)
    }))
}

/// Streams a column as text in chunks (missing values are `None`).
pub fn text_chunks(data: Dataset, column: &str) -> Chunks<Option<String>> {
    let column = column.to_string();
    Chunks::new(Box::new(move |offset, len| {
        host::read_text(data, &column, offset, len)
    }))
}

/// Streams a model's scores in chunks.
pub fn score_chunks(role: ModelRole) -> Chunks<f64> {
    Chunks::new(Box::new(move |offset, len| {
        host::read_scores(role, offset, len)
    }))
}

/// Streams the holdout labels in chunks.
pub fn label_chunks() -> Chunks<bool> {
    Chunks::new(Box::new(host::read_labels))
}

type Reader<T> = Box<dyn FnMut(u64, u32) -> Result<Vec<T>, String>>;

/// An iterator over chunks of a column; stops at the end of the data or
/// yields the host's error once.
pub struct Chunks<T> {
    read: Reader<T>,
    offset: u64,
    done: bool,
}

impl<T> Chunks<T> {
    fn new(read: Reader<T>) -> Self {
        Chunks {
            read,
            offset: 0,
            done: false,
        }
    }
}

impl<T> Iterator for Chunks<T> {
    type Item = Result<Vec<T>, String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match (self.read)(self.offset, CHUNK_ROWS) {
            Ok(v) if v.is_empty() => {
                self.done = true;
                None
            }
            Ok(v) => {
                self.offset += v.len() as u64;
                if v.len() < CHUNK_ROWS as usize {
                    self.done = true;
                }
                Some(Ok(v))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// An observation comparing `observed` with `threshold`.
pub fn check(
    name: impl Into<String>,
    observed: f64,
    comparison: Comparison,
    threshold: f64,
) -> Observation {
    let passed = match comparison {
        Comparison::Gt => observed > threshold,
        Comparison::Ge => observed >= threshold,
        Comparison::Lt => observed < threshold,
        Comparison::Le => observed <= threshold,
        Comparison::Eq => observed == threshold,
        Comparison::Info => true,
    };
    Observation {
        name: name.into(),
        observed: Some(observed),
        threshold: Some(threshold),
        comparison,
        passed,
        detail: None,
    }
}

/// An informative observation that never fails.
pub fn info(
    name: impl Into<String>,
    observed: Option<f64>,
    detail: impl Into<String>,
) -> Observation {
    Observation {
        name: name.into(),
        observed,
        threshold: None,
        comparison: Comparison::Info,
        passed: true,
        detail: Some(detail.into()),
    }
}

impl Observation {
    /// Adds a human-readable detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl Outcome {
    /// `fail` if any check failed, else `pass`, with a generated summary.
    pub fn from_checks(observations: Vec<Observation>) -> Outcome {
        let failed: Vec<&str> = observations
            .iter()
            .filter(|o| !o.passed)
            .map(|o| o.name.as_str())
            .collect();
        let (verdict, summary) = if failed.is_empty() {
            (
                Verdict::Pass,
                format!("all {} checks passed", observations.len()),
            )
        } else {
            (
                Verdict::Fail,
                format!(
                    "{} of {} checks failed: {}",
                    failed.len(),
                    observations.len(),
                    failed.join(", ")
                ),
            )
        };
        Outcome {
            verdict,
            summary,
            observations,
        }
    }

    /// An outcome with an explicit verdict and summary.
    pub fn new(
        verdict: Verdict,
        summary: impl Into<String>,
        observations: Vec<Observation>,
    ) -> Outcome {
        Outcome {
            verdict,
            summary: summary.into(),
            observations,
        }
    }
}

/// Logs a line to the gate's log.
pub fn log(level: LogLevel, message: impl AsRef<str>) {
    host::log(level, message.as_ref());
}

/// Marks the outcome about to be returned as decided by a lack of
/// evidence: the data cannot tell, and more labelled rows would. Reports
/// show it beside the verdict.
pub fn insufficient_evidence() {
    host::set_verdict_reason(VerdictReason::InsufficientEvidence);
}

/// Why a gate comparing the candidate with production has nothing to
/// compare: no production model, or the candidate is production (a re-run
/// on main after a promotion scores production against itself, which is
/// not a failure). `None` when there is something to compare.
pub fn nothing_to_compare() -> Option<String> {
    if metrics(ModelRole::Production).is_none() {
        return Some("no production model to compare with".into());
    }
    let ctx = host::run_context();
    (ctx.production.as_deref() == Some(ctx.candidate.as_str())).then(|| {
        format!(
            "candidate is production ({}): nothing to compare",
            ctx.candidate
        )
    })
}

/// Holm's step-down adjusted p-values, in the input order: sorted
/// ascending, the k-th smallest (from 0) becomes the running maximum of
/// `(m - k) p`, capped at 1. A hypothesis is rejected at family-wise level
/// `alpha` exactly when its adjusted p-value is at most `alpha`.
pub fn holm_adjusted(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (k, i) in order.into_iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Formats a ratio as a percentage for summaries.
pub fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}
