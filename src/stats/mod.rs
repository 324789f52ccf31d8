//! Statistical evidence for comparing the two models on the same holdout:
//! DeLong's test for the difference of two correlated ROC AUCs (DeLong,
//! DeLong and Clarke-Pearson 1988), computed in O(n log n) from each row's
//! placement among the other class (Sun and Xu 2014); a paired z-test for
//! the metrics that are a mean over rows (log loss, Brier), whose
//! per-row differences make the paired design exact without resampling;
//! one-sided tests against a margin, and the effect a holdout can detect;
//! in [`bootstrap`], the paired bootstrap for every other metric; and in
//! [`ks`], the exact two-sample KS test behind drift.

pub mod bootstrap;
pub mod ks;

use std::sync::Arc;

use serde::Serialize;

use crate::data::summary::{DeLongParts, Placements};
use crate::sort::Buckets;

/// A confidence interval and test for candidate minus production.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeltaTest {
    pub method: &'static str,
    pub delta: f64,
    pub level: f64,
    pub low: f64,
    pub high: f64,
    pub std_error: f64,
    pub z: f64,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
    /// A bootstrap test's resampled deltas, sorted: one-sided tests against
    /// a margin read their shares instead of a normal approximation.
    #[serde(skip)]
    pub replicates: Option<Arc<[f64]>>,
}

/// For each value in `of`, the share of `among` below it, ties counting
/// half: `among` must be sorted. The reference the fast path is tested
/// against.
#[cfg(test)]
fn placements(of: &[f64], among_sorted: &[f64]) -> Vec<f64> {
    let n = among_sorted.len() as f64;
    of.iter()
        .map(|&x| {
            let below = among_sorted.partition_point(|&y| y < x);
            let not_above = among_sorted.partition_point(|&y| y <= x);
            (below as f64 + 0.5 * (not_above - below) as f64) / n
        })
        .collect()
}

