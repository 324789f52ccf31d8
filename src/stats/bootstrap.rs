//! The paired, label-stratified bootstrap: confidence intervals for every
//! metric of each model, and paired tests of candidate minus production for
//! the metrics no closed-form test covers (average precision, PR AUC, KS,
//! recall at an FPR, and precision, recall, F1 and accuracy at the
//! operating threshold).
//!
//! Hand-written because no maintained crate resamples *counts* over a sort
//! shared by two models, which is what makes 2000 resamples of a million
//! rows take seconds:
//! - Each model's rows are sorted once and cut into segments: a group of
//!   tied scores that holds a positive is a segment, and so is each run of
//!   negatives between two such groups (split at a fixed threshold). Every
//!   rank and threshold metric depends on the rows only through the
//!   resampled positives and negatives in each segment, so a resample draws
//!   a count per row, adds the counts up per segment, and sweeps the
//!   segments, exactly as [`crate::metrics`] sweeps the full holdout
//!   (checked against it in the unit tests).
//! - Negatives that share a segment in both models are one *cell*: no
//!   metric can tell them apart, so a cell draws its count once. Fraud
//!   holdouts have few positives and so few segments, and most negatives
//!   fall into a few large cells at the bottom of both rankings.
//! - Stratified by label: the positives, the class that drives the noise of
//!   every fraud metric, are drawn exactly (multinomial, `P` draws from the
//!   `P` positives), and so are the negatives up to [`EXACT_NEGATIVES`].
//!   Beyond that, each negative's count is Poisson(1), so a cell of `n`
//!   draws Poisson(`n`) in one step (the Poisson bootstrap of Hanley and
//!   MacGibbon 2006). The negatives' total then varies by `1/sqrt(N)`,
//!   under 0.4% there, and the metrics use each resample's own total.
//! - Both models see the same counts: the pairing.
//! - Resample `b` draws from its own generator, seeded from `(seed, b)`,
//!   so the result is the same on any number of threads.
//!
//! Intervals are percentile intervals. BCa would need a jackknife of every
//! metric (n leave-one-out sweeps), and its correction is small next to
//! the noise of a few hundred positives; the coverage of the percentile
//! interval on equal models is checked by simulation in the test suite.
//! P-values invert the same percentiles, so a bound outside the interval
//! has a p-value below `1 - confidence`: a test never contradicts its CI.
//! Log loss and Brier are means over rows: their intervals are the normal
//! ones of a mean, and their paired test is [`super::paired_mean`].

use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Poisson};
use rayon::prelude::*;

use super::{DeltaTest, Moments, normal_quantile};
use crate::config::{AlertBudget, CostSpec, MetricsSpec, MissCost, StatsSpec, Threshold};
use crate::metrics::{DayTally, Rows};
use crate::sort::order_key;

/// The name tests and reports give the method.
pub const METHOD: &str = "paired bootstrap";

/// The method of the per-day alert budget's tests ([`days`]).
pub const DAYS_METHOD: &str = "paired bootstrap of days";

/// Up to this many negatives, they are drawn exactly like the positives;
/// above it, by Poisson counts.
pub const EXACT_NEGATIVES: usize = 1 << 16;

/// [`EXACT_NEGATIVES`] for a segment ([`run_at`]): the exact draw costs a
/// random number per negative row per resample, which over a few dozen
/// segments of tens of thousands of rows each was three times the whole
/// holdout's bootstrap. Above 4096 negatives the Poisson total varies by
/// under 1.6%, and each resample uses its own total.
pub const SEGMENT_EXACT_NEGATIVES: usize = 1 << 12;

/// What the bootstrap found: each model's per-metric interval and, with a
/// production model, a paired test per metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bootstrap {
    pub candidate: Vec<(String, [f64; 2])>,
    pub production: Vec<(String, [f64; 2])>,
    pub tests: Vec<(String, DeltaTest)>,
}

/// One model's rows cut into segments, in descending score order.
struct Segments {
    /// The segment of each row.
    of_row: Vec<u32>,
    count: usize,
    /// For each threshold given, the first segment below it (`count` when
    /// none is).
    cuts: Vec<usize>,
}

impl Segments {
    fn new(scores: &[f64], labels: &[bool], thresholds: &[f64]) -> Segments {
        let order = crate::sort::descending_order(scores);
        let key = |k: usize| order_key(scores[order[k] as usize]);
        let mut of_row = vec![0u32; scores.len()];
        let mut cuts: Vec<Option<usize>> = vec![None; thresholds.len()];
        let (mut seg, mut k) = (0u32, 0usize);
        while k < order.len() {
            let mut end = k;
            let mut has_positive = false;
            while end < order.len() && key(end) == key(k) {
                has_positive |= labels[order[end] as usize];
                end += 1;
            }
            // The first group below a threshold opens a new segment, so
            // every segment lies wholly on one side of each threshold.
            let score = scores[order[k] as usize];
            let crossed: Vec<usize> = (0..thresholds.len())
                .filter(|&j| cuts[j].is_none() && score < thresholds[j])
                .collect();
            if !crossed.is_empty() {
                seg += 1;
                for j in crossed {
                    cuts[j] = Some(seg as usize);
                }
            }
            if has_positive {
                seg += 1;
            }
            for &row in &order[k..end] {
                of_row[row as usize] = seg;
            }
            if has_positive {
                seg += 1;
            }
            k = end;
        }
        let count = seg as usize + 1;
        Segments {
            of_row,
            count,
            cuts: cuts.into_iter().map(|c| c.unwrap_or(count)).collect(),
        }
    }
}

/// Negatives that fall in the same segment of both models (and, with
/// `holdout.weight`, have the same weight).
#[derive(Debug, Clone, Copy)]
struct Cell {
    candidate: u32,
    production: u32,
    rows: u64,
    weight: f64,
}

/// Everything a resample needs, built once.
struct Plan {
    candidate: Segments,
    production: Option<Segments>,
    /// Each positive's segment in each model.
    positives: Vec<(u32, u32)>,
    /// Each positive's amount, in `positives` order, for the dollar metrics.
    amounts: Option<Vec<f64>>,
    /// Each positive's weight, in `positives` order, with `holdout.weight`.
    positive_weights: Option<Vec<f64>>,
    /// The error costs, when the cost metrics can be resampled: a missed
    /// fraud that costs its amount needs the amounts.
    cost: Option<CostSpec>,
    cells: Vec<Cell>,
    /// For the exact draw: the cell of each negative, in cell order.
    negative_cell: Option<Vec<u32>>,
    /// For the Poisson draw of each cell's count.
    poisson: Option<PoissonCounts>,
    targets: Vec<f64>,
    at_fpr: usize,
    fixed_threshold: bool,
    /// An alert budget given as a share of the rows; a per-day budget is
    /// resampled by day instead ([`days`]).
    budget_fraction: Option<f64>,
    /// Whether each model's last cut is production's threshold, for the
    /// cost there.
    at_production: bool,
    /// Rows carry weights: DeLong's test does not take them, so ROC AUC is
    /// tested here too.
    weighted: bool,
}

