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
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    lo: f64,
    scale: f64,
    linear: bool,
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
        Buckets { lo, scale, linear }
    }

    /// The bucket of `x` (within the range given to [`Buckets::over`]).
    #[inline]
    pub fn of(&self, x: f64) -> usize {
        if self.linear {
            // Subtraction and a positive scale round monotonically, and the
            // cast truncates: order is kept, ties share a bucket.
            (((x - self.lo) * self.scale) as usize).min(Self::COUNT - 1)
        } else {
            (order_key(x) >> (64 - Self::BITS)) as usize
        }
    }
}

/// Values per bucket, and which buckets hold more than one distinct value.
/// A bucket of one value needs no sorting: its ranks all hold that value,
/// and two samples cannot part inside it. This keeps a flag column (99.5%
/// zeros) or a rounded amount from gathering and sorting almost all of
/// its values.
#[derive(Debug, Clone)]
pub struct Counts {
    pub n: Vec<u32>,
    /// The first value counted in each bucket.
    pub first: Vec<f64>,
    /// Whether a bucket saw a value other than its first.
    pub mixed: Vec<bool>,
}

impl Default for Counts {
    /// No values yet.
    fn default() -> Counts {
        Counts {
            n: vec![0; Buckets::COUNT],
            first: vec![0.0; Buckets::COUNT],
            mixed: vec![false; Buckets::COUNT],
        }
    }
}

impl Counts {
    /// Counts the values (no NaN) into `buckets`.
    pub fn of(values: impl Iterator<Item = f64>, buckets: Buckets) -> Counts {
        let mut c = Counts::default();
        for x in values {
            c.add(buckets.of(x), x);
        }
        c
    }

    /// Counts `x` in bucket `b`.
    #[inline(always)]
    pub fn add(&mut self, b: usize, x: f64) {
        if self.n[b] == 0 {
            self.first[b] = x;
        } else if self.first[b] != x {
            self.mixed[b] = true;
        }
        self.n[b] += 1;
    }

    /// The one value of bucket `b`, unless it holds several.
    pub fn single(&self, b: usize) -> Option<f64> {
        (self.n[b] > 0 && !self.mixed[b]).then_some(self.first[b])
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
