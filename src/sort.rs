//! Ordering floats as integers: the scores are sorted by these keys (one sort
//! per model), and buckets in value order that let the profiles' exact
//! quantiles and the exact KS test sort only a few values instead of all.

/// Maps an f64 to a u64 whose unsigned order is the float's total order;
/// -0.0 and 0.0 map to the same key.
pub fn order_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The inverse of [`order_key`].
pub fn from_order_key(k: u64) -> f64 {
    let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(bits)
}

/// Row indices ordered by descending score (ties in row order), by a sort
/// of (key, row) pairs: an index sort that compares through the scores
/// misses the cache on every comparison.
pub fn descending_order(scores: &[f64]) -> Vec<u32> {
    use rayon::prelude::*;
    let mut rows: Vec<(u64, u32)> = scores
        .iter()
        .zip(0u32..)
        .map(|(s, i)| (!order_key(*s), i))
        .collect();
    rows.par_sort_unstable();
    rows.into_iter().map(|r| r.1).collect()
}

/// The smallest and largest non-NaN value; (inf, -inf) when there is none.
pub fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|x| !x.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

/// Buckets in value order: `x <= y` puts `x` in the same bucket as `y` or an
/// earlier one, and equal values share a bucket, so counts per bucket give
/// exact ranks at every bucket boundary.
///
/// Buckets are equal slices of `[lo, hi]`: on 10M values about 150 values
/// each, whatever the values' scale. (The top bits of the order key, used
/// before, put every value of [1, 2) into 256 buckets, so a standardised
/// feature filled a few hundred buckets and nearly everything was sorted.)
/// A range too wide for f64 arithmetic falls back to those top bits.
///
/// Skewed values (fraud scores piled up near 0, amounts with a long tail)
/// would fill a few equal slices with tens of thousands of values each, all
/// sorted; [`Buckets::fitted`] gives dense regions more buckets.
#[derive(Debug, Clone)]
pub struct Buckets {
    lo: f64,
    scale: f64,
    linear: bool,
    /// With [`Buckets::fitted`]: the range cut in [`COARSE`] equal cells
    /// (`scale` cuts them), each with buckets of its own in proportion to
    /// its values.
    cells: Option<std::sync::Arc<[CoarseCell; COARSE]>>,
}

/// Coarse cells of fitted buckets: their table stays in L1 cache.
const COARSE: usize = 256;

/// A coarse cell holding this many times its even share of the sample
/// makes [`Buckets::fitted`] fit. A normal feature's densest cell holds
/// 4–8 times its share, and equal slices serve it well (fitted buckets
/// cost a fifth more to count); fraud scores and amounts crowd hundreds of
/// times over.
const CROWDED: usize = 32;

/// One coarse cell of fitted buckets: its first bucket, and its own equal
/// slices from its low end.
#[derive(Debug, Clone, Copy, Default)]
struct CoarseCell {
    lo: f64,
    scale: f64,
    /// Its last bucket, less `first`, as a float to clamp against.
    last: f64,
    first: u32,
}

impl Buckets {
    /// 65,536 counters fit in L2 cache: counting is a cached increment
    /// per value, where 2^20 counters missed the cache on every value.
    pub const BITS: u32 = 16;
    pub const COUNT: usize = 1 << Self::BITS;

    /// Buckets over values from `lo` to `hi` (both included).
    pub fn over(lo: f64, hi: f64) -> Buckets {
        let width = hi - lo;
        let linear = lo.is_finite() && hi.is_finite() && width.is_finite() && width >= 0.0;
        let scale = if linear && width > 0.0 {
            Self::COUNT as f64 / width
        } else {
            0.0
        };
        Buckets {
            lo,
            scale,
            linear,
            cells: None,
        }
    }