impl Plan {
    fn new(
        candidate: &[f64],
        production: Option<&[f64]>,
        labels: &[bool],
        rows: &Rows,
        metrics: &MetricsSpec,
        options: Options,
    ) -> Plan {
        let (amounts, weights) = (rows.amounts, rows.weights);
        // Fixed per model (a segment's), else the configured fixed one.
        let thresholds = options.thresholds.or(match metrics.threshold {
            Threshold::Fixed(t) => Some([t, t]),
            Threshold::AtFpr(_) => None,
        });
        // Both models are also cut at production's threshold, for the cost
        // of each at the threshold production runs at.
        let at_production = options
            .production_threshold
            .filter(|_| production.is_some() && metrics.cost.is_some());
        let cuts =
            |own: Option<f64>| -> Vec<f64> { own.into_iter().chain(at_production).collect() };
        let (cand, prod) = rayon::join(
            || Segments::new(candidate, labels, &cuts(thresholds.map(|t| t[0]))),
            || production.map(|p| Segments::new(p, labels, &cuts(thresholds.map(|t| t[1])))),
        );
        let exact_negatives = options.exact_negatives;
        let prod_of = |row: usize| prod.as_ref().map_or(0, |p| p.of_row[row]);
        let mut positives = Vec::new();
        let mut positive_weights = Vec::new();
        // A negative's segment pair, and its weight's bits (0 unweighted):
        // negatives of one cell must weigh the same, so one count serves.
        let mut keys: Vec<(u64, u64)> = Vec::new();
        for (row, label) in labels.iter().enumerate() {
            let pair = (cand.of_row[row], prod_of(row));
            if *label {
                positives.push(pair);
                positive_weights.push(rows.weight(row));
            } else {
                let w = weights.map_or(0, |_| rows.weight(row).to_bits());
                keys.push(((u64::from(pair.0) << 32) | u64::from(pair.1), w));
            }
        }
        keys.par_sort_unstable();
        let mut cells: Vec<Cell> = Vec::new();
        let exact = keys.len() <= exact_negatives;
        let mut negative_cell = Vec::with_capacity(if exact { keys.len() } else { 0 });
        for (i, (key, w)) in keys.iter().enumerate() {
            if i == 0 || keys[i - 1] != (*key, *w) {
                cells.push(Cell {
                    candidate: (key >> 32) as u32,
                    production: *key as u32,
                    rows: 0,
                    weight: if weights.is_some() {
                        f64::from_bits(*w)
                    } else {
                        1.0
                    },
                });
            }
            let last = cells.len() - 1;
            cells[last].rows += 1;
            if exact {
                negative_cell.push(last as u32);
            }
        }
        let poisson = (!exact).then(|| PoissonCounts::new(&cells, weights.is_some()));
        let mut targets = metrics.at_fpr.clone();
        let fixed_threshold = thresholds.is_some();
        if let (false, Threshold::AtFpr(f)) = (fixed_threshold, metrics.threshold) {
            targets.push(f);
        }
        // A holdout whose frauds sum to no amount has no dollar metrics
        // (`metrics::dollars`), so none are resampled either.
        let amounts = amounts
            .map(|a| {
                labels
                    .iter()
                    .zip(a)
                    .filter(|(l, _)| **l)
                    .map(|(_, a)| *a)
                    .collect::<Vec<f64>>()
            })
            .filter(|a| a.iter().sum::<f64>() > 0.0);
        let cost = metrics
            .cost
            .filter(|c| c.false_negative != MissCost::Amount || amounts.is_some());
        Plan {
            candidate: cand,
            production: prod,
            positives,
            amounts,
            cost,
            cells,
            negative_cell: exact.then_some(negative_cell),
            poisson,
            targets,
            at_fpr: metrics.at_fpr.len(),
            fixed_threshold,
            at_production: at_production.is_some(),
            weighted: weights.is_some(),
            positive_weights: weights.map(|_| positive_weights),
            budget_fraction: match metrics.alert_budget {
                Some(AlertBudget::Fraction(f)) => Some(f),
                _ => None,
            },
        }
    }
}

/// Cells up to this many rows draw their Poisson count by inverting a
/// table of its CDF; larger ones (few: the long runs of negatives at the
/// bottom of both rankings) use rand_distr's sampler.
const TABLED_ROWS: u64 = 64;

/// Exact Poisson(n) counts for the cells, fast: a cell of `n` rows draws
/// Poisson(n), the sum of its rows' Poisson(1) counts.
struct PoissonCounts {
    /// For n = 1..=TABLED_ROWS: P(Poisson(n) <= k) scaled to 2^64, k = 0, 1, ...
    cdf: Vec<Vec<u64>>,
    /// Poisson(1) by the top 16 bits of a draw: the count, or
    /// [`AMBIGUOUS`] for the few ranges that straddle a step of the CDF,
    /// which then compare all 64 bits. One 64-bit draw gives four counts.
    one: Vec<u8>,
    /// The cells by size, each as its segments in the two models (and its
    /// rows): split and packed so a resample streams as few bytes as it
    /// can, since at millions of cells the draw is bound by memory.
    singles: Vec<[u32; 2]>,
    tabled: Vec<[u32; 3]>,
    /// rand_distr's sampler for each cell above TABLED_ROWS.
    large: Vec<([u32; 2], Poisson<f64>)>,
    /// With `holdout.weight`, the weight of each cell of `singles`, then
    /// `tabled`, then `large`; empty without, so unweighted resamples
    /// stream no more bytes.
    weights: [Vec<f64>; 3],
}

const AMBIGUOUS: u8 = u8::MAX;

/// The CDF of Poisson(`n`) at 0, 1, ..., scaled to 2^64, until it rounds
/// to 1: inverting one uniform 64-bit draw against it gives a count.
fn poisson_cdf(n: u64) -> Vec<u64> {
    let lambda = n as f64;
    let two64 = 18_446_744_073_709_551_616.0;
    // Terms by the recurrence p(k) = p(k-1) λ/k from p(0) = e^-λ, which
    // is exact enough for λ <= 64 (e^-64 is a normal float).
    let (mut p, mut cdf, mut table) = ((-lambda).exp(), 0.0f64, Vec::new());
    for k in 1..4096u32 {
        cdf += p;
        let scaled = cdf * two64;
        if scaled >= two64 - 1.0 {
            break;
        }
        table.push(scaled as u64);
        p *= lambda / f64::from(k);
    }
    table
}

