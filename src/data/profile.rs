//! Column profiles: computed once, natively, and shared by every gate.
//! Numeric histograms of the holdout and the reference use the same edges,
//! so drift checks compare like with like.

use std::collections::HashMap;

use polars::prelude::*;

use serde::Serialize;

use super::{Table, bounded_map};
use crate::error::Result;
use crate::sort::{Buckets, Counts};
use crate::stats::ks::KsTest;

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

/// Rows cast to f64 at a time: a slice is a view, so a column is never
/// copied whole as f64 beside its non-missing values.
const CAST_ROWS: usize = 1 << 20;

/// A numeric column's non-missing values as f64, and what the pass that
/// gathers them also gives.
struct Values {
    values: Vec<f64>,
    missing: u64,
    lo: f64,
    hi: f64,
    /// Summed in row order.
    sum: f64,
}

/// The non-missing values of a numeric column, their range and sum.
fn numeric_values(s: &Series) -> Option<Values> {
    if !s.dtype().is_numeric() {
        return None;
    }
    let mut v = Values {
        values: buffer(s.len() - s.null_count()),
        missing: 0,
        lo: f64::INFINITY,
        hi: f64::NEG_INFINITY,
        sum: 0.0,
    };
    let keep = |x: f64, v: &mut Values| {
        if x.is_nan() {
            v.missing += 1;
        } else {
            v.values.push(x);
            v.sum += x;
            v.lo = v.lo.min(x);
            v.hi = v.hi.max(x);
        }
    };
    for start in (0..s.len()).step_by(CAST_ROWS) {
        let cast = s
            .slice(start as i64, CAST_ROWS)
            .cast(&DataType::Float64)
            .ok()?;
        for arr in cast.f64().ok()?.downcast_iter() {
            if arr.validity().is_none_or(|m| m.unset_bits() == 0) {
                // The common case: a plain slice, no validity to consult.
                for x in arr.values().iter() {
                    keep(*x, &mut v);
                }
            } else {
                for x in arr.iter() {
                    match x {
                        Some(x) => keep(*x, &mut v),
                        None => v.missing += 1,
                    }
                }
            }
        }
    }
    Some(v)
}

/// The values at several ranks of `v` (as if sorted), exactly, in two passes:
/// count values per bucket (equal slices of the values' range, see
/// [`Buckets`]), then gather only the buckets that hold a wanted rank and
/// sort those. On 10M values a bucket holds about 150 values, so almost
/// nothing is sorted.
///
/// The `extra` buckets are gathered in the same pass (the KS test's open
/// buckets), and come back as sorted order keys, in `extra`'s order.
fn values_at(
    v: &[f64],
    ranks: &[usize],
    buckets: Buckets,
    counts: &Counts,
    extra: &[usize],
) -> (HashMap<usize, f64>, Vec<Vec<u64>>) {
    // For each rank: its bucket and its rank within the bucket.
    let mut wanted: Vec<(usize, usize, usize)> = Vec::with_capacity(ranks.len());
    let mut sorted_ranks = ranks.to_vec();
    sorted_ranks.sort_unstable();
    let (mut b, mut start) = (0usize, 0usize);
    for r in sorted_ranks {
        while b + 1 < counts.n.len() && start + counts.n[b] as usize <= r {
            start += counts.n[b] as usize;
            b += 1;
        }
        wanted.push((r, b, r - start));
    }
    // A bucket of one value answers its ranks without a pass.
    let (single, wanted): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|(_, b, _)| counts.single(*b).is_some());
    // Each wanted bucket's slot in `gathered`; a lookup per value, no hash.
    let mut slot = vec![u32::MAX; Buckets::COUNT];
    let mut gathered: Vec<Vec<f64>> = Vec::new();
    for b in wanted.iter().map(|(_, b, _)| b).chain(extra) {
        if slot[*b] == u32::MAX {
            slot[*b] = gathered.len() as u32;
            gathered.push(Vec::new());
        }
    }
    for x in v {
        let s = slot[buckets.of(*x)];
        if s != u32::MAX {
            gathered[s as usize].push(*x);
        }
    }
    for g in &mut gathered {
        g.sort_unstable_by(f64::total_cmp);
    }
    let mut at: HashMap<usize, f64> = wanted
        .into_iter()
        .map(|(r, b, i)| (r, gathered[slot[b] as usize][i]))
        .collect();
    for (r, b, _) in single {
        at.insert(r, counts.first[b]);
    }
    // Moved out and turned into keys in place (the same allocation): on a
    // skewed 100M-row column the open buckets hold most of the values, and
    // a copy beside them was 1.4 GB more at the peak.
    let keys = extra
        .iter()
        .map(|b| {
            std::mem::take(&mut gathered[slot[*b] as usize])
                .into_iter()
                .map(crate::sort::order_key)
                .collect()
        })
        .collect();
    (at, keys)
}

