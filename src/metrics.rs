//! Fraud metrics for one model's scores against binary labels.
//!
//! Everything that depends on the ranking comes from one sort: the scores are
//! sorted once, swept once into cumulative (threshold, tp, fp) points at each
//! distinct score, and every curve metric reads those points. Tied scores
//! therefore form a single point, exactly as scikit-learn's
//! `_binary_clf_curve` builds them.
//!
//! A row is predicted positive when `score >= threshold`.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{AlertBudget, MetricsSpec, Threshold};
use crate::error::{Error, Result};
use crate::sort::{from_order_key, order_key};

/// scikit-learn clips probabilities to `[eps, 1 - eps]` for log loss, with
/// `eps` the machine epsilon of the input dtype (float64 here).
const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// Maximum number of points kept per curve in reports.
pub const CURVE_POINTS: usize = 200;

/// Cumulative counts at each distinct score, highest score first: rows,
/// or with `holdout.weight` the rows' weights (unit weights keep every
/// count an exact integer in an f64).
#[derive(Debug, Clone)]
pub struct Sweep {
    pub thresholds: Vec<f64>,
    pub tps: Vec<f64>,
    pub fps: Vec<f64>,
}

impl Sweep {
    /// Sorts once and sweeps. Scores must be finite (validated upstream).
    pub fn new(scores: &[f64], labels: &[bool]) -> Sweep {
        Self::weighted(scores, labels, None)
    }

    /// [`Sweep::new`] with each row counted by its weight.
    pub fn weighted(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Sweep {
        assert_eq!(
            scores.len(),
            labels.len(),
            "scores and labels differ in length"
        );
        match weights {
            None => Self::unweighted(scores, labels),
            Some(w) => {
                // (order key, weight) per row.
                let mut pos: Vec<(u64, f64)> = Vec::new();
                let mut neg: Vec<(u64, f64)> = Vec::with_capacity(scores.len());
                for ((s, l), w) in scores.iter().zip(labels).zip(w) {
                    let row = (order_key(*s), *w);
                    if *l {
                        pos.push(row);
                    } else {
                        neg.push(row);
                    }
                }
                pos.sort_unstable_by_key(|r| r.0);
                neg.sort_unstable_by_key(|r| r.0);
                Self::merge(&pos, &neg, |r| r.0, |r| r.1)
            }
        }
    }

    /// The sweep of unit weights. Positives and negatives are sorted apart
    /// as bare keys (cheaper than sorting (key, label) pairs), highest
    /// first, then merged. The negatives' keys sit in the buffer that then
    /// takes the thresholds, after room for the positives: a point is
    /// written only once a key is read, so the thresholds never overtake
    /// the keys still to read, and they need no fresh pages of their own
    /// (80 MB at 10M rows: about a quarter of the sweep's page faults).
    fn unweighted(scores: &[f64], labels: &[bool]) -> Sweep {
        // Keys highest first: their complements in ascending order. The
        // buffer holds them as f64 bit patterns, to be the thresholds.
        let desc = |s: f64| !order_key(s);
        let mut pos: Vec<u64> = Vec::new();
        let mut buf: Vec<f64> = Vec::with_capacity(scores.len());
        buf.resize(labels.iter().filter(|l| **l).count(), 0.0);
        let first_neg = buf.len();
        for (s, l) in scores.iter().zip(labels) {
            if *l {
                pos.push(desc(*s));
            } else {
                buf.push(f64::from_bits(desc(*s)));
            }
        }
        // The standard library's sort, on this thread: rayon's parallel
        // sort took 300 CPU-ms for 10M keys where it takes 204, and the
        // models are swept in parallel already.
        pos.sort_unstable();
        buf[first_neg..].sort_unstable_by_key(|k| k.to_bits());
        let key = |d: u64| !d;
        let (mut i, mut j) = (0, first_neg);
        let (mut tp, mut fp) = (0u64, 0u64);
        let (mut tps, mut fps) = (Vec::new(), Vec::new());
        let mut points = 0;
        while i < pos.len() || j < buf.len() {
            let neg = |j: usize| key(buf[j].to_bits());
            let k = match (i < pos.len(), j < buf.len()) {
                (false, _) => neg(j),
                (_, false) => key(pos[i]),
                _ => key(pos[i]).max(neg(j)),
            };
            while i < pos.len() && key(pos[i]) == k {
                i += 1;
                tp += 1;
            }
            while j < buf.len() && neg(j) == k {
                j += 1;
                fp += 1;
            }
            // `points` < i + (j - first_neg) <= j: a slot already read.
            buf[points] = from_order_key(k);
            points += 1;
            // Counts below 2^53, exact as f64.
            tps.push(tp as f64);
            fps.push(fp as f64);
        }
        buf.truncate(points);
        Sweep {
            thresholds: buf,
            tps,
            fps,
        }
    }

    /// Walks both sorted classes from the highest key down; each distinct
    /// key is one point.
    fn merge<T>(
        pos: &[T],
        neg: &[T],
        key: impl Fn(&T) -> u64,
        weight: impl Fn(&T) -> f64,
    ) -> Sweep {
        let mut sweep = Sweep {
            thresholds: Vec::new(),
            tps: Vec::new(),
            fps: Vec::new(),
        };
        let (mut i, mut j) = (pos.len(), neg.len());
        let (mut tp, mut fp) = (Sum::default(), Sum::default());
        while i > 0 || j > 0 {
            let k = match (i, j) {
                (0, _) => key(&neg[j - 1]),
                (_, 0) => key(&pos[i - 1]),
                _ => key(&pos[i - 1]).max(key(&neg[j - 1])),
            };
            while i > 0 && key(&pos[i - 1]) == k {
                i -= 1;
                tp.add(weight(&pos[i]));
            }
            while j > 0 && key(&neg[j - 1]) == k {
                j -= 1;
                fp.add(weight(&neg[j]));
            }
            sweep.thresholds.push(from_order_key(k));
            sweep.tps.push(tp.value());
            sweep.fps.push(fp.value());
        }
        sweep
    }

    pub fn positives(&self) -> f64 {
        self.tps.last().copied().unwrap_or(0.0)
    }

    pub fn negatives(&self) -> f64 {
        self.fps.last().copied().unwrap_or(0.0)
    }

    /// Counts of rows with `score >= threshold`.
    fn counts_at(&self, threshold: f64) -> (f64, f64) {
        // thresholds are strictly decreasing: count the points still >= threshold.
        let k = self.thresholds.partition_point(|t| *t >= threshold);
        if k == 0 {
            (0.0, 0.0)
        } else {
            (self.tps[k - 1], self.fps[k - 1])
        }
    }
}

/// Neumaier-compensated sum: long sums (10M rows) stay accurate to ~1 ulp,
/// and sums of integers stay exact below 2^53.
#[derive(Default, Clone, Copy)]
struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }
    fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Recall and threshold achieved at a target false-positive rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtFpr {
    /// The configured target.
    pub target_fpr: f64,
    /// The FPR actually achieved, the largest achievable that is <= target.
    pub fpr: f64,
    pub recall: f64,
    /// Predict positive when `score >= threshold`; `null` means "flag nothing".
    #[serde(serialize_with = "finite_or_null")]
    pub threshold: f64,
}

fn finite_or_null<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(*x)
    } else {
        s.serialize_none()
    }
}