impl PoissonCounts {
    fn new(cells: &[Cell], weighted: bool) -> PoissonCounts {
        let cdf: Vec<Vec<u64>> = (1..=TABLED_ROWS).map(poisson_cdf).collect();
        let one = (0..=u16::MAX)
            .map(|top| {
                let (lo, hi) = (
                    u64::from(top) << 48,
                    (u64::from(top) << 48) | ((1 << 48) - 1),
                );
                let (a, b) = (
                    cdf[0].partition_point(|t| *t <= lo),
                    cdf[0].partition_point(|t| *t <= hi),
                );
                if a == b { a as u8 } else { AMBIGUOUS }
            })
            .collect();
        let (mut singles, mut tabled, mut large) = (Vec::new(), Vec::new(), Vec::new());
        let mut weights: [Vec<f64>; 3] = Default::default();
        for c in cells {
            let segments = [c.candidate, c.production];
            let kind = match c.rows {
                1 => {
                    singles.push(segments);
                    0
                }
                n if n <= TABLED_ROWS => {
                    tabled.push([c.candidate, c.production, n as u32]);
                    1
                }
                n => {
                    // A cell's row count is at least 1, so the rate is valid.
                    let Ok(d) = Poisson::new(n as f64) else {
                        continue;
                    };
                    large.push((segments, d));
                    2
                }
            };
            if weighted {
                weights[kind].push(c.weight);
            }
        }
        PoissonCounts {
            cdf,
            one,
            singles,
            tabled,
            large,
            weights,
        }
    }

    /// Draws every cell's count and adds it, times the cell's weight, to
    /// its segment in each model (`fp[1]` is empty without production);
    /// returns their total.
    fn add(&self, fp: &mut [Vec<f64>; 2], rng: &mut impl rand::Rng) -> f64 {
        // Two monomorphic copies, so unweighted resamples look up nothing.
        if self.weights.iter().all(Vec::is_empty) {
            self.add_weighted(fp, rng, |_, _| 1.0)
        } else {
            self.add_weighted(fp, rng, |kind, i| self.weights[kind][i])
        }
    }

    fn add_weighted(
        &self,
        fp: &mut [Vec<f64>; 2],
        rng: &mut impl rand::Rng,
        weight: impl Fn(usize, usize) -> f64,
    ) -> f64 {
        let [cand, prod] = fp;
        let both = !prod.is_empty();
        let mut total = 0.0;
        let mut add = |[c, p]: [u32; 2], count: f64| {
            cand[c as usize] += count;
            if both {
                prod[p as usize] += count;
            }
            total += count;
        };
        for (k, chunk) in self.singles.chunks(4).enumerate() {
            let mut bits = rng.next_u64();
            for (j, segments) in chunk.iter().enumerate() {
                let top = (bits >> 48) as u16;
                bits <<= 16;
                let count = match self.one[usize::from(top)] {
                    AMBIGUOUS => {
                        let u = (u64::from(top) << 48) | (rng.next_u64() >> 16);
                        self.cdf[0].partition_point(|t| *t <= u) as u64
                    }
                    k => u64::from(k),
                };
                add(*segments, count as f64 * weight(0, 4 * k + j));
            }
        }
        for (i, [c, p, rows]) in self.tabled.iter().enumerate() {
            let u = rng.next_u64();
            let count = self.cdf[*rows as usize - 1].partition_point(|t| *t <= u) as u64;
            add([*c, *p], count as f64 * weight(1, i));
        }
        for (i, (segments, dist)) in self.large.iter().enumerate() {
            add(*segments, dist.sample(rng).floor() * weight(2, i));
        }
        total
    }
}

/// A resample's counts per segment, and the buffers they come from.
struct Work {
    positive: Vec<u64>,
    cell: Vec<u64>,
    /// Resampled positives and negatives per segment, each row counted by
    /// its weight (1 without `holdout.weight`).
    tp: [Vec<f64>; 2],
    fp: [Vec<f64>; 2],
    /// The positives' amounts per segment, with the resample's counts.
    dollars: [Vec<f64>; 2],
}

impl Work {
    fn new(plan: &Plan) -> Work {
        let c = plan.candidate.count;
        let p = plan.production.as_ref().map_or(0, |s| s.count);
        let d = |n: usize| if plan.amounts.is_some() { n } else { 0 };
        Work {
            positive: vec![0; plan.positives.len()],
            cell: vec![0; plan.cells.len()],
            tp: [vec![0.0; c], vec![0.0; p]],
            fp: [vec![0.0; c], vec![0.0; p]],
            dollars: [vec![0.0; d(c)], vec![0.0; d(p)]],
        }
    }

    fn clear(&mut self) {
        for v in self
            .tp
            .iter_mut()
            .chain(self.fp.iter_mut())
            .chain(self.dollars.iter_mut())
        {
            v.fill(0.0);
        }
    }

    /// Draws resample `b`'s counts into the segments; returns the totals
    /// of the positives and the negatives.
    fn draw(&mut self, plan: &Plan, seed: u64, b: u32) -> (f64, f64) {
        let mut rng = resample_rng(seed, b);
        self.clear();
        self.positive.fill(0);
        let p = self.positive.len();
        for _ in 0..p {
            self.positive[rng.random_range(0..p)] += 1;
        }
        let positives = self.add_positives(plan);
        let negatives = match (&plan.negative_cell, &plan.poisson) {
            (Some(cells), _) => {
                self.cell.fill(0);
                for _ in 0..cells.len() {
                    self.cell[cells[rng.random_range(0..cells.len())] as usize] += 1;
                }
                self.add_cells(plan)
            }
            (None, Some(poisson)) => poisson.add(&mut self.fp, &mut rng),
            (None, None) => unreachable!("a plan draws its negatives one way or the other"),
        };
        (positives, negatives)
    }

    /// Every count 1: the full holdout.
    fn full(&mut self, plan: &Plan) -> (f64, f64) {
        self.clear();
        self.positive.fill(1);
        for (count, cell) in self.cell.iter_mut().zip(&plan.cells) {
            *count = cell.rows;
        }
        (self.add_positives(plan), self.add_cells(plan))
    }

    /// Adds the positives' counts, times their weights, to their
    /// segments; returns their total.
    fn add_positives(&mut self, plan: &Plan) -> f64 {
        let both = plan.production.is_some();
        let mut total = 0.0;
        let weight = |i: usize| plan.positive_weights.as_ref().map_or(1.0, |w| w[i]);
        for (i, (count, (c, p))) in self.positive.iter().zip(&plan.positives).enumerate() {
            let w = *count as f64 * weight(i);
            self.tp[0][*c as usize] += w;
            if both {
                self.tp[1][*p as usize] += w;
            }
            total += w;
        }
        if let Some(amounts) = &plan.amounts {
            for (i, ((count, (c, p)), a)) in self
                .positive
                .iter()
                .zip(&plan.positives)
                .zip(amounts)
                .enumerate()
            {
                let d = *count as f64 * weight(i) * a;
                self.dollars[0][*c as usize] += d;
                if both {
                    self.dollars[1][*p as usize] += d;
                }
            }
        }
        total
    }

