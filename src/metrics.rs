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

/// Cumulative counts at each distinct score, highest score first.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub thresholds: Vec<f64>,
    pub tps: Vec<u64>,
    pub fps: Vec<u64>,
}

impl Sweep {
    /// Sorts once and sweeps. Scores must be finite (validated upstream).
    pub fn new(scores: &[f64], labels: &[bool]) -> Sweep {
        assert_eq!(
            scores.len(),
            labels.len(),
            "scores and labels differ in length"
        );
        // Positives and negatives are sorted apart as bare u64 keys (cheaper
        // than sorting (key, label) pairs), then merged while sweeping.
        let (mut pos, mut neg): (Vec<u64>, Vec<u64>) =
            (Vec::new(), Vec::with_capacity(scores.len()));
        for (s, l) in scores.iter().zip(labels) {
            if *l {
                pos.push(order_key(*s));
            } else {
                neg.push(order_key(*s));
            }
        }
        rayon::join(|| pos.par_sort_unstable(), || neg.par_sort_unstable());

        let mut sweep = Sweep {
            thresholds: Vec::new(),
            tps: Vec::new(),
            fps: Vec::new(),
        };
        // Walk both from the highest key down; each distinct key is one point.
        let (mut i, mut j) = (pos.len(), neg.len());
        let (mut tp, mut fp) = (0u64, 0u64);
        while i > 0 || j > 0 {
            let key = match (i, j) {
                (0, _) => neg[j - 1],
                (_, 0) => pos[i - 1],
                _ => pos[i - 1].max(neg[j - 1]),
            };
            while i > 0 && pos[i - 1] == key {
                i -= 1;
                tp += 1;
            }
            while j > 0 && neg[j - 1] == key {
                j -= 1;
                fp += 1;
            }
            sweep.thresholds.push(from_order_key(key));
            sweep.tps.push(tp);
            sweep.fps.push(fp);
        }
        sweep
    }

    pub fn positives(&self) -> u64 {
        self.tps.last().copied().unwrap_or(0)
    }

    pub fn negatives(&self) -> u64 {
        self.fps.last().copied().unwrap_or(0)
    }

    /// Counts of rows with `score >= threshold`.
    fn counts_at(&self, threshold: f64) -> (u64, u64) {
        // thresholds are strictly decreasing: count the points still >= threshold.
        let k = self.thresholds.partition_point(|t| *t >= threshold);
        if k == 0 {
            (0, 0)
        } else {
            (self.tps[k - 1], self.fps[k - 1])
        }
    }
}

/// Neumaier-compensated sum: long sums (10M rows) stay accurate to ~1 ulp.
#[derive(Default)]
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
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
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
            ("tp".into(), Some(self.tp as f64)),
            ("fp".into(), Some(self.fp as f64)),
            ("tn".into(), Some(self.tn as f64)),
            ("fn".into(), Some(self.fn_ as f64)),
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
        Some(x) if COUNT_METRICS.contains(&name) => Value::from(x as u64),
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
            let v = if COUNT_METRICS.contains(&name.as_str()) {
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
    amounts: Option<&[f64]>,
    spec: &crate::config::CostSpec,
    threshold: f64,
) -> Option<f64> {
    costs(scores, labels, amounts, spec, threshold)
        .into_iter()
        .find(|(n, _)| n == "expected_cost")
        .and_then(|(_, v)| v)
}

/// [`evaluate`], then the dollar metrics when the holdout has amounts and
/// the cost metrics when the config prices the errors: one model's metrics
/// as the evaluation reports them, for the whole holdout or a segment.
pub fn evaluate_with_money(
    scores: &[f64],
    labels: &[bool],
    amounts: Option<&[f64]>,
    days: Option<&[u32]>,
    spec: &MetricsSpec,
) -> Result<ModelMetrics> {
    let mut m = evaluate(scores, labels, spec)?;
    if let Some(amounts) = amounts {
        m.dollars = dollars(scores, labels, amounts, &m);
    }
    if let Some(cost) = &spec.cost {
        m.cost = costs(scores, labels, amounts, cost, m.threshold);
    }
    if let Some(budget) = &spec.alert_budget {
        let tallies = day_tallies(scores, labels, amounts, days, budget);
        m.budget = budget_metrics(&tallies, amounts.is_some());
    }
    Ok(m)
}

