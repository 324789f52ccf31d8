//! Column profiles: computed once, natively, and shared by every gate.
//! Numeric histograms of the holdout and the reference use the same edges,
//! so drift checks compare like with like.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;
use polars_arrow::array::Array;

use serde::Serialize;

use super::{Table, bounded_map};
use crate::error::{Error, Result};
use crate::sort::{Buckets, Counts, Gathered};
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

/// A numeric column as read, in its own dtype, with what the counting
/// pass over it gives. Each pass converts the values as it reads them
/// ([`Blocks`]): copying a column out as f64 first wrote 80 MB of fresh
/// memory per 10M rows (twice a float32 column) for every column side.
struct Values {
    series: Series,
    /// Non-missing values.
    n: usize,
    sum: f64,
    /// Squared deviations from the mean, summed.
    spread: f64,
    /// Each non-missing value's bucket, in order: the gathering pass reads
    /// these instead of working the buckets out again, and converts only
    /// the blocks that hold a wanted bucket's value.
    located: Vec<u16>,
}

impl Values {
    /// Nulls and NaN.
    fn missing(&self) -> u64 {
        (self.series.len() - self.n) as u64
    }
}

/// Independent accumulators for the counting pass's sums. One running sum
/// carried a dependency from each value to the next (about 4 ns a value,
/// once the profiles' largest cost); eight lanes let the loop run at the
/// speed of the counting. A sum is its lanes' sums added pairwise, no less
/// accurate than one running sum.
const LANES: usize = 8;

/// The counting pass's sums. The range is not among them: the smallest
/// and largest values are read from the first and last buckets with
/// values, gathered with the quantiles' ([`numeric_profile`]). With a
/// minimum and maximum per lane the loop held 40 accumulators, more than
/// the vector registers, and spilled them on every value.
struct Moments {
    /// The values' sum, their deviations from `centre`, and those
    /// deviations squared.
    sum: [f64; LANES],
    d1: [f64; LANES],
    d2: [f64; LANES],
    centre: f64,
    n: usize,
}

impl Moments {
    fn new(centre: f64) -> Moments {
        Moments {
            sum: [0.0; LANES],
            d1: [0.0; LANES],
            d2: [0.0; LANES],
            centre,
            n: 0,
        }
    }

    /// Adds a block of values (not NaN), the `i`-th of each [`LANES`] to
    /// lane `i`. The lanes are copied out for the block and the loop is
    /// apart from the counting's: kept in the struct beside the counts,
    /// every value stored its accumulators, and the stores were what the
    /// counting loop waited on.
    fn add_block(&mut self, xs: &[f64]) {
        let (mut sum, mut d1, mut d2) = (self.sum, self.d1, self.d2);
        let c = self.centre;
        let mut add = |i: usize, x: f64| {
            sum[i] += x;
            let d = x - c;
            d1[i] += d;
            d2[i] += d * d;
        };
        let mut chunks = xs.chunks_exact(LANES);
        for chunk in &mut chunks {
            chunk.iter().enumerate().for_each(|(i, x)| add(i, *x));
        }
        let rest = chunks.remainder().iter().enumerate();
        rest.for_each(|(i, x)| add(i, *x));
        (self.sum, self.d1, self.d2) = (sum, d1, d2);
        self.n += xs.len();
    }

    /// The lanes' sums added pairwise.
    fn pairwise(s: [f64; LANES]) -> f64 {
        ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    }

    /// The column's statistics. The squared deviations come from the
    /// deviations from the centre (a sample's mean, known before the
    /// pass): `Σ(x-c)² - (Σ(x-c))²/n` is the two-pass sum about the mean
    /// when `c` is the mean, and loses nothing to cancellation while `c`
    /// is as near the mean as a sample puts it (the mean itself would
    /// cost a pass of its own).
    fn into_values(self, series: Series, located: Vec<u16>) -> Values {
        let n = self.n;
        let (d1, d2) = (Moments::pairwise(self.d1), Moments::pairwise(self.d2));
        let spread = if n == 0 {
            0.0
        } else {
            (d2 - d1 * d1 / n as f64).max(0.0)
        };
        Values {
            series,
            n,
            sum: Moments::pairwise(self.sum),
            spread,
            located,
        }
    }
}

/// What reads a numeric column's arrays: a plain slice of its dtype when
/// an array has no nulls, else value by value.
pub(super) trait Visit {
    fn slice<N: num_traits::AsPrimitive<f64>>(&mut self, xs: &[N]);
    fn at(&mut self, x: Option<f64>);
}