    /// Adds the cells' counts, times their weights, to their segments;
    /// returns their total.
    fn add_cells(&mut self, plan: &Plan) -> f64 {
        let both = plan.production.is_some();
        let mut total = 0.0;
        for (count, cell) in self.cell.iter().zip(&plan.cells) {
            let w = *count as f64 * cell.weight;
            self.fp[0][cell.candidate as usize] += w;
            if both {
                self.fp[1][cell.production as usize] += w;
            }
            total += w;
        }
        total
    }
}

/// Resample `b`'s own generator: distinct, well-mixed streams per resample
/// (splitmix64 of the pair), so results do not depend on the thread count.
fn resample_rng(seed: u64, b: u32) -> rand::rngs::StdRng {
    let mut z = seed ^ (u64::from(b) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    rand::rngs::StdRng::seed_from_u64(z ^ (z >> 31))
}

/// Metric names in the order [`sweep`] fills them.
fn names(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    let fixed = |v: &mut Vec<String>, names: &[&str]| {
        v.extend(names.iter().map(|s| s.to_string()));
    };
    let per_target = |v: &mut Vec<String>, metric: &str| {
        v.extend(
            plan.targets[..plan.at_fpr]
                .iter()
                .map(|t| format!("{metric}[{t}]")),
        );
    };
    fixed(
        &mut v,
        &[
            "roc_auc",
            "average_precision",
            "pr_auc",
            "ks",
            "precision",
            "recall",
            "f1",
            "accuracy",
        ],
    );
    per_target(&mut v, "recall_at_fpr");
    if plan.amounts.is_some() {
        fixed(
            &mut v,
            &["dollar_recall", "dollars_caught", "dollars_missed"],
        );
        per_target(&mut v, "dollar_recall_at_fpr");
    }
    if plan.cost.is_some() {
        fixed(&mut v, &["expected_cost", "savings", "min_expected_cost"]);
        if plan.at_production {
            fixed(&mut v, &["expected_cost_at_production_threshold"]);
        }
    }
    if plan.budget_fraction.is_some() {
        fixed(&mut v, &["precision_at_budget", "recall_at_budget"]);
        if plan.amounts.is_some() {
            fixed(&mut v, &["dollar_recall_at_budget"]);
        }
    }
    v
}

/// The paired test of ROC AUC is DeLong's, which takes no weights: with
/// `holdout.weight` the bootstrap tests it too.
const TESTED_ELSEWHERE: &[&str] = &["roc_auc"];

/// Every metric of one model from its counts per segment. Between two
/// changes of the true-positive count only the false positives grow, so
/// the curve metrics are updated only where a positive appears, from the
/// point just before it.
#[expect(
    clippy::too_many_arguments,
    reason = "one model's counts, amounts and totals; a struct would only rename them"
)]
fn sweep(
    tp_seg: &[f64],
    fp_seg: &[f64],
    dollar_seg: &[f64],
    cuts: &[usize],
    pos: f64,
    neg: f64,
    plan: &Plan,
    out: &mut Vec<f64>,
) {
    // A Poisson resample of more than EXACT_NEGATIVES negatives with none
    // drawn has probability below e^-65536; the guard only keeps it finite.
    let neg = if neg > 0.0 { neg } else { 1.0 };
    let (pf, nf) = (pos, neg);
    // Counts are rows, or weights; unit weights keep every sum below an
    // exact integer, so the rates compare as the full-holdout metric's do.
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    // The previous point, and the false positives at the first point of
    // the current true-positive count.
    let (mut last_tp, mut last_fp, mut level_fp) = (0.0f64, 0.0f64, 0.0f64);
    let (mut ap, mut pr, mut ks) = (0.0f64, 0.0f64, 0.0f64);
    let mut twice_area = 0.0f64;
    // (tp, fp, dollars caught) at each target's best point.
    let mut best = vec![(0.0f64, 0.0f64, 0.0f64); plan.targets.len()];
    // (tp, fp, dollars caught) at each cut: the model's own fixed
    // threshold, then production's.
    let mut at_cuts = vec![None; cuts.len()];
    let mut dollars = 0.0f64;
    // What a missed fraud costs, caught so far: its amount or a constant.
    let caught_cost = |tp: f64, dollars: f64| match plan.cost.map(|c| c.false_negative) {
        Some(MissCost::Each(c)) => c * tp,
        _ => dollars,
    };
    let c_fp = plan.cost.map_or(0.0, |c| c.false_positive);
    // The lowest cost seen, less the cost of missing every fraud (flagging
    // nothing is 0 on this scale).
    let mut best_cost = 0.0f64;
    // The alert budget in rows, and the frauds and fraud amount its alerts
    // catch: a segment the budget ends in is flagged in part, as
    // `metrics::day_tallies` flags a tie group.
    let budget = plan
        .budget_fraction
        .map(|f| (f * (pos + neg)).floor().max(1.0).min(pos + neg));
    let mut at_budget = None;
    for (s, (t, f)) in tp_seg.iter().zip(fp_seg).enumerate() {
        for (at, c) in at_cuts.iter_mut().zip(cuts) {
            if s == *c {
                *at = Some((tp, fp, dollars));
            }
        }
        if let Some(k) = budget
            && at_budget.is_none()
        {
            let (before, n) = (tp + fp, t + f);
            if n > 0.0 && before + n >= k {
                let share = ((k - before) / n).clamp(0.0, 1.0);
                let d = dollar_seg.get(s).copied().unwrap_or(0.0);
                at_budget = Some((tp + share * t, dollars + share * d));
            }
        }
        tp += t;
        fp += f;
        if let Some(d) = dollar_seg.get(s) {
            dollars += d;
        }
        if tp != last_tp {
            let step = tp - last_tp;
            let precision = tp / (tp + fp);
            let previous = if last_tp + last_fp == 0.0 {
                1.0
            } else {
                last_tp / (last_tp + last_fp)
            };
            ap += step * precision;
            pr += step * (precision + previous) / 2.0;
            ks = ks
                .max((tp / pf - fp / nf).abs())
                .max((last_fp / nf - last_tp / pf).abs());
            twice_area += (last_fp - level_fp) * 2.0 * last_tp + (fp - last_fp) * (tp + last_tp);
            level_fp = fp;
            for (b, target) in best.iter_mut().zip(&plan.targets) {
                // The full-holdout metric's own comparison.
                if fp / nf <= *target {
                    *b = (tp, fp, dollars);
                }
            }
            best_cost = best_cost.min(c_fp * fp - caught_cost(tp, dollars));
        }
        last_tp = tp;
        last_fp = fp;
    }
    twice_area += (fp - level_fp) * 2.0 * tp;
    let at_cut = |j: usize| at_cuts[j].unwrap_or((tp, fp, dollars));
    let (tp_at, fp_at, dollars_at) = if plan.fixed_threshold {
        at_cut(0)
    } else {
        best[best.len() - 1]
    };
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let fn_at = pos - tp_at;
    out.clear();
    out.extend([
        twice_area / (2.0 * pf * nf),
        ap / pf,
        pr / pf,
        ks,
        ratio(tp_at, tp_at + fp_at),
        ratio(tp_at, pos),
        ratio(2.0 * tp_at, 2.0 * tp_at + fp_at + fn_at),
        ratio(tp_at + neg - fp_at, pos + neg),
    ]);
    out.extend(best[..plan.at_fpr].iter().map(|(t, ..)| t / pf));
    if plan.amounts.is_some() {
        // `dollars` is now the resample's whole fraud amount.
        let total = dollars.max(f64::MIN_POSITIVE);
        out.extend([dollars_at / total, dollars_at, dollars - dollars_at]);
        out.extend(best[..plan.at_fpr].iter().map(|(.., d)| d / total));
    }
    if plan.cost.is_some() {
        let all = caught_cost(pos, dollars);
        let expected = c_fp * fp_at + all - caught_cost(tp_at, dollars_at);
        out.extend([expected, all - expected, all + best_cost]);
        if plan.at_production {
            let (tp_p, fp_p, dollars_p) = at_cut(cuts.len() - 1);
            out.push(c_fp * fp_p + all - caught_cost(tp_p, dollars_p));
        }
    }
    if let Some(k) = budget {
        let (caught, caught_dollars) = at_budget.unwrap_or((tp, dollars));
        out.extend([caught / k, caught / pf]);
        if plan.amounts.is_some() {
            out.push(caught_dollars / dollars.max(f64::MIN_POSITIVE));
        }
    }
}