/// V10 (per positive) and V01 (per negative) components of one model, by
/// sorting both classes: the reference for [`delong`].
#[cfg(test)]
fn components(scores: &[f64], labels: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for (s, l) in scores.iter().zip(labels) {
        if *l { pos.push(*s) } else { neg.push(*s) }
    }
    let mut neg_sorted = neg.clone();
    neg_sorted.sort_unstable_by(f64::total_cmp);
    let mut pos_sorted = pos.clone();
    pos_sorted.sort_unstable_by(f64::total_cmp);
    let v10 = placements(&pos, &neg_sorted);
    // A negative's component: the share of positives above it.
    let v01 = placements(&neg, &pos_sorted)
        .into_iter()
        .map(|p| 1.0 - p)
        .collect();
    (v10, v01)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample variance of a - b (paired).
fn var_of_difference(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let k = a.len() as f64;
    a.iter()
        .zip(b)
        .map(|(x, y)| ((x - ma) - (y - mb)).powi(2))
        .sum::<f64>()
        / (k - 1.0)
}

/// Where a value falls among one model's positive scores, looked up in
/// the value's bucket of the positives' range rather than by a binary
/// search over them all: a fraud holdout's positives are few, so a bucket
/// fitted to them holds one or none, and millions of negatives are placed
/// in a pass with no sort of the negatives.
struct Positives {
    /// The positives in ascending order, each beside its tally, and two
    /// slots more: the first for the negatives above every positive, both
    /// read by [`Positives::place`] past the last run.
    slots: Vec<Slot>,
    buckets: Buckets,
    /// The first positive of each bucket, and the count as the last entry.
    start: Vec<u32>,
}

/// A positive's score and the negatives whose "not above" count is its
/// index. Side by side, placing a negative reads the run it searches and
/// the tally it counts in from the same cache lines: in two arrays (of
/// 0.4 MB each at 10M rows, 4 MB at 100M, past L2 cache) they were two
/// misses a negative and model, not one.
#[derive(Debug, Clone, Copy)]
struct Slot {
    y: f64,
    not_above: u64,
}

/// The positives' scores, in ascending order.
fn sorted_positives(scores: &[f64], labels: &[bool]) -> Vec<f64> {
    let mut sorted: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(s, _)| *s)
        .collect();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

impl Positives {
    fn new(scores: &[f64], labels: &[bool]) -> Positives {
        let sorted = sorted_positives(scores, labels);
        let (lo, hi) = crate::sort::range(sorted.iter().copied());
        // Fitted to the positives themselves: a fraud model's positives
        // crowd the low scores, where the negatives are, and equal slices
        // of their range left a negative there a run of about 30 positives
        // to search at 10M rows and 300 at 100M (where the paired tests
        // took 26 s, and take 20 s fitted).
        let buckets = Buckets::fitted(lo, hi, sorted.iter().copied());
        let mut start = vec![0u32; Buckets::COUNT + 1];
        for y in &sorted {
            start[buckets.of(*y) + 1] += 1;
        }
        for b in 1..start.len() {
            start[b] += start[b - 1];
        }
        // Above every score: the slots past the positives are never
        // counted below or not above a negative.
        let slots = sorted
            .iter()
            .chain([&f64::INFINITY, &f64::INFINITY])
            .map(|y| Slot {
                y: *y,
                not_above: 0,
            })
            .collect();
        Positives {
            slots,
            buckets,
            start,
        }
    }

    /// How many positives there are.
    fn len(&self) -> usize {
        self.slots.len() - 2
    }

    /// The positives below `x` and not above it. Bucket order is value
    /// order, so positives in earlier buckets are below `x` and those in
    /// later ones above it. A run of two positives or fewer (nearly all of
    /// them, with buckets fitted to the positives) is counted by comparing
    /// the two slots from its start, without a branch: a slot past the run
    /// holds a later bucket's positive or a sentinel, above `x` either
    /// way. The binary search's steps, as many as the run is long, were
    /// mispredicted on runs of zero, one and two in turn.
    #[inline]
    fn place(&self, x: f64) -> (usize, usize) {
        let b = self.buckets.of(x);
        let (s, e) = (self.start[b] as usize, self.start[b + 1] as usize);
        if e - s <= 2 {
            let (y0, y1) = (self.slots[s].y, self.slots[s + 1].y);
            return (
                s + usize::from(y0 < x) + usize::from(y1 < x),
                s + usize::from(y0 <= x) + usize::from(y1 <= x),
            );
        }
        let run = &self.slots[s..e];
        (
            s + run.partition_point(|p| p.y < x),
            s + run.partition_point(|p| p.y <= x),
        )
    }
}

/// One model's tally of the negatives' places among its positives: in
/// each positive's slot the negatives not above it, here the negatives
/// tied with it (rare with continuous scores, so kept apart), and the sum
/// of the negatives' ranks ([`Tally::add`]).
struct Tally {
    p: Positives,
    ties: Vec<u64>,
    ranks: u64,
}

impl Tally {
    fn new(p: Positives) -> Tally {
        Tally {
            ties: vec![0; p.len()],
            p,
            ranks: 0,
        }
    }

    /// Places a negative scored `x` and gives its rank among the `m`
    /// positives in halves: the positives below it plus those not above
    /// it, twice the positives below it with ties counting half. Its
    /// component (V01, the share of positives above it) is
    /// `1 - rank / 2m`; the integer keeps the components' sums exact.
    #[inline]
    fn add(&mut self, x: f64) -> u64 {
        let (below, not_above) = self.p.place(x);
        self.p.slots[not_above].not_above += 1;
        if not_above > below {
            self.ties[below] += 1;
        }
        let rank = (below + not_above) as u64;
        self.ranks += rank;
        rank
    }

    /// The negatives' mean component.
    fn mean_v01(&self, n: usize) -> f64 {
        let m = self.p.len() as f64;
        1.0 - self.ranks as f64 / (2.0 * m * n as f64)
    }

    /// The positive components (V10, in row order of the positives): the
    /// negatives below a positive are those whose "not above" count does
    /// not pass the positive's first index, and its ties are the
    /// negatives equal to it.
    fn positive_components(self, scores: &[f64], labels: &[bool]) -> Vec<f64> {
        let n: u64 = self.p.slots.iter().map(|s| s.not_above).sum();
        // Negatives strictly below the positive at sorted index `a`.
        let below: Vec<u64> = self
            .p
            .slots
            .iter()
            .scan(0u64, |sum, s| {
                *sum += s.not_above;
                Some(*sum)
            })
            .collect();
        let positives = &self.p.slots[..self.p.len()];
        scores
            .iter()
            .zip(labels)
            .filter(|(_, l)| **l)
            .map(|(s, _)| {
                let a = positives.partition_point(|p| p.y < *s);
                (below[a] as f64 + 0.5 * self.ties[a] as f64) / n as f64
            })
            .collect()
    }
}

/// DeLong's test of AUC(candidate) - AUC(production); `None` with fewer
/// than two rows of either class. Models that rank every row alike have a
/// difference of exactly zero with no variance: that is "no difference"
/// (p = 1), not a missing test. A degenerate nonzero difference without
/// variance has no test.
///
/// The components are those of Sun and Xu's placements, computed without
/// sorting the negatives (see [`Positives`]) and without keeping a
/// component per negative: one pass over the negatives places each among
/// both models' positives, for the means, the positives' components and
/// the variance of the paired differences. The negatives' components are
/// summed as integers (ranks in halves, [`Tally::add`]): the means, and
/// the paired differences' sum and sum of squares, are exact, so the
/// one-pass variance loses nothing to cancellation and is rounded once.
/// (Summed as floats about a shift, it took a division per negative and
/// model, and agreed with the sort-based two-pass reference to 1e-12.)
/// Placing each negative once per model, not twice, took
/// the test on 10M rows from 0.70 s to 0.49 s, and from about 0.9 to 0.5
/// CPU-seconds (it had placed them apart per model, in parallel).
pub fn delong(
    candidate: &[f64],
    production: &[f64],
    labels: &[bool],
    level: f64,
) -> Option<DeltaTest> {
    let m = labels.iter().filter(|l| **l).count();
    let n = labels.len() - m;
    if m < 2 || n < 2 {
        return None;
    }
    let (c, p) = rayon::join(
        || Positives::new(candidate, labels),
        || Positives::new(production, labels),
    );
    let negatives = || {
        candidate
            .iter()
            .zip(production)
            .zip(labels)
            .filter(|(_, l)| !**l)
            .map(|((x, y), _)| (*x, *y))
    };
    let (mut tc, mut tp) = (Tally::new(c), Tally::new(p));
    // Each negative's paired difference of components is the difference
    // of its ranks over 2m: summed, and squared and summed, as integers.
    let (mut s1, mut s2) = (0i128, 0i128);
    for (x, y) in negatives() {
        // Ranks are at most 2m, far inside an i64.
        let k = i128::from(tp.add(y) as i64 - tc.add(x) as i64);
        s1 += k;
        s2 += k * k;
    }
    let (mc, mp) = (tc.mean_v01(n), tp.mean_v01(n));
    let var_difference = paired_variance(s1, s2, n) / (4.0 * (m as f64).powi(2));
    let (c10, p10) = rayon::join(
        || tc.positive_components(candidate, labels),
        || tp.positive_components(production, labels),
    );
    delong_from_parts(
        &DeLongParts {
            positives: Placements {
                n: m as u64,
                mean_a: mean(&c10),
                mean_b: mean(&p10),
                var_difference: var_of_difference(&c10, &p10),
            },
            negatives: Placements {
                n: n as u64,
                mean_a: mc,
                mean_b: mp,
                var_difference,
            },
        },
        level,
    )
}

/// The sample variance of `n` integers from their sum `s1` and sum of
/// squares `s2`: `(n·s2 - s1²) / (n(n-1))`, the numerator exact. Beyond
/// i128 (a product of the class counts past about 6·10^18, a holdout of
/// billions of rows) the numerator is taken in f64.
fn paired_variance(s1: i128, s2: i128, n: usize) -> f64 {
    let n_ = n as i128;
    let spread = match n_.checked_mul(s2).zip(s1.checked_mul(s1)) {
        Some((a, b)) => (a - b) as f64,
        None => (s2 as f64 - (s1 as f64).powi(2) / n as f64) * n as f64,
    };
    spread.max(0.0) / (n as f64 * (n as f64 - 1.0))
}

/// DeLong's test from each class's placements (model `a` is the
/// candidate): what [`delong`] computes from the rows, and what a
/// `modelgate.summary/v1` carries for rows no single machine holds.
pub fn delong_from_parts(parts: &DeLongParts, level: f64) -> Option<DeltaTest> {
    let (pos, neg) = (parts.positives, parts.negatives);
    if pos.n < 2 || neg.n < 2 {
        return None;
    }
    let delta = pos.mean_a - pos.mean_b;
    let var = pos.var_difference / pos.n as f64 + neg.var_difference / neg.n as f64;
    normal_test("DeLong", delta, var, level)
}

/// A delta with its variance as a normal test: the interval at `level`
/// and the two-sided p-value. Zero delta without variance is an exact "no
/// difference" (p = 1); any other delta without a finite positive variance
/// has no test.
fn normal_test(method: &'static str, delta: f64, var: f64, level: f64) -> Option<DeltaTest> {
    if var == 0.0 && delta == 0.0 {
        return Some(DeltaTest {
            method,
            delta,
            level,
            low: 0.0,
            high: 0.0,
            std_error: 0.0,
            z: 0.0,
            p_value: 1.0,
            replicates: None,
        });
    }
    if var.is_nan() || var <= 0.0 || var.is_infinite() {
        return None;
    }
    let se = var.sqrt();
    let z = delta / se;
    let half = normal_quantile(0.5 + level / 2.0) * se;
    Some(DeltaTest {
        method,
        delta,
        level,
        low: delta - half,
        high: delta + half,
        std_error: se,
        z,
        // libm's erfc is correctly rounded to about 1 ulp, so the p-value
        // agrees with scipy's `2 * norm.sf(|z|)` to the precision of z.
        p_value: libm::erfc(z.abs() / std::f64::consts::SQRT_2),
        replicates: None,
    })
}

/// Running mean and sum of squared deviations (Welford), so a paired test
/// over millions of rows needs no per-row vectors.
#[derive(Debug, Default, Clone)]
pub struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// The moments of `n` values with this mean and sample variance.
    pub fn from_mean_var(n: u64, mean: f64, var: f64) -> Moments {
        Moments {
            n,
            mean,
            m2: var * n.saturating_sub(1) as f64,
        }
    }

    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// The sample standard deviation; 0 below two values.
    pub fn std_dev(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }
}

