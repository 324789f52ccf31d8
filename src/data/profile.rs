//! Column profiles: computed once, natively, and shared by every gate.
//! Numeric histograms of the holdout and the reference use the same edges,
//! so drift checks compare like with like.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;

use serde::Serialize;

use super::{Table, bounded_map};
use crate::error::{Error, Result};
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

/// Rows cast to f64 at a time for the dtypes read through a cast (decimals):
/// a slice is a view, so a column is never copied whole as f64 beside its
/// non-missing values.
const CAST_ROWS: usize = 1 << 20;

/// A numeric column's non-missing values as f64, and what the pass that
/// gathers them also gives.
struct Values {
    values: Vec<f64>,
    missing: u64,
    lo: f64,
    hi: f64,
    sum: f64,
}

/// Independent accumulators for the sum and range. One running sum, min and
/// max carried a dependency from each value to the next (about 4 ns a
/// value, the profiles' largest cost); eight lanes let the loop run at the
/// speed of memory, and the compiler vectorises it. The sum is the lanes'
/// sums added pairwise, no less accurate than one running sum.
const LANES: usize = 8;

struct Lanes {
    sum: [f64; LANES],
    lo: [f64; LANES],
    hi: [f64; LANES],
}

impl Lanes {
    fn new() -> Lanes {
        Lanes {
            sum: [0.0; LANES],
            lo: [f64::INFINITY; LANES],
            hi: [f64::NEG_INFINITY; LANES],
        }
    }

    /// Adds a value (not NaN) to lane `i`.
    #[inline(always)]
    fn add(&mut self, i: usize, x: f64) {
        self.sum[i] += x;
        self.lo[i] = if x < self.lo[i] { x } else { self.lo[i] };
        self.hi[i] = if x > self.hi[i] { x } else { self.hi[i] };
    }

    /// The lanes' sums added pairwise.
    fn pairwise(s: [f64; LANES]) -> f64 {
        ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    }

    fn into_values(self, values: Vec<f64>, missing: u64) -> Values {
        Values {
            values,
            missing,
            lo: self.lo.into_iter().fold(f64::INFINITY, f64::min),
            hi: self.hi.into_iter().fold(f64::NEG_INFINITY, f64::max),
            sum: Lanes::pairwise(self.sum),
        }
    }
}

/// The non-missing values of a numeric column, their range and sum, read
/// from the column's own dtype (a cast to f64 first wrote every integer
/// column out again, in fresh pages).
fn numeric_values(s: &Series) -> Option<Values> {
    if !s.dtype().is_numeric() {
        return None;
    }
    let mut reader = Reader {
        values: buffer(s.len() - s.null_count()),
        missing: 0,
        lanes: Lanes::new(),
    };
    match s.dtype() {
        DataType::Float64 => reader.chunked(s.f64().ok()?),
        DataType::Float32 => reader.chunked(s.f32().ok()?),
        DataType::Int64 => reader.chunked(s.i64().ok()?),
        DataType::Int32 => reader.chunked(s.i32().ok()?),
        DataType::Int16 => reader.chunked(s.i16().ok()?),
        DataType::Int8 => reader.chunked(s.i8().ok()?),
        DataType::UInt64 => reader.chunked(s.u64().ok()?),
        DataType::UInt32 => reader.chunked(s.u32().ok()?),
        DataType::UInt16 => reader.chunked(s.u16().ok()?),
        DataType::UInt8 => reader.chunked(s.u8().ok()?),
        _ => {
            for start in (0..s.len()).step_by(CAST_ROWS) {
                let cast = s
                    .slice(start as i64, CAST_ROWS)
                    .cast(&DataType::Float64)
                    .ok()?;
                reader.chunked(cast.f64().ok()?);
            }
        }
    }
    Some(reader.lanes.into_values(reader.values, reader.missing))
}

/// What [`numeric_values`] accumulates.
struct Reader {
    values: Vec<f64>,
    missing: u64,
    lanes: Lanes,
}