    /// Buckets over `lo` to `hi` fitted to a sample of the values: when the
    /// sample crowds one of [`COARSE`] equal cells ([`CROWDED`]), each cell gets buckets in proportion
    /// to its share (one at least); otherwise [`Buckets::over`]. Any sample
    /// gives buckets in value order; a representative one gives buckets of
    /// about equal counts.
    pub fn fitted(lo: f64, hi: f64, sample: impl Iterator<Item = f64>) -> Buckets {
        let even = Buckets::over(lo, hi);
        if !even.linear || even.scale == 0.0 {
            return even;
        }
        let coarse = COARSE as f64 / (hi - lo);
        let cell = |x: f64| ((x - lo) * coarse).clamp(0.0, (COARSE - 1) as f64) as usize;
        let mut counts = [0usize; COARSE];
        for x in sample {
            counts[cell(x)] += 1;
        }
        let total: usize = counts.iter().sum();
        if total == 0 || counts.iter().max().copied().unwrap_or(0) * COARSE <= CROWDED * total {
            return even;
        }
        let spare = (Self::COUNT - COARSE) as f64;
        let mut k: Vec<u32> = counts
            .iter()
            .map(|n| 1 + (spare * *n as f64 / total as f64) as u32)
            .collect();
        // What rounding down left goes to the fullest cell: every bucket used.
        let fullest = (0..COARSE).max_by_key(|c| counts[*c]).unwrap_or(0);
        k[fullest] += Self::COUNT as u32 - k.iter().sum::<u32>();
        let width = (hi - lo) / COARSE as f64;
        let mut cells = [CoarseCell::default(); COARSE];
        let mut first = 0u32;
        for (c, k) in k.into_iter().enumerate() {
            cells[c] = CoarseCell {
                lo: lo + c as f64 * width,
                scale: f64::from(k) / width,
                last: f64::from(k - 1),
                first,
            };
            first += k;
        }
        Buckets {
            lo,
            scale: coarse,
            linear: true,
            cells: Some(std::sync::Arc::new(cells)),
        }
    }

    /// The bucket of `x` (within the range given to [`Buckets::over`]).
    #[inline]
    pub fn of(&self, x: f64) -> usize {
        match (&self.cells, self.linear) {
            (None, true) => self.even(x),
            (Some(cells), true) => self.in_cells(cells, x),
            (_, false) => Self::by_key(x),
        }
    }

    /// Writes each value's bucket to `out`, in order (`out` at least as
    /// long as `xs`). The kind of buckets is matched once for the slice,
    /// and the loop does nothing else: with the counting in the same loop,
    /// every value's bucket waited on the increment before it, and even
    /// buckets' arithmetic could not run two values at a time.
    #[inline(always)]
    pub fn fill(&self, xs: &[f64], out: &mut [u16]) {
        let out = &mut out[..xs.len()];
        let pairs = out.iter_mut().zip(xs);
        // `COUNT` is 2^16: every bucket fits a u16.
        match (&self.cells, self.linear) {
            (None, true) => pairs.for_each(|(o, x)| *o = self.even(*x) as u16),
            (Some(cells), true) => pairs.for_each(|(o, x)| *o = self.in_cells(cells, *x) as u16),
            (_, false) => pairs.for_each(|(o, x)| *o = Self::by_key(*x) as u16),
        }
    }

    // Subtraction and a positive scale round monotonically, and so does
    // rounding to the nearest integer: order is kept, ties share a bucket.
    // Clamped, the position is rounded by adding 2^52, where an f64's
    // spacing is 1, and read from the low bits: the float-to-integer cast
    // (saturating, with NaN to 0) kept the loop from running two values
    // at a time, and took half again as long (10M values: 12 ms, now
    // 6–10 ms). The first bucket is half as wide as the others and the
    // last half again as wide. NaN goes to bucket 0, as the cast sent it.
    #[inline(always)]
    fn even(&self, x: f64) -> usize {
        const ROUND: f64 = (1u64 << 52) as f64;
        const LAST: f64 = (Buckets::COUNT - 1) as f64;
        let t = (x - self.lo) * self.scale;
        let t = if t > 0.0 { t } else { 0.0 };
        let t = if t < LAST { t } else { LAST };
        usize::from((t + ROUND).to_bits() as u16)
    }

