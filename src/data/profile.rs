//! Column profiles: computed once, natively, and shared by every gate.
//! Numeric histograms of the holdout and the reference use the same edges,
//! so drift checks compare like with like.

use std::collections::HashMap;

use polars::prelude::*;

use crate::sort::order_key;
use rayon::prelude::*;
use serde::Serialize;

/// Quantiles every numeric profile reports.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Equal-frequency bins of the numeric histograms (from the reference when
/// there is one).
pub const HISTOGRAM_BINS: usize = 10;
/// Most frequent categories kept for text and boolean columns.
pub const TOP_CATEGORIES: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    pub dtype: String,
    pub count: u64,
    /// Nulls, plus NaN for floats.
    pub nulls: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub std: Option<f64>,
    pub quantiles: Vec<(f64, f64)>,
    pub histogram: Option<Histogram>,
    pub top_categories: Vec<(String, u64)>,
    pub distinct: Option<u64>,
}

impl ColumnProfile {
    pub fn missing_ratio(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.nulls as f64 / self.count as f64
        }
    }
}

/// Non-missing values of a numeric column as f64, and the missing count.
fn numeric_values(s: &Series) -> Option<(Vec<f64>, u64)> {
    if !s.dtype().is_numeric() {
        return None;
    }
    let cast = s.cast(&DataType::Float64).ok()?;
    let ca = cast.f64().ok()?;
    let mut values = Vec::with_capacity(ca.len());
    let mut missing = 0u64;
    for v in ca.iter() {
        match v {
            Some(x) if !x.is_nan() => values.push(x),
            _ => missing += 1,
        }
    }
    Some((values, missing))
}

/// Bits of the order key that pick a bucket in [`values_at`].
const BUCKET_BITS: u32 = 20;

/// The values at several ranks of `v` (as if sorted), exactly, in two passes:
/// count values per bucket of the top bits of their order key, then gather
/// only the buckets that hold a wanted rank and sort those. On 10M values
/// this is several times faster than repeated selection.
fn values_at(v: &[f64], ranks: &[usize]) -> HashMap<usize, f64> {
    let shift = 64 - BUCKET_BITS;
    let bucket = |x: f64| (order_key(x) >> shift) as usize;
    let mut counts = vec![0u32; 1 << BUCKET_BITS];
    for x in v {
        counts[bucket(*x)] += 1;
    }
    // For each rank: its bucket and its rank within the bucket.
    let mut wanted: Vec<(usize, usize, usize)> = Vec::with_capacity(ranks.len());
    let mut sorted_ranks = ranks.to_vec();
    sorted_ranks.sort_unstable();
    let (mut b, mut start) = (0usize, 0usize);
    for r in sorted_ranks {
        while start + counts[b] as usize <= r {
            start += counts[b] as usize;
            b += 1;
        }
        wanted.push((r, b, r - start));
    }
    let mut gathered: HashMap<usize, Vec<f64>> = wanted.iter().map(|w| (w.1, Vec::new())).collect();
    for x in v {
        if let Some(g) = gathered.get_mut(&bucket(*x)) {
            g.push(*x);
        }
    }
    for g in gathered.values_mut() {
        g.sort_unstable_by(f64::total_cmp);
    }
    wanted
        .into_iter()
        .map(|(r, b, i)| (r, gathered[&b][i]))
        .collect()
}

/// Quantiles with linear interpolation (numpy's default).
pub fn quantiles(v: &[f64], qs: &[f64]) -> Vec<f64> {
    if v.is_empty() {
        return Vec::new();
    }
    let n = v.len();
    let bounds = |q: &f64| {
        let h = q * (n - 1) as f64;
        (h, h.floor() as usize, (h.ceil() as usize).min(n - 1))
    };
    let ranks: Vec<usize> = qs
        .iter()
        .flat_map(|q| {
            let (_, lo, hi) = bounds(q);
            [lo, hi]
        })
        .collect();
    let at = values_at(v, &ranks);
    qs.iter()
        .map(|q| {
            let (h, lo, hi) = bounds(q);
            let (a, b) = (at[&lo], at[&hi]);
            a + (h - lo as f64) * (b - a)
        })
        .collect()
}

/// Counts per bin; values outside the edges fall into the end bins.
pub fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let bins = edges.len().saturating_sub(1).max(1);
    let mut counts = vec![0u64; bins];
    let inner = &edges[1..edges.len().saturating_sub(1).max(1)];
    for x in values {
        counts[inner.partition_point(|e| e <= x).min(bins - 1)] += 1;
    }
    counts
}