/// Hands a numeric series' arrays to `v` in row order, read from the
/// series' own dtype (a cast to f64 first wrote every integer and float32
/// column out again, in fresh pages). `None` for other dtypes.
pub(super) fn visit(s: &Series, v: &mut impl Visit) -> Option<()> {
    fn chunked<T, V: Visit>(v: &mut V, ca: &ChunkedArray<T>)
    where
        T: PolarsNumericType,
        T::Native: num_traits::AsPrimitive<f64>,
    {
        use num_traits::AsPrimitive;
        for arr in ca.downcast_iter() {
            if arr.validity().is_none_or(|m| m.unset_bits() == 0) {
                v.slice(arr.values().as_slice());
            } else {
                for x in arr.iter() {
                    v.at(x.map(|x| x.as_()));
                }
            }
        }
    }
    if !s.dtype().is_numeric() {
        return None;
    }
    match s.dtype() {
        DataType::Float64 => chunked(v, s.f64().ok()?),
        DataType::Float32 => chunked(v, s.f32().ok()?),
        DataType::Int64 => chunked(v, s.i64().ok()?),
        DataType::Int32 => chunked(v, s.i32().ok()?),
        DataType::Int16 => chunked(v, s.i16().ok()?),
        DataType::Int8 => chunked(v, s.i8().ok()?),
        DataType::UInt64 => chunked(v, s.u64().ok()?),
        DataType::UInt32 => chunked(v, s.u32().ok()?),
        DataType::UInt16 => chunked(v, s.u16().ok()?),
        DataType::UInt8 => chunked(v, s.u8().ok()?),
        _ => {
            for start in (0..s.len()).step_by(CAST_ROWS) {
                let cast = s
                    .slice(start as i64, CAST_ROWS)
                    .cast(&DataType::Float64)
                    .ok()?;
                chunked(v, cast.f64().ok()?);
            }
        }
    }
    Some(())
}

/// Non-missing values in blocks of this many (a multiple of [`LANES`]):
/// 8 KB, converted into a buffer that stays in L1 cache.
const BLOCK: usize = 1024;

/// A column's non-missing values as f64, handed to a pass in blocks: all
/// of [`BLOCK`] values but the last, so a pass's lanes (by position in
/// the block) are its lanes by position among all the values.
trait Blocks {
    fn blocks(&self, f: &mut dyn FnMut(&[f64])) {
        self.blocks_kept(&|_| true, &mut |_, xs| f(xs));
    }

    /// [`Blocks::blocks`], numbered from 0, where a block `keep` refuses
    /// may be passed over unconverted.
    fn blocks_kept(&self, keep: &dyn Fn(usize) -> bool, f: &mut dyn FnMut(usize, &[f64]));
}

impl Blocks for [f64] {
    fn blocks_kept(&self, keep: &dyn Fn(usize) -> bool, f: &mut dyn FnMut(usize, &[f64])) {
        for (i, xs) in self.chunks(BLOCK).enumerate() {
            if keep(i) {
                f(i, xs);
            }
        }
    }
}

impl Blocks for Series {
    fn blocks_kept(&self, keep: &dyn Fn(usize) -> bool, f: &mut dyn FnMut(usize, &[f64])) {
        let mut c = Compact {
            buf: [0.0; BLOCK],
            k: 0,
            block: 0,
            keep,
            f,
        };
        visit(self, &mut c).expect("a numeric column");
        if c.k > 0 {
            (c.f)(c.block, &c.buf[..c.k]);
        }
    }
}

/// Fills blocks with the non-missing values it visits.
struct Compact<'f> {
    buf: [f64; BLOCK],
    k: usize,
    /// The block being filled.
    block: usize,
    keep: &'f dyn Fn(usize) -> bool,
    f: &'f mut dyn FnMut(usize, &[f64]),
}

impl Compact<'_> {
    fn full(&mut self) {
        (self.f)(self.block, &self.buf);
        self.block += 1;
        self.k = 0;
    }
}

impl Visit for Compact<'_> {
    fn slice<N: num_traits::AsPrimitive<f64>>(&mut self, mut xs: &[N]) {
        while !xs.is_empty() {
            // A whole block without NaN (nearly all of them): a plain
            // conversion, which the compiler vectorises, where keeping
            // each value by its test chains the writes.
            if self.k == 0
                && let Some(now) = xs.get(..BLOCK)
                && !now.iter().fold(false, |nan, x| nan | x.as_().is_nan())
            {
                if (self.keep)(self.block) {
                    for (b, x) in self.buf.iter_mut().zip(now) {
                        *b = x.as_();
                    }
                    (self.f)(self.block, &self.buf);
                }
                self.block += 1;
                xs = &xs[BLOCK..];
                continue;
            }
            let (now, rest) = xs.split_at((BLOCK - self.k).min(xs.len()));
            // Written unconditionally, kept by moving on: no branch on NaN.
            for x in now {
                let x: f64 = x.as_();
                self.buf[self.k] = x;
                self.k += usize::from(!x.is_nan());
            }
            if self.k == BLOCK {
                self.full();
            }
            xs = rest;
        }
    }

    fn at(&mut self, x: Option<f64>) {
        if let Some(x) = x.filter(|x| !x.is_nan()) {
            self.buf[self.k] = x;
            self.k += 1;
            if self.k == BLOCK {
                self.full();
            }
        }
    }
}

/// Gathers and sorts the values of the `wanted` buckets, in one pass
/// over the column.
fn gather(
    v: &(impl Blocks + ?Sized),
    buckets: &Buckets,
    counts: &Counts,
    wanted: impl IntoIterator<Item = usize>,
) -> Gathered {
    Gathered::filled(counts, wanted, |g| {
        v.blocks(&mut |xs| g.add_all(buckets, xs.iter().copied()));
    })
}