    /// A cell's buckets follow the earlier cells', and inside it the same
    /// monotone arithmetic holds.
    #[inline(always)]
    fn in_cells(&self, cells: &[CoarseCell; COARSE], x: f64) -> usize {
        let t = (x - self.lo) * self.scale;
        let c = &cells[t.clamp(0.0, (COARSE - 1) as f64) as u32 as usize];
        (c.first + ((x - c.lo) * c.scale).clamp(0.0, c.last) as u32) as usize
    }

    /// A range beyond f64 arithmetic: the order key's top bits.
    #[inline(always)]
    fn by_key(x: f64) -> usize {
        (order_key(x) >> (64 - Self::BITS)) as usize
    }
}

/// Values per bucket. A bare count per bucket keeps the table at 256 KB,
/// in L2 cache: a cell that also kept the bucket's first value and
/// whether it saw another (16 bytes, 1 MB in all) made the counting loop
/// half as slow again. Which buckets hold one value is found out for the
/// few buckets that matter, as they are gathered ([`Run`]).
#[derive(Debug, Clone)]
pub struct Counts {
    cells: Box<[u32; Buckets::COUNT]>,
}

impl Default for Counts {
    /// No values yet.
    fn default() -> Counts {
        let cells = vec![0u32; Buckets::COUNT].into_boxed_slice();
        Counts {
            cells: cells.try_into().expect("COUNT cells"),
        }
    }
}

impl Counts {
    /// Counts the values (no NaN) into `buckets`.
    pub fn of(values: impl Iterator<Item = f64>, buckets: &Buckets) -> Counts {
        let mut c = Counts::default();
        for x in values {
            c.add(buckets.of(x));
        }
        c
    }

    /// Counts a value in bucket `b`.
    #[inline(always)]
    pub fn add(&mut self, b: usize) {
        // Masked, a bucket needs no bounds check.
        self.cells[b & (Buckets::COUNT - 1)] += 1;
    }

    /// The values in bucket `b`.
    pub fn n(&self, b: usize) -> usize {
        self.cells[b] as usize
    }

    /// The values in each bucket, in bucket order.
    pub fn each(&self) -> impl Iterator<Item = usize> + '_ {
        self.cells.iter().map(|c| *c as usize)
    }
}

/// One bucket's values, gathered: one value and how many times it came
/// while they are all equal, sorted order keys ([`order_key`]) once they
/// are not. A flag column's zeros or a rounded amount fill a bucket with
/// millions of one value, which then needs no copy and no sort, and its
/// ranks all hold that value.
#[derive(Debug, Default)]
pub struct Run {
    first: f64,
    same: usize,
    mixed: bool,
    keys: Vec<u64>,
    /// The bucket's count, to allocate the keys once.
    expected: usize,
}

impl Run {
    /// An empty run for a bucket of `expected` values.
    pub fn new(expected: usize) -> Run {
        Run {
            expected,
            ..Run::default()
        }
    }