/// Computes every metric. Fails when the labels hold a single class, since
/// the rank metrics are undefined then.
pub fn evaluate(scores: &[f64], labels: &[bool], spec: &MetricsSpec) -> Result<ModelMetrics> {
    if scores.is_empty() {
        return Err(Error::Metric("no rows to evaluate".into()));
    }
    let sweep = Sweep::new(scores, labels);
    let (p, n) = (sweep.positives(), sweep.negatives());
    if p == 0 || n == 0 {
        return Err(Error::Metric(format!(
            "the labels hold a single class ({p} positives, {n} negatives of {} rows): \
             ROC AUC, average precision, KS and recall at FPR need both classes",
            scores.len()
        )));
    }

    let at_fpr: Vec<AtFpr> = spec.at_fpr.iter().map(|t| at_fpr(&sweep, *t)).collect();
    let threshold = match spec.threshold {
        Threshold::Fixed(t) => t,
        Threshold::AtFpr(f) => at_fpr_point(&sweep, f).threshold,
    };
    let (tp, fp) = sweep.counts_at(threshold);
    let (fn_, tn) = (p - tp, n - fp);
    let rows = p + n;

    let mut not_applicable = Vec::new();
    let (log_loss, brier) = match probability_metrics(scores, labels) {
        Ok((l, b)) => (Some(l), Some(b)),
        Err(reason) => {
            for metric in ["log_loss", "brier"] {
                not_applicable.push(NotApplicable {
                    metric,
                    reason: reason.to_string(),
                });
            }
            (None, None)
        }
    };

    Ok(ModelMetrics {
        rows,
        positives: p,
        roc_auc: roc_auc(&sweep),
        average_precision: average_precision(&sweep),
        pr_auc: pr_auc(&sweep),
        log_loss,
        brier,
        ks: ks(&sweep),
        threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, p),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        accuracy: ratio(tp + tn, rows),
        tp,
        fp,
        tn,
        fn_,
        at_fpr,
        not_applicable,
        curves: curves(&sweep),
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
    m: &ModelMetrics,
) -> Vec<(String, f64)> {
    let caught_at = |t: f64| -> f64 {
        let mut sum = Sum::default();
        for ((s, l), a) in scores.iter().zip(labels).zip(amounts) {
            if *l && *s >= t {
                sum.add(*a);
            }
        }
        sum.value()
    };
    let mut total = Sum::default();
    for (l, a) in labels.iter().zip(amounts) {
        if *l {
            total.add(*a);
        }
    }
    let total = total.value();
    if total <= 0.0 {
        return Vec::new();
    }
    let caught = caught_at(m.threshold);
    let mut v = vec![
        ("dollar_recall".to_string(), caught / total),
        ("dollars_caught".to_string(), caught),
        ("dollars_missed".to_string(), total - caught),
    ];
    for a in &m.at_fpr {
        v.push((
            format!("dollar_recall_at_fpr[{}]", a.target_fpr),
            caught_at(a.threshold) / total,
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
    amounts: Option<&[f64]>,
    spec: &crate::config::CostSpec,
    threshold: f64,
) -> Vec<(String, Option<f64>)> {
    use crate::config::MissCost;
    let miss = |i: usize| -> Option<f64> {
        match spec.false_negative {
            MissCost::Amount => amounts.map(|a| a[i]),
            MissCost::Each(c) => Some(c),
        }
    };
    if miss(0).is_none() && !scores.is_empty() {
        return Vec::new();
    }
    let (mut total, mut missed, mut fp) = (Sum::default(), Sum::default(), 0u64);
    for (i, (s, l)) in scores.iter().zip(labels).enumerate() {
        if *l {
            let m = miss(i).unwrap_or(0.0);
            total.add(m);
            if *s < threshold {
                missed.add(m);
            }
        } else if *s >= threshold {
            fp += 1;
        }
    }
    let total = total.value();
    let expected = spec.false_positive * fp as f64 + missed.value();
    // The cheapest threshold: flag the rows from the highest score down.
    let (mut best, mut best_threshold) = (total, f64::INFINITY);
    let (mut caught, mut flagged_fp) = (Sum::default(), 0u64);
    descending_groups(scores, |rows, threshold| {
        for &row in rows {
            let row = row as usize;
            if labels[row] {
                caught.add(miss(row).unwrap_or(0.0));
            } else {
                flagged_fp += 1;
            }
        }
        let cost = spec.false_positive * flagged_fp as f64 + (total - caught.value());
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
pub fn dollar_curve(scores: &[f64], labels: &[bool], amounts: &[f64]) -> Vec<CurvePoint> {
    let mut total = Sum::default();
    for (l, a) in labels.iter().zip(amounts) {
        if *l {
            total.add(*a);
        }
    }
    let total = total.value();
    if total <= 0.0 || scores.is_empty() {
        return Vec::new();
    }
    let n = scores.len() as f64;
    let mut points = vec![CurvePoint {
        x: 0.0,
        y: 0.0,
        threshold: f64::INFINITY,
    }];
    let (mut caught, mut flagged) = (Sum::default(), 0usize);
    descending_groups(scores, |rows, threshold| {
        for &row in rows {
            if labels[row as usize] {
                caught.add(amounts[row as usize]);
            }
        }
        flagged += rows.len();
        points.push(CurvePoint {
            x: flagged as f64 / n,
            y: (caught.value() / total).min(1.0),
            threshold,
        });
    });
    downsample(&points, CURVE_POINTS)
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
    pub frauds: u64,
    /// Fraud amount among them, with amounts.
    pub dollars: f64,
    pub fraud_dollars: f64,
}

/// Each day's tally when a model may raise only the budget's alerts,
/// highest scores first; `days` gives each row's day for a per-day budget.
pub fn day_tallies(
    scores: &[f64],
    labels: &[bool],
    amounts: Option<&[f64]>,
    days: Option<&[u32]>,
    budget: &AlertBudget,
) -> Vec<DayTally> {
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
        let k = match budget {
            AlertBudget::PerDay { alerts, .. } => (*alerts as f64).min(rows.len() as f64),
            // At least one alert, so precision is defined on any holdout.
            AlertBudget::Fraction(f) => (f * rows.len() as f64).floor().max(1.0),
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
            let positives = group.iter().filter(|&&i| labels[i as usize]).count();
            let dollars: f64 = group
                .iter()
                .filter(|&&i| labels[i as usize])
                .map(|&i| amount(i))
                .sum();
            t.frauds += positives as u64;
            t.fraud_dollars += dollars;
            let share = ((k - flagged) / group.len() as f64).clamp(0.0, 1.0);
            t.caught += share * positives as f64;
            t.dollars += share * dollars;
            flagged += share * group.len() as f64;
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
    let frauds = sum(|d| d.frauds as f64);
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
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| std::cmp::Reverse(order_key(scores[i as usize])));
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
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Trapezoidal area under (fpr, tpr), computed in exact integer arithmetic
/// and divided once at the end.
pub fn roc_auc(s: &Sweep) -> f64 {
    let (p, n) = (s.positives(), s.negatives());
    let (mut prev_tp, mut prev_fp) = (0u128, 0u128);
    let mut twice_area: u128 = 0;
    for (tp, fp) in s.tps.iter().zip(&s.fps) {
        let (tp, fp) = (*tp as u128, *fp as u128);
        twice_area += (fp - prev_fp) * (tp + prev_tp);
        prev_tp = tp;
        prev_fp = fp;
    }
    twice_area as f64 / (2.0 * p as f64 * n as f64)
}

/// Step-wise average precision: sum over thresholds of
/// `(R_k - R_{k-1}) * P_k`, as scikit-learn's `average_precision_score`.
pub fn average_precision(s: &Sweep) -> f64 {
    let p = s.positives() as f64;
    let mut sum = Sum::default();
    let mut prev_tp = 0u64;
    for (tp, fp) in s.tps.iter().zip(&s.fps) {
        if *tp != prev_tp {
            let recall_step = (*tp - prev_tp) as f64 / p;
            sum.add(recall_step * (*tp as f64 / (*tp + *fp) as f64));
        }
        prev_tp = *tp;
    }
    sum.value()
}

/// Trapezoidal area under the PR curve, as `auc(recall, precision)` over
/// scikit-learn's `precision_recall_curve`, whose last point is (0, 1).
pub fn pr_auc(s: &Sweep) -> f64 {
    let p = s.positives() as f64;
    let mut sum = Sum::default();
    let (mut prev_r, mut prev_p) = (0.0, 1.0);
    for (tp, fp) in s.tps.iter().zip(&s.fps) {
        let r = *tp as f64 / p;
        let prec = ratio(*tp, *tp + *fp);
        sum.add((r - prev_r) * (prec + prev_p) / 2.0);
        prev_r = r;
        prev_p = prec;
    }
    sum.value()
}

/// Kolmogorov-Smirnov statistic between the score distributions of the two
/// classes: `max |TPR - FPR|` over thresholds.
pub fn ks(s: &Sweep) -> f64 {
    let (p, n) = (s.positives() as f64, s.negatives() as f64);
    s.tps
        .iter()
        .zip(&s.fps)
        .map(|(tp, fp)| (*tp as f64 / p - *fp as f64 / n).abs())
        .fold(0.0, f64::max)
}

fn at_fpr_point(s: &Sweep, target: f64) -> AtFpr {
    let (p, n) = (s.positives() as f64, s.negatives() as f64);
    // The ROC curve starts at (0, 0) with an infinite threshold: flag nothing.
    let mut best = AtFpr {
        target_fpr: target,
        fpr: 0.0,
        recall: 0.0,
        threshold: f64::INFINITY,
    };
    for i in 0..s.thresholds.len() {
        let fpr = s.fps[i] as f64 / n;
        if fpr > target {
            break; // fpr only grows as the threshold falls
        }
        let recall = s.tps[i] as f64 / p;
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
    let (mut ll, mut br) = (Sum::default(), Sum::default());
    for (s, y) in scores.iter().zip(labels) {
        let (l, b) = row_losses(*s, *y);
        ll.add(l);
        br.add(b);
    }
    let n = scores.len() as f64;
    Ok((ll.value() / n, br.value() / n))
}

/// One row's log loss (clipped as scikit-learn) and squared error.
pub(crate) fn row_losses(score: f64, label: bool) -> (f64, f64) {
    let q = if label { score } else { 1.0 - score };
    let d = score - f64::from(u8::from(label));
    (-q.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln(), d * d)
}

/// Paired tests of candidate minus production for the metrics that are a
/// mean over rows, log loss and Brier: the mean of each row's difference
/// with its standard error. Empty unless both models give probabilities.
pub fn loss_tests(
    candidate: &[f64],
    production: &[f64],
    labels: &[bool],
    level: f64,
) -> Vec<(&'static str, crate::stats::DeltaTest)> {
    let probabilities = |s: &[f64]| s.iter().all(|x| (0.0..=1.0).contains(x));
    if !probabilities(candidate) || !probabilities(production) {
        return Vec::new();
    }
    let (mut ll, mut br) = (
        crate::stats::Moments::default(),
        crate::stats::Moments::default(),
    );
    for ((c, p), y) in candidate.iter().zip(production).zip(labels) {
        let ((lc, bc), (lp, bp)) = (row_losses(*c, *y), row_losses(*p, *y));
        ll.add(lc - lp);
        br.add(bc - bp);
    }
    [("log_loss", ll), ("brier", br)]
        .into_iter()
        .filter_map(|(name, m)| {
            crate::stats::paired_mean("paired z of per-row losses", &m, level).map(|t| (name, t))
        })
        .collect()
}

fn curves(s: &Sweep) -> Curves {
    let (p, n) = (s.positives() as f64, s.negatives() as f64);
    let m = s.thresholds.len() + 1;
    // Point 0 is the "flag nothing" end: ROC (0, 0); scikit-learn's PR curve
    // ends at (recall 0, precision 1), which is our start.
    let roc = |i: usize| match i {
        0 => CurvePoint {
            x: 0.0,
            y: 0.0,
            threshold: f64::INFINITY,
        },
        _ => CurvePoint {
            x: s.fps[i - 1] as f64 / n,
            y: s.tps[i - 1] as f64 / p,
            threshold: s.thresholds[i - 1],
        },
    };
    let pr = |i: usize| match i {
        0 => CurvePoint {
            x: 0.0,
            y: 1.0,
            threshold: f64::INFINITY,
        },
        _ => {
            let (tp, fp) = (s.tps[i - 1], s.fps[i - 1]);
            CurvePoint {
                x: tp as f64 / p,
                y: ratio(tp, tp + fp),
                threshold: s.thresholds[i - 1],
            }
        }
    };
    Curves {
        roc: downsample_by(m, roc, CURVE_POINTS),
        pr: downsample_by(m, pr, CURVE_POINTS),
        dollar_recall: Vec::new(),
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
    if len <= max || max < 2 {
        return (0..len).map(point).collect();
    }
    let dist = |a: &CurvePoint, b: &CurvePoint| ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
    let mut total = 0.0;
    let mut prev = point(0);
    for i in 1..len {
        let cur = point(i);
        total += dist(&prev, &cur);
        prev = cur;
    }
    // The first index whose cumulative length reaches each target.
    let mut out: Vec<CurvePoint> = Vec::with_capacity(max);
    out.push(point(0));
    let (mut k, mut cumulative) = (1usize, 0.0);
    let mut prev = point(0);
    for i in 1..len {
        let cur = point(i);
        cumulative += dist(&prev, &cur);
        let mut take = false;
        while k < max - 1 && cumulative >= total * k as f64 / (max - 1) as f64 {
            take = true;
            k += 1;
        }
        if take || i == len - 1 {
            out.push(cur.clone());
        }
        prev = cur;
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_dollar_curve_steps_by_distinct_score_with_ties_together() {
        let c = dollar_curve(
            &[0.9, 0.8, 0.8, 0.1],
            &[true, false, true, true],
            &[100.0, 5.0, 50.0, 50.0],
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
            dollar_curve(&[0.5], &[true], &[0.0]).is_empty(),
            "no amount, no curve"
        );
    }

    use super::*;

    fn spec() -> MetricsSpec {
        MetricsSpec::default()
    }

    #[test]
    fn hand_computed_example() {
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.75
        let m = evaluate(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], &spec()).unwrap();
        assert!((m.roc_auc - 0.75).abs() < 1e-15);
        // AP = 0.5*1 + 0.5*(2/3)
        assert!((m.average_precision - (0.5 + 1.0 / 3.0)).abs() < 1e-15);
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (1, 0, 2, 1));
        assert!((m.ks - 0.5).abs() < 1e-15);
    }

    #[test]
    fn ties_form_one_point() {
        let s = Sweep::new(&[0.5, 0.5, 0.5, 0.2], &[true, false, true, false]);
        assert_eq!(s.thresholds, vec![0.5, 0.2]);
        assert_eq!(s.tps, vec![2, 2]);
        assert_eq!(s.fps, vec![1, 2]);
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