/// Spare buffers for the counting pass's buckets ([`Values::located`]),
/// reused from one column to the next: a fresh buffer per column side
/// (20 MB at 10M rows) cost more system time in page faults than the
/// gathering pass saved. Emptied when the profiles are done.
static SPARE: std::sync::Mutex<Vec<Vec<u16>>> = std::sync::Mutex::new(Vec::new());

/// A buffer of at least `len` buckets, a spare one when there is one. A
/// spare one keeps whatever it held (the pass writes every bucket before
/// reading it): zeroing 20 MB a column side showed in the profile.
fn located_buffer(len: usize) -> Vec<u16> {
    let mut v = SPARE
        .lock()
        .ok()
        .and_then(|mut s| s.pop())
        .unwrap_or_default();
    if v.len() < len {
        v.resize(len, 0);
    }
    v
}

/// Keeps a buffer for the next column.
fn spare(v: Vec<u16>) {
    if let Ok(mut s) = SPARE.lock() {
        s.push(v);
    }
}

/// Empties [`SPARE`] when dropped: when the profiles are done, and also
/// when a column's read fails or the profiles are given up, so that no
/// buffer outlives them.
struct Spares;

impl Drop for Spares {
    fn drop(&mut self) {
        if let Ok(mut s) = SPARE.lock() {
            s.clear();
        }
    }
}

/// [`gather`] from the buckets the counting pass located.
///
/// A column without missing values has its `k`-th value in row `k`, so
/// its arrays are read in their own type beside the buckets and only the
/// wanted values are converted. The KS test's open buckets (hundreds on
/// two samples of one distribution) put a wanted value in every block of
/// 1,024, so converting each block with a wanted value was a second full
/// conversion of the column. With missing values, the blocks of
/// non-missing values ([`Blocks`]) line up with the buckets instead.
fn gather_located(
    v: &Values,
    counts: &Counts,
    wanted: impl IntoIterator<Item = usize>,
) -> Gathered {
    Gathered::filled(counts, wanted, |g| {
        if v.n == v.series.len() {
            let mut picked = Picked {
                g,
                located: &v.located,
                at: 0,
            };
            visit(&v.series, &mut picked).expect("a numeric column");
            return;
        }
        let hits: Vec<bool> = v.located.chunks(BLOCK).map(|bs| g.any_wanted(bs)).collect();
        v.series.blocks_kept(&|k| hits[k], &mut |k, xs| {
            g.add_located(xs, &v.located[k * BLOCK..k * BLOCK + xs.len()]);
        });
    })
}

/// Gathers a column without missing values from its arrays as visited:
/// `located[at..]` are the buckets of the values still to come.
struct Picked<'g> {
    g: &'g mut Gathered,
    located: &'g [u16],
    at: usize,
}