/// The paired test of a metric that is a mean over rows (log loss,
/// Brier): `m` holds each row's candidate-minus-production difference.
/// The z-test of its mean, with the sample standard error.
pub fn paired_mean(method: &'static str, m: &Moments, level: f64) -> Option<DeltaTest> {
    if m.n < 2 {
        return None;
    }
    let n = m.n as f64;
    normal_test(method, m.mean, m.m2 / (n - 1.0) / n, level)
}

/// The weighted mean of `values` and the variance of that mean, by
/// linearisation (the ratio estimator's):
/// `n / (n - 1) · Σ w² (x − mean)² / (Σ w)²`, which with unit weights is the
/// sample variance over `n`, as [`paired_mean`] uses. `None` below two rows
/// or without weight.
pub fn weighted_mean(values: &[f64], weights: &[f64]) -> Option<(f64, f64)> {
    let n = values.len() as f64;
    let total: f64 = weights.iter().sum();
    if values.len() < 2 || total <= 0.0 {
        return None;
    }
    let mean = values.iter().zip(weights).map(|(x, w)| w * x).sum::<f64>() / total;
    let spread: f64 = values
        .iter()
        .zip(weights)
        .map(|(x, w)| (w * (x - mean)).powi(2))
        .sum();
    Some((mean, n / (n - 1.0) * spread / (total * total)))
}

