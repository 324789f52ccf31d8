//! Column profiles: computed once, natively, and shared by every gate.
//! Numeric histograms of the holdout and the reference use the same edges,
//! so drift checks compare like with like.

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

/// Quantiles every numeric profile reports.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Equal-frequency bins of the numeric histograms (from the reference when
/// there is one).
pub const HISTOGRAM_BINS: usize = 10;
/// Most frequent categories kept for text and boolean columns.
pub const TOP_CATEGORIES: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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
    if !(s.dtype().is_integer() || s.dtype().is_float()) {
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

/// Values at several sorted positions of `v`, by recursive selection:
/// O(n log k) instead of a full sort.
fn select_positions(
    v: &mut [f64],
    positions: &[usize],
    base: usize,
    out: &mut HashMap<usize, f64>,
) {
    if positions.is_empty() || v.is_empty() {
        return;
    }
    let mid = positions.len() / 2;
    let k = positions[mid] - base;
    let (left, pivot, right) = v.select_nth_unstable_by(k, f64::total_cmp);
    out.insert(positions[mid], *pivot);
    select_positions(left, &positions[..mid], base, out);
    select_positions(right, &positions[mid + 1..], base + k + 1, out);
}

/// Quantiles with linear interpolation (numpy's default), reordering `v`.
pub fn quantiles(v: &mut [f64], qs: &[f64]) -> Vec<f64> {
    if v.is_empty() {
        return Vec::new();
    }
    let n = v.len();
    let mut positions: Vec<usize> = qs
        .iter()
        .flat_map(|q| {
            let h = q * (n - 1) as f64;
            [h.floor() as usize, (h.ceil() as usize).min(n - 1)]
        })
        .collect();
    positions.sort_unstable();
    positions.dedup();
    let mut at = HashMap::new();
    select_positions(v, &positions, 0, &mut at);
    qs.iter()
        .map(|q| {
            let h = q * (n - 1) as f64;
            let (lo, hi) = (h.floor() as usize, (h.ceil() as usize).min(n - 1));
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

/// Shared histogram edges: equal-frequency edges of `basis`, widened to cover
/// every value of both datasets.
fn shared_edges(basis: &mut [f64], lo: f64, hi: f64) -> Vec<f64> {
    let qs: Vec<f64> = (1..HISTOGRAM_BINS)
        .map(|i| i as f64 / HISTOGRAM_BINS as f64)
        .collect();
    let mut edges = vec![lo];
    edges.extend(quantiles(basis, &qs));
    edges.push(hi);
    edges.dedup();
    if edges.len() == 1 {
        edges.push(hi);
    }
    edges
}

struct Numeric {
    values: Vec<f64>,
    missing: u64,
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

fn numeric_profile(s: &Series, mut num: Numeric, edges: Option<&[f64]>) -> ColumnProfile {
    let mut p = base_profile(s);
    p.nulls = num.missing;
    let v = &mut num.values;
    if v.is_empty() {
        return p;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    p.min = v.iter().copied().reduce(f64::min);
    p.max = v.iter().copied().reduce(f64::max);
    p.mean = Some(mean);
    p.std = Some(var.sqrt());
    if let Some(edges) = edges {
        p.histogram = Some(Histogram {
            edges: edges.to_vec(),
            counts: bin_counts(v, edges),
        });
    }
    p.quantiles = QUANTILES
        .iter()
        .copied()
        .zip(quantiles(v, &QUANTILES))
        .collect();
    p
}

fn categorical_profile(s: &Series) -> ColumnProfile {
    let mut p = base_profile(s);
    let mut counts: HashMap<String, u64> = HashMap::new();
    if let Ok(ca) = s.str() {
        let mut borrowed: HashMap<&str, u64> = HashMap::new();
        for v in ca.iter().flatten() {
            *borrowed.entry(v).or_insert(0) += 1;
        }
        counts = borrowed
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    } else if let Ok(ca) = s.bool() {
        for v in ca.iter().flatten() {
            *counts.entry(v.to_string()).or_insert(0) += 1;
        }
    }
    p.distinct = Some(counts.len() as u64);
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_CATEGORIES);
    p.top_categories = top;
    p
}

/// Profiles every column of the holdout and, when given, of the reference.
/// Columns present in both get histograms with shared edges.
pub fn profile(
    holdout: &DataFrame,
    reference: Option<&DataFrame>,
) -> (Vec<ColumnProfile>, Option<Vec<ColumnProfile>>) {
    let h_cols: Vec<&Series> = holdout
        .columns()
        .iter()
        .map(|c| c.as_materialized_series())
        .collect();
    let r_cols: Vec<&Series> = reference
        .map(|r| {
            r.columns()
                .iter()
                .map(|c| c.as_materialized_series())
                .collect()
        })
        .unwrap_or_default();
    let find = |name: &str| r_cols.iter().find(|s| s.name().as_str() == name).copied();

    // Edges per numeric column, from the reference when it has the column.
    let edges: HashMap<String, Vec<f64>> = h_cols
        .par_iter()
        .filter_map(|h| {
            let (hv, _) = numeric_values(h)?;
            let rv = find(h.name()).and_then(numeric_values).map(|(v, _)| v);
            let all = hv.iter().chain(rv.iter().flatten());
            let lo = all.clone().copied().reduce(f64::min)?;
            let hi = all.copied().reduce(f64::max)?;
            let mut basis = rv.filter(|v| !v.is_empty()).unwrap_or(hv);
            Some((h.name().to_string(), shared_edges(&mut basis, lo, hi)))
        })
        .collect();

    let run = |cols: &[&Series], other: bool| -> Vec<ColumnProfile> {
        cols.par_iter()
            .map(|s| match numeric_values(s) {
                Some((values, missing)) => {
                    let e = edges
                        .get(s.name().as_str())
                        .filter(|_| !other || find(s.name()).is_some());
                    numeric_profile(s, Numeric { values, missing }, e.map(Vec::as_slice))
                }
                None => categorical_profile(s),
            })
            .collect()
    };
    let h = run(&h_cols, false);
    let r = reference.map(|_| run(&r_cols, true));
    (h, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile(np.arange(1, 11), [0, .25, .5, .9, 1]) == [1, 3.25, 5.5, 9.1, 10]
        let mut v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let q = quantiles(&mut v, &[0.0, 0.25, 0.5, 0.9, 1.0]);
        let want = [1.0, 3.25, 5.5, 9.1, 10.0];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
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