/// Deciles that make the equal-frequency histogram edges.
fn deciles() -> Vec<f64> {
    (1..HISTOGRAM_BINS)
        .map(|i| i as f64 / HISTOGRAM_BINS as f64)
        .collect()
}

fn base_profile(s: &Series) -> ColumnProfile {
    ColumnProfile {
        name: s.name().to_string(),
        dtype: s.dtype().to_string(),
        count: s.len() as u64,
        nulls: s.null_count() as u64,
        min: None,
        max: None,
        mean: None,
        std: None,
        quantiles: Vec::new(),
        histogram: None,
        top_categories: Vec::new(),
        distinct: None,
    }
}

/// A numeric profile without its histogram, plus the deciles of the values
/// (taken in the same selection pass), which may become histogram edges.
fn numeric_profile(
    s: &Series,
    values: Vec<f64>,
    missing: u64,
) -> (ColumnProfile, Vec<f64>, Vec<f64>) {
    let mut p = base_profile(s);
    p.nulls = missing;
    if values.is_empty() {
        return (p, Vec::new(), values);
    }
    let n = values.len() as f64;
    let (mut sum, mut lo, mut hi) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    for x in &values {
        sum += x;
        lo = lo.min(*x);
        hi = hi.max(*x);
    }
    let mean = sum / n;
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (p.min, p.max, p.mean, p.std) = (Some(lo), Some(hi), Some(mean), Some(var.sqrt()));
    let mut qs = QUANTILES.to_vec();
    qs.extend(deciles());
    let mut at = quantiles(&values, &qs);
    let dec = at.split_off(QUANTILES.len());
    p.quantiles = QUANTILES.iter().copied().zip(at).collect();
    (p, dec, values)
}

fn categorical_profile(s: &Series) -> ColumnProfile {
    let mut p = base_profile(s);
    if s.dtype().is_temporal() {
        // Dates, times and durations: their range, in the physical unit
        // the dtype names (days, or its time unit), and the nulls.
        if let Ok(v) = s.to_physical_repr().cast(&DataType::Float64)
            && let Ok(ca) = v.f64()
        {
            (p.min, p.max) = (ca.min(), ca.max());
        }
        return p;
    }
    // A categorical or enum counts as the text of its categories.
    let text = (s.dtype().is_categorical() || s.dtype().is_enum())
        .then(|| s.cast(&DataType::String).ok())
        .flatten();
    let s = text.as_ref().unwrap_or(s);
    let mut top: Vec<(String, u64)> = if let Ok(ca) = s.str() {
        let mut counts: PlHashMap<&str, u64> = PlHashMap::default();
        for v in ca.iter().flatten() {
            *counts.entry(v).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    } else if let Ok(ca) = s.bool() {
        let (t, f) = ca
            .iter()
            .flatten()
            .fold((0, 0), |(t, f), v| if v { (t + 1, f) } else { (t, f + 1) });
        [("true".to_string(), t), ("false".to_string(), f)]
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .collect()
    } else {
        Vec::new()
    };
    p.distinct = Some(top.len() as u64);
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_CATEGORIES);
    p.top_categories = top;
    p
}

/// A column's profile and, for numeric columns, its values and deciles.
struct Partial {
    profile: ColumnProfile,
    numeric: Option<(Vec<f64>, Vec<f64>)>,
}

fn partial(s: &Series) -> Partial {
    match numeric_values(s) {
        Some((values, missing)) => {
            let (profile, dec, values) = numeric_profile(s, values, missing);
            Partial {
                profile,
                numeric: Some((values, dec)),
            }
        }
        None => Partial {
            profile: categorical_profile(s),
            numeric: None,
        },
    }
}

fn with_histogram(mut p: Partial, edges: Option<&Vec<f64>>) -> ColumnProfile {
    if let (Some((values, _)), Some(edges)) = (&p.numeric, edges) {
        p.profile.histogram = Some(Histogram {
            edges: edges.clone(),
            counts: bin_counts(values, edges),
        });
    }
    p.profile
}

/// Equal-frequency edges from `deciles` (the reference's when it has the
/// column), widened to the smallest and largest value of both datasets.
fn edges(deciles: &[f64], lo: f64, hi: f64) -> Vec<f64> {
    let mut e = vec![lo];
    e.extend(deciles.iter().copied().filter(|d| *d > lo && *d < hi));
    e.push(hi);
    e.dedup();
    if e.len() == 1 {
        e.push(hi);
    }
    e
}