/// [`paired_mean`] for weighted rows ([`weighted_mean`]).
pub fn paired_weighted_mean(
    method: &'static str,
    values: &[f64],
    weights: &[f64],
    level: f64,
) -> Option<DeltaTest> {
    let (mean, variance) = weighted_mean(values, weights)?;
    normal_test(method, mean, variance, level)
}

/// One-sided p-values of a paired test against a bound on the improvement
/// (delta in the better direction): of "improvement <= bound" and of
/// "improvement >= bound". A bootstrap test reads the shares of its
/// resampled improvements beyond the bound; the others use the normal
/// approximation DeLong's test rests on. Without variance the delta is
/// exact, and each p-value is 0 or 1.
pub fn one_sided(t: &DeltaTest, bound: f64, greater_is_better: bool) -> (f64, f64) {
    let improvement = if greater_is_better { t.delta } else { -t.delta };
    if let Some(r) = &t.replicates
        && t.std_error > 0.0
    {
        // Improvements are the deltas, negated when lower is better: the
        // share of improvements <= bound is the share of deltas >= -bound.
        return if greater_is_better {
            bootstrap::share_beyond(r, bound)
        } else {
            let (below, above) = bootstrap::share_beyond(r, -bound);
            (above, below)
        };
    }
    if t.std_error == 0.0 {
        return (
            if improvement > bound { 0.0 } else { 1.0 },
            if improvement < bound { 0.0 } else { 1.0 },
        );
    }
    let z = (improvement - bound) / t.std_error;
    // P(Z > z) and P(Z < z), each through erfc to keep small tails exact.
    (
        0.5 * libm::erfc(z / std::f64::consts::SQRT_2),
        0.5 * libm::erfc(-z / std::f64::consts::SQRT_2),
    )
}