/// One point of a downsampled curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    pub x: f64,
    pub y: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    /// x = false-positive rate, y = recall.
    pub roc: Vec<CurvePoint>,
    /// x = recall, y = precision.
    pub pr: Vec<CurvePoint>,
    /// With amounts: x = share of rows flagged (the alerts), y = share of
    /// the frauds' amount caught ([`dollar_curve`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dollar_recall: Vec<CurvePoint>,
}

/// All metrics of one model. Probability metrics are `None` when the scores
/// are not probabilities; `not_applicable` then says why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetrics {
    pub rows: u64,
    pub positives: u64,
    pub roc_auc: f64,
    pub average_precision: f64,
    pub pr_auc: f64,
    pub log_loss: Option<f64>,
    pub brier: Option<f64>,
    pub ks: f64,
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub accuracy: f64,
    /// Confusion counts at the threshold: rows, or weights with
    /// `holdout.weight`.
    pub tp: f64,
    pub fp: f64,
    pub tn: f64,
    #[serde(rename = "fn")]
    pub fn_: f64,
    pub at_fpr: Vec<AtFpr>,
    pub not_applicable: Vec<NotApplicable>,
    pub curves: Curves,
    /// Amount-weighted metrics ([`dollars`]), when the holdout has amounts.
    pub dollars: Vec<(String, f64)>,
    /// Cost metrics ([`costs`]), when the config prices the errors.
    pub cost: Vec<(String, Option<f64>)>,
    /// Metrics at the alert budget ([`budget_metrics`]), when configured.
    pub budget: Vec<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotApplicable {
    pub metric: &'static str,
    pub reason: String,
}

impl ModelMetrics {
    /// Scalar metrics by their public names, in report order. `recall_at_fpr[t]`
    /// and `threshold_at_fpr[t]` are included so gates can address them by name.
    pub fn named(&self) -> Vec<(String, Option<f64>)> {
        let mut v: Vec<(String, Option<f64>)> = vec![
            ("rows".into(), Some(self.rows as f64)),
            ("positives".into(), Some(self.positives as f64)),
            ("roc_auc".into(), Some(self.roc_auc)),
            ("average_precision".into(), Some(self.average_precision)),
            ("pr_auc".into(), Some(self.pr_auc)),
            ("log_loss".into(), self.log_loss),
            ("brier".into(), self.brier),
            ("ks".into(), Some(self.ks)),
            (
                "threshold".into(),
                Some(self.threshold).filter(|t| t.is_finite()),
            ),
            ("precision".into(), Some(self.precision)),
            ("recall".into(), Some(self.recall)),
            ("f1".into(), Some(self.f1)),
            ("accuracy".into(), Some(self.accuracy)),
            ("tp".into(), Some(self.tp)),
            ("fp".into(), Some(self.fp)),
            ("tn".into(), Some(self.tn)),
            ("fn".into(), Some(self.fn_)),
        ];
        for a in &self.at_fpr {
            v.push((format!("recall_at_fpr[{}]", a.target_fpr), Some(a.recall)));
            v.push((format!("fpr_at_fpr[{}]", a.target_fpr), Some(a.fpr)));
            v.push((
                format!("threshold_at_fpr[{}]", a.target_fpr),
                Some(a.threshold).filter(|t| t.is_finite()),
            ));
        }
        v.extend(self.dollars.iter().map(|(n, x)| (n.clone(), Some(*x))));
        v.extend(self.cost.iter().cloned());
        v.extend(self.budget.iter().map(|(n, x)| (n.clone(), Some(*x))));
        v
    }

    /// [`Self::named`] as JSON: counts as integers, `null` where not
    /// applicable.
    pub fn to_map(&self) -> Map<String, Value> {
        self.named()
            .into_iter()
            .map(|(name, v)| {
                let value = metric_json(&name, v);
                (name, value)
            })
            .collect()
    }

    /// Whether a higher value of the named metric is better; `None` for counts
    /// and thresholds, which have no direction.
    pub fn greater_is_better(name: &str) -> Option<bool> {
        match name {
            "log_loss" | "brier" | "fp" | "fn" => Some(false),
            "roc_auc" | "average_precision" | "pr_auc" | "ks" | "precision" | "recall" | "f1"
            | "accuracy" | "tp" | "tn" => Some(true),
            n if n.starts_with("recall_at_fpr[") => Some(true),
            "dollars_caught" | "dollar_recall" => Some(true),
            "dollars_missed"
            | "expected_cost"
            | "min_expected_cost"
            | "expected_cost_at_production_threshold" => Some(false),
            "savings" => Some(true),
            "precision_at_budget" | "recall_at_budget" | "dollar_recall_at_budget" => Some(true),
            n if n.starts_with("dollar_recall_at_fpr[") => Some(true),
            _ => None,
        }
    }
}

const COUNT_METRICS: &[&str] = &[
    "rows",
    "positives",
    "tp",
    "fp",
    "tn",
    "fn",
    "alerts_at_budget",
];

/// One metric as JSON: counts as integers, `null` where not applicable.
pub fn metric_json(name: &str, v: Option<f64>) -> Value {
    match v {
        Some(x) if COUNT_METRICS.contains(&name) && x.fract() == 0.0 && x >= 0.0 => {
            Value::from(x as u64)
        }
        Some(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        None => Value::Null,
    }
}

/// Candidate minus production for each metric both have as numbers, except
/// the row and positive counts, which are the same holdout for both.
pub fn delta(cand: &Map<String, Value>, prod: &Map<String, Value>) -> Map<String, Value> {
    cand.iter()
        .filter(|(name, _)| !matches!(name.as_str(), "rows" | "positives"))
        .filter_map(|(name, c)| {
            let d = c.as_f64()? - prod.get(name)?.as_f64()?;
            let v = if COUNT_METRICS.contains(&name.as_str()) && d.fract() == 0.0 {
                Value::from(d as i64)
            } else {
                Value::Number(serde_json::Number::from_f64(d)?)
            };
            Some((name.clone(), v))
        })
        .collect()
}

/// A model's expected cost at another model's threshold (production's):
/// what its errors cost where production draws the line.
pub fn cost_at(
    scores: &[f64],
    labels: &[bool],
    rows: &Rows,
    spec: &crate::config::CostSpec,
    threshold: f64,
) -> Option<f64> {
    costs(scores, labels, rows, spec, threshold)
        .into_iter()
        .find(|(n, _)| n == "expected_cost")
        .and_then(|(_, v)| v)
}

/// [`evaluate`], then the dollar metrics and curve when the holdout has
/// amounts and the cost metrics when the config prices the errors: one model's metrics
/// as the evaluation reports them, for the whole holdout or a segment.
pub fn evaluate_with_money(
    scores: &[f64],
    labels: &[bool],
    rows: &Rows,
    spec: &MetricsSpec,
) -> Result<ModelMetrics> {
    money(scores, labels, rows, spec, true)
}

/// [`evaluate_with_money`] but for log loss and Brier score, left `None`
/// for [`paired_losses`] to give.
pub fn evaluate_without_losses(
    scores: &[f64],
    labels: &[bool],
    rows: &Rows,
    spec: &MetricsSpec,
) -> Result<ModelMetrics> {
    money(scores, labels, rows, spec, false)
}

fn money(
    scores: &[f64],
    labels: &[bool],
    rows: &Rows,
    spec: &MetricsSpec,
    losses: bool,
) -> Result<ModelMetrics> {
    let sweep = Sweep::weighted(scores, labels, rows.weights);
    let mut m = evaluate_swept(&sweep, scores, labels, rows.weights, spec, losses)?;
    if let Some(amounts) = rows.amounts {
        m.dollars = dollars(scores, labels, amounts, rows.weights, &m);
        m.curves.dollar_recall = swept_dollar_curve(&sweep, scores, labels, amounts, rows.weights);
    }
    if let Some(cost) = &spec.cost {
        m.cost = costs(scores, labels, rows, cost, m.threshold);
    }
    if let Some(budget) = &spec.alert_budget {
        let tallies = day_tallies(scores, labels, rows, budget);
        m.budget = budget_metrics(&tallies, rows.amounts.is_some());
    }
    Ok(m)
}

/// What the holdout says about its rows beyond label and score, each in
/// row order: the amounts, the weights and the days of a per-day budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rows<'a> {
    pub amounts: Option<&'a [f64]>,
    pub weights: Option<&'a [f64]>,
    pub days: Option<&'a [u32]>,
}