impl Plan {
    /// Sweeps both models over the counts in `work`, whose totals are
    /// `(pos, neg)`.
    fn metrics(&self, work: &Work, (pos, neg): (f64, f64), out: &mut [Vec<f64>; 2]) {
        sweep(
            &work.tp[0],
            &work.fp[0],
            &work.dollars[0],
            &self.candidate.cuts,
            pos,
            neg,
            self,
            &mut out[0],
        );
        if let Some(p) = &self.production {
            sweep(
                &work.tp[1],
                &work.fp[1],
                &work.dollars[1],
                &p.cuts,
                pos,
                neg,
                self,
                &mut out[1],
            );
        }
    }
}

/// Runs `spec.resamples` resamples of one model, or of both paired; `None`
/// when the bootstrap is off or a class has fewer than two rows. With a
/// production model and `cost:`, both models' cost is also measured at
/// `production_threshold`, production's threshold on the whole holdout.
/// With weights, each resampled row counts by its weight.
pub fn run(
    candidate: &[f64],
    production: Option<&[f64]>,
    labels: &[bool],
    rows: &Rows,
    metrics: &MetricsSpec,
    spec: &StatsSpec,
    production_threshold: Option<f64>,
) -> Option<Bootstrap> {
    run_with(
        candidate,
        production,
        labels,
        rows,
        metrics,
        spec,
        Options {
            thresholds: None,
            production_threshold,
            exact_negatives: EXACT_NEGATIVES,
        },
    )
}

/// [`run`] with each model's operating threshold fixed, candidate's then
/// production's: a segment of the holdout keeps the thresholds the whole
/// holdout set, rather than finding its own at the configured FPR.
pub fn run_at(
    candidate: &[f64],
    production: Option<&[f64]>,
    labels: &[bool],
    rows: &Rows,
    metrics: &MetricsSpec,
    thresholds: [f64; 2],
    spec: &StatsSpec,
) -> Option<Bootstrap> {
    run_with(
        candidate,
        production,
        labels,
        rows,
        metrics,
        spec,
        Options {
            thresholds: Some(thresholds),
            production_threshold: Some(thresholds[1]),
            exact_negatives: SEGMENT_EXACT_NEGATIVES,
        },
    )
}

/// How a run cuts and draws beyond what the config says.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// Each model's fixed threshold, candidate's then production's.
    thresholds: Option<[f64; 2]>,
    /// Production's threshold on the whole holdout, where both models'
    /// cost is also measured.
    production_threshold: Option<f64>,
    /// See [`EXACT_NEGATIVES`].
    exact_negatives: usize,
}

fn run_with(
    candidate: &[f64],
    production: Option<&[f64]>,
    labels: &[bool],
    rows: &Rows,
    metrics: &MetricsSpec,
    spec: &StatsSpec,
    options: Options,
) -> Option<Bootstrap> {
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if spec.resamples == 0 || positives < 2 || negatives < 2 || labels.len() > u32::MAX as usize {
        return None;
    }
    let plan = Plan::new(candidate, production, labels, rows, metrics, options);
    let resamples: Vec<[Vec<f64>; 2]> = (0..spec.resamples)
        .into_par_iter()
        .map_init(
            || Work::new(&plan),
            |work, b| {
                let totals = work.draw(&plan, spec.seed, b);
                let mut out = [Vec::new(), Vec::new()];
                plan.metrics(work, totals, &mut out);
                out
            },
        )
        .collect();
    let names = names(&plan);
    let column = |k: usize, m: usize| -> Vec<f64> { resamples.iter().map(|r| r[m][k]).collect() };
    let mut out = Bootstrap::default();
    for (k, name) in names.iter().enumerate() {
        out.candidate
            .push((name.clone(), interval(column(k, 0), spec.confidence)));
    }
    out.candidate.extend(loss_intervals(
        candidate,
        labels,
        rows.weights,
        spec.confidence,
    ));
    if let Some(production) = production {
        for (k, name) in names.iter().enumerate() {
            out.production
                .push((name.clone(), interval(column(k, 1), spec.confidence)));
        }
        out.production.extend(loss_intervals(
            production,
            labels,
            rows.weights,
            spec.confidence,
        ));
        let mut work = Work::new(&plan);
        let totals = work.full(&plan);
        let mut full = [Vec::new(), Vec::new()];
        plan.metrics(&work, totals, &mut full);
        for (k, name) in names.iter().enumerate() {
            if !plan.weighted && TESTED_ELSEWHERE.contains(&name.as_str()) {
                continue;
            }
            let deltas = resamples.iter().map(|r| r[0][k] - r[1][k]).collect();
            let delta = full[0][k] - full[1][k];
            out.tests
                .push((name.clone(), test(delta, deltas, spec.confidence)));
        }
    }
    Some(out)
}