impl Reader {
    fn chunked<T>(&mut self, ca: &ChunkedArray<T>)
    where
        T: PolarsNumericType,
        T::Native: num_traits::AsPrimitive<f64>,
    {
        use num_traits::AsPrimitive;
        for arr in ca.downcast_iter() {
            if arr.validity().is_none_or(|m| m.unset_bits() == 0) {
                // The common case: a plain slice, no validity to consult.
                self.slice(arr.values().as_slice());
            } else {
                for (i, x) in arr.iter().enumerate() {
                    match x {
                        Some(x) => self.one(i % LANES, x.as_()),
                        None => self.missing += 1,
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn one(&mut self, lane: usize, x: f64) {
        if x.is_nan() {
            self.missing += 1;
        } else {
            self.values.push(x);
            self.lanes.add(lane, x);
        }
    }

    fn slice<N: num_traits::AsPrimitive<f64>>(&mut self, xs: &[N]) {
        let mut chunks = xs.chunks_exact(LANES);
        for c in &mut chunks {
            let c: [f64; LANES] = std::array::from_fn(|i| c[i].as_());
            // NaN only in float columns, and rarely: a chunk without one
            // is copied whole.
            if c.iter().fold(false, |nan, x| nan | x.is_nan()) {
                for (i, x) in c.into_iter().enumerate() {
                    self.one(i, x);
                }
            } else {
                self.values.extend_from_slice(&c);
                for (i, x) in c.into_iter().enumerate() {
                    self.lanes.add(i, x);
                }
            }
        }
        for (i, x) in chunks.remainder().iter().enumerate() {
            self.one(i, x.as_());
        }
    }
}

/// The sorted values of the buckets a column's statistics must look
/// inside: those that hold a wanted rank (of more than one value), those an
/// edge of the histogram falls in, and the KS test's open buckets.
/// Everything else is answered from the counts per bucket ([`Counts`]):
/// the exact quantiles, the histogram and the test need one counting pass
/// and one gathering pass over the values. On 10M values a bucket holds
/// about 150 values, so almost nothing is sorted.
struct Gathered {
    /// Each gathered bucket's run in `runs`; `u32::MAX` for the others (a
    /// lookup per value, no hash).
    slot: Vec<u32>,
    /// Order keys ([`crate::sort::order_key`]): integers sort faster than
    /// floats compared by their total order, and the KS test walks keys.
    runs: Vec<Vec<u64>>,
}

impl Gathered {
    /// Gathers and sorts the values of the `wanted` buckets, in one pass.
    /// Each run is allocated at its bucket's count: growing them moved the
    /// skewed score columns' 9M gathered values twice over.
    fn of(
        v: &[f64],
        buckets: &Buckets,
        counts: &Counts,
        wanted: impl IntoIterator<Item = usize>,
    ) -> Gathered {
        let mut slot = vec![u32::MAX; Buckets::COUNT];
        let mut runs: Vec<Vec<u64>> = Vec::new();
        for b in wanted {
            if slot[b] == u32::MAX {
                slot[b] = runs.len() as u32;
                runs.push(Vec::with_capacity(counts.n(b)));
            }
        }
        if !runs.is_empty() {
            for x in v {
                let s = slot[buckets.of(*x)];
                if s != u32::MAX {
                    runs[s as usize].push(crate::sort::order_key(*x));
                }
            }
        }
        for r in &mut runs {
            r.sort_unstable();
        }
        Gathered { slot, runs }
    }

    /// Bucket `b`'s values as sorted order keys, when it was gathered.
    fn run(&self, b: usize) -> Option<&[u64]> {
        let s = *self.slot.get(b)?;
        (s != u32::MAX).then(|| self.runs[s as usize].as_slice())
    }

    /// Bucket `b`'s run, moved out: on a skewed 100M-row column the KS
    /// test's open buckets hold most of the values, and a copy was 1.4 GB
    /// more at the peak.
    fn take(&mut self, b: usize) -> Vec<u64> {
        match self.slot.get(b) {
            Some(&s) if s != u32::MAX => std::mem::take(&mut self.runs[s as usize]),
            _ => Vec::new(),
        }
    }
}

/// A rank of `n` values as (its bucket, its rank within the bucket).
#[derive(Debug, Clone, Copy)]
struct Located {
    bucket: usize,
    within: usize,
}

/// The two ranks numpy's linear quantile `q` of `n` values interpolates
/// between, and the interpolation point.
fn bounds(q: f64, n: usize) -> (f64, usize, usize) {
    let h = q * (n - 1) as f64;
    (h, h.floor() as usize, (h.ceil() as usize).min(n - 1))
}

/// Where each of the quantiles' ranks falls among values counted in
/// `counts` (two per quantile, in `qs` order); empty without values.
fn locate(qs: &[f64], counts: &Counts, n: usize) -> Vec<Located> {
    if n == 0 {
        return Vec::new();
    }
    let ranks: Vec<usize> = qs
        .iter()
        .flat_map(|q| {
            let (_, lo, hi) = bounds(*q, n);
            [lo, hi]
        })
        .collect();
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    order.sort_unstable_by_key(|i| ranks[*i]);
    let mut out = vec![
        Located {
            bucket: 0,
            within: 0
        };
        ranks.len()
    ];
    let (mut b, mut start) = (0usize, 0usize);
    for i in order {
        let r = ranks[i];
        while b + 1 < Buckets::COUNT && start + counts.n(b) <= r {
            start += counts.n(b);
            b += 1;
        }
        out[i] = Located {
            bucket: b,
            within: r - start,
        };
    }
    out
}

/// The buckets to gather for the located ranks: a bucket of one value
/// answers its ranks from the counts.
fn to_gather<'a>(located: &'a [Located], counts: &'a Counts) -> impl Iterator<Item = usize> + 'a {
    located
        .iter()
        .map(|l| l.bucket)
        .filter(|b| counts.single(*b).is_none())
}

/// The quantiles `qs` from the located ranks and the gathered buckets.
fn quantiles_located(
    qs: &[f64],
    n: usize,
    located: &[Located],
    counts: &Counts,
    gathered: &Gathered,
) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let at = |l: &Located| {
        counts.single(l.bucket).unwrap_or_else(|| {
            crate::sort::from_order_key(
                gathered
                    .run(l.bucket)
                    .expect("a wanted bucket of several values is gathered")[l.within],
            )
        })
    };
    qs.iter()
        .zip(located.chunks(2))
        .map(|(q, pair)| {
            let (h, lo, _) = bounds(*q, n);
            let (a, b) = (at(&pair[0]), at(&pair[1]));
            a + (h - lo as f64) * (b - a)
        })
        .collect()
}

/// A column's values per bucket and, in the same pass, their sum of
/// squared deviations from the mean (in [`LANES`] lanes, like the sum): one
/// pass over 10M values fewer per column.
fn count_values(v: &Values, buckets: &Buckets) -> (Counts, f64) {
    let mean = v.sum / v.values.len().max(1) as f64;
    let mut spread = [0.0; LANES];
    let mut counts = Counts::default();
    let mut chunks = v.values.chunks_exact(LANES);
    for c in &mut chunks {
        for (i, x) in c.iter().enumerate() {
            counts.add(buckets.of(*x), *x);
            spread[i] += (x - mean) * (x - mean);
        }
    }
    for (i, x) in chunks.remainder().iter().enumerate() {
        counts.add(buckets.of(*x), *x);
        spread[i] += (x - mean) * (x - mean);
    }
    (counts, Lanes::pairwise(spread))
}

/// Quantiles with linear interpolation (numpy's default).
pub fn quantiles(v: &[f64], qs: &[f64]) -> Vec<f64> {
    let (lo, hi) = crate::sort::range(v.iter().copied());
    let buckets = Buckets::over(lo, hi);
    let counts = Counts::of(v.iter().copied(), &buckets);
    let located = locate(qs, &counts, v.len());
    let gathered = Gathered::of(v, &buckets, &counts, to_gather(&located, &counts));
    quantiles_located(qs, v.len(), &located, &counts, &gathered)
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
fn bin_counts_bucketed(values: &[f64], edges: &[f64], buckets: &Buckets) -> Vec<u64> {
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

/// [`bin_counts`] from the counts per bucket, without a pass over the
/// values: bucket order is value order, so a bucket no inner edge falls in
/// has one bin for all its values (the count of edges in earlier buckets),
/// a bucket of one value has that value's bin, and only the gathered
/// buckets an edge falls in are searched value by value. `None` when an
/// edge falls in a bucket of several values that was not gathered (a
/// reference decile interpolated into a gap between its buckets, which the
/// holdout's values fill): then [`bin_counts_bucketed`] counts.
fn bin_counts_counted(
    edges: &[f64],
    buckets: &Buckets,
    counts: &Counts,
    gathered: &Gathered,
) -> Option<Vec<u64>> {
    let bins = edges.len().saturating_sub(1).max(1);
    let inner = &edges[1..edges.len().saturating_sub(1).max(1)];
    let bin = |x: f64| inner.partition_point(|e| *e <= x).min(bins - 1);
    // Non-decreasing, as the edges are.
    let edge_buckets: Vec<usize> = inner.iter().map(|e| buckets.of(*e)).collect();
    let mut out = vec![0u64; bins];
    let mut before = 0usize;
    for (b, n) in counts.each().enumerate() {
        let here = edge_buckets[before..]
            .iter()
            .take_while(|e| **e == b)
            .count();
        if n > 0 {
            if here == 0 {
                out[before.min(bins - 1)] += n as u64;
            } else if let Some(x) = counts.single(b) {
                out[bin(x)] += n as u64;
            } else {
                for k in gathered.run(b)? {
                    out[bin(crate::sort::from_order_key(*k))] += 1;
                }
            }
        }
        before += here;
    }
    Some(out)
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

/// A numeric profile without its histogram: its statistics, quantiles and
/// deciles (which may become histogram edges), from the counts per bucket
/// of `buckets` with the values' squared deviations ([`count_values`]) and
/// one gathering pass. `also` are buckets to gather besides the
/// quantiles': the KS test's open buckets, and for the holdout those of
/// the reference's deciles, where its histogram is cut.
fn numeric_profile(
    mut p: ColumnProfile,
    v: Values,
    buckets: Buckets,
    (counts, spread): (Counts, f64),
    also: &[usize],
) -> Partial {
    p.nulls = v.missing;
    let n = v.values.len();
    let mut qs = QUANTILES.to_vec();
    qs.extend(deciles());
    let located = locate(&qs, &counts, n);
    let gathered = Gathered::of(
        &v.values,
        &buckets,
        &counts,
        to_gather(&located, &counts).chain(also.iter().copied()),
    );
    let mut at = quantiles_located(&qs, n, &located, &counts, &gathered);
    let deciles = at.split_off(QUANTILES.len().min(at.len()));
    if n > 0 {
        let mean = v.sum / n as f64;
        let var = spread / n as f64;
        (p.min, p.max, p.mean, p.std) = (Some(v.lo), Some(v.hi), Some(mean), Some(var.sqrt()));
        p.quantiles = QUANTILES.iter().copied().zip(at).collect();
    }
    Partial {
        profile: p,
        numeric: Some(Numeric {
            values: v.values,
            deciles,
            buckets,
            counts,
            gathered,
        }),
    }
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

/// A column's profile and, for numeric columns, what its histogram and KS
/// test are made from.
struct Partial {
    profile: ColumnProfile,
    numeric: Option<Numeric>,
}

/// A numeric column's values (until its histogram is counted), its
/// deciles, its counts per bucket and the buckets it gathered.
struct Numeric {
    values: Vec<f64>,
    deciles: Vec<f64>,
    buckets: Buckets,
    counts: Counts,
    gathered: Gathered,
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

/// About 4,096 of `v`'s values, evenly spaced, to fit buckets to: 16 to a
/// coarse cell on average, enough to see which are crowded (each value
/// read is a cache miss).
fn sample(v: &[f64]) -> impl Iterator<Item = f64> + '_ {
    v.iter().step_by((v.len() / 4096).max(1)).copied()
}

/// The profile of a column without a twin: buckets over its own range,
/// the histogram on its own deciles.
fn alone(read: Read) -> ColumnProfile {
    let mut p = match read {
        Read::Numeric(p, v) => {
            let buckets = Buckets::fitted(v.lo, v.hi, sample(&v.values));
            let counted = count_values(&v, &buckets);
            numeric_profile(p, v, buckets, counted, &[])
        }
        Read::Other(profile) => Partial {
            profile,
            numeric: None,
        },
    };
    let (e, _) = shared_edges(&p, None);
    with_histogram(&mut p, e.as_ref());
    p.profile
}

/// The profiles of a holdout column and its reference twin, and their KS
/// test when asked for. Both numeric: one count per side over buckets
/// spanning both serves the quantiles of each, both histograms and the
/// test.
fn twins(h: Read, r: Read, with_ks: bool) -> (ColumnProfile, ColumnProfile, Option<KsTest>) {
    match (h, r) {
        (Read::Numeric(hp, hv), Read::Numeric(rp, rv)) => {
            let buckets = Buckets::fitted(
                hv.lo.min(rv.lo),
                hv.hi.max(rv.hi),
                sample(&hv.values).chain(sample(&rv.values)),
            );
            let (ch, cr) = rayon::join(
                || count_values(&hv, &buckets),
                || count_values(&rv, &buckets),
            );
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
            // The histograms are cut at the reference's deciles: the
            // holdout gathers their buckets too, unless it has one value
            // there (single-valued in the reference need not mean
            // single-valued in the holdout, nor the other way round).
            let cuts = locate(&deciles(), &cr.0, rv.values.len());
            let h_also: Vec<usize> = open
                .iter()
                .copied()
                .chain(
                    cuts.iter()
                        .map(|l| l.bucket)
                        .filter(|b| ch.0.single(*b).is_none()),
                )
                .collect();
            let h_buckets = buckets.clone();
            let (mut h, mut r) = rayon::join(
                || numeric_profile(hp, hv, h_buckets, ch, &h_also),
                || numeric_profile(rp, rv, buckets, cr, &open),
            );
            let (he, re) = shared_edges(&h, Some(&r));
            with_histogram(&mut h, he.as_ref());
            with_histogram(&mut r, re.as_ref());
            let ks = gaps.map(|g| {
                let (hg, rg) = (numeric_gathered(&mut h), numeric_gathered(&mut r));
                // Each open bucket's keys, in bucket order, made before the
                // test borrows them.
                let runs: Vec<(Vec<u64>, Vec<u64>)> = g
                    .open
                    .iter()
                    .map(|o| (rg.take(o.bucket), hg.take(o.bucket)))
                    .collect();
                let mut runs = runs.iter();
                g.test(|_| {
                    let (a, b) = runs.next().expect("one run per open bucket");
                    (a.as_slice(), b.as_slice())
                })
            });
            (h.profile, r.profile, ks)
        }
        (h, r) => (alone(h), alone(r), None),
    }
}

/// The gathered buckets of a numeric partial profile.
fn numeric_gathered(p: &mut Partial) -> &mut Gathered {
    &mut p.numeric.as_mut().expect("twins are numeric").gathered
}

/// Counts the histogram on `edges`, from the counts and the gathered
/// buckets when they suffice, and gives the values buffer back.
fn with_histogram(p: &mut Partial, edges: Option<&Vec<f64>>) {
    if let Some(n) = &mut p.numeric {
        if let Some(edges) = edges {
            let counts = bin_counts_counted(edges, &n.buckets, &n.counts, &n.gathered)
                .unwrap_or_else(|| bin_counts_bucketed(&n.values, edges, &n.buckets));
            p.profile.histogram = Some(Histogram {
                edges: edges.clone(),
                counts,
            });
        }
        recycle(std::mem::take(&mut n.values));
    }
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
    profile_until(holdout, reference, with_ks, &AtomicBool::new(false))
}

/// [`profile`], given up at the next column once `stop` is set (when it
/// runs beside an evaluation that failed).
pub fn profile_until(
    holdout: &Table,
    reference: Option<&Table>,
    with_ks: bool,
    stop: &AtomicBool,
) -> Result<Profiles> {
    let stopped = || {
        Error::data(
            holdout.describe(),
            "profiling stopped: the evaluation failed",
        )
    };
    let h_names = holdout.names();
    let r_names = reference.map(Table::names).unwrap_or_default();
    let rows = holdout.rows() + reference.map_or(0, Table::rows);
    type Pair = (ColumnProfile, Option<ColumnProfile>, Option<KsTest>);
    let workers = workers(rows);
    let pairs = bounded_map(&h_names, workers, |name| -> Result<Pair> {
        if stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        let h = read(holdout, name)?;
        Ok(match reference {
            Some(r) if r.has(name) => {
                let (hp, rp, ks) = twins(h, read(r, name)?, with_ks);
                (hp, Some(rp), ks)
            }
            _ => (alone(h), None, None),
        })
    })?;
    // Reference columns the holdout lacks.
    let lone = match reference {
        Some(r) => {
            let names: Vec<&String> = r_names.iter().filter(|n| !holdout.has(n)).collect();
            bounded_map(&names, workers, |name| -> Result<ColumnProfile> {
                Ok(alone(read(r, name)?))
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
        let mut next = crate::sort::uniform(11);
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
            let got: Vec<f64> = p.quantiles.iter().map(|q| q.1).collect();
            assert_eq!(got, want);
        }
        assert_eq!(ks, crate::stats::ks::two_sample(&r, &h));
        assert!(ks.unwrap().statistic > 0.0);
        // Both histograms are cut at the reference's deciles, widened to
        // both ranges, and counted from the buckets as a search counts.
        let range = |v: &[f64]| crate::sort::range(v.iter().copied());
        let ((hl, hh), (rl, rh)) = (range(&hf), range(&rf));
        let edges = edges(&quantiles(&rf, &deciles()), hl.min(rl), hh.max(rh));
        for (p, v) in [(&hp, &hf), (&rp, &rf)] {
            let hist = p.histogram.as_ref().unwrap();
            assert_eq!(hist.edges, edges);
            assert_eq!(hist.counts, bin_counts(v, &edges));
        }
        assert_eq!(hp.nulls, 150_000 / 50);
    }

    #[test]
    fn histograms_from_the_counts_equal_the_search() {
        // The reference's deciles fall between its values where the
        // holdout has many (a gap the holdout fills): the holdout's
        // histogram is counted value by value there, and equals the search.
        // A flag column and ties: buckets of one value.
        let r: Vec<f64> = (0..50_000)
            .map(|i| {
                if i % 2 == 0 {
                    f64::from(i % 7)
                } else {
                    100.0 + f64::from(i % 5)
                }
            })
            .collect();
        let h: Vec<f64> = (0..60_000)
            .map(|i| f64::from(i) * 105.0 / 60_000.0)
            .collect();
        let flags: Vec<f64> = (0..40_000).map(|i| f64::from(i % 300 == 0)).collect();
        for (h, r) in [(&h, &r), (&flags, &r), (&h, &flags)] {
            let (hs, rs) = (Series::new("x".into(), h), Series::new("x".into(), r));
            let (hp, rp, _) = twins(read_series(&hs), read_series(&rs), true);
            let edges = hp.histogram.as_ref().unwrap().edges.clone();
            assert_eq!(hp.histogram.unwrap().counts, bin_counts(h, &edges));
            assert_eq!(rp.histogram.unwrap().counts, bin_counts(r, &edges));
        }
        let alone = alone(read_series(&Series::new("x".into(), &flags)));
        let edges = alone.histogram.as_ref().unwrap().edges.clone();
        assert_eq!(alone.histogram.unwrap().counts, bin_counts(&flags, &edges));
    }

    #[test]
    fn integer_columns_read_as_their_floats() {
        let ints = Series::new("i".into(), &[Some(3i64), None, Some(-7), Some(i64::MAX)]);
        let Read::Numeric(_, v) = read_series(&ints) else {
            panic!("an integer column is numeric")
        };
        assert_eq!(v.values, vec![3.0, -7.0, i64::MAX as f64]);
        assert_eq!((v.missing, v.lo, v.hi), (1, -7.0, i64::MAX as f64));
        let small = Series::new("u".into(), &(0u8..=200).collect::<Vec<_>>());
        let Read::Numeric(_, v) = read_series(&small) else {
            panic!("a u8 column is numeric")
        };
        assert_eq!(v.sum, (0..=200).sum::<i32>() as f64);
        assert_eq!((v.lo, v.hi, v.values.len()), (0.0, 200.0, 201));
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
                    bin_counts_bucketed(&v, &edges, &buckets),
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