/// Values per bucket.
fn bucket_counts(v: &[f64], buckets: Buckets) -> Counts {
    Counts::of(v.iter().copied(), buckets)
}

/// A column's values per bucket and, in the same pass, their sum of
/// squared deviations from the mean (summed in row order, as a pass of its
/// own would): one pass over 10M values fewer per column.
fn count_values(v: &Values, buckets: Buckets) -> (Counts, f64) {
    let mean = v.sum / v.values.len().max(1) as f64;
    let mut spread = 0.0;
    let counts = Counts::of_each(v.values.iter().copied(), buckets, |x| {
        spread += (x - mean) * (x - mean);
    });
    (counts, spread)
}

/// Quantiles with linear interpolation (numpy's default).
pub fn quantiles(v: &[f64], qs: &[f64]) -> Vec<f64> {
    let (lo, hi) = crate::sort::range(v.iter().copied());
    let buckets = Buckets::over(lo, hi);
    quantiles_counted(v, qs, buckets, &bucket_counts(v, buckets), &[]).0
}

/// [`quantiles`] of values already counted per bucket.
/// With the `extra` buckets' sorted keys ([`values_at`]).
fn quantiles_counted(
    v: &[f64],
    qs: &[f64],
    buckets: Buckets,
    counts: &Counts,
    extra: &[usize],
) -> (Vec<f64>, Vec<Vec<u64>>) {
    if v.is_empty() {
        return (Vec::new(), extra.iter().map(|_| Vec::new()).collect());
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
    let (at, keys) = values_at(v, &ranks, buckets, counts, extra);
    let values = qs
        .iter()
        .map(|q| {
            let (h, lo, hi) = bounds(q);
            let (a, b) = (at[&lo], at[&hi]);
            a + (h - lo as f64) * (b - a)
        })
        .collect();
    (values, keys)
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

/// [`bin_counts`], with each value's bin looked up by its bucket: bucket
/// order is value order, so a bucket that no inner edge falls in has one
/// bin for all its values (the count of edges in earlier buckets), and
/// only values in the few buckets an edge falls in search the edges. A
/// binary search per value was the profiles' largest cost.
fn bin_counts_bucketed(values: &[f64], edges: &[f64], buckets: Buckets) -> Vec<u64> {
    const SEARCH: u8 = u8::MAX;
    let bins = edges.len().saturating_sub(1).max(1);
    if bins >= usize::from(SEARCH) {
        return bin_counts(values, edges);
    }
    let inner = &edges[1..edges.len().saturating_sub(1).max(1)];
    let mut edges_in = vec![0u8; Buckets::COUNT];
    for e in inner {
        let b = buckets.of(*e);
        edges_in[b] = edges_in[b].saturating_add(1);
    }
    let mut bin_of = vec![0u8; Buckets::COUNT];
    let mut before = 0usize;
    for b in 0..Buckets::COUNT {
        bin_of[b] = if edges_in[b] > 0 {
            SEARCH
        } else {
            before.min(bins - 1) as u8
        };
        before += usize::from(edges_in[b]);
    }
    let mut counts = vec![0u64; bins];
    for x in values {
        let k = bin_of[buckets.of(*x)];
        let k = if k == SEARCH {
            inner.partition_point(|e| e <= x).min(bins - 1)
        } else {
            usize::from(k)
        };
        counts[k] += 1;
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

/// A numeric profile without its histogram, with the values and their
/// deciles (taken in the same selection pass), which may become histogram
/// edges. `counts` are the values per bucket of `buckets`, with the values'
/// squared deviations ([`count_values`]). The `extra` buckets are
/// gathered in the quantiles' pass and come back as sorted order keys.
fn numeric_profile(
    mut p: ColumnProfile,
    v: Values,
    buckets: Buckets,
    (counts, spread): &(Counts, f64),
    extra: &[usize],
) -> (Partial, Vec<Vec<u64>>) {
    p.nulls = v.missing;
    if v.values.is_empty() {
        let partial = Partial {
            profile: p,
            numeric: Some(Numeric {
                values: v.values,
                deciles: Vec::new(),
                buckets,
            }),
        };
        return (partial, extra.iter().map(|_| Vec::new()).collect());
    }
    let n = v.values.len() as f64;
    let mean = v.sum / n;
    let var = spread / n;
    (p.min, p.max, p.mean, p.std) = (Some(v.lo), Some(v.hi), Some(mean), Some(var.sqrt()));
    let mut qs = QUANTILES.to_vec();
    qs.extend(deciles());
    let (mut at, keys) = quantiles_counted(&v.values, &qs, buckets, counts, extra);
    let dec = at.split_off(QUANTILES.len());
    p.quantiles = QUANTILES.iter().copied().zip(at).collect();
    let partial = Partial {
        profile: p,
        numeric: Some(Numeric {
            values: v.values,
            deciles: dec,
            buckets,
        }),
    };
    (partial, keys)
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
    numeric: Option<Numeric>,
}

/// A numeric column's values, their deciles and the buckets they were
/// counted in.
struct Numeric {
    values: Vec<f64>,
    deciles: Vec<f64>,
    buckets: Buckets,
}

/// A column as read: numeric values, or a finished text/time profile.
enum Read {
    Numeric(ColumnProfile, Values),
    Other(ColumnProfile),
}

fn read_series(s: &Series) -> Read {
    match numeric_values(s) {
        Some(v) => Read::Numeric(base_profile(s), v),
        None => Read::Other(categorical_profile(s)),
    }
}

/// The partial profile of a column without a twin: buckets over its own
/// range.
fn alone(read: Read) -> Partial {
    match read {
        Read::Numeric(p, v) => {
            let buckets = Buckets::over(v.lo, v.hi);
            let counted = count_values(&v, buckets);
            numeric_profile(p, v, buckets, &counted, &[]).0
        }
        Read::Other(profile) => Partial {
            profile,
            numeric: None,
        },
    }
}

/// The partial profiles of a holdout column and its reference twin, and
/// their KS test when asked for. Both numeric: one count per side over
/// buckets spanning both serves the quantiles of each and the test.
fn twins(h: Read, r: Read, with_ks: bool) -> (Partial, Partial, Option<KsTest>) {
    match (h, r) {
        (Read::Numeric(hp, hv), Read::Numeric(rp, rv)) => {
            let buckets = Buckets::over(hv.lo.min(rv.lo), hv.hi.max(rv.hi));
            let (ch, cr) =
                rayon::join(|| count_values(&hv, buckets), || count_values(&rv, buckets));
            // The KS test's open buckets are known from the counts; their
            // values are gathered in the quantiles' pass, not a pass of
            // their own.
            let gaps = with_ks
                .then(|| crate::stats::ks::Boundaries::of(&cr.0, &ch.0))
                .flatten();
            let open: Vec<usize> = gaps
                .iter()
                .flat_map(|g| g.open.iter().map(|o| o.bucket))
                .collect();
            let ((h, h_keys), (r, r_keys)) = rayon::join(
                || numeric_profile(hp, hv, buckets, &ch, &open),
                || numeric_profile(rp, rv, buckets, &cr, &open),
            );
            let mut runs = r_keys.iter().zip(&h_keys);
            let ks = gaps.map(|g| {
                g.test(|_| {
                    let (a, b) = runs.next().expect("one run per open bucket");
                    (a.as_slice(), b.as_slice())
                })
            });
            (h, r, ks)
        }
        (h, r) => (alone(h), alone(r), None),
    }
}

fn with_histogram(p: Partial, edges: Option<&Vec<f64>>) -> ColumnProfile {
    let Partial {
        mut profile,
        numeric,
    } = p;
    if let Some(n) = numeric {
        if let Some(edges) = edges {
            profile.histogram = Some(Histogram {
                edges: edges.clone(),
                counts: bin_counts_bucketed(&n.values, edges, n.buckets),
            });
        }
        recycle(n.values);
    }
    profile
}

thread_local! {
    /// Value buffers a profile worker has finished with, for its next
    /// column: a fresh 80 MB buffer per 10M-row column is 20,000 page
    /// faults, each zeroing its page, on every column.
    static BUFFERS: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers a worker keeps: one per side of a column pair.
const KEPT_BUFFERS: usize = 2;

/// The largest buffer kept. A kept buffer sits idle while the next
/// column is read and decoded, so at 100M rows (800 MB a buffer, one
/// worker) keeping them raised the peak by that much; there the page
/// faults are a small share of the time anyway.
const KEPT_BUFFER_BYTES: usize = 256 << 20;

/// An empty buffer for `n` values, reused when this thread has one.
fn buffer(n: usize) -> Vec<f64> {
    let mut v = BUFFERS.with(|b| b.borrow_mut().pop()).unwrap_or_default();
    v.clear();
    v.reserve(n);
    v
}

/// Keeps a buffer for this thread's next column (at most [`KEPT_BUFFERS`]).
fn recycle(v: Vec<f64>) {
    BUFFERS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < KEPT_BUFFERS && v.capacity() * std::mem::size_of::<f64>() <= KEPT_BUFFER_BYTES
        {
            b.push(v);
        }
    });
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
        let dec = &p.numeric.as_ref()?.deciles;
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

/// The profiles of a run: every column of the holdout and of the
/// reference, and the exact KS test of each numeric column both have (when
/// asked for: the values are at hand while the column is profiled).
#[derive(Debug, Default)]
pub struct Profiles {
    pub holdout: Vec<ColumnProfile>,
    pub reference: Option<Vec<ColumnProfile>>,
    pub ks: HashMap<String, KsTest>,
}

/// Bytes a column pair may hold while it is profiled (its values as f64
/// and the column as read), which sets how many columns are profiled at
/// once: all cores on 10M rows, one column at a time on 100M.
const PROFILE_MEMORY: usize = 3 << 30;

/// Workers for a profile pass over columns of `rows` values in all.
fn workers(rows: usize) -> usize {
    let per_column = rows.max(1).saturating_mul(16);
    (PROFILE_MEMORY / per_column).clamp(1, rayon::current_num_threads())
}

fn read(table: &Table, name: &str) -> Result<Read> {
    let c = table.column(name)?;
    Ok(read_series(c.as_materialized_series()))
}

/// Profiles every column of the holdout and, when given, of the reference,
/// one column (of both) per worker: a column is read, profiled, tested for
/// drift and dropped before the next, so memory is a few columns whatever
/// the number of columns.
pub fn profile(holdout: &Table, reference: Option<&Table>, with_ks: bool) -> Result<Profiles> {
    let h_names = holdout.names();
    let r_names = reference.map(Table::names).unwrap_or_default();
    let rows = holdout.rows() + reference.map_or(0, Table::rows);
    type Pair = (ColumnProfile, Option<ColumnProfile>, Option<KsTest>);
    let workers = workers(rows);
    let pairs = bounded_map(&h_names, workers, |name| -> Result<Pair> {
        let h = read(holdout, name)?;
        let (hp, rp, ks) = match reference {
            Some(r) if r.has(name) => {
                let (hp, rp, ks) = twins(h, read(r, name)?, with_ks);
                (hp, Some(rp), ks)
            }
            _ => (alone(h), None, None),
        };
        let (he, re) = shared_edges(&hp, rp.as_ref());
        Ok((
            with_histogram(hp, he.as_ref()),
            rp.map(|rp| with_histogram(rp, re.as_ref())),
            ks,
        ))
    })?;
    // Reference columns the holdout lacks.
    let lone = match reference {
        Some(r) => {
            let names: Vec<&String> = r_names.iter().filter(|n| !holdout.has(n)).collect();
            bounded_map(&names, workers, |name| -> Result<ColumnProfile> {
                let rp = alone(read(r, name)?);
                let (e, _) = shared_edges(&rp, None);
                Ok(with_histogram(rp, e.as_ref()))
            })?
        }
        None => Vec::new(),
    };
    let mut out = Profiles::default();
    let mut reference_profiles: HashMap<String, ColumnProfile> = HashMap::new();
    for (h, r, ks) in pairs {
        if let Some(t) = ks {
            out.ks.insert(h.name.clone(), t);
        }
        if let Some(r) = r {
            reference_profiles.insert(r.name.clone(), r);
        }
        out.holdout.push(h);
    }
    for r in lone {
        reference_profiles.insert(r.name.clone(), r);
    }
    out.reference = reference.map(|_| {
        r_names
            .iter()
            .filter_map(|n| reference_profiles.remove(n))
            .collect()
    });
    Ok(out)
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
    fn profiles_streamed_from_parquet_equal_profiles_in_memory() {
        // Two demo files (drift on one): every column read one at a time
        // from the file must profile exactly as the whole frame does, and
        // each KS test must be the one of the full columns.
        let dir = tempfile::tempdir().unwrap();
        let h = crate::demo::DemoData::new(70_000, 3)
            .write(&dir.path().join("h"))
            .unwrap();
        let mut drifted = crate::demo::DemoData::new(40_000, 4);
        drifted.drift = 0.3;
        let r = drifted.write(&dir.path().join("r")).unwrap();
        let (ht, rt) = (
            Table::open(&h, crate::config::DataFormat::Parquet).unwrap(),
            Table::open(&r, crate::config::DataFormat::Parquet).unwrap(),
        );
        assert!(ht.streams() && rt.streams());
        let all = |t: &Table| Table::from_frame(t.frame(&t.names()).unwrap());
        let streamed = profile(&ht, Some(&rt), true).unwrap();
        let in_memory = profile(&all(&ht), Some(&all(&rt)), true).unwrap();
        assert_eq!(streamed.holdout, in_memory.holdout);
        assert_eq!(streamed.reference, in_memory.reference);
        assert_eq!(streamed.ks, in_memory.ks);
        let f = |t: &Table| {
            let c = t.column("f01").unwrap().cast(&DataType::Float64).unwrap();
            c.f64()
                .unwrap()
                .iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect::<Vec<_>>()
        };
        let want = crate::stats::ks::two_sample(&f(&rt), &f(&ht)).unwrap();
        assert_eq!(streamed.ks["f01"], want);
        assert!(want.statistic > 0.05, "the drift shows: {want:?}");
        assert_eq!(streamed.holdout.len(), ht.names().len());
    }

    #[test]
    fn twins_counted_together_equal_each_computed_alone() {
        // Shared buckets over both ranges must give each side's quantiles
        // and histogram as its own computation does, and the KS test of
        // the plain two-sample function: different ranges, different
        // buckets, the same exact answers. Ties, negatives, NaN, an outlier.
        let mut x = 11u64;
        let mut next = move || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let h: Vec<f64> = (0..150_000)
            .map(|i| match i % 50 {
                0 => f64::NAN,
                1 => 1e6,
                _ => ((next() - 0.5) * 40.0).round() / 4.0,
            })
            .collect();
        let r: Vec<f64> = (0..90_000).map(|_| (next() - 0.45) * 7.0).collect();
        let (hs, rs) = (Series::new("x".into(), &h), Series::new("x".into(), &r));
        let (hp, rp, ks) = twins(read_series(&hs), read_series(&rs), true);
        let finite = |v: &[f64]| {
            v.iter()
                .copied()
                .filter(|x| !x.is_nan())
                .collect::<Vec<_>>()
        };
        let (hf, rf) = (finite(&h), finite(&r));
        for (p, v) in [(&hp, &hf), (&rp, &rf)] {
            let want = quantiles(v, &QUANTILES);
            let got: Vec<f64> = p.profile.quantiles.iter().map(|q| q.1).collect();
            assert_eq!(got, want);
            assert_eq!(
                p.numeric.as_ref().unwrap().deciles,
                quantiles(v, &deciles())
            );
        }
        assert_eq!(ks, crate::stats::ks::two_sample(&r, &h));
        assert!(ks.unwrap().statistic > 0.0);
        let (he, re) = shared_edges(&hp, Some(&rp));
        let edges = he.clone().unwrap();
        assert_eq!(
            with_histogram(hp, he.as_ref()).histogram.unwrap().counts,
            bin_counts(&hf, &edges)
        );
        assert_eq!(
            with_histogram(rp, re.as_ref()).histogram.unwrap().counts,
            bin_counts(&rf, &edges)
        );
        assert_eq!(hp_nulls(&hs), 150_000 / 50);
    }

    fn hp_nulls(s: &Series) -> u64 {
        alone(read_series(s)).profile.nulls
    }

    #[test]
    fn one_column_at_a_time_on_a_hundred_million_rows() {
        assert_eq!(workers(200_000_000), 1);
        assert_eq!(workers(20_000_000), 2.min(rayon::current_num_threads()));
    }

    #[test]
    fn a_flag_column_needs_no_sorting_and_keeps_its_quantiles() {
        // 99.5% zeros: every wanted rank but the top one sits in a bucket
        // of one value, answered from the counts.
        let v: Vec<f64> = (0..20_000).map(|i| f64::from(i % 200 == 0)).collect();
        let q = quantiles(&v, &[0.0, 0.5, 0.99, 0.995, 1.0]);
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        for (q, got) in [0.0, 0.5, 0.99, 0.995, 1.0].iter().zip(q) {
            let h = q * (n - 1) as f64;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            assert_eq!(
                got,
                sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
            );
        }
    }

    #[test]
    fn bins_looked_up_by_bucket_equal_the_search() {
        // Values on the edges, two edges in one bucket, values beyond the
        // buckets' range, and a few distinct values (single-value buckets).
        let v: Vec<f64> = (0..30_000)
            .map(|i| match i % 7 {
                0 => (i % 13) as f64 / 4.0,
                1 => 1.0,
                2 => 1.0 + 1e-12,
                _ => (i as f64 * 0.618_033_988_7).fract() * 4.0 - 0.5,
            })
            .collect();
        let (lo, hi) = crate::sort::range(v.iter().copied());
        for edges in [
            vec![lo, 0.25, 1.0, 1.0 + 1e-12, 2.0, 2.5, hi],
            vec![lo, hi],
            vec![lo - 9.0, -7.0, 0.0, 9.0, hi + 9.0],
        ] {
            for buckets in [Buckets::over(lo, hi), Buckets::over(0.5, 1.5)] {
                assert_eq!(
                    bin_counts_bucketed(&v, &edges, buckets),
                    bin_counts(&v, &edges),
                    "{edges:?}"
                );
            }
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
        let p = profile(&Table::from_frame(h), Some(&Table::from_frame(r)), true).unwrap();
        let (hp, rp) = (p.holdout, p.reference.unwrap());
        assert_eq!(p.ks["x"].holdout_rows, 2);
        assert!(!p.ks.contains_key("c"));
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