impl Rows<'_> {
    /// Row `i`'s weight: 1 without `holdout.weight`.
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }
}

/// Computes every metric. Fails when the labels hold a single class, since
/// the rank metrics are undefined then.
pub fn evaluate(scores: &[f64], labels: &[bool], spec: &MetricsSpec) -> Result<ModelMetrics> {
    evaluate_weighted(scores, labels, None, spec)
}

/// [`evaluate`] with each row counted by its weight (`holdout.weight`): a
/// weight of 2 counts as the row twice.
pub fn evaluate_weighted(
    scores: &[f64],
    labels: &[bool],
    weights: Option<&[f64]>,
    spec: &MetricsSpec,
) -> Result<ModelMetrics> {
    evaluate_swept(
        &Sweep::weighted(scores, labels, weights),
        scores,
        labels,
        weights,
        spec,
        true,
    )
}

/// [`evaluate_weighted`] on the scores' sweep, which the dollar curve
/// reads too; log loss and Brier score only with `losses` (else `None`,
/// for [`paired_losses`] to give).
fn evaluate_swept(
    sweep: &Sweep,
    scores: &[f64],
    labels: &[bool],
    weights: Option<&[f64]>,
    spec: &MetricsSpec,
    losses: bool,
) -> Result<ModelMetrics> {
    if scores.is_empty() {
        return Err(Error::Metric("no rows to evaluate".into()));
    }
    let (p, n) = (sweep.positives(), sweep.negatives());
    if p <= 0.0 || n <= 0.0 {
        let what = if weights.is_some() { "weight" } else { "rows" };
        return Err(Error::Metric(format!(
            "the labels hold a single class ({p} positives, {n} negatives, by {what}, of {} rows): \
             ROC AUC, average precision, KS and recall at FPR need both classes",
            scores.len()
        )));
    }

    let at_fpr: Vec<AtFpr> = spec.at_fpr.iter().map(|t| at_fpr(sweep, *t)).collect();
    let threshold = match spec.threshold {
        Threshold::Fixed(t) => t,
        Threshold::AtFpr(f) => at_fpr_point(sweep, f).threshold,
    };
    let (tp, fp) = sweep.counts_at(threshold);
    let (fn_, tn) = (p - tp, n - fp);
    let total = p + n;

    let mut not_applicable = Vec::new();
    let computed = losses.then(|| probability_metrics(scores, labels, weights));
    let (log_loss, brier) = match computed {
        None => (None, None),
        Some(Ok((l, b))) => (Some(l), Some(b)),
        Some(Err(reason)) => {
            for metric in ["log_loss", "brier"] {
                not_applicable.push(NotApplicable {
                    metric,
                    reason: reason.to_string(),
                });
            }
            (None, None)
        }
    };

    let points = Points::of(sweep);
    let (areas, lengths) = points.walk();
    Ok(ModelMetrics {
        rows: scores.len() as u64,
        positives: labels.iter().filter(|l| **l).count() as u64,
        roc_auc: areas.roc_auc,
        average_precision: areas.average_precision,
        pr_auc: areas.pr_auc,
        log_loss,
        brier,
        ks: areas.ks,
        threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, p),
        f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
        accuracy: ratio(tp + tn, total),
        tp,
        fp,
        tn,
        fn_,
        at_fpr,
        not_applicable,
        curves: points.curves(&lengths),
        dollars: Vec::new(),
        cost: Vec::new(),
        budget: Vec::new(),
    })
}

/// Amount-weighted metrics: what share of the fraud amount the model
/// catches. At the operating threshold `dollar_recall` (the fraud amount
/// flagged over all fraud amount: scikit-learn's `recall_score` with the
/// amounts as sample weights), `dollars_caught` and `dollars_missed`; at
/// each `at_fpr` target's threshold `dollar_recall_at_fpr[t]`. A row is
/// flagged when `score >= threshold`. Empty when the frauds' amounts sum to
/// zero: no share of nothing is defined.
pub fn dollars(
    scores: &[f64],
    labels: &[bool],
    amounts: &[f64],
    weights: Option<&[f64]>,
    m: &ModelMetrics,
) -> Vec<(String, f64)> {
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    // One pass over the frauds for the total and the catch at every
    // threshold (a pass each read the labels four times), each sum taking
    // its rows in row order, as a pass of its own would.
    let thresholds: Vec<f64> = std::iter::once(m.threshold)
        .chain(m.at_fpr.iter().map(|a| a.threshold))
        .collect();
    let mut total = Sum::default();
    let mut caught = vec![Sum::default(); thresholds.len()];
    for (i, l) in labels.iter().enumerate() {
        if *l {
            let dollars = w(i) * amounts[i];
            total.add(dollars);
            for (c, t) in caught.iter_mut().zip(&thresholds) {
                if scores[i] >= *t {
                    c.add(dollars);
                }
            }
        }
    }
    let total = total.value();
    if total <= 0.0 {
        return Vec::new();
    }
    // The operating threshold's first, then the at-FPR targets' in order.
    let (at_fpr, caught) = (&caught[1..], caught[0].value());
    let mut v = vec![
        ("dollar_recall".to_string(), caught / total),
        ("dollars_caught".to_string(), caught),
        ("dollars_missed".to_string(), total - caught),
    ];
    for (a, c) in m.at_fpr.iter().zip(at_fpr) {
        v.push((
            format!("dollar_recall_at_fpr[{}]", a.target_fpr),
            c.value() / total,
        ));
    }
    v
}