/// Intervals and paired tests of the metrics at a per-day alert budget,
/// resampling whole days (a cluster bootstrap): each day's alerts compete
/// for one day of the team's budget, so days, not rows, are the units that
/// vary independently, and precision@k is a mean over days. Both models
/// see the same days. `None` with the bootstrap off or fewer than two days.
pub fn days(
    candidate: &[DayTally],
    production: Option<&[DayTally]>,
    spec: &StatsSpec,
) -> Option<Bootstrap> {
    let n = candidate.len();
    if spec.resamples == 0 || n < 2 {
        return None;
    }
    let dollars = candidate.iter().any(|d| d.fraud_dollars > 0.0);
    let mut names = vec!["precision_at_budget", "recall_at_budget"];
    if dollars {
        names.push("dollar_recall_at_budget");
    }
    let values = |t: &[DayTally], pick: &mut dyn Iterator<Item = usize>| -> Vec<f64> {
        let (mut precision, mut caught, mut frauds, mut d, mut fd) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in pick {
            let day = &t[i];
            precision += day.caught / day.alerts;
            caught += day.caught;
            frauds += day.frauds;
            d += day.dollars;
            fd += day.fraud_dollars;
        }
        let mut v = vec![
            precision / n as f64,
            if frauds > 0.0 { caught / frauds } else { 0.0 },
        ];
        if dollars {
            v.push(if fd > 0.0 { d / fd } else { 0.0 });
        }
        v
    };
    let resamples: Vec<[Vec<f64>; 2]> = (0..spec.resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = resample_rng(spec.seed, b);
            let pick: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            [
                values(candidate, &mut pick.iter().copied()),
                production.map_or_else(Vec::new, |p| values(p, &mut pick.iter().copied())),
            ]
        })
        .collect();
    let column = |k: usize, m: usize| -> Vec<f64> { resamples.iter().map(|r| r[m][k]).collect() };
    let mut out = Bootstrap::default();
    for (k, name) in names.iter().enumerate() {
        out.candidate
            .push((name.to_string(), interval(column(k, 0), spec.confidence)));
    }
    if let Some(p) = production {
        let full = [values(candidate, &mut (0..n)), values(p, &mut (0..n))];
        for (k, name) in names.iter().enumerate() {
            out.production
                .push((name.to_string(), interval(column(k, 1), spec.confidence)));
            let deltas = resamples.iter().map(|r| r[0][k] - r[1][k]).collect();
            let mut t = test(full[0][k] - full[1][k], deltas, spec.confidence);
            t.method = DAYS_METHOD;
            out.tests.push((name.to_string(), t));
        }
    }
    Some(out)
}

/// The normal interval of the mean per-row log loss and Brier score, when
/// the scores are probabilities: means over rows need no resampling.
fn loss_intervals(
    scores: &[f64],
    labels: &[bool],
    weights: Option<&[f64]>,
    confidence: f64,
) -> Vec<(String, [f64; 2])> {
    if !scores.iter().all(|s| (0.0..=1.0).contains(s)) {
        return Vec::new();
    }
    let z = normal_quantile(0.5 + confidence / 2.0);
    if let Some(w) = weights {
        let (ll, br): (Vec<f64>, Vec<f64>) = scores
            .iter()
            .zip(labels)
            .map(|(s, y)| crate::metrics::row_losses(*s, *y))
            .unzip();
        return [("log_loss", ll), ("brier", br)]
            .into_iter()
            .filter_map(|(name, v)| {
                let (mean, variance) = super::weighted_mean(&v, w)?;
                let half = z * variance.sqrt();
                Some((name.to_string(), [mean - half, mean + half]))
            })
            .collect();
    }
    let (mut ll, mut br) = (Moments::default(), Moments::default());
    for (s, y) in scores.iter().zip(labels) {
        let (l, b) = crate::metrics::row_losses(*s, *y);
        ll.add(l);
        br.add(b);
    }
    [("log_loss", ll), ("brier", br)]
        .into_iter()
        .map(|(name, m)| {
            let half = z * m.std_dev() / (m.n as f64).sqrt();
            (name.to_string(), [m.mean - half, m.mean + half])
        })
        .collect()
}

/// The `q` quantile of sorted values, interpolated linearly between order
/// statistics (numpy's default), so a Python reference reads the same.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// The percentile interval at `confidence`.
fn interval(values: Vec<f64>, confidence: f64) -> [f64; 2] {
    let v = sorted(values);
    let tail = (1.0 - confidence) / 2.0;
    [quantile(&v, tail), quantile(&v, 1.0 - tail)]
}

/// A paired test from the resampled deltas: the percentile interval, the
/// bootstrap standard error, and the two-sided p-value of "no difference"
/// by inverting the percentiles.
fn test(delta: f64, deltas: Vec<f64>, confidence: f64) -> DeltaTest {
    let v = sorted(deltas);
    let tail = (1.0 - confidence) / 2.0;
    let mut m = Moments::default();
    v.iter().for_each(|d| m.add(*d));
    let std_error = m.std_dev();
    let exact = std_error == 0.0 && delta == 0.0;
    let (below, above) = share_beyond(&v, 0.0);
    DeltaTest {
        method: METHOD,
        delta,
        level: confidence,
        low: quantile(&v, tail),
        high: quantile(&v, 1.0 - tail),
        std_error,
        z: if std_error > 0.0 {
            delta / std_error
        } else {
            0.0
        },
        p_value: if exact {
            1.0
        } else {
            (2.0 * below.min(above)).min(1.0)
        },
        replicates: Some(Arc::from(v)),
    }
}