    /// Adds a value (not NaN). Inlined into the gathering loop, where a
    /// flag column passes every value through it.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        if self.mixed {
            self.keys.push(order_key(x));
        } else if x == self.first && self.same > 0 {
            self.same += 1;
        } else {
            self.another(x);
        }
    }

    /// Adds a value (not NaN) `k` times (at least once): as `k` calls of
    /// [`Run::add`].
    #[inline(always)]
    pub fn add_many(&mut self, x: f64, k: usize) {
        self.add(x);
        // Once added, `x` is the run's one value or the run is mixed.
        if self.mixed {
            self.keys.extend(std::iter::repeat_n(order_key(x), k - 1));
        } else {
            self.same += k - 1;
        }
    }

    /// The first value, or the first other than the first.
    #[cold]
    fn another(&mut self, x: f64) {
        if self.same == 0 {
            (self.first, self.same) = (x, 1);
        } else {
            self.mixed = true;
            self.keys.reserve_exact(self.expected.max(self.same + 1));
            self.keys.resize(self.same, order_key(self.first));
            self.keys.push(order_key(x));
        }
    }

    /// Sorts the keys, once every value is in.
    pub fn finish(&mut self) {
        self.keys.sort_unstable();
    }

    /// The one value of the run, unless it holds several (or none).
    pub fn single(&self) -> Option<f64> {
        (!self.mixed && self.same > 0).then_some(self.first)
    }

    /// The value of rank `i` in the run.
    pub fn at(&self, i: usize) -> f64 {
        self.single()
            .unwrap_or_else(|| from_order_key(self.keys[i]))
    }

    /// The run's sorted order keys: made for a run of one value.
    pub fn into_keys(self) -> Vec<u64> {
        match self.single() {
            Some(x) => vec![order_key(x); self.same],
            None => self.keys,
        }
    }

    /// The run's sorted order keys, when it holds several values.
    pub fn keys(&self) -> Option<&[u64]> {
        self.mixed.then_some(self.keys.as_slice())
    }
}

/// The sorted values of the buckets a column's statistics must look
/// inside: the profiles' wanted ranks and histogram edges, and the KS
/// test's open buckets (a bucket of one value is kept as that value and its
/// count: [`Run`]). Everything else is answered from the counts per bucket
/// ([`Counts`]): exact quantiles, histograms and the test need one counting
/// pass and one gathering pass over the values. On 10M values a bucket
/// holds about 150 values, so almost nothing is sorted.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Each gathered bucket's run in `runs`; `u32::MAX` for the others (a
    /// lookup per value, no hash).
    slot: Vec<u32>,
    runs: Vec<Run>,
    /// The wanted buckets as bits: 8 KB, in L1 cache, where `slot` is in
    /// L2.
    bits: Vec<u64>,
}

impl Gathered {
    /// Nothing gathered yet from the `wanted` buckets, counted in `counts`.
    fn new(counts: &Counts, wanted: impl IntoIterator<Item = usize>) -> Gathered {
        let mut slot = vec![u32::MAX; Buckets::COUNT];
        let mut runs: Vec<Run> = Vec::new();
        let mut bits = vec![0u64; Buckets::COUNT / 64];
        for b in wanted {
            if slot[b] == u32::MAX {
                slot[b] = runs.len() as u32;
                runs.push(Run::new(counts.n(b)));
                bits[b >> 6] |= 1 << (b & 63);
            }
        }
        Gathered { slot, runs, bits }
    }

    /// The `wanted` buckets, counted in `counts`, filled by `fill` (which
    /// is not called when no bucket is wanted: no pass over the values is
    /// needed) and sorted.
    pub fn filled(
        counts: &Counts,
        wanted: impl IntoIterator<Item = usize>,
        fill: impl FnOnce(&mut Gathered),
    ) -> Gathered {
        let mut g = Gathered::new(counts, wanted);
        if !g.runs.is_empty() {
            fill(&mut g);
        }
        g.runs.iter_mut().for_each(Run::finish);
        g
    }

    /// Adds values (not NaN) in order, each when its bucket is wanted.
    #[inline(always)]
    pub fn add_all(&mut self, buckets: &Buckets, xs: impl IntoIterator<Item = f64>) {
        let Gathered { slot, runs, .. } = self;
        add_runs(slot, runs, xs.into_iter().map(|x| (x, ())), |(), x| {
            buckets.of(x)
        });
    }

    /// Whether any of buckets `bs` is wanted.
    pub fn any_wanted(&self, bs: &[u16]) -> bool {
        bs.iter().any(|b| wanted(&self.bits, usize::from(*b)))
    }