/// Histogram edges for a column of the holdout and its reference twin: the
/// reference's deciles when it has the column (else the holdout's), widened
/// to cover every value of both.
fn shared_edges(h: &Partial, r: Option<&Partial>) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
    let numeric = |p: &Partial| -> Option<(f64, f64, Vec<f64>)> {
        let (_, dec) = p.numeric.as_ref()?;
        Some((p.profile.min?, p.profile.max?, dec.clone()))
    };
    match (numeric(h), r.and_then(numeric)) {
        (Some((hl, hh, _)), Some((rl, rh, rdec))) => {
            let e = edges(&rdec, hl.min(rl), hh.max(rh));
            (Some(e.clone()), Some(e))
        }
        (Some((lo, hi, dec)), None) => (Some(edges(&dec, lo, hi)), None),
        (None, Some((lo, hi, dec))) => (None, Some(edges(&dec, lo, hi))),
        (None, None) => (None, None),
    }
}

/// Profiles every column of the holdout and, when given, of the reference.
/// Each column is cast once, and a column's values are dropped as soon as its
/// histogram is counted, so memory stays near one column per thread.
pub fn profile(
    holdout: &DataFrame,
    reference: Option<&DataFrame>,
) -> (Vec<ColumnProfile>, Option<Vec<ColumnProfile>>) {
    let series = |df: &DataFrame| -> Vec<Series> {
        df.columns()
            .iter()
            .map(|c| c.as_materialized_series().clone())
            .collect()
    };
    let h_cols = series(holdout);
    let r_cols = reference.map(series).unwrap_or_default();
    let twin = |name: &str| r_cols.iter().find(|r| r.name().as_str() == name);

    let pairs: Vec<(ColumnProfile, Option<ColumnProfile>)> = h_cols
        .par_iter()
        .map(|hs| {
            let hp = partial(hs);
            let rp = twin(hs.name()).map(partial);
            let (he, re) = shared_edges(&hp, rp.as_ref());
            (
                with_histogram(hp, he.as_ref()),
                rp.map(|rp| with_histogram(rp, re.as_ref())),
            )
        })
        .collect();
    let reference_profiles = reference.map(|_| {
        r_cols
            .par_iter()
            .map(|rs| {
                let done = pairs
                    .iter()
                    .find(|(h, r)| h.name == rs.name().as_str() && r.is_some());
                match done {
                    Some((_, Some(r))) => r.clone(),
                    _ => {
                        let rp = partial(rs);
                        let (e, _) = shared_edges(&rp, None);
                        with_histogram(rp, e.as_ref())
                    }
                }
            })
            .collect()
    });
    (
        pairs.into_iter().map(|(h, _)| h).collect(),
        reference_profiles,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile(np.arange(1, 11), [0, .25, .5, .9, 1]) == [1, 3.25, 5.5, 9.1, 10]
        let v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let q = quantiles(&v, &[0.0, 0.25, 0.5, 0.9, 1.0]);
        let want = [1.0, 3.25, 5.5, 9.1, 10.0];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn bucketed_quantiles_equal_sorting() {
        // Negatives, duplicates and a wide range: ranks cross bucket edges.
        let v: Vec<f64> = (0..200_003u64)
            .map(|i| {
                let x = ((i * 2_654_435_761) % 1_000_003) as f64;
                if i % 5 == 0 {
                    -x / 7.0
                } else {
                    (x / 100.0).floor()
                }
            })
            .collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let qs = [0.0, 0.01, 0.3, 0.5, 0.77, 0.99, 1.0];
        let n = sorted.len();
        for (q, got) in qs.iter().zip(quantiles(&v, &qs)) {
            let h = q * (n - 1) as f64;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            let want = sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]);
            assert_eq!(got, want, "q={q}");
        }
    }

    #[test]
    fn bins_cover_ends() {
        let edges = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(
            bin_counts(&[-5.0, 0.0, 0.5, 1.0, 2.5, 3.0, 9.0], &edges),
            vec![3, 1, 3]
        );
    }

    #[test]
    fn profiles_share_edges_and_count_missing() {
        let h =
            df!("x" => [Some(1.0), None, Some(3.0), Some(f64::NAN)], "c" => ["a", "b", "a", "a"])
                .unwrap();
        let r = df!("x" => [0.0, 2.0, 4.0, 6.0], "c" => ["a", "a", "a", "z"]).unwrap();
        let (hp, rp) = profile(&h, Some(&r));
        let rp = rp.unwrap();
        assert_eq!(hp[0].nulls, 2);
        assert_eq!(
            hp[0].histogram.as_ref().unwrap().edges,
            rp[0].histogram.as_ref().unwrap().edges
        );
        assert_eq!(hp[1].top_categories[0], ("a".to_string(), 3));
        assert_eq!(rp[1].distinct, Some(2));
        assert_eq!(hp[0].min, Some(1.0));
    }
}