/// The shares of resampled values at or below, and at or above, `bound`,
/// with the add-one correction that keeps a bootstrap p-value above zero:
/// (1 + count) / (B + 1).
pub(super) fn share_beyond(sorted: &[f64], bound: f64) -> (f64, f64) {
    let b = sorted.len() as f64;
    let at_or_below = sorted.partition_point(|x| *x <= bound) as f64;
    let below = sorted.partition_point(|x| *x < bound) as f64;
    let at_or_above = b - below;
    (
        (1.0 + at_or_below) / (b + 1.0),
        (1.0 + at_or_above) / (b + 1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(exact_negatives: usize) -> Options {
        Options {
            thresholds: None,
            production_threshold: None,
            exact_negatives,
        }
    }
    use crate::metrics;

    fn spec(threshold: Threshold) -> MetricsSpec {
        MetricsSpec {
            threshold,
            at_fpr: vec![0.1, 0.3],
            cost: None,
            alert_budget: None,
        }
    }

    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A small holdout with ties within and across classes, and a second
    /// model that ranks it differently.
    fn data() -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let mut next = lcg(0x1234_5678);
        let labels: Vec<bool> = (0..300).map(|_| next() < 0.2).collect();
        let mut score =
            |y: &bool| ((next() * 0.7 + if *y { 0.3 } else { 0.0 }) * 20.0).round() / 20.0;
        let a = labels.iter().map(&mut score).collect();
        let b = labels.iter().map(&mut score).collect();
        (a, b, labels)
    }

    /// Counts per row, summed into the plan's positives and cells, give
    /// each model exactly the metrics of its rows repeated by their counts.
    #[test]
    fn segment_counts_give_the_metrics_of_the_repeated_rows() {
        let (a, b, labels) = data();
        let mut next = lcg(99);
        // Amounts on a cent grid, so repeated rows sum without rounding
        // differences beyond 1e-12 of the total.
        let amounts: Vec<f64> = (0..labels.len())
            .map(|_| (next() * 50_000.0).round() / 100.0)
            .collect();
        let costs = [
            CostSpec {
                false_positive: 2.5,
                false_negative: MissCost::Amount,
            },
            CostSpec {
                false_positive: 7.0,
                false_negative: MissCost::Each(40.0),
            },
        ];
        // The third case fixes a different threshold per model, as a
        // segment does with the thresholds of the whole holdout.
        for (threshold, fixed, cost) in [
            (Threshold::Fixed(0.5), None, costs[0]),
            (Threshold::AtFpr(0.2), None, costs[1]),
            (Threshold::AtFpr(0.2), Some([0.45, 0.6]), costs[0]),
        ] {
            let m = MetricsSpec {
                cost: Some(cost),
                alert_budget: Some(AlertBudget::Fraction(0.15)),
                ..spec(threshold)
            };
            // Production's threshold on the unrepeated rows, fixed as the
            // evaluation fixes it.
            let own = |model: usize| MetricsSpec {
                threshold: fixed.map_or(threshold, |t| Threshold::Fixed(t[model])),
                ..m.clone()
            };
            let at_production = metrics::evaluate(&b, &labels, &own(1)).unwrap().threshold;
            let rows = Rows {
                amounts: Some(&amounts),
                ..Rows::default()
            };
            let plan = Plan::new(
                &a,
                Some(&b),
                &labels,
                &rows,
                &m,
                Options {
                    thresholds: fixed,
                    production_threshold: Some(at_production),
                    exact_negatives: EXACT_NEGATIVES,
                },
            );
            let names = names(&plan);
            let mut work = Work::new(&plan);
            for round in 0..20 {
                let counts: Vec<u64> = (0..labels.len()).map(|_| (next() * 3.0) as u64).collect();
                work.positive.clear();
                work.cell.fill(0);
                for (row, label) in labels.iter().enumerate() {
                    if *label {
                        work.positive.push(counts[row]);
                    } else {
                        let key = (
                            plan.candidate.of_row[row],
                            plan.production.as_ref().unwrap().of_row[row],
                        );
                        let cell = plan
                            .cells
                            .iter()
                            .position(|c| (c.candidate, c.production) == key)
                            .unwrap();
                        work.cell[cell] += counts[row];
                    }
                }
                work.clear();
                let totals = (work.add_positives(&plan), work.add_cells(&plan));
                let mut got = [Vec::new(), Vec::new()];
                plan.metrics(&work, totals, &mut got);
                for (model, scores) in [&a, &b].into_iter().enumerate() {
                    let (mut s2, mut l2, mut a2) = (Vec::new(), Vec::new(), Vec::new());
                    for row in 0..labels.len() {
                        for _ in 0..counts[row] {
                            s2.push(scores[row]);
                            l2.push(labels[row]);
                            a2.push(amounts[row]);
                        }
                    }
                    let mut full = metrics::evaluate(&s2, &l2, &own(model)).unwrap();
                    let rows2 = Rows {
                        amounts: Some(&a2),
                        ..Rows::default()
                    };
                    full.dollars = metrics::dollars(&s2, &l2, &a2, None, &full);
                    full.cost = metrics::costs(&s2, &l2, &rows2, &cost, full.threshold);
                    full.cost.push((
                        "expected_cost_at_production_threshold".into(),
                        metrics::cost_at(&s2, &l2, &rows2, &cost, at_production),
                    ));
                    let tallies =
                        metrics::day_tallies(&s2, &l2, &rows2, m.alert_budget.as_ref().unwrap());
                    full.budget = metrics::budget_metrics(&tallies, true);
                    let want: std::collections::HashMap<String, Option<f64>> =
                        full.named().into_iter().collect();
                    assert!(names.iter().any(|n| n.starts_with("dollar_recall_at_fpr[")));
                    assert!(names.iter().any(|n| n == "min_expected_cost"));
                    assert!(names.iter().any(|n| n == "dollar_recall_at_budget"));
                    assert!(
                        names
                            .iter()
                            .any(|n| n == "expected_cost_at_production_threshold")
                    );
                    for (name, g) in names.iter().zip(&got[model]) {
                        let w = want[name].unwrap();
                        // Dollar amounts are checked relative to their size.
                        let scale = w.abs().max(1.0);
                        assert!(
                            (g - w).abs() < 1e-12 * scale,
                            "{threshold:?} round {round} model {model} {name}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    /// A row of weight `w` counts as `w` copies of it: with whole weights,
    /// a plan's counts times the weights give the metrics of the rows
    /// repeated that many times, and so does the weighted evaluation.
    #[test]
    fn weights_count_as_repeated_rows() {
        let (a, b, labels) = data();
        let mut next = lcg(41);
        let weights: Vec<f64> = (0..labels.len())
            .map(|_| (next() * 3.0).floor() + 1.0)
            .collect();
        let amounts: Vec<f64> = (0..labels.len())
            .map(|_| (next() * 50_000.0).round() / 100.0)
            .collect();
        let cost = CostSpec {
            false_positive: 2.5,
            false_negative: MissCost::Amount,
        };
        let m = MetricsSpec {
            cost: Some(cost),
            alert_budget: Some(AlertBudget::Fraction(0.15)),
            ..spec(Threshold::AtFpr(0.2))
        };
        let rows = Rows {
            amounts: Some(&amounts),
            weights: Some(&weights),
            days: None,
        };
        let plan = Plan::new(&a, Some(&b), &labels, &rows, &m, options(EXACT_NEGATIVES));
        assert!(plan.weighted);
        let names = names(&plan);
        let mut work = Work::new(&plan);
        let totals = work.full(&plan);
        let mut got = [Vec::new(), Vec::new()];
        plan.metrics(&work, totals, &mut got);
        for (model, scores) in [&a, &b].into_iter().enumerate() {
            let (mut s2, mut l2, mut a2) = (Vec::new(), Vec::new(), Vec::new());
            for row in 0..labels.len() {
                for _ in 0..weights[row] as usize {
                    s2.push(scores[row]);
                    l2.push(labels[row]);
                    a2.push(amounts[row]);
                }
            }
            let repeated = Rows {
                amounts: Some(&a2),
                ..Rows::default()
            };
            let want = metrics::evaluate_with_money(&s2, &l2, &repeated, &m).unwrap();
            let weighted = metrics::evaluate_with_money(scores, &labels, &rows, &m).unwrap();
            let (want, weighted): (std::collections::HashMap<_, _>, Vec<_>) =
                (want.named().into_iter().collect(), weighted.named());
            for (name, w) in &weighted {
                if matches!(name.as_str(), "rows" | "positives") {
                    continue;
                }
                let (w, r) = (w.unwrap(), want[name].unwrap());
                assert!(
                    (w - r).abs() <= 1e-12 * r.abs().max(1.0),
                    "weighted evaluation, model {model} {name}: {w} vs {r}"
                );
            }
            for (name, g) in names.iter().zip(&got[model]) {
                let w = want[name].unwrap();
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "weighted plan, model {model} {name}: {g} vs {w}"
                );
            }
        }
        assert!(names.iter().any(|n| n == "roc_auc"));
    }

    #[test]
    fn the_same_seed_gives_the_same_result_on_any_thread_count() {
        let (a, b, labels) = data();
        let m = spec(Threshold::Fixed(0.5));
        let s = StatsSpec {
            resamples: 300,
            seed: 7,
            confidence: 0.95,
        };
        let on = |threads: usize, exact: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    run_with(
                        &a,
                        Some(&b),
                        &labels,
                        &Rows::default(),
                        &m,
                        &s,
                        options(exact),
                    )
                })
        };
        for exact in [EXACT_NEGATIVES, 0] {
            assert_eq!(on(1, exact), on(3, exact));
        }
        let other = run(
            &a,
            Some(&b),
            &labels,
            &Rows::default(),
            &m,
            &StatsSpec { seed: 8, ..s },
            None,
        );
        assert_ne!(on(1, EXACT_NEGATIVES), other);
    }

    #[test]
    fn identical_models_have_an_exact_zero_difference() {
        let (a, _, labels) = data();
        let m = spec(Threshold::AtFpr(0.1));
        let s = StatsSpec {
            resamples: 200,
            seed: 1,
            confidence: 0.95,
        };
        let b = run(&a, Some(&a), &labels, &Rows::default(), &m, &s, None).unwrap();
        assert!(b.tests.len() >= 8);
        for (name, t) in &b.tests {
            assert_eq!(
                (t.delta, t.low, t.high, t.p_value),
                (0.0, 0.0, 0.0, 1.0),
                "{name}"
            );
        }
    }

    /// The Poisson draw of many negatives and the exact one agree within
    /// Monte Carlo error (2000 resamples each: about 0.1 standard errors
    /// for a 2.5% quantile, plus a step of 1/positives for counted metrics).
    #[test]
    fn poisson_negatives_agree_with_exact_ones() {
        let mut next = lcg(5);
        let labels: Vec<bool> = (0..4000).map(|_| next() < 0.05).collect();
        let base: Vec<f64> = labels
            .iter()
            .map(|y| next() + if *y { 0.8 } else { 0.0 })
            .collect();
        let a: Vec<f64> = base.iter().map(|x| x + 0.5 * next()).collect();
        let b: Vec<f64> = base.iter().map(|x| x + 0.5 * next()).collect();
        let m = spec(Threshold::Fixed(1.2));
        let s = StatsSpec::default();
        let exact = run_with(
            &a,
            Some(&b),
            &labels,
            &Rows::default(),
            &m,
            &s,
            options(EXACT_NEGATIVES),
        )
        .unwrap();
        let poisson =
            run_with(&a, Some(&b), &labels, &Rows::default(), &m, &s, options(0)).unwrap();
        let step = 1.0 / labels.iter().filter(|l| **l).count() as f64;
        for ((name, e), (_, p)) in exact.tests.iter().zip(&poisson.tests) {
            let tol = 0.4 * e.std_error + step;
            assert!((e.delta - p.delta).abs() < 1e-15, "{name}");
            assert!(
                (e.low - p.low).abs() <= tol && (e.high - p.high).abs() <= tol,
                "{name}: exact [{}, {}], Poisson [{}, {}]",
                e.low,
                e.high,
                p.low,
                p.high
            );
            assert!(
                (e.std_error - p.std_error).abs() <= 0.12 * e.std_error + step / 4.0,
                "{name}"
            );
        }
    }

    #[test]
    fn the_poisson_tables_are_the_distribution() {
        let scale = 18_446_744_073_709_551_616.0;
        let e = (-1.0f64).exp();
        let one = poisson_cdf(1);
        assert!((one[0] as f64 / scale - e).abs() < 1e-15);
        assert!((one[1] as f64 / scale - 2.0 * e).abs() < 1e-15);
        assert!(one.len() >= 18 && one.windows(2).all(|w| w[0] < w[1]));
        // scipy.stats.poisson.cdf(30, 30) and (64, 64).
        for (n, k, want) in [
            (30, 30, 0.548_351_512_577_911_4),
            (64, 64, 0.533_178_908_317_365_4),
        ] {
            let got = poisson_cdf(n)[k] as f64 / scale;
            assert!((got - want).abs() < 1e-12, "{n}: {got} vs {want}");
        }
        // The 16-bit shortcut agrees with inverting all 64 bits.
        let counts = PoissonCounts::new(&[], false);
        let ambiguous = counts.one.iter().filter(|k| **k == AMBIGUOUS).count();
        assert!(ambiguous <= one.len(), "{ambiguous}");
        for top in (0..=u16::MAX).step_by(97) {
            let k = counts.one[usize::from(top)];
            if k != AMBIGUOUS {
                let u = (u64::from(top) << 48) | 0x1234_5678_9abc;
                assert_eq!(usize::from(k), one.partition_point(|t| *t <= u));
            }
        }
    }

    /// Cells of one row, of a few and of many draw counts whose means and
    /// variances are the cells' sizes; each count adds its cell's weight.
    #[test]
    fn poisson_counts_have_the_right_moments() {
        let weights = [1.0, 2.5, 0.5, 3.0];
        let cells: Vec<Cell> = [1u64, 7, 64, 500]
            .iter()
            .enumerate()
            .map(|(i, &rows)| Cell {
                candidate: i as u32,
                production: 3 - i as u32,
                rows,
                weight: weights[i],
            })
            .collect();
        let p = PoissonCounts::new(&cells, true);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut m: Vec<Moments> = vec![Moments::default(); cells.len()];
        for _ in 0..20_000 {
            let mut fp = [vec![0.0; 4], vec![0.0; 4]];
            let total = p.add(&mut fp, &mut rng);
            assert_eq!(total, fp[0].iter().sum::<f64>());
            for (i, m) in m.iter_mut().enumerate() {
                assert_eq!(fp[0][i], fp[1][3 - i]);
                let count = fp[0][i] / weights[i];
                assert_eq!(count, count.round(), "a whole number of rows");
                m.add(count);
            }
        }
        for (cell, m) in cells.iter().zip(&m) {
            let n = cell.rows as f64;
            // Four standard errors of a mean of 20000 draws, and of a variance.
            assert!(
                (m.mean - n).abs() < 4.0 * (n / 20_000.0).sqrt(),
                "{n}: mean {}",
                m.mean
            );
            let var = m.std_dev().powi(2);
            assert!(
                (var - n).abs() < 4.0 * n * (2.0 / 20_000.0f64).sqrt() + 0.05,
                "{n}: var {var}"
            );
        }
    }

    #[test]
    fn p_values_invert_the_percentiles() {
        let v: Vec<f64> = (0..999).map(|i| i as f64 / 998.0 - 0.1).collect();
        let (below, above) = share_beyond(&v, 0.0);
        // 0.0 sits at index 99.8: 100 values are <= 0.
        assert!((below - 101.0 / 1000.0).abs() < 1e-15, "{below}");
        assert!((above - 900.0 / 1000.0).abs() < 1e-15, "{above}");
        assert_eq!(quantile(&v, 0.5), v[499]);
    }
}