    /// [`Gathered::add_all`] of values whose buckets `bs` are known, in
    /// their own type: only the wanted ones are converted. The positions
    /// of the wanted buckets are found first and their values loaded
    /// after: the values are sparse in a long column, and a value loaded
    /// where its bucket was tested was one cache miss at a time. Positions
    /// are listed [`Gathered::PICK`] values at a time, so that the list
    /// stays small whatever the length of `xs` (a column in one array).
    #[inline(always)]
    pub fn add_located<N: num_traits::AsPrimitive<f64>>(&mut self, xs: &[N], bs: &[u16]) {
        let Gathered { slot, runs, bits } = self;
        let mut at: Vec<u32> = Vec::with_capacity(xs.len().min(Self::PICK));
        let mut values: Vec<f64> = Vec::with_capacity(at.capacity());
        for (xs, bs) in xs.chunks(Self::PICK).zip(bs.chunks(Self::PICK)) {
            at.clear();
            at.extend(
                (0u32..)
                    .zip(bs)
                    .filter(|(_, b)| wanted(bits, usize::from(**b)))
                    .map(|(i, _)| i),
            );
            // Loaded in a loop of their own, the values' cache misses
            // overlap many at a time; loaded as each is added to its run,
            // the run's work between loads kept a few in flight.
            values.clear();
            values.extend(at.iter().map(|i| xs[*i as usize].as_()));
            let kept = values
                .iter()
                .zip(&at)
                .map(|(x, i)| (*x, usize::from(bs[*i as usize])));
            add_runs(slot, runs, kept, |b, _| b);
        }
    }

    /// Values whose wanted positions [`Gathered::add_located`] lists at a
    /// time: a Parquet row group's worth by default.
    const PICK: usize = 1 << 16;

    /// Bucket `b`'s run, when it was gathered.
    pub fn run(&self, b: usize) -> Option<&Run> {
        let s = *self.slot.get(b)?;
        (s != u32::MAX).then(|| &self.runs[s as usize])
    }

    /// Bucket `b`'s run, moved out: on a skewed 100M-row column the KS
    /// test's open buckets hold most of the values, and a copy was 1.4 GB
    /// more at the peak.
    pub fn take(&mut self, b: usize) -> Run {
        match self.slot.get(b) {
            Some(&s) if s != u32::MAX => std::mem::take(&mut self.runs[s as usize]),
            _ => Run::default(),
        }
    }
}

/// Whether bucket `b` is set in `bits`.
#[inline(always)]
fn wanted(bits: &[u64], b: usize) -> bool {
    bits[b >> 6] >> (b & 63) & 1 != 0
}

/// Adds `(value, what its bucket comes from)` in order to the runs of
/// wanted buckets (`slot`, as in [`Gathered`]). A value repeated in a row
/// is added once, with its count, and its bucket worked out once: a flag
/// column's zeros all fall in one wanted bucket, and adding them one at a
/// time was half of such a column's profile.
#[inline(always)]
fn add_runs<B: Copy>(
    slot: &[u32],
    runs: &mut [Run],
    mut items: impl Iterator<Item = (f64, B)>,
    bucket: impl Fn(B, f64) -> usize,
) {
    let mut add = |b: usize, x: f64, k: usize| {
        let s = slot[b];
        if s != u32::MAX {
            runs[s as usize].add_many(x, k);
        }
    };
    let Some((mut last, mut from)) = items.next() else {
        return;
    };
    let mut k = 1;
    for (x, b) in items {
        // Bits, not `==`: -0.0 and 0.0 keep keys of their own.
        if x.to_bits() == last.to_bits() {
            k += 1;
        } else {
            add(bucket(from, last), last, k);
            (last, from, k) = (x, b, 1);
        }
    }
    add(bucket(from, last), last, k);
}