/// The standard normal quantile: `x` with Φ(x) = `p`, for 0 < p < 1.
/// Newton's method on the upper tail through libm's erfc (no maintained
/// crate in the tree has the inverse). For p ≥ 0.5, 1 − p is exact, and
/// the tail is decreasing and convex right of 0, so the iteration from 0
/// converges monotonically and keeps the tail's relative precision.
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if p < 0.5 {
        return -normal_quantile(1.0 - p);
    }
    let q = 1.0 - p;
    let mut x: f64 = 0.0;
    for _ in 0..200 {
        let tail = 0.5 * libm::erfc(x / std::f64::consts::SQRT_2);
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let step = (tail - q) / pdf;
        x += step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// The smallest true improvement beyond a margin that a one-sided test at
/// `alpha` shows with probability `power` on this holdout:
/// (z(1 − alpha) + z(power)) × standard error. Zero without variance.
pub fn detectable(t: &DeltaTest, alpha: f64, power: f64) -> f64 {
    (normal_quantile(1.0 - alpha) + normal_quantile(power)) * t.std_error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sort-based DeLong of the rows: what [`delong`] must equal.
    fn delong_by_sorting(c: &[f64], p: &[f64], labels: &[bool], level: f64) -> Option<DeltaTest> {
        let (c10, c01) = components(c, labels);
        let (p10, p01) = components(p, labels);
        let side = |a: &[f64], b: &[f64]| Placements {
            n: a.len() as u64,
            mean_a: mean(a),
            mean_b: mean(b),
            var_difference: var_of_difference(a, b),
        };
        let negatives = Placements {
            var_difference: {
                let d = negative_differences(c, p, labels);
                compensated_variance(&d)
            },
            ..side(&c01, &p01)
        };
        delong_from_parts(
            &DeLongParts {
                positives: side(&c10, &p10),
                negatives,
            },
            level,
        )
    }

    /// Sample variance, two-pass with Neumaier's compensated sums: the
    /// negatives' differences are mostly one value, and a plain sum of
    /// tens of thousands of their squared deviations drifted by 2e-12
    /// (relative) from the exact variance, more than [`delong`]'s exact
    /// integer sums do.
    fn compensated_variance(d: &[f64]) -> f64 {
        let sum = |xs: &mut dyn Iterator<Item = f64>| {
            let (mut s, mut c) = (0.0f64, 0.0f64);
            for x in xs {
                let t = s + x;
                c += if s.abs() >= x.abs() {
                    (s - t) + x
                } else {
                    (x - t) + s
                };
                s = t;
            }
            s + c
        };
        let k = d.len() as f64;
        let mean = sum(&mut d.iter().copied()) / k;
        sum(&mut d.iter().map(|x| (x - mean) * (x - mean))) / (k - 1.0)
    }

    /// Each negative's paired difference of components, from its places
    /// among each model's sorted positives as integers: the difference of
    /// two components rounded apart loses the digits they share, most of
    /// them when the models score a hair apart.
    fn negative_differences(c: &[f64], p: &[f64], labels: &[bool]) -> Vec<f64> {
        let (cs, ps) = (sorted_positives(c, labels), sorted_positives(p, labels));
        // Twice the positives below x, ties counting half.
        let rank = |among: &[f64], x: f64| {
            (among.partition_point(|y| *y < x) + among.partition_point(|y| *y <= x)) as f64
        };
        let twice_m = 2.0 * cs.len() as f64;
        c.iter()
            .zip(p)
            .zip(labels)
            .filter(|(_, l)| !**l)
            .map(|((x, y), _)| (rank(&ps, *y) - rank(&cs, *x)) / twice_m)
            .collect()
    }

    /// Every field of `a` within `tol` (relative) of `b`'s; the delta to
    /// the bit (both sum the same positives' components in one order).
    /// Measured: at most 2e-16 on these cases, against the reference's
    /// compensated variance of the negatives (3e-13 when [`delong`] summed
    /// its components as floats).
    fn assert_close(a: &DeltaTest, b: &DeltaTest, tol: f64, what: &str) {
        assert_eq!(a.delta, b.delta, "{what}");
        for (x, y) in [
            (a.std_error, b.std_error),
            (a.low, b.low),
            (a.high, b.high),
            (a.z, b.z),
            (a.p_value, b.p_value),
        ] {
            assert!(
                (x - y).abs() <= tol * y.abs().max(1e-300),
                "{what}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn delong_without_sorting_the_negatives_equals_the_sort() {
        // Rounded scores (many ties, within and across classes), negatives
        // beyond the positives' range on both sides, and -0.0 beside 0.0.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // The last case's positives crowd the low scores as a fraud model's
        // do (half of them in the lowest 1/256 of their range), so their
        // buckets are fitted; the others' are equal slices.
        for (rows, round, crowded) in [
            (2_000usize, 100.0, false),
            (50_000, 1e4, false),
            (20_000, 1e12, false),
            (50_000, 1e12, true),
        ] {
            let labels: Vec<bool> = (0..rows).map(|_| next() < 0.05).collect();
            let score = |l: bool, u: f64| {
                let x = match (l, crowded) {
                    (true, false) => 0.3 + 0.6 * u,
                    (true, true) => u.powi(8),
                    (false, _) => 1.2 * u - 0.1,
                };
                (x * round).round() / round
            };
            let mut c: Vec<f64> = labels.iter().map(|l| score(*l, next())).collect();
            let p: Vec<f64> = labels.iter().map(|l| score(*l, next())).collect();
            c[0] = -0.0;
            c[1] = 0.0;
            let fast = delong(&c, &p, &labels, 0.95).unwrap();
            let sorted = delong_by_sorting(&c, &p, &labels, 0.95).unwrap();
            assert_close(
                &fast,
                &sorted,
                1e-14,
                &format!("{rows} rows rounded to 1/{round}"),
            );
            // A production model a hair from the candidate: the paired
            // differences are tiny beside their mean's square, which a
            // one-pass sum in floats loses and exact integer sums do not.
            let near: Vec<f64> = c.iter().map(|x| x + 1e-9 * next()).collect();
            let fast = delong(&c, &near, &labels, 0.95).unwrap();
            let sorted = delong_by_sorting(&c, &near, &labels, 0.95).unwrap();
            assert_close(&fast, &sorted, 1e-14, &format!("{rows} rows, near"));
        }
    }

    #[test]
    fn paired_variance_is_exact_and_falls_back_past_i128() {
        let k = [3i128, -1, 4, 1, -5, 9, 2, -6];
        let (s1, s2) = (k.iter().sum(), k.iter().map(|x| x * x).sum());
        let d: Vec<f64> = k.iter().map(|x| *x as f64).collect();
        assert_eq!(
            paired_variance(s1, s2, k.len()),
            var_of_difference(&d, &[0.0; 8])
        );
        // Sums whose products pass i128 (unreachable below billions of
        // rows) are taken in f64 rather than wrapping.
        let big = i128::MAX / 2;
        let v = paired_variance(1, big, 4);
        assert!(v.is_finite() && v > 0.0, "{v}");
    }

    #[test]
    fn two_sided_p_value_of_the_95_percent_quantile_is_five_percent() {
        // 1.959963984540054 is scipy's norm.ppf(0.975).
        let p = libm::erfc(1.959_963_984_540_054 / std::f64::consts::SQRT_2);
        assert!((p - 0.05).abs() < 1e-15, "{p}");
    }

    #[test]
    fn normal_quantiles_match_scipy() {
        // scipy.stats.norm.ppf at each p.
        for (p, want) in [
            (0.5, 0.0),
            (0.8, 0.841_621_233_572_914_3),
            (0.95, 1.644_853_626_951_472_2),
            (0.975, 1.959_963_984_540_054),
            (0.999, 3.090_232_306_167_813),
            (1.0 - 1e-10, 6.361_340_889_697_422),
            (0.05, -1.644_853_626_951_472_2),
        ] {
            let got = normal_quantile(p);
            assert!((got - want).abs() < 1e-12, "{p}: {got} vs {want}");
        }
        assert!(normal_quantile(0.0).is_nan() && normal_quantile(1.0).is_nan());
    }

    /// A test with a delta and standard error; the other fields are not
    /// read by the one-sided tests.
    fn a_test(method: &'static str, delta: f64, std_error: f64) -> DeltaTest {
        DeltaTest {
            method,
            delta,
            level: 0.95,
            low: 0.0,
            high: 0.0,
            std_error,
            z: 0.0,
            p_value: 0.0,
            replicates: None,
        }
    }

    #[test]
    fn one_sided_p_values_against_a_bound() {
        // 1.6448536269514722 is scipy's norm.ppf(0.95).
        let t = a_test("DeLong", 0.02 + 1.644_853_626_951_472_2 * 0.01, 0.01);
        let (better, short) = one_sided(&t, 0.02, true);
        assert!((better - 0.05).abs() < 1e-14 && (short - 0.95).abs() < 1e-14);
        // Lower is better: the same delta is a loss of 0.0364, short of
        // the bound -0.01 by z = 2.64.
        let (better, short) = one_sided(&t, -0.01, false);
        assert!(better > 0.995 && short < 0.005, "{better} {short}");
        assert!((better + short - 1.0).abs() < 1e-15);
        let exact = DeltaTest {
            std_error: 0.0,
            delta: 0.0,
            ..t
        };
        assert_eq!(one_sided(&exact, -0.002, true), (0.0, 1.0));
        assert_eq!(one_sided(&exact, 0.0, true), (1.0, 1.0));
    }

    /// A bootstrap test reads its one-sided p-values off the resampled
    /// deltas, in the metric's better direction.
    #[test]
    fn one_sided_p_values_of_a_bootstrap_count_the_replicates() {
        // 99 deltas, -0.01 to 0.04 by 0.05 / 98.
        let r: Vec<f64> = (0..99).map(|i| -0.01 + 0.05 * i as f64 / 98.0).collect();
        let t = DeltaTest {
            replicates: Some(Arc::from(r)),
            ..a_test("paired bootstrap", 0.015, 0.01)
        };
        // Greater is better: 20 of the 99 deltas are <= 0 (at -0.01 ..
        // -0.00031), so p = 21 / 100; 79 are >= 0.
        let (p, short) = one_sided(&t, 0.0, true);
        assert!(
            (p - 0.21).abs() < 1e-15 && (short - 0.80).abs() < 1e-15,
            "{p} {short}"
        );
        // Lower is better: improvement = -delta; "improvement <= -0.002"
        // is "delta >= 0.002".
        let (p, short) = one_sided(&t, -0.002, false);
        let at_least = (0..99)
            .filter(|i| -0.01 + 0.05 * *i as f64 / 98.0 >= 0.002)
            .count();
        assert!((p - (1.0 + at_least as f64) / 100.0).abs() < 1e-15, "{p}");
        assert!(
            (short - (1.0 + (99 - at_least) as f64) / 100.0).abs() < 1e-15,
            "{short}"
        );
    }

    #[test]
    fn identical_rankings_are_no_difference_and_components_give_the_auc() {
        let labels = [true, false, true, false, false, true];
        let s = [0.9, 0.1, 0.4, 0.4, 0.2, 0.8];
        // The same ranking from other scores: still no difference.
        let monotone: Vec<f64> = s.iter().map(|x| x * x + 1.0).collect();
        for other in [&s[..], &monotone] {
            let t = delong(other, &s, &labels, 0.95).expect("a test");
            assert_eq!((t.delta, t.low, t.high, t.p_value), (0.0, 0.0, 0.0, 1.0));
        }
        let (v10, v01) = components(&s, &labels);
        // AUC by counting: positives (0.9, 0.4, 0.8) vs negatives (0.1, 0.4, 0.2).
        let auc = (3.0 + 2.5 + 3.0) / 9.0;
        assert!((mean(&v10) - auc).abs() < 1e-15 && (mean(&v01) - auc).abs() < 1e-15);
    }
}