/// What the errors cost at `threshold`, by `spec`: `expected_cost` (each
/// flagged legitimate row costs `false_positive`, each missed fraud its
/// amount or a constant), `savings` against approving everything (which
/// misses every fraud), and the lowest cost over the model's own
/// thresholds, `min_expected_cost`, with `cost_optimal_threshold` (`None`
/// when flagging nothing is cheapest). Empty when a missed fraud costs its
/// amount and there are no amounts.
pub fn costs(
    scores: &[f64],
    labels: &[bool],
    rows: &Rows,
    spec: &crate::config::CostSpec,
    threshold: f64,
) -> Vec<(String, Option<f64>)> {
    use crate::config::MissCost;
    // A missed fraud's cost, times its weight.
    let miss = |i: usize| -> Option<f64> {
        let cost = match spec.false_negative {
            MissCost::Amount => rows.amounts.map(|a| a[i]),
            MissCost::Each(c) => Some(c),
        };
        cost.map(|c| c * rows.weight(i))
    };
    if miss(0).is_none() && !scores.is_empty() {
        return Vec::new();
    }
    let (mut total, mut missed, mut fp) = (Sum::default(), Sum::default(), Sum::default());
    for (i, (s, l)) in scores.iter().zip(labels).enumerate() {
        if *l {
            let m = miss(i).unwrap_or(0.0);
            total.add(m);
            if *s < threshold {
                missed.add(m);
            }
        } else if *s >= threshold {
            fp.add(rows.weight(i));
        }
    }
    let total = total.value();
    let expected = spec.false_positive * fp.value() + missed.value();
    // The cheapest threshold: flag the rows from the highest score down.
    let (mut best, mut best_threshold) = (total, f64::INFINITY);
    let (mut caught, mut flagged_fp) = (Sum::default(), Sum::default());
    descending_groups(scores, |group, threshold| {
        for &row in group {
            let row = row as usize;
            if labels[row] {
                caught.add(miss(row).unwrap_or(0.0));
            } else {
                flagged_fp.add(rows.weight(row));
            }
        }
        let cost = spec.false_positive * flagged_fp.value() + (total - caught.value());
        if cost < best {
            best = cost;
            best_threshold = threshold;
        }
    });
    vec![
        ("expected_cost".into(), Some(expected)),
        ("savings".into(), Some(total - expected)),
        ("min_expected_cost".into(), Some(best)),
        (
            "cost_optimal_threshold".into(),
            Some(best_threshold).filter(|t| t.is_finite()),
        ),
    ]
}

/// The share of the frauds' amount caught against the share of rows
/// flagged, one point per distinct score from the highest down (ties
/// flagged together), from (0, 0) to (1, 1): what an investigation team
/// buys with each extra alert. Downsampled like the other curves; empty
/// when the frauds sum to no amount.
pub fn dollar_curve(
    scores: &[f64],
    labels: &[bool],
    amounts: &[f64],
    weights: Option<&[f64]>,
) -> Vec<CurvePoint> {
    let sweep = Sweep::weighted(scores, labels, weights);
    swept_dollar_curve(&sweep, scores, labels, amounts, weights)
}

/// [`dollar_curve`] on the model's sweep: the rows flagged at each score
/// are its cumulative counts, so only the frauds are sorted (with their
/// amounts); sorting every row again was a second sort of 10M keys.
fn swept_dollar_curve(
    sweep: &Sweep,
    scores: &[f64],
    labels: &[bool],
    amounts: &[f64],
    weights: Option<&[f64]>,
) -> Vec<CurvePoint> {
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let mut total = Sum::default();
    let mut frauds: Vec<(u64, f64)> = Vec::new();
    for (i, (s, l)) in scores.iter().zip(labels).enumerate() {
        if *l {
            let dollars = w(i) * amounts[i];
            total.add(dollars);
            frauds.push((order_key(*s), dollars));
        }
    }
    let total = total.value();
    let n = sweep.positives() + sweep.negatives();
    if total <= 0.0 || scores.is_empty() {
        return Vec::new();
    }
    frauds.par_sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
    let origin = CurvePoint {
        x: 0.0,
        y: 0.0,
        threshold: f64::INFINITY,
    };
    if weights.is_none() {
        // Unweighted, a point's true positives count the frauds scored at
        // or above it: the first `tp` in sorted order. Their amount, summed
        // in that order as the walk below sums it, is looked up, so the
        // curve is downsampled point by point from its lengths (one pass
        // over the points and a few blocks) rather than walked twice.
        let mut caught = Sum::default();
        let mut prefix = Vec::with_capacity(frauds.len() + 1);
        prefix.push(caught);
        for (_, dollars) in &frauds {
            caught.add(*dollars);
            prefix.push(caught);
        }
        let point = |i: usize| match i {
            0 => origin.clone(),
            _ => {
                let (tp, fp) = (sweep.tps[i - 1], sweep.fps[i - 1]);
                CurvePoint {
                    x: ((tp + fp) / n).min(1.0),
                    y: (prefix[tp as usize].value() / total).min(1.0),
                    threshold: sweep.thresholds[i - 1],
                }
            }
        };
        return downsample_by(sweep.thresholds.len() + 1, point, CURVE_POINTS);
    }
    // Walked twice by the downsampling, never held: at 100M distinct
    // scores the points were 2.4 GB beside the sweep's.
    let walk = || {
        let origin = origin.clone();
        let mut caught = Sum::default();
        let mut frauds = frauds.iter().peekable();
        let points = sweep.thresholds.iter().zip(&sweep.tps).zip(&sweep.fps);
        std::iter::once(origin).chain(points.map(move |((t, tp), fp)| {
            let k = order_key(*t);
            while let Some((_, dollars)) = frauds.next_if(|f| f.0 >= k) {
                caught.add(*dollars);
            }
            CurvePoint {
                x: ((tp + fp) / n).min(1.0),
                y: (caught.value() / total).min(1.0),
                threshold: *t,
            }
        }))
    };
    downsample_walk(sweep.thresholds.len() + 1, walk, CURVE_POINTS)
}

/// One day's alerts under the alert budget (the whole holdout is one "day"
/// for a budget given as a fraction). Counts are expected values under a
/// random order within a tie group: when the budget ends inside a group of
/// equal scores, that share of the group is flagged, so a result never
/// depends on the file's row order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayTally {
    /// Alerts raised: the budget, or every row of a smaller day.
    pub alerts: f64,
    /// Frauds among them.
    pub caught: f64,
    /// Frauds that day (weights with `holdout.weight`).
    pub frauds: f64,
    /// Fraud amount among them, with amounts.
    pub dollars: f64,
    pub fraud_dollars: f64,
}

/// Each day's tally when a model may raise only the budget's alerts,
/// highest scores first; `days` gives each row's day for a per-day budget.
pub fn day_tallies(
    scores: &[f64],
    labels: &[bool],
    rows_of: &Rows,
    budget: &AlertBudget,
) -> Vec<DayTally> {
    let (amounts, days) = (rows_of.amounts, rows_of.days);
    let weight = |i: u32| rows_of.weight(i as usize);
    let day = |i: u32| days.map_or(0, |d| d[i as usize]);
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| (day(i), std::cmp::Reverse(order_key(scores[i as usize]))));
    let amount = |i: u32| amounts.map_or(0.0, |a| a[i as usize]);
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let d = day(order[start]);
        let end = start + order[start..].iter().take_while(|&&i| day(i) == d).count();
        let rows = &order[start..end];
        // The day's rows, counted by weight: a row of weight 2 takes two
        // alerts of the budget, as two copies of it would.
        let size: f64 = rows.iter().map(|&i| weight(i)).sum();
        let k = match budget {
            AlertBudget::PerDay { alerts, .. } => (*alerts as f64).min(size),
            // At least one alert, so precision is defined on any holdout.
            AlertBudget::Fraction(f) => (f * size).floor().max(1.0).min(size),
        };
        let mut t = DayTally {
            alerts: k,
            ..DayTally::default()
        };
        let (mut flagged, mut g) = (0.0f64, 0);
        while g < rows.len() {
            let key = order_key(scores[rows[g] as usize]);
            let group_end = g + rows[g..]
                .iter()
                .take_while(|&&i| order_key(scores[i as usize]) == key)
                .count();
            let group = &rows[g..group_end];
            let frauds = || group.iter().filter(|&&i| labels[i as usize]);
            let positives: f64 = frauds().map(|&i| weight(i)).sum();
            let dollars: f64 = frauds().map(|&i| weight(i) * amount(i)).sum();
            let group_size: f64 = group.iter().map(|&i| weight(i)).sum();
            t.frauds += positives;
            t.fraud_dollars += dollars;
            let share = if group_size > 0.0 {
                ((k - flagged) / group_size).clamp(0.0, 1.0)
            } else {
                1.0
            };
            t.caught += share * positives;
            t.dollars += share * dollars;
            flagged += share * group_size;
            g = group_end;
        }
        out.push(t);
        start = end;
    }
    out
}