impl Visit for Picked<'_> {
    fn slice<N: num_traits::AsPrimitive<f64>>(&mut self, xs: &[N]) {
        self.g
            .add_located(xs, &self.located[self.at..self.at + xs.len()]);
        self.at += xs.len();
    }

    fn at(&mut self, x: Option<f64>) {
        // Every value is present (no array with a null reaches here), and
        // so is its bucket.
        if let Some(x) = x {
            self.g.add_located(&[x], &self.located[self.at..=self.at]);
        }
        self.at += 1;
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

/// The quantiles `qs` from the located ranks and the gathered buckets.
fn quantiles_located(qs: &[f64], n: usize, located: &[Located], gathered: &Gathered) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let at = |l: &Located| {
        gathered
            .run(l.bucket)
            .expect("a wanted bucket is gathered")
            .at(l.within)
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

/// The counting pass: a numeric column's values per bucket and, in the
/// same pass, its missing values, range, sum and squared deviations (in
/// [`LANES`] lanes) and each value's bucket. The buckets come from a
/// sample, so this is the one pass before the gathering: a pass of its own
/// for the range cost about as much as the counting.
fn count_values(s: Series, buckets: &Buckets, centre: f64) -> (Values, Counts) {
    let mut m = Moments::new(centre);
    let mut counts = Counts::default();
    let mut located = located_buffer(s.len());
    s.blocks(&mut |xs| {
        let out = &mut located[m.n..m.n + xs.len()];
        buckets.fill(xs, out);
        out.iter().for_each(|b| counts.add(usize::from(*b)));
        m.add_block(xs);
    });
    located.truncate(m.n);
    (m.into_values(s, located), counts)
}

/// Quantiles with linear interpolation (numpy's default).
pub fn quantiles(v: &[f64], qs: &[f64]) -> Vec<f64> {
    let (lo, hi) = crate::sort::range(v.iter().copied());
    let buckets = Buckets::over(lo, hi);
    let counts = Counts::of(v.iter().copied(), &buckets);
    let located = locate(qs, &counts, v.len());
    let gathered = gather(v, &buckets, &counts, located.iter().map(|l| l.bucket));
    quantiles_located(qs, v.len(), &located, &gathered)
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
fn bin_counts_bucketed(
    values: &(impl Blocks + ?Sized),
    edges: &[f64],
    buckets: &Buckets,
) -> Vec<u64> {
    const SEARCH: u8 = u8::MAX;
    let bins = edges.len().saturating_sub(1).max(1);
    if bins >= usize::from(SEARCH) {
        let mut counts = vec![0u64; bins];
        values.blocks(&mut |xs| {
            for (c, n) in counts.iter_mut().zip(bin_counts(xs, edges)) {
                *c += n;
            }
        });
        return counts;
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
    values.blocks(&mut |xs| {
        for x in xs {
            let k = bin_of[buckets.of(*x)];
            let k = if k == SEARCH {
                inner.partition_point(|e| e <= x).min(bins - 1)
            } else {
                usize::from(k)
            };
            counts[k] += 1;
        }
    });
    counts
}

/// [`bin_counts`] from the counts per bucket, without a pass over the
/// values: bucket order is value order, so a bucket no inner edge falls in
/// has one bin for all its values (the count of edges in earlier buckets),
/// a gathered bucket of one value has that value's bin, and only the
/// other gathered buckets an edge falls in are searched value by value.
/// `None` when an edge falls in a bucket that was not gathered (a
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
            } else {
                let run = gathered.run(b)?;
                match run.keys() {
                    Some(keys) => {
                        for k in keys {
                            out[bin(crate::sort::from_order_key(*k))] += 1;
                        }
                    }
                    None => out[bin(run.at(0))] += n as u64,
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
    (mut v, counts): (Values, Counts),
    buckets: Buckets,
    also: &[usize],
) -> Partial {
    p.nulls = v.missing();
    let n = v.n;
    let mut qs = QUANTILES.to_vec();
    qs.extend(deciles());
    let located = locate(&qs, &counts, n);
    let ends = end_buckets(&counts);
    let gathered = gather_located(
        &v,
        &counts,
        located
            .iter()
            .map(|l| l.bucket)
            .chain(also.iter().copied())
            .chain(ends.iter().flat_map(|(a, b)| [*a, *b])),
    );
    spare(std::mem::take(&mut v.located));
    let mut at = quantiles_located(&qs, n, &located, &gathered);
    let deciles = at.split_off(QUANTILES.len().min(at.len()));
    if let Some((first, last)) = ends {
        let mean = v.sum / n as f64;
        let var = v.spread / n as f64;
        let run = |b| gathered.run(b).expect("an end bucket is gathered");
        let (lo, hi) = (run(first).at(0), run(last).at(counts.n(last) - 1));
        (p.min, p.max, p.mean, p.std) = (Some(lo), Some(hi), Some(mean), Some(var.sqrt()));
        p.quantiles = QUANTILES.iter().copied().zip(at).collect();
    }
    Partial {
        profile: p,
        numeric: Some(Numeric {
            values: Some(v),
            deciles,
            buckets,
            counts,
            gathered,
        }),
    }
}

/// The first and last buckets with values: the smallest and largest
/// values are the first of the one and the last of the other. `None`
/// without values. Gathering them adds little: an end bucket beyond the
/// 1% quantile's holds fewer than 1% of the values (usually those beyond
/// the sample's range, about one in 4,096).
fn end_buckets(counts: &Counts) -> Option<(usize, usize)> {
    let mut filled = counts.each().enumerate().filter(|(_, n)| *n > 0);
    let first = filled.next()?.0;
    let last = filled.last().map_or(first, |(b, _)| b);
    Some((first, last))
}

/// The range of a date or time column's physical integers, as f64 (the
/// conversion keeps order, so it is the converted range), in [`LANES`]
/// lanes: polars' own min and max of an int64 column went value by value
/// at about 3 ns a value. `None` without values.
fn physical_range(physical: &Series) -> Option<(f64, f64)> {
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    physical.blocks(&mut |xs| {
        for chunk in xs.chunks(LANES) {
            for (i, x) in chunk.iter().enumerate() {
                lo[i] = if *x < lo[i] { *x } else { lo[i] };
                hi[i] = if *x > hi[i] { *x } else { hi[i] };
            }
        }
    });
    let lo = lo.into_iter().fold(f64::INFINITY, f64::min);
    let hi = hi.into_iter().fold(f64::NEG_INFINITY, f64::max);
    (lo <= hi).then_some((lo, hi))
}

/// A string's Arrow view, when the string is held in it (12 bytes or
/// fewer): its length and bytes, the padding masked off. The format pads
/// with zeros, but a writer that did not must not split a category.
fn inline_key(length: u32, view: u128) -> Option<u128> {
    const INLINE: u32 = 12;
    (length <= INLINE).then(|| {
        let bits = 32 + 8 * length;
        if bits == 128 {
            view
        } else {
            view & ((1u128 << bits) - 1)
        }
    })
}

/// Counts per [`inline_key`]: a direct-mapped table of [`ShortCounts::SLOTS`]
/// keys in front of a hash map. A column of a few dozen categories never
/// leaves the table, which costs a multiply and a compare a value where
/// the hash map cost about 7 ns; a key whose slot is taken goes to the map.
struct ShortCounts {
    slots: Box<[(u128, u64); ShortCounts::SLOTS]>,
    rest: PlHashMap<u128, u64>,
}

impl ShortCounts {
    const SLOTS: usize = 256;
    /// No inline key has this length (all ones), so it marks a free slot.
    const FREE: u128 = u128::MAX;

    fn add(&mut self, key: u128) {
        let mixed = ((key >> 64) as u64 ^ key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(mixed >> 56) as usize];
        if slot.0 == key {
            slot.1 += 1;
        } else if slot.0 == Self::FREE {
            *slot = (key, 1);
        } else {
            *self.rest.entry(key).or_insert(0) += 1;
        }
    }

    fn into_counts(self) -> PlHashMap<u128, u64> {
        let mut all = self.rest;
        for (k, n) in self.slots.iter().filter(|(k, _)| *k != Self::FREE) {
            *all.entry(*k).or_insert(0) += n;
        }
        all
    }
}

impl Default for ShortCounts {
    fn default() -> ShortCounts {
        ShortCounts {
            slots: Box::new([(Self::FREE, 0); Self::SLOTS]),
            rest: PlHashMap::default(),
        }
    }
}

/// The text of an [`inline_key`].
fn inline_text(key: u128) -> String {
    let bytes = key.to_le_bytes();
    let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    String::from_utf8_lossy(&bytes[4..4 + length]).into_owned()
}

/// Each distinct string's count. Short strings (most categories: country
/// codes, merchant categories) are counted by their 16-byte view, which
/// holds them: hashing and comparing the strings themselves was most of a
/// text column's profile.
fn text_counts(ca: &StringChunked) -> Vec<(String, u64)> {
    let mut short = ShortCounts::default();
    let mut long: PlHashMap<&str, u64> = PlHashMap::default();
    for arr in ca.downcast_iter() {
        let valid = |i: usize| arr.validity().is_none_or(|m| m.get_bit(i));
        for (i, v) in arr.views().iter().enumerate() {
            if !valid(i) {
                continue;
            }
            match inline_key(v.length, v.as_u128()) {
                Some(k) => short.add(k),
                None => *long.entry(arr.value(i)).or_insert(0) += 1,
            }
        }
    }
    short
        .into_counts()
        .into_iter()
        .map(|(k, n)| (inline_text(k), n))
        .chain(long.into_iter().map(|(k, n)| (k.to_string(), n)))
        .collect()
}

fn categorical_profile(s: &Series) -> ColumnProfile {
    let mut p = base_profile(s);
    if s.dtype().is_temporal() {
        // Dates, times and durations: their range, in the physical unit
        // the dtype names (days, or its time unit), and the nulls.
        // Taken in the physical integers and then converted (the
        // conversion keeps order): a cast of the column first wrote it
        // out again as f64.
        if let Some((lo, hi)) = physical_range(&s.to_physical_repr()) {
            (p.min, p.max) = (Some(lo), Some(hi));
        }
        return p;
    }
    // A categorical or enum counts as the text of its categories.
    let text = (s.dtype().is_categorical() || s.dtype().is_enum())
        .then(|| s.cast(&DataType::String).ok())
        .flatten();
    let s = text.as_ref().unwrap_or(s);
    let mut top: Vec<(String, u64)> = if let Ok(ca) = s.str() {
        text_counts(ca)
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
    values: Option<Values>,
    deciles: Vec<f64>,
    buckets: Buckets,
    counts: Counts,
    gathered: Gathered,
}

/// A column as read: numeric values, or a finished text/time profile.
enum Read {
    Numeric(ColumnProfile, Series),
    Other(ColumnProfile),
}

fn read_series(s: &Series) -> Read {
    if s.dtype().is_numeric() {
        Read::Numeric(base_profile(s), s.clone())
    } else {
        Read::Other(categorical_profile(s))
    }
}

/// About 4,096 of a column's values, evenly spaced by row (missing ones
/// left out), to fit buckets to: 16 to a coarse cell on average, enough
/// to see which are crowded.
fn sample(s: &Series) -> Vec<f64> {
    let picked = s
        .gather_every((s.len() / 4096).max(1), 0)
        .and_then(|s| s.cast(&DataType::Float64))
        .ok();
    picked
        .as_ref()
        .and_then(|s| s.f64().ok())
        .map(|ca| ca.iter().flatten().filter(|x| !x.is_nan()).collect())
        .unwrap_or_default()
}

/// Buckets for columns sampled as `samples`, fitted over the samples'
/// range, and each column's centre for its squared deviations (its
/// sample's mean). The column's own range is known only after the
/// counting pass, so values beyond the samples' fall into the end
/// buckets: order is kept, and a sample of 4,096 leaves about one value
/// in 4,096 there. A sample of one value (a flag column's zeros) spans a
/// range around it, so that a rarer value lands in an end bucket of its
/// own rather than in the same bucket.
fn sampled_buckets<const N: usize>(samples: [&[f64]; N]) -> (Buckets, [f64; N]) {
    let all = || samples.iter().flat_map(|s| s.iter().copied());
    let (lo, hi) = crate::sort::range(all());
    let (lo, hi) = if lo == hi {
        let w = lo.abs().max(1.0);
        (lo - w, hi + w)
    } else {
        (lo, hi)
    };
    let centres = samples.map(|s| {
        if s.is_empty() {
            0.0
        } else {
            s.iter().sum::<f64>() / s.len() as f64
        }
    });
    (Buckets::fitted(lo, hi, all()), centres)
}

/// The profile of a column without a twin: buckets over its own range,
/// the histogram on its own deciles.
fn alone(read: Read) -> ColumnProfile {
    let mut p = match read {
        Read::Numeric(p, s) => {
            let (buckets, [centre]) = sampled_buckets([&sample(&s)]);
            let counted = count_values(s, &buckets, centre);
            numeric_profile(p, counted, buckets, &[])
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
        (Read::Numeric(hp, hs), Read::Numeric(rp, rs)) => {
            let (buckets, [hc, rc]) = sampled_buckets([&sample(&hs), &sample(&rs)]);
            let (ch, cr) = rayon::join(
                || count_values(hs, &buckets, hc),
                || count_values(rs, &buckets, rc),
            );
            // The KS test's open buckets are known from the counts; their
            // values are gathered in the quantiles' pass, not a pass of
            // their own.
            let gaps = with_ks
                .then(|| crate::stats::ks::Boundaries::of(&cr.1, &ch.1))
                .flatten();
            let open: Vec<usize> = gaps
                .iter()
                .flat_map(|g| g.open.iter().map(|o| o.bucket))
                .collect();
            // The histograms are cut at the reference's deciles: the
            // holdout gathers their buckets too.
            let cuts = locate(&deciles(), &cr.1, cr.0.n);
            let h_also: Vec<usize> = open
                .iter()
                .copied()
                .chain(cuts.iter().map(|l| l.bucket))
                .collect();
            let h_buckets = buckets.clone();
            let (mut h, mut r) = rayon::join(
                || numeric_profile(hp, ch, h_buckets, &h_also),
                || numeric_profile(rp, cr, buckets, &open),
            );
            let (he, re) = shared_edges(&h, Some(&r));
            with_histogram(&mut h, he.as_ref());
            with_histogram(&mut r, re.as_ref());
            let ks = gaps.map(|g| {
                let (hg, rg) = (numeric_gathered(&mut h), numeric_gathered(&mut r));
                g.test_gathered(rg, hg)
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
/// buckets when they suffice, and lets the column go.
fn with_histogram(p: &mut Partial, edges: Option<&Vec<f64>>) {
    if let Some(n) = &mut p.numeric {
        let values = n.values.take();
        if let (Some(edges), Some(values)) = (edges, values) {
            let counts = bin_counts_counted(edges, &n.buckets, &n.counts, &n.gathered)
                .unwrap_or_else(|| bin_counts_bucketed(&values.series, edges, &n.buckets));
            p.profile.histogram = Some(Histogram {
                edges: edges.clone(),
                counts,
            });
        }
    }
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

/// Bytes a column pair may hold while it is profiled (the column as read,
/// up to 8 bytes a value, and its gathered runs, which on a skewed column
/// hold as much again), which sets how many columns are profiled at once:
/// all cores on 10M rows, one column at a time on 100M.
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
    let spares = Spares;
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
    drop(spares);
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
        let mut values = Vec::new();
        ints.blocks(&mut |xs| values.extend_from_slice(xs));
        assert_eq!(values, vec![3.0, -7.0, i64::MAX as f64]);
        let (v, _) = count_values(ints.clone(), &Buckets::over(-7.0, 3.0), 0.0);
        assert_eq!(v.missing(), 1);
        // The range comes from the end buckets, gathered with the
        // quantiles' (a value beyond the sample's range is tested in
        // `values_the_sample_misses_keep_every_statistic_exact`).
        let p = alone(read_series(&ints));
        assert_eq!((p.min, p.max), (Some(-7.0), Some(i64::MAX as f64)));
        let small = Series::new("u".into(), &(0u8..=200).collect::<Vec<_>>());
        let (v, _) = count_values(small.clone(), &Buckets::over(0.0, 1.0), 0.0);
        assert_eq!(v.sum, (0..=200).sum::<i32>() as f64);
        assert_eq!(v.n, 201);
        let p = alone(read_series(&small));
        assert_eq!((p.min, p.max), (Some(0.0), Some(200.0)));
    }

    #[test]
    fn values_the_sample_misses_keep_every_statistic_exact() {
        // The strided sample (every 24th row here) sees only zeros: the
        // ones, and extremes far beyond anything sampled, land in the end
        // buckets. A second column's sample sees no value at all (its
        // sampled rows are null). Quantiles, histograms, range and the KS
        // test are still those of the full sort.
        let n = 100_000;
        let flags: Vec<Option<f64>> = (0..n)
            .map(|i| match i {
                _ if i % 24 == 0 => Some(0.0),
                _ if i % 50 == 1 => Some(1.0),
                7 => Some(1e9),
                11 => Some(-1e9),
                _ => Some(0.0),
            })
            .collect();
        let hidden: Vec<Option<f64>> = (0..n)
            .map(|i| (i % 24 != 0).then_some((i % 1000) as f64 - 500.0))
            .collect();
        for (h, r) in [(&flags, &hidden), (&hidden, &flags), (&flags, &flags)] {
            let (hs, rs) = (Series::new("x".into(), h), Series::new("x".into(), r));
            assert!(sample(&rs).iter().all(|x| *x == 0.0) || sample(&rs).is_empty());
            let (hp, rp, ks) = twins(read_series(&hs), read_series(&rs), true);
            let values = |v: &[Option<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
            let (hv, rv) = (values(h), values(r));
            for (p, v) in [(&hp, &hv), (&rp, &rv)] {
                let got: Vec<f64> = p.quantiles.iter().map(|q| q.1).collect();
                assert_eq!(got, quantiles(v, &QUANTILES));
                let hist = p.histogram.as_ref().unwrap();
                assert_eq!(hist.counts, bin_counts(v, &hist.edges));
                assert_eq!((p.min, p.max), {
                    let (lo, hi) = crate::sort::range(v.iter().copied());
                    (Some(lo), Some(hi))
                });
            }
            assert_eq!(ks, crate::stats::ks::two_sample(&rv, &hv));
            let alone = alone(read_series(&hs));
            assert_eq!(alone.quantiles, hp.quantiles);
        }
    }

    #[test]
    fn dates_and_times_keep_their_range_in_their_unit() {
        // Days since 1970 for a date, the time unit for a datetime; nulls
        // left out.
        let days = Series::new("d".into(), &[Some(19_000i32), None, Some(-3), Some(20_100)])
            .cast(&DataType::Date)
            .unwrap();
        let p = categorical_profile(&days);
        assert_eq!((p.min, p.max, p.nulls), (Some(-3.0), Some(20_100.0), 1));
        let micros = Series::new("t".into(), &[Some(1_700_000_000_000_000i64), None, Some(5)])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap();
        let p = categorical_profile(&micros);
        assert_eq!((p.min, p.max), (Some(5.0), Some(1.7e15)));
        // Whole blocks and lanes without nulls, extremes anywhere: as
        // polars' own min and max; no values, no range.
        let mut next = crate::sort::uniform(3);
        let ms: Vec<i64> = (0..10_007)
            .map(|_| (next() * 4e12) as i64 - 2_000_000_000_000)
            .collect();
        let t = Series::new("t".into(), ms)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap();
        let physical = t.to_physical_repr();
        let p = categorical_profile(&t);
        assert_eq!(p.min, physical.min::<f64>().unwrap());
        assert_eq!(p.max, physical.max::<f64>().unwrap());
        let none = Series::new("d".into(), &[None::<i32>, None])
            .cast(&DataType::Date)
            .unwrap();
        assert_eq!(categorical_profile(&none).min, None);
    }

    #[test]
    fn the_counting_pass_reads_every_layout_as_two_passes_would() {
        // Float32 in two arrays, one with nulls, NaN in both, more values
        // than a block: blocks are full but the last, hold every
        // non-missing value in row order, and the one-pass moments equal
        // the two-pass ones from a centre a sample's mean could be (the
        // standard deviation is about 14; a sample of 4,096 misses the
        // mean by about a 64th of it).
        let mut next = crate::sort::uniform(5);
        let raw: Vec<Option<f32>> = (0..5_000)
            .map(
                |i| match (i % 37, i < 1_000 || (2_500..2_600).contains(&i)) {
                    (0, true) => None,
                    (1, true) => Some(f32::NAN),
                    // Whole blocks without NaN after 1,000: converted plainly.
                    _ => Some((next() * 50.0 + 1e4) as f32),
                },
            )
            .collect();
        let plain: Vec<f32> = raw.iter().map(|x| x.unwrap_or(f32::NAN)).collect();
        let mut s = Series::new("x".into(), &plain[..2_500]);
        s.append(&Series::new("x".into(), &raw[2_500..])).unwrap();
        assert_eq!(s.chunks().len(), 2);
        let want: Vec<f64> = plain
            .iter()
            .filter(|x| !x.is_nan())
            .map(|x| f64::from(*x))
            .collect();
        let (mut got, mut sizes) = (Vec::new(), Vec::new());
        s.blocks(&mut |xs| {
            got.extend_from_slice(xs);
            sizes.push(xs.len());
        });
        assert_eq!(got, want);
        assert!(sizes[..sizes.len() - 1].iter().all(|n| *n == BLOCK));
        let mean = want.iter().sum::<f64>() / want.len() as f64;
        let spread: f64 = want.iter().map(|x| (x - mean) * (x - mean)).sum();
        // Seven standard deviations off, it degrades gracefully.
        for (centre, tol) in [(mean + 3.0, 1e-12), (mean - 100.0, 1e-10)] {
            let (v, counts) = count_values(s.clone(), &Buckets::over(1e4, 1e4 + 50.0), centre);
            assert_eq!(counts.each().sum::<usize>(), want.len());
            assert_eq!((v.n, v.missing()), (want.len(), 5_000 - want.len() as u64));
            assert!((v.sum / v.n as f64 - mean).abs() < 1e-9 * mean);
            let rel = (v.spread - spread).abs() / spread;
            assert!(rel < tol, "centre {centre}: {} vs {spread}", v.spread);
        }
        // The buckets the pass located are each value's; blocks passed
        // over are numbered as the rest; the gathering from the located
        // buckets, skipping blocks, gathers what the search does.
        let buckets = Buckets::over(1e4, 1e4 + 50.0);
        let (v, counts) = count_values(s.clone(), &buckets, mean);
        let of: Vec<u16> = want.iter().map(|x| buckets.of(*x) as u16).collect();
        assert_eq!(v.located, of);
        let passed = |s: &Series, want: &[f64]| {
            let mut seen = Vec::new();
            s.blocks_kept(&|k| k % 2 == 1, &mut |k, xs| {
                assert_eq!(xs, &want[k * BLOCK..(k * BLOCK + BLOCK).min(want.len())]);
                seen.push(k);
            });
            seen
        };
        // Blocks made value by value (nulls, NaN) are all passed; a plain
        // one refused is passed over, and a last, partial one is not.
        assert_eq!(passed(&s, &want), [0, 1, 2, 3, 4]);
        // Two arrays without missing values: block 1 straddles them and is
        // made value by value, block 2 is refused and passed over.
        let mut clean = Series::new("x".into(), &plain[1_000..2_500]);
        clean
            .append(&Series::new("x".into(), &plain[2_600..]))
            .unwrap();
        let clean_values: Vec<f64> = plain[1_000..2_500]
            .iter()
            .chain(&plain[2_600..])
            .map(|x| f64::from(*x))
            .collect();
        assert_eq!(passed(&clean, &clean_values), [1, 3]);
        let wanted = [of[0], of[1_500], of[3_000]].map(usize::from);
        let mut located = gather_located(&v, &counts, wanted);
        let mut searched = gather(&s, &buckets, &counts, wanted);
        for b in wanted {
            assert_eq!(located.take(b).into_keys(), searched.take(b).into_keys());
        }
    }

    #[test]
    fn one_column_at_a_time_on_a_hundred_million_rows() {
        assert_eq!(workers(200_000_000), 1);
        assert_eq!(workers(20_000_000), 2.min(rayon::current_num_threads()));
    }

    #[test]
    fn a_flag_column_needs_no_sorting_and_keeps_its_quantiles() {
        // 99.5% zeros: every wanted rank but the top one sits in a bucket
        // of one value, gathered as that value and its count.
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
                    bin_counts_bucketed(v.as_slice(), &edges, &buckets),
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
    fn strings_counted_by_view_equal_strings_counted_by_text() {
        // Lengths around the 12 bytes a view holds, multi-byte text, the
        // empty string, a string that is another's prefix, and nulls, in
        // two chunks.
        let words = [
            "",
            "a",
            "a\0",
            "FR",
            "écrit",
            "twelve bytes",
            "thirteen byte",
            "twelve byteS",
            "a string well beyond the twelve bytes of a view",
        ];
        let mut next = crate::sort::uniform(7);
        let column = |n: usize, next: &mut dyn FnMut() -> f64| -> Vec<Option<&str>> {
            (0..n)
                .map(|_| {
                    let i = (next() * (words.len() + 1) as f64) as usize;
                    words.get(i).copied()
                })
                .collect()
        };
        let mut ca = StringChunked::new("c".into(), column(5_000, &mut next));
        ca.append(&StringChunked::new("c".into(), column(3_000, &mut next)))
            .unwrap();
        assert_eq!(ca.chunks().len(), 2);
        let mut expected: HashMap<String, u64> = HashMap::new();
        for w in ca.iter().flatten() {
            *expected.entry(w.to_string()).or_insert(0) += 1;
        }
        let got: HashMap<String, u64> = text_counts(&ca).into_iter().collect();
        assert_eq!(got.len(), words.len());
        assert_eq!(got, expected);
        // A slice's views and validity start at its offset.
        let part = ca.slice(1_234, 4_000);
        let mut expected: HashMap<String, u64> = HashMap::new();
        for w in part.iter().flatten() {
            *expected.entry(w.to_string()).or_insert(0) += 1;
        }
        let got: HashMap<String, u64> = text_counts(&part).into_iter().collect();
        assert_eq!(got, expected);
        // More categories than the table's slots: the rest are counted
        // in the map, each once.
        let many: Vec<String> = (0..20_000).map(|i| format!("k{}", i % 3_000)).collect();
        let ca = StringChunked::new("c".into(), many);
        let got = text_counts(&ca);
        assert_eq!(got.len(), 3_000);
        assert!(
            got.iter()
                .all(|(k, n)| k.starts_with('k') && (6..=7).contains(n))
        );
        assert_eq!(got.iter().map(|(_, n)| n).sum::<u64>(), 20_000);
        // Whatever a writer left in a short view's padding, one key.
        let clean = u128::from_le_bytes(*b"\x02\0\0\0FR\0\0\0\0\0\0\0\0\0\0");
        let padded = clean | (0xAB << 60);
        assert_eq!(inline_key(2, padded), inline_key(2, clean));
        assert_eq!(inline_text(inline_key(2, clean).unwrap()), "FR");
        assert_eq!(inline_key(13, clean), None);
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