/// Seeded uniform values in [0, 1) for tests (a 64-bit LCG's top 53 bits).
#[cfg(test)]
pub(crate) fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed;
    move || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_order_and_spread_values() {
        let xs: Vec<f64> = (0..10_000)
            .map(|i| -3.0 + 6.0 * f64::from(i) / 9_999.0)
            .collect();
        let b = Buckets::over(-3.0, 3.0);
        for w in xs.windows(2) {
            assert!(b.of(w[0]) <= b.of(w[1]));
        }
        assert_eq!(b.of(-3.0), 0);
        assert_eq!(b.of(3.0), Buckets::COUNT - 1);
        assert_eq!(b.of(-0.0), b.of(0.0));
        // Every value in its own bucket: nothing needs sorting.
        let mut seen: Vec<usize> = xs.iter().map(|x| b.of(*x)).collect();
        seen.dedup();
        assert_eq!(seen.len(), xs.len());
        // A range wider than f64 arithmetic keeps order through the keys.
        let wide = Buckets::over(-f64::MAX, f64::MAX);
        assert!(wide.of(-1e308) < wide.of(1.0) && wide.of(1.0) < wide.of(1e308));
        let same = Buckets::over(2.0, 2.0);
        assert_eq!(same.of(2.0), 0);
    }

    #[test]
    fn filled_buckets_are_each_values_bucket() {
        // Each kind of buckets: even slices, fitted cells, order keys.
        let mut next = uniform(11);
        let xs: Vec<f64> = (0..5_000u32)
            .map(|i| match i % 5 {
                0 => next() * 0.01,
                1 => -1.0 + 3.0 * next(),
                2 => f64::from(i % 7) * 0.125,
                3 => [0.0, -0.0, 1.0, f64::INFINITY, f64::NEG_INFINITY][(i / 5 % 5) as usize],
                _ => next(),
            })
            .chain([f64::MIN_POSITIVE, 1.0 - f64::EPSILON, 0.5 + f64::EPSILON])
            .collect();
        let kinds = [
            Buckets::over(0.0, 1.0),
            Buckets::fitted(0.0, 1.0, xs.iter().step_by(3).map(|x| x.clamp(0.0, 1.0))),
            Buckets::over(f64::NEG_INFINITY, 1.0),
        ];
        assert!(kinds[1].cells.is_some() && !kinds[2].linear);
        for b in &kinds {
            let mut out = vec![u16::MAX; xs.len() + 3];
            b.fill(&xs, &mut out);
            for (x, got) in xs.iter().zip(&out) {
                assert_eq!(usize::from(*got), b.of(*x), "{x}");
            }
            assert_eq!(
                out[xs.len()..],
                [u16::MAX; 3],
                "only the values' buckets are written"
            );
        }
        // Rounded to the nearest slice: the first bucket is half a slice
        // and the last one and a half, and NaN goes to the first bucket as
        // the old cast sent it.
        let b = &kinds[0];
        let slice = 1.0 / Buckets::COUNT as f64;
        assert_eq!(b.of(0.49 * slice), 0);
        assert_eq!(b.of(0.51 * slice), 1);
        assert_eq!(b.of(1.0 - 1.49 * slice), Buckets::COUNT - 1);
        assert_eq!(b.of(1.0 - 1.51 * slice), Buckets::COUNT - 2);
        assert_eq!(b.of(f64::NAN), 0);
    }

    #[test]
    fn fitted_buckets_keep_order_and_spread_crowded_values() {
        // Fraud-like scores: nine in ten below 0.01, the rest up to 1,
        // ties at 0 and 1.
        let mut next = uniform(7);
        let mut v: Vec<f64> = (0..200_000)
            .map(|i| match i % 10 {
                0 => next(),
                1 if i % 1000 == 1 => 0.0,
                2 if i % 1000 == 2 => 1.0,
                _ => next() * 0.01,
            })
            .collect();
        let even = Buckets::over(0.0, 1.0);
        let fitted = Buckets::fitted(0.0, 1.0, v.iter().step_by(7).copied());
        assert!(fitted.cells.is_some(), "crowded values are fitted");
        v.sort_by(f64::total_cmp);
        for w in v.windows(2) {
            assert!(fitted.of(w[0]) <= fitted.of(w[1]), "{} {}", w[0], w[1]);
        }
        assert_eq!(fitted.of(0.0), 0);
        assert_eq!(fitted.of(1.0), Buckets::COUNT - 1);
        // Below and above the range: the end buckets.
        assert_eq!(fitted.of(-1.0), 0);
        assert_eq!(fitted.of(2.0), Buckets::COUNT - 1);
        let fullest = |b: &Buckets| {
            // Ties aside: no buckets part them.
            let c = Counts::of(v.iter().copied().filter(|x| *x != 0.0 && *x != 1.0), b);
            (0..Buckets::COUNT).map(|i| c.n(i)).max().unwrap()
        };
        // Equal slices crowd the first 655 buckets with nine values in
        // ten; fitted ones spread them over most of the buckets.
        let (e, f) = (fullest(&even), fullest(&fitted));
        assert!(f * 5 < e, "fullest bucket: fitted {f}, even {e}");
        // Values spread evenly need no fitting.
        let uniform: Vec<f64> = (0..10_000).map(|_| next()).collect();
        assert!(
            Buckets::fitted(0.0, 1.0, uniform.into_iter())
                .cells
                .is_none()
        );
    }

    #[test]
    fn values_repeated_in_a_row_are_gathered_as_each_alone() {
        // Runs of a value, -0.0 beside 0.0, a bucket of one value, and one
        // that turns mixed after a run.
        let (a, b) = (3.0, 3.000_01);
        let xs = [
            0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 5.0, 5.0, 0.0, a, a, a, b, a, a, -0.0,
        ];
        let buckets = Buckets::over(-1.0, 5.0);
        assert_eq!(buckets.of(a), buckets.of(b));
        let counts = Counts::of(xs.iter().copied(), &buckets);
        let wanted = [0.0, 5.0, a].map(|x| buckets.of(x));
        let mut g = Gathered::filled(&counts, wanted, |g| g.add_all(&buckets, xs.iter().copied()));
        let mut mixed = 0;
        for w in wanted {
            let mut alone = Run::new(counts.n(w));
            for x in xs.iter().filter(|x| buckets.of(**x) == w) {
                alone.add(*x);
            }
            alone.finish();
            let got = g.take(w);
            mixed += usize::from(got.single().is_none());
            assert_eq!(got.single(), alone.single());
            assert_eq!(got.into_keys(), alone.into_keys());
        }
        assert_eq!(mixed, 1);
    }

    #[test]
    fn runs_keep_one_value_until_another_comes() {
        let mut zeros = Run::new(5);
        for x in [0.0, -0.0, 0.0] {
            zeros.add(x);
        }
        zeros.finish();
        // -0.0 equals 0.0: one value, kept as the first one seen.
        assert_eq!(
            (zeros.single(), zeros.keys(), zeros.at(2)),
            (Some(0.0), None, 0.0)
        );
        assert_eq!(zeros.into_keys(), vec![order_key(0.0); 3]);
        let mut mixed = Run::new(4);
        for x in [2.0, 2.0, -1.0, 2.0] {
            mixed.add(x);
        }
        mixed.finish();
        assert_eq!(mixed.single(), None);
        let want: Vec<u64> = [-1.0, 2.0, 2.0, 2.0].map(order_key).to_vec();
        assert_eq!(mixed.keys(), Some(want.as_slice()));
        assert_eq!((mixed.at(0), mixed.at(3)), (-1.0, 2.0));
        assert_eq!(mixed.into_keys(), want);
        assert_eq!(Run::new(0).single(), None);
    }

    #[test]
    fn order_key_round_trips_and_orders() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 7e200];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)), if x == 0.0 { 0.0 } else { x });
        }
    }
}