/// The metrics at the alert budget from the days' tallies: the alerts
/// raised, precision per day averaged over the days (precision@k, the
/// measure of an investigation team's day), and recall and dollar recall
/// over all days.
pub fn budget_metrics(days: &[DayTally], with_amounts: bool) -> Vec<(String, f64)> {
    let sum = |f: fn(&DayTally) -> f64| days.iter().map(f).sum::<f64>();
    let precision = days.iter().map(|d| d.caught / d.alerts).sum::<f64>() / days.len() as f64;
    let frauds = sum(|d| d.frauds);
    let mut out = vec![
        ("alerts_at_budget".to_string(), sum(|d| d.alerts)),
        ("precision_at_budget".to_string(), precision),
        (
            "recall_at_budget".to_string(),
            if frauds > 0.0 {
                sum(|d| d.caught) / frauds
            } else {
                0.0
            },
        ),
    ];
    let fraud_dollars = sum(|d| d.fraud_dollars);
    if with_amounts && fraud_dollars > 0.0 {
        out.push((
            "dollar_recall_at_budget".to_string(),
            sum(|d| d.dollars) / fraud_dollars,
        ));
    }
    out
}

/// Calls `f(rows, score)` for each group of rows sharing a score, from the
/// highest score down: flagging at that score flags the group at once.
fn descending_groups(scores: &[f64], mut f: impl FnMut(&[u32], f64)) {
    let order = crate::sort::descending_order(scores);
    let mut start = 0;
    while start < order.len() {
        let key = order_key(scores[order[start] as usize]);
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| order_key(scores[i as usize]) == key)
                .count();
        f(&order[start..end], from_order_key(key));
        start = end;
    }
}

/// `a / b`, with 0 for an empty denominator (scikit-learn's `zero_division=0`).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// The sweep's areas and KS, summed in [`Points::walk`].
#[derive(Debug, Clone, Copy)]
struct Areas {
    /// Trapezoidal area under (fpr, tpr), summed in counts and divided
    /// once at the end: with unit weights every term and the sum are
    /// integers below 2^53 (up to about 10^15 positive-negative pairs),
    /// so exact.
    roc_auc: f64,
    /// Step-wise average precision: sum over thresholds of
    /// `(R_k - R_{k-1}) * P_k`, as scikit-learn's
    /// `average_precision_score`.
    average_precision: f64,
    /// Trapezoidal area under the PR curve, as `auc(recall, precision)`
    /// over scikit-learn's `precision_recall_curve`, whose last point is
    /// (0, 1).
    pr_auc: f64,
    /// Kolmogorov-Smirnov statistic between the score distributions of
    /// the two classes: `max |TPR - FPR|` over thresholds.
    ks: f64,
}

/// [`Areas::roc_auc`] alone.
pub fn roc_auc(s: &Sweep) -> f64 {
    Points::of(s).walk().0.roc_auc
}

fn at_fpr_point(s: &Sweep, target: f64) -> AtFpr {
    let (p, n) = (s.positives(), s.negatives());
    // The ROC curve starts at (0, 0) with an infinite threshold: flag nothing.
    let mut best = AtFpr {
        target_fpr: target,
        fpr: 0.0,
        recall: 0.0,
        threshold: f64::INFINITY,
    };
    for i in 0..s.thresholds.len() {
        let fpr = s.fps[i] / n;
        if fpr > target {
            break; // fpr only grows as the threshold falls
        }
        let recall = s.tps[i] / p;
        if recall > best.recall {
            best = AtFpr {
                target_fpr: target,
                fpr,
                recall,
                threshold: s.thresholds[i],
            };
        }
    }
    best
}

/// The highest recall whose FPR does not exceed the target; among equal
/// recalls, the one with the lowest FPR (the highest threshold).
pub fn at_fpr(s: &Sweep, target: f64) -> AtFpr {
    at_fpr_point(s, target)
}

/// Why log loss and Brier score do not apply: scores outside [0, 1].
#[derive(Debug, thiserror::Error)]
#[error(
    "scores are not probabilities: {outside} of {rows} lie outside [0, 1] (range {lo} to {hi})"
)]
struct NotProbabilities {
    outside: usize,
    rows: usize,
    lo: f64,
    hi: f64,
}

/// Log loss (clipped as scikit-learn) and Brier score, or why they do not
/// apply.
fn probability_metrics(
    scores: &[f64],
    labels: &[bool],
    weights: Option<&[f64]>,
) -> std::result::Result<(f64, f64), NotProbabilities> {
    let outside = scores.iter().filter(|s| !(0.0..=1.0).contains(*s)).count();
    if outside > 0 {
        let (lo, hi) = scores
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
                (lo.min(*s), hi.max(*s))
            });
        return Err(NotProbabilities {
            outside,
            rows: scores.len(),
            lo,
            hi,
        });
    }
    let (mut ll, mut br, mut n) = (Sum::default(), Sum::default(), Sum::default());
    for (i, (s, y)) in scores.iter().zip(labels).enumerate() {
        let (l, b) = row_losses(*s, *y);
        let w = weights.map_or(1.0, |w| w[i]);
        ll.add(w * l);
        br.add(w * b);
        n.add(w);
    }
    Ok((ll.value() / n.value(), br.value() / n.value()))
}

/// One row's log loss (clipped as scikit-learn) and squared error.
pub(crate) fn row_losses(score: f64, label: bool) -> (f64, f64) {
    let q = if label { score } else { 1.0 - score };
    let d = score - f64::from(u8::from(label));
    (-q.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln(), d * d)
}

/// How the paired tests of log loss and Brier are named in the evaluation.
pub const LOSS_TEST_METHOD: &str = "paired z of per-row losses";

/// Paired tests of candidate minus production for the metrics that are a
/// mean over rows, log loss and Brier: the mean of each row's difference
/// with its standard error. Empty unless both models give probabilities.
pub fn loss_tests(
    candidate: &[f64],
    production: &[f64],
    labels: &[bool],
    weights: Option<&[f64]>,
    level: f64,
) -> Vec<(&'static str, crate::stats::DeltaTest)> {
    if !probabilities(candidate) || !probabilities(production) {
        return Vec::new();
    }
    if let Some(w) = weights {
        let (ll, br): (Vec<f64>, Vec<f64>) = candidate
            .iter()
            .zip(production)
            .zip(labels)
            .map(|((c, p), y)| {
                let ((lc, bc), (lp, bp)) = (row_losses(*c, *y), row_losses(*p, *y));
                (lc - lp, bc - bp)
            })
            .unzip();
        return [("log_loss", ll), ("brier", br)]
            .into_iter()
            .filter_map(|(name, d)| {
                crate::stats::paired_weighted_mean(LOSS_TEST_METHOD, &d, w, level)
                    .map(|t| (name, t))
            })
            .collect();
    }
    paired_losses(candidate, production, labels, level).tests
}

