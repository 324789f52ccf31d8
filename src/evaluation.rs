//! The evaluation step: load the holdout once, score each model, compute the
//! metrics, and assemble the versioned `modelgate.evaluation/v1` document.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{AlertBudget, Config, Threshold};
use crate::data::summary::{Groups, Summary};
use crate::data::{self, Columns, Holdout};
use crate::error::{Error, Result};
use crate::metrics::{self, AtFpr, Curves, ModelMetrics, NotApplicable};
use crate::model::{Scorer, SourceInfo};
use crate::segments::{self, Scored, SegmentTable, WeakSegment};
use crate::stats::bootstrap;

pub const SCHEMA: &str = "modelgate.evaluation/v1";

/// The rule that turns a score into a prediction, stated in every document.
pub const THRESHOLD_RULE: &str = "a row is predicted positive when score >= threshold";

/// The `modelgate.evaluation/v1` document.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub schema: &'static str,
    pub model: String,
    pub holdout: HoldoutInfo,
    pub rows: u64,
    pub positives: u64,
    pub threshold_rule: &'static str,
    pub threshold_config: ThresholdInfo,
    /// How the intervals and tests were computed.
    pub stats: StatsInfo,
    pub models: Models,
    /// Candidate minus production, for each metric both have.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub delta: Map<String, Value>,
    /// Statistical tests of the deltas: `roc_auc` by DeLong's test,
    /// `log_loss` and `brier` by the paired z-test of per-row losses, the
    /// other rate metrics by the paired bootstrap.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub delta_tests: std::collections::BTreeMap<String, crate::stats::DeltaTest>,
    /// Each model's metrics per segment of each `segments:` column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentTable>,
    /// The segments where the candidate's ROC AUC falls furthest below
    /// production's, worst first, whether or not a gate judges them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weak_segments: Vec<WeakSegment>,
    pub timings_ms: Timings,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsInfo {
    /// Confidence level of every interval.
    pub confidence: f64,
    /// Bootstrap resamples; 0 when the bootstrap is off or cannot run.
    pub bootstrap: u32,
    pub seed: u64,
    /// How bootstrap intervals are formed.
    pub interval: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldoutInfo {
    pub path: String,
    pub label: String,
    /// `holdout.weight`: every metric, curve and interval counts a row by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
    pub rows: u64,
    pub positives: u64,
    /// Set when the holdout is a `modelgate.summary/v1`: the metrics and
    /// the DeLong and loss tests are exact, the bootstrap's intervals and
    /// other tests come from the summary's weighted sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<SummaryInfo>,
}

/// Where a summarised holdout came from.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryInfo {
    pub schema: &'static str,
    /// The holdout the summary was computed from, as the job named it.
    pub source: String,
    pub spark: Option<String>,
    /// How the bootstrap's sample was drawn.
    pub sample: crate::data::summary::SampleInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThresholdInfo {
    Fixed { value: f64 },
    AtFpr { fpr: f64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Models {
    pub candidate: ModelEvaluation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<ModelEvaluation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelEvaluation {
    pub source: SourceInfo,
    /// Scalar metrics by public name; `null` where not applicable.
    pub metrics: Map<String, Value>,
    /// Bootstrap percentile interval of each metric, `[low, high]`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub intervals: Map<String, Value>,
    pub at_fpr: Vec<AtFpr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<NotApplicable>,
    pub curves: Curves,
    pub scoring_ms: f64,
    #[serde(skip)]
    pub raw: ModelMetrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    pub load: f64,
    pub score: f64,
    pub metrics: f64,
    pub bootstrap: f64,
    pub segments: f64,
    pub total: f64,
}

impl ModelEvaluation {
    fn new(source: SourceInfo, m: ModelMetrics, scoring_ms: f64) -> Self {
        let metrics = m.to_map();
        ModelEvaluation {
            source,
            metrics,
            intervals: Map::new(),
            at_fpr: m.at_fpr.clone(),
            not_applicable: m.not_applicable.clone(),
            curves: m.curves.clone(),
            scoring_ms,
            raw: m,
        }
    }
}

impl Evaluation {
    /// Serialises as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            what: "the evaluation",
            source,
        })
    }
}

/// An evaluation with the data behind it, for the gates.
#[derive(Debug)]
pub struct Evaluated {
    pub evaluation: Evaluation,
    pub holdout: Holdout,
    pub candidate_scores: Vec<f64>,
    pub production_scores: Option<Vec<f64>>,
    /// The summary a summarised holdout was evaluated from (its holdout,
    /// labels and scores are then empty).
    pub summary: Option<Summary>,
}

/// Rows above which the models' metrics are computed one model at a time.
const SEQUENTIAL_ROWS: usize = 20_000_000;

/// Runs the evaluation described by a validated config.
pub fn evaluate(config: &Config) -> Result<Evaluation> {
    Ok(run(config)?.evaluation)
}

/// Runs the evaluation, reading only the holdout columns it needs.
pub fn run(config: &Config) -> Result<Evaluated> {
    if config.holdout.summary {
        return run_summary(config);
    }
    let t0 = Instant::now();
    let candidate = Scorer::open(&config.candidate)?;
    let production = config.production.as_ref().map(Scorer::open).transpose()?;
    let mut columns = candidate.holdout_columns();
    if let Some(p) = &production {
        columns.extend(p.holdout_columns());
    }
    let mut extra: Vec<(&str, &str)> = config
        .segments
        .iter()
        .map(|s| ("a `segments:` column", s.column.as_str()))
        .collect();
    let timestamp = match &config.metrics.alert_budget {
        Some(AlertBudget::PerDay { timestamp, .. }) => Some(timestamp.as_str()),
        _ => None,
    };
    if let Some(t) = timestamp {
        extra.push(("metrics.alert_budget.timestamp", t));
    }
    let joins = candidate.joins_on_id() || production.as_ref().is_some_and(Scorer::joins_on_id);
    if let Some(id) = config.holdout.id.as_deref().filter(|_| joins) {
        extra.push(("holdout.id", id));
    }
    let mut holdout = data::load_holdout(&config.holdout, &columns, &extra, Columns::Named)?;
    let days = timestamp
        .map(|t| data::days(&holdout.path, &holdout.frame, t))
        .transpose()?;
    let load_ms = ms(t0);

    let t1 = Instant::now();
    let candidate = candidate.score(&holdout, &config.holdout)?;
    let production = production
        .map(|p| p.score(&holdout, &config.holdout))
        .transpose()?;
    let score_ms = ms(t1);
    // The scores live on as vectors: the score, feature and id columns
    // leave the frame unless a segment or the alert budget reads them (at
    // 100M rows each is 800 MB). Row ids only named rows in the errors of
    // loading and scoring, which are behind us.
    holdout.row_names = data::RowNames::Index;
    for name in columns.iter().chain(config.holdout.id.as_ref()) {
        if !extra.iter().any(|(_, e)| e == name) {
            let _ = holdout.frame.drop_in_place(name);
        }
    }

    let t2 = Instant::now();
    let metric_error = |role: &str, e: Error| match e {
        Error::Metric(msg) => Error::data(&holdout.path, format!("{role}: {msg}")),
        other => other,
    };
    let amounts = holdout.amounts.as_deref();
    let weights = holdout.weights.as_deref();
    let rows = metrics::Rows {
        amounts,
        weights,
        days: days.as_deref(),
    };
    // Unweighted, the paired tests' pass gives both models' log loss and
    // Brier score too, and the models' metrics leave them out.
    let shared_losses = weights.is_none()
        && production.as_ref().is_some_and(|p| {
            metrics::probabilities(&candidate.scores) && metrics::probabilities(&p.scores)
        });
    let assess = |scores: &[f64]| {
        let (labels, spec) = (&holdout.labels, &config.metrics);
        if shared_losses {
            metrics::evaluate_without_losses(scores, labels, &rows, spec)
        } else {
            metrics::evaluate_with_money(scores, labels, &rows, spec)
        }
    };
    // Both models at once while their sort buffers are small; one after
    // the other on a large holdout, where two sets of buffers would double
    // the peak memory. (A model's sweep sorts on one core, so the other
    // is left to the paired tests below.)
    let assess_production = || production.as_ref().map(|p| assess(&p.scores)).transpose();
    let assess_both = || {
        if holdout.rows() <= SEQUENTIAL_ROWS {
            rayon::join(|| assess(&candidate.scores), assess_production)
        } else {
            (assess(&candidate.scores), assess_production())
        }
    };
    let level = config.stats.confidence;
    let paired_tests = || {
        let mut tests = std::collections::BTreeMap::new();
        let Some(p) = production.as_ref().map(|p| &p.scores) else {
            return (tests, None);
        };
        // DeLong's test takes no weights: with them the bootstrap tests
        // ROC AUC.
        if weights.is_none()
            && let Some(t) = crate::stats::delong(&candidate.scores, p, &holdout.labels, level)
        {
            tests.insert("roc_auc".to_string(), t);
        }
        let (loss_tests, losses) = if shared_losses {
            let l = metrics::paired_losses(&candidate.scores, p, &holdout.labels, level);
            (l.tests, Some((l.candidate, l.production)))
        } else {
            let t = metrics::loss_tests(&candidate.scores, p, &holdout.labels, weights, level);
            (t, None)
        };
        for (metric, t) in loss_tests {
            tests.insert(metric.to_string(), t);
        }
        (tests, losses)
    };
    // The paired tests read only the scores and labels. Unweighted they
    // hold no more than the positives' tallies, so they run beside the
    // models' metrics, whose sorts (one model at a time on a large
    // holdout) leave a core to them: at 100M rows the evaluation took
    // 46 s instead of 51.5 s, at the same peak. Weighted, the loss tests
    // hold two differences a row, so they wait for the metrics' buffers
    // to go.
    let ((cand_metrics, prod_metrics), (mut delta_tests, losses)) = if weights.is_none() {
        rayon::join(assess_both, paired_tests)
    } else {
        let metrics = assess_both();
        (metrics, paired_tests())
    };
    let mut cand_metrics = cand_metrics.map_err(|e| metric_error("candidate", e))?;
    let mut prod_metrics = prod_metrics.map_err(|e| metric_error("production", e))?;
    if let (Some((c, p)), Some(prod)) = (losses, prod_metrics.as_mut()) {
        for (m, (log_loss, brier)) in [(&mut cand_metrics, c), (prod, p)] {
            (m.log_loss, m.brier) = (Some(log_loss), Some(brier));
        }
    }
    // Each model's cost where production draws the line.
    let production_threshold = prod_metrics.as_ref().map(|m| m.threshold);
    if let (Some(cost), Some(p), Some(t)) =
        (&config.metrics.cost, &production, production_threshold)
    {
        let name = "expected_cost_at_production_threshold";
        let at = |scores: &[f64]| metrics::cost_at(scores, &holdout.labels, &rows, cost, t);
        cand_metrics.cost.push((name.into(), at(&candidate.scores)));
        if let Some(m) = &mut prod_metrics {
            m.cost.push((name.into(), at(&p.scores)));
        }
    }
    let metrics_ms = ms(t2);

    let candidate_scores = candidate.scores;
    let mut candidate = ModelEvaluation::new(candidate.source, cand_metrics, candidate.scoring_ms);
    let (mut production, production_scores) = match (production, prod_metrics) {
        (Some(p), Some(m)) => (
            Some(ModelEvaluation::new(p.source, m, p.scoring_ms)),
            Some(p.scores),
        ),
        _ => (None, None),
    };

    let t3 = Instant::now();
    let mut boot = bootstrap::run(
        &candidate_scores,
        production_scores.as_deref(),
        &holdout.labels,
        &rows,
        &config.metrics,
        &config.stats,
        production_threshold,
    );
    if let (Some(budget @ AlertBudget::PerDay { .. }), Some(days)) =
        (&config.metrics.alert_budget, &days)
    {
        let tallies = |scores: &[f64]| {
            let rows = metrics::Rows {
                days: Some(days),
                ..rows
            };
            metrics::day_tallies(scores, &holdout.labels, &rows, budget)
        };
        let cand = tallies(&candidate_scores);
        let prod = production_scores.as_deref().map(tallies);
        if let Some(d) = bootstrap::days(&cand, prod.as_deref(), &config.stats) {
            let b = boot.get_or_insert_with(Default::default);
            b.candidate.extend(d.candidate);
            b.production.extend(d.production);
            b.tests.extend(d.tests);
        }
    }
    add_bootstrap(
        &boot,
        &mut candidate,
        production.as_mut(),
        &mut delta_tests,
        true,
    );
    let bootstrap_ms = ms(t3);

    let t4 = Instant::now();
    let segments = segments::evaluate(
        &config.segments,
        &segments::Inputs {
            path: &holdout.path,
            frame: &holdout.frame,
            labels: &holdout.labels,
            amounts,
            weights,
            candidate: Scored {
                scores: &candidate_scores,
                threshold: candidate.raw.threshold,
            },
            production: production
                .as_ref()
                .zip(production_scores.as_deref())
                .map(|(p, scores)| Scored {
                    scores,
                    threshold: p.raw.threshold,
                }),
            metrics: &config.metrics,
            stats: &config.stats,
        },
    )?;
    let weak_segments = segments::weakest(&segments);
    let segments_ms = ms(t4);

    let evaluation = Evaluation {
        segments,
        weak_segments,
        ..document(
            config,
            (holdout.rows() as u64, holdout.positives() as u64),
            boot.is_some(),
            Models {
                candidate,
                production,
            },
            delta_tests,
            Timings {
                load: load_ms,
                score: score_ms,
                metrics: metrics_ms,
                bootstrap: bootstrap_ms,
                segments: segments_ms,
                total: ms(t0),
            },
        )
    };
    Ok(Evaluated {
        evaluation,
        holdout,
        candidate_scores,
        production_scores,
        summary: None,
    })
}

/// The bootstrap's intervals onto each model, and its tests of the deltas
/// (`replace`: over tests already there; otherwise only where none is).
fn add_bootstrap(
    boot: &Option<bootstrap::Bootstrap>,
    candidate: &mut ModelEvaluation,
    production: Option<&mut ModelEvaluation>,
    delta_tests: &mut std::collections::BTreeMap<String, crate::stats::DeltaTest>,
    replace: bool,
) {
    let Some(b) = boot else { return };
    candidate.intervals = intervals(&b.candidate, &candidate.metrics);
    if let Some(p) = production {
        p.intervals = intervals(&b.production, &p.metrics);
    }
    for (metric, t) in &b.tests {
        if replace || !delta_tests.contains_key(metric) {
            delta_tests.insert(metric.clone(), t.clone());
        }
    }
}

/// The evaluation document around the models' results; segments are
/// added by the caller that has them.
fn document(
    config: &Config,
    (rows, positives): (u64, u64),
    bootstrapped: bool,
    models: Models,
    delta_tests: std::collections::BTreeMap<String, crate::stats::DeltaTest>,
    timings_ms: Timings,
) -> Evaluation {
    let delta = models
        .production
        .as_ref()
        .map(|p| metrics::delta(&models.candidate.metrics, &p.metrics))
        .unwrap_or_default();
    Evaluation {
        schema: SCHEMA,
        model: config.model.clone(),
        holdout: HoldoutInfo {
            path: config.holdout.path.display().to_string(),
            label: config.holdout.label.clone(),
            weight: config.holdout.weight.clone(),
            rows,
            positives,
            summary: None,
        },
        rows,
        positives,
        threshold_rule: THRESHOLD_RULE,
        threshold_config: match config.metrics.threshold {
            Threshold::Fixed(value) => ThresholdInfo::Fixed { value },
            Threshold::AtFpr(fpr) => ThresholdInfo::AtFpr { fpr },
        },
        stats: StatsInfo {
            confidence: config.stats.confidence,
            bootstrap: if bootstrapped {
                config.stats.resamples
            } else {
                0
            },
            seed: config.stats.seed,
            interval: "percentile",
        },
        models,
        delta,
        delta_tests,
        segments: Vec::new(),
        weak_segments: Vec::new(),
        timings_ms,
    }
}

/// A model's groups as rows weighted by their counts.
fn weighted(g: &Groups) -> metrics::Rows<'_> {
    metrics::Rows {
        amounts: g.amounts.as_deref(),
        weights: Some(&g.counts),
        days: None,
    }
}