/// Whether every score is a probability, in `[0, 1]`.
pub fn probabilities(scores: &[f64]) -> bool {
    scores.iter().all(|x| (0.0..=1.0).contains(x))
}

/// Both models' log loss and Brier score, unweighted, with the paired
/// tests of their differences ([`loss_tests`]).
pub struct PairedLosses {
    /// Log loss and Brier score of the candidate, then of production.
    pub candidate: (f64, f64),
    pub production: (f64, f64),
    pub tests: Vec<(&'static str, crate::stats::DeltaTest)>,
}

/// [`PairedLosses`] from one pass over the rows, each row's losses worked
/// out once: each model's metrics worked them out again in a pass of
/// their own ([`evaluate_without_losses`]). The sums are those of
/// [`probability_metrics`], in the same order, so the losses are equal to
/// the bit. Both models' scores must be probabilities ([`probabilities`]).
pub fn paired_losses(
    candidate: &[f64],
    production: &[f64],
    labels: &[bool],
    level: f64,
) -> PairedLosses {
    let (mut ll, mut br) = (
        crate::stats::Moments::default(),
        crate::stats::Moments::default(),
    );
    let mut sums = [Sum::default(); 4];
    for ((c, p), y) in candidate.iter().zip(production).zip(labels) {
        let ((lc, bc), (lp, bp)) = (row_losses(*c, *y), row_losses(*p, *y));
        ll.add(lc - lp);
        br.add(bc - bp);
        for (sum, x) in sums.iter_mut().zip([lc, bc, lp, bp]) {
            sum.add(x);
        }
    }
    // probability_metrics divides by a sum of unit weights: the row count.
    let n = candidate.len() as f64;
    let mean = |k: usize| sums[k].value() / n;
    PairedLosses {
        candidate: (mean(0), mean(1)),
        production: (mean(2), mean(3)),
        tests: [("log_loss", ll), ("brier", br)]
            .into_iter()
            .filter_map(|(name, m)| {
                crate::stats::paired_mean(LOSS_TEST_METHOD, &m, level).map(|t| (name, t))
            })
            .collect(),
    }
}

/// A sweep's ROC and PR curves, point by point. Point 0 is the "flag
/// nothing" end: ROC (0, 0); scikit-learn's PR curve ends at (recall 0,
/// precision 1), which is our start. Point `i` is the sweep's `i - 1`.
struct Points<'s> {
    s: &'s Sweep,
    p: f64,
    n: f64,
}

impl<'s> Points<'s> {
    fn of(s: &'s Sweep) -> Points<'s> {
        Points {
            s,
            p: s.positives(),
            n: s.negatives(),
        }
    }

    fn len(&self) -> usize {
        self.s.thresholds.len() + 1
    }

    fn roc(&self, i: usize) -> CurvePoint {
        match i {
            0 => CurvePoint {
                x: 0.0,
                y: 0.0,
                threshold: f64::INFINITY,
            },
            _ => CurvePoint {
                x: self.s.fps[i - 1] / self.n,
                y: self.s.tps[i - 1] / self.p,
                threshold: self.s.thresholds[i - 1],
            },
        }
    }

    fn pr(&self, i: usize) -> CurvePoint {
        match i {
            0 => CurvePoint {
                x: 0.0,
                y: 1.0,
                threshold: f64::INFINITY,
            },
            _ => {
                let (tp, fp) = (self.s.tps[i - 1], self.s.fps[i - 1]);
                CurvePoint {
                    x: tp / self.p,
                    y: ratio(tp, tp + fp),
                    threshold: self.s.thresholds[i - 1],
                }
            }
        }
    }

    /// The areas and KS, and both curves' lengths, in one walk over the
    /// sweep: it is hundreds of MB at 10M rows, and reading it is a
    /// walk's cost (the four areas in walks of their own, and the lengths
    /// in one more, took 0.3 CPU-seconds more at 10M rows for the two
    /// models). Each sum is its own running sum, as in a walk of its own.
    fn walk(&self) -> (Areas, [Lengths; 2]) {
        let (mut twice_roc, mut ap, mut pr_area) = (Sum::default(), Sum::default(), Sum::default());
        let mut ks = 0.0;
        let mut lengths = [Lengths::new(), Lengths::new()];
        let (mut prev_roc, mut prev_pr) = (self.roc(0), self.pr(0));
        let (mut prev_tp, mut prev_fp) = (0.0, 0.0);
        for i in 1..self.len() {
            let (roc, pr) = (self.roc(i), self.pr(i));
            let (tp, fp) = (self.s.tps[i - 1], self.s.fps[i - 1]);
            twice_roc.add((fp - prev_fp) * (tp + prev_tp));
            if tp != prev_tp {
                ap.add((tp - prev_tp) / self.p * pr.y);
            }
            pr_area.add((pr.x - prev_pr.x) * (pr.y + prev_pr.y) / 2.0);
            ks = f64::max(ks, (roc.y - roc.x).abs());
            lengths[0].step(i, &prev_roc, &roc);
            lengths[1].step(i, &prev_pr, &pr);
            (prev_roc, prev_pr, prev_tp, prev_fp) = (roc, pr, tp, fp);
        }
        let areas = Areas {
            roc_auc: twice_roc.value() / (2.0 * self.p * self.n),
            average_precision: ap.value(),
            pr_auc: pr_area.value(),
            ks,
        };
        (areas, lengths)
    }

    /// The curves, downsampled by the lengths [`Points::walk`] measured.
    fn curves(&self, [roc_len, pr_len]: &[Lengths; 2]) -> Curves {
        let m = self.len();
        Curves {
            roc: downsample_measured(m, |i| self.roc(i), CURVE_POINTS, roc_len),
            pr: downsample_measured(m, |i| self.pr(i), CURVE_POINTS, pr_len),
            dollar_recall: Vec::new(),
        }
    }
}

/// The distance between two curve points, which downsampling spaces
/// evenly.
fn dist(a: &CurvePoint, b: &CurvePoint) -> f64 {
    ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt()
}

/// A curve's length, and its length from the start to every
/// [`Lengths::BLOCK`]th point, summed in the order [`downsample_walk`]
/// sums them: the second pass of [`downsample_measured`] looks only into
/// the blocks where a kept point is, and finds the same points.
struct Lengths {
    total: f64,
    /// The length up to point `k * BLOCK`, for each `k`.
    at: Vec<f64>,
}

impl Lengths {
    const BLOCK: usize = 4096;

    fn new() -> Lengths {
        Lengths {
            total: 0.0,
            at: vec![0.0],
        }
    }

    /// Adds the step from point `i - 1`, `a`, to point `i`, `b`.
    #[inline]
    fn step(&mut self, i: usize, a: &CurvePoint, b: &CurvePoint) {
        self.total += dist(a, b);
        if i.is_multiple_of(Self::BLOCK) {
            self.at.push(self.total);
        }
    }

    /// The length of a curve of `len` points.
    fn of(len: usize, point: impl Fn(usize) -> CurvePoint) -> Lengths {
        let mut out = Lengths::new();
        if len == 0 {
            return out;
        }
        let mut prev = point(0);
        for i in 1..len {
            let cur = point(i);
            out.step(i, &prev, &cur);
            prev = cur;
        }
        out
    }
}

/// [`downsample_by`] given the curve's [`Lengths`]: the points are those
/// of [`downsample_walk`], and only the blocks that hold one are walked
/// again.
fn downsample_measured(
    len: usize,
    point: impl Fn(usize) -> CurvePoint,
    max: usize,
    lengths: &Lengths,
) -> Vec<CurvePoint> {
    if len <= max || max < 2 {
        return (0..len).map(point).collect();
    }
    let mut keep = Keep::new(point(0), max, lengths.total, len);
    for (block, start) in (0..len - 1).step_by(Lengths::BLOCK).enumerate() {
        let end = (start + Lengths::BLOCK).min(len - 1);
        // The length is non-decreasing: a block that ends short of the
        // next target keeps no point, unless it holds the last one.
        let reaches = end == len - 1 || lengths.at.get(block + 1).is_none_or(|l| keep.reaches(*l));
        if !reaches {
            continue;
        }
        let mut cumulative = lengths.at[block];
        let mut prev = point(start);
        for i in start + 1..=end {
            let cur = point(i);
            cumulative += dist(&prev, &cur);
            keep.at(i, cumulative, &cur);
            prev = cur;
        }
    }
    keep.out
}

/// The second pass of a downsampling: keeps each point at which the
/// curve's length first reaches one of `max - 1` evenly spaced targets,
/// and the last point.
struct Keep {
    out: Vec<CurvePoint>,
    /// The next target.
    k: usize,
    max: usize,
    total: f64,
    last: usize,
}

impl Keep {
    /// Keeps the first point of a curve of `len` points and length `total`.
    fn new(first: CurvePoint, max: usize, total: f64, len: usize) -> Keep {
        let mut out = Vec::with_capacity(max);
        out.push(first);
        Keep {
            out,
            k: 1,
            max,
            total,
            last: len - 1,
        }
    }

    /// Whether the length `l` reaches the next target.
    fn reaches(&self, l: f64) -> bool {
        self.k < self.max - 1 && l >= self.total * self.k as f64 / (self.max - 1) as f64
    }

    /// Point `i`, at `length` from the start.
    fn at(&mut self, i: usize, length: f64, point: &CurvePoint) {
        let mut take = false;
        while self.reaches(length) {
            take = true;
            self.k += 1;
        }
        if take || i == self.last {
            self.out.push(point.clone());
        }
    }
}

/// Keeps at most `max` points, evenly spaced along the curve's length, so
/// steep regions (the low-FPR corner that matters for fraud) keep detail.
/// The first and last points are always kept.
pub fn downsample(points: &[CurvePoint], max: usize) -> Vec<CurvePoint> {
    downsample_by(points.len(), |i| points[i].clone(), max)
}

/// [`downsample`] over `len` points produced on demand: two streaming passes,
/// no copy of a curve that may have millions of points.
fn downsample_by(len: usize, point: impl Fn(usize) -> CurvePoint, max: usize) -> Vec<CurvePoint> {
    let lengths = Lengths::of(len, &point);
    downsample_measured(len, point, max, &lengths)
}

/// [`downsample`] over the `len` points `walk` yields, in order, afresh
/// for each of its two passes: a curve whose points carry a running sum
/// (the dollar curve's fraud amount) is walked, never held whole.
fn downsample_walk<I: Iterator<Item = CurvePoint>>(
    len: usize,
    walk: impl Fn() -> I,
    max: usize,
) -> Vec<CurvePoint> {
    if len <= max || max < 2 {
        return walk().collect();
    }
    let mut total = 0.0;
    let mut points = walk();
    let Some(mut prev) = points.next() else {
        return Vec::new();
    };
    for cur in points {
        total += dist(&prev, &cur);
        prev = cur;
    }
    // The first index whose cumulative length reaches each target.
    let mut points = walk();
    let Some(mut prev) = points.next() else {
        return Vec::new();
    };
    let mut keep = Keep::new(prev.clone(), max, total, len);
    let mut cumulative = 0.0;
    for (i, cur) in (1..).zip(points) {
        cumulative += dist(&prev, &cur);
        keep.at(i, cumulative, &cur);
        prev = cur;
    }
    keep.out
}

#[cfg(test)]
mod tests {

    #[test]
    fn paired_losses_equal_each_models_own_to_the_bit() {
        // Scores at 0 and 1 (clipped), ties, and 100,003 rows: long sums.
        let mut next = crate::sort::uniform(9);
        let n = 100_003;
        let score = |u: f64| {
            if u < 0.01 {
                0.0
            } else if u > 0.99 {
                1.0
            } else {
                u
            }
        };
        let c: Vec<f64> = (0..n).map(|_| score(next())).collect();
        let p: Vec<f64> = (0..n).map(|_| (next() * 100.0).round() / 100.0).collect();
        let labels: Vec<bool> = c.iter().map(|s| next() < 0.1 + 0.5 * s).collect();
        let shared = paired_losses(&c, &p, &labels, 0.95);
        let own = |s: &[f64]| probability_metrics(s, &labels, None).ok().unwrap();
        assert_eq!(shared.candidate, own(&c));
        assert_eq!(shared.production, own(&p));
        assert_eq!(shared.tests.len(), 2);
        let spec = MetricsSpec::default();
        let without = evaluate_without_losses(&c, &labels, &Rows::default(), &spec).unwrap();
        let with = evaluate_with_money(&c, &labels, &Rows::default(), &spec).unwrap();
        assert_eq!((without.log_loss, without.brier), (None, None));
        assert!(without.not_applicable.is_empty());
        assert_eq!(with.log_loss, Some(shared.candidate.0));
        assert_eq!(with.brier, Some(shared.candidate.1));
    }

    #[test]
    fn the_dollar_curve_looked_up_equals_the_curve_walked() {
        // Unit weights take the walk; no weights look the frauds' amounts
        // up by the true positives. Ties across and within the classes,
        // tied frauds of different amounts, and all-distinct scores; both
        // far beyond the points kept.
        let mut next = crate::sort::uniform(5);
        for digits in [1e3, 1e15] {
            let n = 60_000;
            let scores: Vec<f64> = (0..n).map(|_| (next() * digits).round() / digits).collect();
            let labels: Vec<bool> = scores.iter().map(|s| next() < 0.02 + 0.3 * s).collect();
            let amounts: Vec<f64> = (0..n).map(|_| (next() * 500.0).round() / 4.0).collect();
            let ones = vec![1.0; n];
            let looked_up = dollar_curve(&scores, &labels, &amounts, None);
            let walked = dollar_curve(&scores, &labels, &amounts, Some(&ones));
            assert_eq!(looked_up.len(), CURVE_POINTS);
            assert_eq!(looked_up, walked, "scores to {digits}");
        }
    }

    #[test]
    fn the_dollar_curve_steps_by_distinct_score_with_ties_together() {
        let c = dollar_curve(
            &[0.9, 0.8, 0.8, 0.1],
            &[true, false, true, true],
            &[100.0, 5.0, 50.0, 50.0],
            None,
        );
        let got: Vec<(f64, f64, f64)> = c.iter().map(|p| (p.x, p.y, p.threshold)).collect();
        assert_eq!(
            got,
            [
                (0.0, 0.0, f64::INFINITY),
                (0.25, 0.5, 0.9),
                (0.75, 0.75, 0.8),
                (1.0, 1.0, 0.1)
            ]
        );
        assert!(
            dollar_curve(&[0.5], &[true], &[0.0], None).is_empty(),
            "no amount, no curve"
        );
    }