/// The score column a summarised model is, as validated for a summary.
fn summary_column(summary: &Summary, model: &crate::config::ModelRef) -> Result<String> {
    use crate::config::{ModelRef, ScoreSource};
    match model {
        ModelRef::Scores(ScoreSource::Column(c)) => {
            summary.check_model(c)?;
            Ok(c.clone())
        }
        _ => Err(Error::data(
            &summary.dir,
            "a summarised model is a score column (`scores: { column: ... }`)",
        )),
    }
}

/// The evaluation of a `modelgate.summary/v1` holdout: each model's
/// metrics from its counts per distinct score (weighted by the counts,
/// which the sweep sums exactly), DeLong's test and the paired loss tests
/// from the summary's components, and the bootstrap's intervals and other
/// tests from its weighted sample.
fn run_summary(config: &Config) -> Result<Evaluated> {
    let t0 = Instant::now();
    let summary = Summary::open(&config.holdout.path)?;
    summary.check_columns(&config.holdout.label, config.holdout.amount.as_deref())?;
    let candidate_column = summary_column(&summary, &config.candidate)?;
    let production_column = config
        .production
        .as_ref()
        .map(|p| summary_column(&summary, p))
        .transpose()?;
    let candidate_groups = summary.groups(&candidate_column)?;
    let production_groups = production_column
        .as_deref()
        .map(|c| summary.groups(c))
        .transpose()?;
    let load_ms = ms(t0);

    let t2 = Instant::now();
    let (rows, positives) = (summary.manifest.rows, summary.manifest.positives);
    let metric_error = |role: &str, e: Error| match e {
        Error::Metric(msg) => Error::data(&summary.dir, format!("{role}: {msg}")),
        other => other,
    };
    let assess = |g: &Groups| -> Result<ModelMetrics> {
        let mut m =
            metrics::evaluate_with_money(&g.scores, &g.labels, &weighted(g), &config.metrics)?;
        (m.rows, m.positives) = (rows, positives);
        Ok(m)
    };
    let (cand, prod) = rayon::join(
        || assess(&candidate_groups),
        || production_groups.as_ref().map(assess).transpose(),
    );
    let mut cand = cand.map_err(|e| metric_error("candidate", e))?;
    let mut prod = prod.map_err(|e| metric_error("production", e))?;
    let production_threshold = prod.as_ref().map(|m| m.threshold);
    if let (Some(cost), Some(g), Some(t)) = (
        &config.metrics.cost,
        &production_groups,
        production_threshold,
    ) {
        let name = "expected_cost_at_production_threshold";
        let at = |g: &Groups| metrics::cost_at(&g.scores, &g.labels, &weighted(g), cost, t);
        cand.cost.push((name.into(), at(&candidate_groups)));
        if let Some(m) = &mut prod {
            m.cost.push((name.into(), at(g)));
        }
    }
    let metrics_ms = ms(t2);

    let column_source = |c: &str| crate::model::SourceInfo::Column {
        column: c.to_string(),
    };
    let mut candidate = ModelEvaluation::new(column_source(&candidate_column), cand, 0.0);
    let mut production = production_column
        .as_deref()
        .zip(prod)
        .map(|(c, m)| ModelEvaluation::new(column_source(c), m, 0.0));
    let level = config.stats.confidence;
    let mut delta_tests = std::collections::BTreeMap::new();
    if let Some(pair) = production_column
        .as_deref()
        .and_then(|p| summary.pair(&candidate_column, p))
    {
        if let Some(t) = crate::stats::delong_from_parts(&pair.delong, level) {
            delta_tests.insert("roc_auc".to_string(), t);
        }
        for (name, d) in pair
            .losses
            .iter()
            .flat_map(|l| [("log_loss", l.log_loss), ("brier", l.brier)])
        {
            let m = crate::stats::Moments::from_mean_var(d.n, d.mean, d.var);
            if let Some(t) = crate::stats::paired_mean(metrics::LOSS_TEST_METHOD, &m, level) {
                delta_tests.insert(name.to_string(), t);
            }
        }
    }

    // The sample is read only when the bootstrap runs.
    let t3 = Instant::now();
    let boot = if config.stats.resamples > 0 {
        let mut models = vec![candidate_column.as_str()];
        models.extend(production_column.as_deref());
        let sample = summary.sample(&models)?;
        let rows = metrics::Rows {
            amounts: sample.amounts.as_deref(),
            weights: Some(&sample.weights),
            days: None,
        };
        bootstrap::run(
            &sample.scores[0],
            sample.scores.get(1).map(Vec::as_slice),
            &sample.labels,
            &rows,
            &config.metrics,
            &config.stats,
            production_threshold,
        )
    } else {
        None
    };
    // The exact tests stand; the sample's bootstrap adds the others.
    add_bootstrap(
        &boot,
        &mut candidate,
        production.as_mut(),
        &mut delta_tests,
        false,
    );
    let bootstrap_ms = ms(t3);

    let mut evaluation = document(
        config,
        (rows, positives),
        boot.is_some(),
        Models {
            candidate,
            production,
        },
        delta_tests,
        Timings {
            load: load_ms,
            score: 0.0,
            metrics: metrics_ms,
            bootstrap: bootstrap_ms,
            segments: 0.0,
            total: ms(t0),
        },
    );
    evaluation.holdout.summary = Some(SummaryInfo {
        schema: crate::data::summary::SCHEMA,
        source: summary.manifest.holdout.clone(),
        spark: summary.manifest.spark.clone(),
        sample: summary.manifest.sample.clone(),
    });
    Ok(Evaluated {
        evaluation,
        holdout: data::Holdout::empty(&summary.dir),
        candidate_scores: Vec::new(),
        production_scores: None,
        summary: Some(summary),
    })
}

/// The intervals of the metrics the evaluation reports as numbers, in the
/// metrics' order.
fn intervals(found: &[(String, [f64; 2])], metrics: &Map<String, Value>) -> Map<String, Value> {
    metrics
        .iter()
        .filter(|(_, v)| v.is_number())
        .filter_map(|(name, _)| {
            let (_, [low, high]) = found.iter().find(|(n, _)| n == name)?;
            Some((name.clone(), serde_json::json!([low, high])))
        })
        .collect()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