    use super::*;

    fn spec() -> MetricsSpec {
        MetricsSpec::default()
    }

    /// Two days, two alerts a day. Day 0: scores 0.9 (fraud, $100), 0.8,
    /// 0.8 (fraud, $40; a tie across the budget's edge), 0.1: one alert
    /// for 0.9 and half of each 0.8 row, so 1.5 frauds caught and $120.
    /// Day 1: one row (fraud, $10), so one alert. Precision per day 0.75
    /// and 1, averaged 0.875; recall 2.5 of 3; dollar recall 130 of 150.
    #[test]
    fn alert_budget_by_hand() {
        let scores = [0.9, 0.8, 0.8, 0.1, 0.3];
        let labels = [true, false, true, false, true];
        let amounts = [100.0, 7.0, 40.0, 3.0, 10.0];
        let days = [0, 0, 0, 0, 1];
        let rows = Rows {
            amounts: Some(&amounts),
            weights: None,
            days: Some(&days),
        };
        let budget = AlertBudget::PerDay {
            alerts: 2,
            timestamp: "t".into(),
        };
        let t = day_tallies(&scores, &labels, &rows, &budget);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].alerts, t[0].caught, t[0].frauds), (2.0, 1.5, 2.0));
        assert_eq!((t[0].dollars, t[0].fraud_dollars), (120.0, 140.0));
        assert_eq!((t[1].alerts, t[1].caught, t[1].dollars), (1.0, 1.0, 10.0));
        let m: std::collections::HashMap<String, f64> =
            budget_metrics(&t, true).into_iter().collect();
        assert_eq!(m["alerts_at_budget"], 3.0);
        assert_eq!(m["precision_at_budget"], 0.875);
        assert!((m["recall_at_budget"] - 2.5 / 3.0).abs() < 1e-15);
        assert!((m["dollar_recall_at_budget"] - 130.0 / 150.0).abs() < 1e-15);
        // As a share of rows: 40% of 5 rows is 2 alerts, over one "day".
        let one = day_tallies(
            &scores,
            &labels,
            &Rows { days: None, ..rows },
            &AlertBudget::Fraction(0.4),
        );
        assert_eq!((one.len(), one[0].alerts, one[0].caught), (1, 2.0, 1.5));
    }

    #[test]
    fn hand_computed_example() {
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.75
        let m = evaluate(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], &spec()).unwrap();
        assert!((m.roc_auc - 0.75).abs() < 1e-15);
        // AP = 0.5*1 + 0.5*(2/3)
        assert!((m.average_precision - (0.5 + 1.0 / 3.0)).abs() < 1e-15);
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (1.0, 0.0, 2.0, 1.0));
        assert!((m.ks - 0.5).abs() < 1e-15);
    }

    #[test]
    fn ties_form_one_point() {
        let s = Sweep::new(&[0.5, 0.5, 0.5, 0.2], &[true, false, true, false]);
        assert_eq!(s.thresholds, vec![0.5, 0.2]);
        assert_eq!(s.tps, vec![2.0, 2.0]);
        assert_eq!(s.fps, vec![1.0, 2.0]);
    }

    #[test]
    fn the_unit_sweep_in_its_keys_buffer_equals_the_weighted_merge() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        // Few distinct scores (long tie runs across both classes), signed
        // zeros, every row one class but a few, and continuous scores.
        for (rows, distinct, rate) in [
            (1, 1, 0.5),
            (7, 3, 0.5),
            (1000, 5, 0.3),
            (1000, 1000, 0.01),
            (1000, 1000, 0.99),
            (20_000, 40, 0.1),
            (20_000, 1 << 30, 0.005),
        ] {
            let scores: Vec<f64> = (0..rows)
                .map(|_| match rng.random_range(0..distinct) {
                    0 => -0.0,
                    1 => 0.0,
                    k => f64::from(k) / f64::from(distinct) - 0.25,
                })
                .collect();
            let labels: Vec<bool> = (0..rows).map(|_| rng.random_bool(rate)).collect();
            let ones = vec![1.0; rows];
            let (got, want) = (
                Sweep::new(&scores, &labels),
                Sweep::weighted(&scores, &labels, Some(&ones)),
            );
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got.thresholds), bits(&want.thresholds), "{rows} rows");
            assert_eq!(got.tps, want.tps, "{rows} rows");
            assert_eq!(got.fps, want.fps, "{rows} rows");
        }
    }

    #[test]
    fn single_class_is_an_error_not_nan() {
        let e = evaluate(&[0.1, 0.2], &[false, false], &spec()).unwrap_err();
        assert!(e.to_string().contains("single class"), "{e}");
    }

    #[test]
    fn scores_outside_unit_interval_skip_probability_metrics() {
        let m = evaluate(&[-3.0, 2.0, 0.5], &[false, true, true], &spec()).unwrap();
        assert_eq!(m.log_loss, None);
        assert_eq!(m.not_applicable.len(), 2);
        assert!(m.not_applicable[0].reason.contains("outside [0, 1]"));
        assert_eq!(m.roc_auc, 1.0);
    }

    #[test]
    fn at_fpr_picks_highest_recall_within_budget() {
        // Scores desc: 0.9(+) 0.8(-) 0.7(+) 0.6(-) ; N=2
        let s = Sweep::new(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]);
        let a = at_fpr(&s, 0.4);
        assert_eq!((a.fpr, a.recall, a.threshold), (0.0, 0.5, 0.9));
        let a = at_fpr(&s, 0.5);
        assert_eq!((a.fpr, a.recall, a.threshold), (0.5, 1.0, 0.7));
    }

    #[test]
    fn downsampling_by_blocks_keeps_the_points_of_the_walk() {
        // Curves over several blocks: steep starts, flat runs (blocks with
        // no kept point), zero-length steps, and a last block cut short.
        let mut next = crate::sort::uniform(3);
        for len in [4096 * 3 + 1, 4096 * 5 + 77, 250, 4097] {
            let pts: Vec<CurvePoint> = (0..len)
                .map(|i| {
                    let t = i as f64 / len as f64;
                    CurvePoint {
                        x: if i % 9 == 0 {
                            t
                        } else {
                            (t * 64.0).floor() / 64.0
                        },
                        y: (t.sqrt() + next() * 1e-3).min(1.0),
                        threshold: 1.0 - t,
                    }
                })
                .collect();
            for max in [2, 3, 200, 1000] {
                let want = downsample_walk(len, || pts.iter().cloned(), max);
                assert_eq!(downsample(&pts, max), want, "{len} points, {max} kept");
            }
        }
    }

    #[test]
    fn downsample_keeps_ends_and_bounds_size() {
        let pts: Vec<CurvePoint> = (0..=1000)
            .map(|i| CurvePoint {
                x: i as f64 / 1000.0,
                y: (i as f64 / 1000.0).sqrt(),
                threshold: 0.0,
            })
            .collect();
        let d = downsample(&pts, 200);
        assert!(d.len() <= 200 && d.len() > 150, "{}", d.len());
        assert_eq!(d.first(), pts.first());
        assert_eq!(d.last(), pts.last());
    }
}
