//! Row-level facts that say whether a holdout can be trusted at all:
//! duplicated rows and ids (which shrink every p-value), rows shared with the
//! training or reference data (which flatter the model), and single features
//! that separate the labels alone (a leak). The host computes them natively,
//! once, before the gates run, and `builtin:integrity` (or any gate) reads
//! them through the WIT's `integrity()`.
//!
//! Rows are compared by a 128-bit hash of their values (two independent
//! 64-bit chains of the splitmix64 finaliser). Hand-written rather than a
//! hashing crate's: the hash must be stable across platforms and releases
//! (a decision is replayed later) and must treat a value the same whatever
//! its column type (an id written as int64 in one file and float64 in the
//! other), which general-purpose hashers do not promise. Two different rows
//! collide with probability about n² / 2^129: nil at any row count.

use polars::prelude::*;
use rayon::prelude::*;

use crate::data::{Table, bounded_map};
use crate::error::Result;
use crate::sort::order_key;

/// What [`compute`] finds; mirrored by the WIT's `integrity-facts`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Integrity {
    pub rows: u64,
    /// The columns compared for duplicate rows: every column but the id.
    pub row_columns: Vec<String>,
    /// Rows equal in every one of `row_columns` to an earlier row.
    pub duplicate_rows: u64,
    /// Rows whose id equals an earlier row's; `None` without an id column.
    pub duplicate_ids: Option<u64>,
    pub overlap: Option<Overlap>,
    /// Numeric feature columns, each alone as a score for the label.
    pub feature_aucs: Vec<FeatureAuc>,
}

/// How much of the holdout the reference data already holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Overlap {
    pub reference_rows: u64,
    /// The feature columns both datasets have (not the label, id or scores).
    pub columns: Vec<String>,
    /// Holdout rows whose values in `columns` equal some reference row's.
    pub shared_rows: u64,
    /// Holdout rows whose id appears in the reference; `None` unless both
    /// have the id column.
    pub shared_ids: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureAuc {
    pub column: String,
    /// ROC AUC of the column's values as scores (below 0.5 when small
    /// values mean fraud).
    pub auc: f64,
    /// Rows with a value (missing ones are left out).
    pub rows: u64,
}

/// The columns that are not features.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    pub label: &'a str,
    pub id: Option<&'a str>,
    pub scores: &'a [String],
    /// `holdout.weight`: how much a row counts, not something it says.
    pub weight: Option<&'a str>,
}

impl Roles<'_> {
    fn is_feature(&self, name: &str) -> bool {
        name != self.label
            && Some(name) != self.id
            && Some(name) != self.weight
            && !self.scores.iter().any(|s| s == name)
    }
}

/// The facts about `holdout` (and its overlap with `reference`), reading
/// the tables a group of columns at a time.
pub fn compute(
    holdout: &Table,
    labels: &[bool],
    roles: Roles<'_>,
    reference: Option<&Table>,
) -> Result<Integrity> {
    let names = holdout.names();
    let features: Vec<String> = names
        .iter()
        .filter(|n| roles.is_feature(n))
        .cloned()
        .collect();
    let others: Vec<String> = names
        .iter()
        .filter(|n| !roles.is_feature(n) && Some(n.as_str()) != roles.id)
        .cloned()
        .collect();
    // Features first: their hash is shared with the overlap check.
    let row_columns: Vec<String> = features.iter().chain(&others).cloned().collect();
    let shared: Option<Vec<String>> =
        reference.map(|r| features.iter().filter(|n| r.has(n)).cloned().collect());
    let id_column = roles.id.filter(|id| holdout.has(id));
    let n = holdout.rows();
    let (rows_and_overlap, ids_and_aucs) = rayon::join(
        || -> Result<_> {
            let lanes = Lanes::new(n).fold(holdout, shared.as_deref().unwrap_or(&features))?;
            let overlap = reference
                .zip(shared.as_ref())
                .map(|(r, cols)| overlap(holdout, &lanes, r, cols, roles))
                .transpose()?;
            // When the reference has every feature, the row hash continues
            // the feature hash instead of starting over.
            let rows = if shared.as_ref().is_none_or(|s| s.len() == features.len()) {
                lanes.fold(holdout, &others)?
            } else {
                Lanes::new(n).fold(holdout, &row_columns)?
            };
            Ok((duplicates(rows.hashes()), overlap))
        },
        || -> Result<_> {
            let (ids, aucs) = rayon::join(
                || {
                    id_column
                        .map(|id| row_hashes(holdout, &[id.to_string()]).map(duplicates))
                        .transpose()
                },
                || feature_aucs(holdout, labels, roles),
            );
            Ok((ids?, aucs?))
        },
    );
    let ((duplicate_rows, overlap), (duplicate_ids, feature_aucs)) =
        (rows_and_overlap?, ids_and_aucs?);
    Ok(Integrity {
        rows: n as u64,
        row_columns,
        duplicate_rows,
        duplicate_ids,
        overlap,
        feature_aucs,
    })
}

/// `lanes` holds the holdout's lanes over `columns`.
fn overlap(
    holdout: &Table,
    lanes: &Lanes,
    reference: &Table,
    columns: &[String],
    roles: Roles<'_>,
) -> Result<Overlap> {
    let (shared_rows, shared_ids) = rayon::join(
        || -> Result<u64> {
            if columns.is_empty() {
                Ok(0)
            } else {
                Ok(shared(lanes.hashes(), row_hashes(reference, columns)?))
            }
        },
        || -> Result<Option<u64>> {
            roles
                .id
                .filter(|id| holdout.has(id) && reference.has(id))
                .map(|id| {
                    let id = [id.to_string()];
                    Ok(shared(
                        row_hashes(holdout, &id)?,
                        row_hashes(reference, &id)?,
                    ))
                })
                .transpose()
        },
    );
    Ok(Overlap {
        reference_rows: reference.rows() as u64,
        columns: columns.to_vec(),
        shared_rows: shared_rows?,
        shared_ids: shared_ids?,
    })
}

/// Sorts row hashes: they are uniform, so one pass scatters them by their
/// top 16 bits into buckets small enough to sort in cache, in parallel. A
/// general sort of 10M 128-bit keys costs several times more.
fn sort_hashes(hashes: Vec<u128>) -> Vec<u128> {
    const BITS: u32 = 16;
    if hashes.len() < 1 << BITS {
        let mut hashes = hashes;
        hashes.sort_unstable();
        return hashes;
    }
    let top = |h: &u128| (h >> (128 - BITS)) as usize;
    let mut next = vec![0usize; 1 << BITS];
    for h in &hashes {
        next[top(h)] += 1;
    }
    let mut sizes = Vec::with_capacity(1 << BITS);
    let mut start = 0;
    for n in next.iter_mut() {
        sizes.push(*n);
        let size = *n;
        *n = start;
        start += size;
    }
    let mut out = vec![0u128; hashes.len()];
    for h in &hashes {
        let b = top(h);
        out[next[b]] = *h;
        next[b] += 1;
    }
    drop(hashes);
    let mut buckets = Vec::with_capacity(1 << BITS);
    let mut rest = out.as_mut_slice();
    for size in sizes {
        let (bucket, tail) = rest.split_at_mut(size);
        buckets.push(bucket);
        rest = tail;
    }
    buckets.par_iter_mut().for_each(|b| b.sort_unstable());
    out
}

/// Rows whose hash equals an earlier row's.
fn duplicates(hashes: Vec<u128>) -> u64 {
    let hashes = sort_hashes(hashes);
    hashes.windows(2).filter(|w| w[0] == w[1]).count() as u64
}

/// Holdout rows whose hash is among the reference's.
fn shared(holdout: Vec<u128>, reference: Vec<u128>) -> u64 {
    let (holdout, reference) = rayon::join(|| sort_hashes(holdout), || sort_hashes(reference));
    let mut j = 0;
    let mut n = 0u64;
    for h in &holdout {
        while j < reference.len() && reference[j] < *h {
            j += 1;
        }
        if j < reference.len() && reference[j] == *h {
            n += 1;
        }
    }
    n
}

fn feature_aucs(holdout: &Table, labels: &[bool], roles: Roles<'_>) -> Result<Vec<FeatureAuc>> {
    let columns: Vec<String> = holdout
        .names()
        .into_iter()
        .filter(|n| {
            roles.is_feature(n)
                && holdout
                    .dtype(n)
                    .is_some_and(|dt| dt.is_numeric() || dt.is_bool())
        })
        .collect();
    // One column per core in memory at a time (see `bounded_map`).
    let aucs = bounded_map(
        &columns,
        rayon::current_num_threads(),
        |name| -> Result<Option<FeatureAuc>> {
            let c = holdout.column(name)?;
            let s = c.as_materialized_series();
            let found = if s.dtype() == &DataType::Float32 {
                s.f32().ok().and_then(|ca| auc_alone(ca, labels, f64::from))
            } else {
                s.cast(&DataType::Float64)
                    .ok()
                    .and_then(|v| v.f64().ok().and_then(|ca| auc_alone(ca, labels, |v| v)))
            };
            Ok(found.map(|(auc, rows)| FeatureAuc {
                column: name.clone(),
                auc,
                rows,
            }))
        },
    )?;
    Ok(aucs.into_iter().flatten().collect())
}

/// Calls `f(value, label)` for each finite value, in row order.
fn finite_rows<T: PolarsNumericType>(
    values: &ChunkedArray<T>,
    labels: &[bool],
    to_f64: impl Fn(T::Native) -> f64,
    mut f: impl FnMut(f64, bool),
) {
    each(values, |i, v| {
        if let Some(v) = v.map(&to_f64).filter(|v| v.is_finite()) {
            f(v, labels[i]);
        }
    });
}

/// The bounds of [`auc_alone`]'s bucket index: about two buckets per row of
/// the smaller class, in a table that stays in cache.
const AUC_BUCKETS: std::ops::RangeInclusive<usize> = (1 << 10)..=(1 << 16);

/// The ROC AUC of `values` as scores (missing and non-finite left out),
/// as the Mann-Whitney count: pairs where the positive scores higher, ties
/// counting half, which is what the trapezoid of
/// [`crate::metrics::roc_auc`] gives, exactly. Not by sorting the column:
/// only the smaller class (the frauds, usually) is sorted, and indexed by
/// equal-width buckets between the column's extremes; each row of the
/// larger class then finds how many of the other class lie above it from
/// its bucket's start in that index, comparing values only inside its own
/// bucket. Two sequential passes (three when frauds are the majority) and
/// lookups in a cache-sized table.
/// `None` without both classes.
fn auc_alone<T: PolarsNumericType>(
    values: &ChunkedArray<T>,
    labels: &[bool],
    to_f64: impl Fn(T::Native) -> f64 + Copy,
) -> Option<(f64, u64)> {
    // One pass for the range, the counts and the positives' values (the
    // smaller class, almost always): the column is read twice in all.
    let (mut lo, mut hi, mut neg) = (f64::INFINITY, f64::NEG_INFINITY, 0u64);
    let mut smaller: Vec<f64> = Vec::new();
    finite_rows(values, labels, to_f64, |v, l| {
        lo = lo.min(v);
        hi = hi.max(v);
        if l {
            smaller.push(v);
        } else {
            neg += 1;
        }
    });
    let pos = smaller.len() as u64;
    if pos == 0 || neg == 0 {
        return None;
    }
    let minority = pos <= neg;
    if !minority {
        smaller = Vec::with_capacity(neg as usize);
        finite_rows(values, labels, to_f64, |v, l| {
            if !l {
                smaller.push(v);
            }
        });
    }
    let m = smaller.len();
    if u32::try_from(m).is_err() {
        return None;
    }
    let buckets = (2 * m)
        .next_power_of_two()
        .clamp(*AUC_BUCKETS.start(), *AUC_BUCKETS.end());
    // The buckets span the smaller class's central 98%, not the column's
    // extremes: one outlier or a long tail (amounts) would otherwise crowd
    // the class into a few buckets, each searched at length.
    smaller.sort_unstable_by(f64::total_cmp);
    let (lo, hi) = match (smaller[m / 100], smaller[m - 1 - m / 100]) {
        (a, b) if a < b => (a, b),
        _ => (lo, hi),
    };
    // Monotone in the value: rounding never reorders and values outside
    // [lo, hi] saturate to the end buckets, so a higher bucket holds only
    // higher values. An overflowing range puts every value in one bucket,
    // which stays exact, only slower.
    let scale = (buckets - 1) as f64 / (hi - lo);
    let bucket = |v: f64| {
        let b = (v - lo) * scale;
        if b.is_nan() {
            0
        } else {
            // `as` saturates: below `lo` is bucket 0, +inf the last.
            (b as usize).min(buckets - 1)
        }
    };
    let mut keys: Vec<(usize, u64)> = smaller
        .iter()
        .map(|v| (bucket(*v), order_key(*v)))
        .collect();
    drop(smaller);
    keys.sort_unstable();
    // start[b]: how many of the smaller class lie in buckets below b.
    // u32 keeps the index in L2 (256 KiB at most); a class of 4 billion
    // rows is not a fraud holdout.
    let mut start = vec![0u32; buckets + 1];
    for (b, _) in &keys {
        start[b + 1] += 1;
    }
    for b in 0..buckets {
        start[b + 1] += start[b];
    }
    let keys: Vec<u64> = keys.into_iter().map(|(_, k)| k).collect();
    // Twice the count of (positive > negative) pairs plus the ties, exact.
    let mut twice: u128 = 0;
    finite_rows(values, labels, to_f64, |v, l| {
        if l == minority {
            return;
        }
        let b = bucket(v);
        let (first, end) = (start[b] as usize, start[b + 1] as usize);
        let (below, not_above) = if first == end {
            (first, first)
        } else {
            let k = order_key(v);
            let inside = &keys[first..end];
            (
                first + inside.partition_point(|x| *x < k),
                first + inside.partition_point(|x| *x <= k),
            )
        };
        let ties = (not_above - below) as u128;
        twice += if minority {
            // A negative: the positives above it win.
            2 * (m - not_above) as u128 + ties
        } else {
            // A positive: it beats the negatives below it.
            2 * below as u128 + ties
        };
    });
    Some((twice as f64 / (2.0 * pos as f64 * neg as f64), pos + neg))
}

/// splitmix64's finaliser: a bijection of u64 that spreads every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Tags keep a null, a number and a text that share bits apart.
const NULL: u64 = 0x6e75_6c6c;
const NUMBER: u64 = 0x6e75_6d62_6572;
const TEXT: u64 = 0x7465_7874;

/// A number's hash, the same for equal values whatever the column type:
/// integers that f64 holds exactly hash as that f64, -0.0 as 0.0, every NaN
/// alike.
fn number(x: f64) -> u64 {
    let x = if x == 0.0 {
        0.0
    } else if x.is_nan() {
        f64::NAN
    } else {
        x
    };
    mix(x.to_bits() ^ NUMBER)
}

fn int(v: i64) -> u64 {
    let f = v as f64;
    // Through i128, which does not saturate: i64::MAX rounds to 2^63, which
    // is not it.
    if f as i128 == i128::from(v) {
        number(f)
    } else {
        mix(mix(v as u64 ^ NUMBER) ^ 1)
    }
}

fn uint(v: u64) -> u64 {
    let f = v as f64;
    if f as u128 == u128::from(v) {
        number(f)
    } else {
        mix(mix(v ^ NUMBER) ^ 2)
    }
}

fn text(s: &str) -> u64 {
    let mut h = mix(s.len() as u64 ^ TEXT);
    for chunk in s.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    h
}

/// A column as something each row's value hash can be read from, cast
/// once (float32 is read as it is: widening is exact).
enum Values {
    Float32(Float32Chunked),
    Float(Float64Chunked),
    Int(Int64Chunked),
    UInt(UInt64Chunked),
    Text(StringChunked),
    /// A column that casts to none of these (lists, structs): all alike.
    Opaque,
}

/// Calls `f(i, value)` for every row of `ca`, reading the values buffer
/// directly where a chunk has no nulls.
fn each<T: PolarsNumericType>(ca: &ChunkedArray<T>, mut f: impl FnMut(usize, Option<T::Native>)) {
    let mut i = 0;
    for arr in ca.downcast_iter() {
        if arr.validity().is_none() {
            for v in arr.values().iter() {
                f(i, Some(*v));
                i += 1;
            }
        } else {
            for v in arr.iter() {
                f(i, v.copied());
                i += 1;
            }
        }
    }
}

impl Values {
    fn of(c: &Column) -> Values {
        let s = c.as_materialized_series();
        let dt = s.dtype();
        let try_values = || -> PolarsResult<Values> {
            Ok(if dt == &DataType::Float32 {
                Values::Float32(s.f32()?.clone())
            } else if dt.is_float() || dt.is_decimal() {
                Values::Float(s.cast(&DataType::Float64)?.f64()?.clone())
            } else if dt.is_unsigned_integer() {
                Values::UInt(s.cast(&DataType::UInt64)?.u64()?.clone())
            } else if dt.is_integer() || dt.is_temporal() || dt.is_bool() {
                Values::Int(s.to_physical_repr().cast(&DataType::Int64)?.i64()?.clone())
            } else {
                Values::Text(s.cast(&DataType::String)?.str()?.clone())
            })
        };
        try_values().unwrap_or(Values::Opaque)
    }

    /// Folds the value hashes of this column's rows (a chunk as long as
    /// the lanes) into the two lanes.
    fn fold(&self, a: &mut [u64], b: &mut [u64]) {
        let null = mix(NULL);
        let n = a.len();
        let mut step = |i: usize, v: u64| {
            a[i] = mix(a[i] ^ v);
            // A cheaper bijection than `mix` suffices: `v` is mixed already.
            b[i] = (b[i].rotate_left(23) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        };
        match self {
            Values::Float32(f) => each(f, |i, v| step(i, v.map_or(null, |v| number(f64::from(v))))),
            Values::Float(f) => each(f, |i, v| step(i, v.map_or(null, number))),
            Values::Int(x) => each(x, |i, v| step(i, v.map_or(null, int))),
            Values::UInt(x) => each(x, |i, v| step(i, v.map_or(null, uint))),
            Values::Text(t) => {
                for (i, v) in t.iter().enumerate() {
                    step(i, v.map_or(null, text));
                }
            }
            Values::Opaque => (0..n).for_each(|i| step(i, null)),
        }
    }
}

/// Rows per parallel task when hashing.
const HASH_CHUNK: usize = 1 << 16;

/// The two 64-bit lanes of every row's hash, folded over `columns` in that
/// order: parallel over chunks of rows.
/// Bytes of columns read at once for the row hash.
const GROUP_BYTES: usize = 1 << 30;

#[derive(Clone)]
struct Lanes {
    a: Vec<u64>,
    b: Vec<u64>,
}

impl Lanes {
    fn new(rows: usize) -> Lanes {
        Lanes {
            a: vec![0x5151_5151; rows],
            b: vec![0xa3a3_a3a3; rows],
        }
    }

    /// Chunks of rows outside, columns inside: a chunk's lanes stay in
    /// cache while every column folds into them, and a column that needs a
    /// cast is cast one chunk at a time (slices are views, not copies).
    /// The columns are read from the table in groups of at most
    /// [`GROUP_BYTES`], so a 100M-row table is hashed a column at a time.
    fn fold(mut self, table: &Table, columns: &[String]) -> Result<Lanes> {
        let per_column = table.rows().max(1).saturating_mul(8);
        let group = (GROUP_BYTES / per_column).max(1);
        let present: Vec<String> = columns.iter().filter(|n| table.has(n)).cloned().collect();
        for names in present.chunks(group) {
            let frame = table.frame(names)?;
            let columns = frame.columns();
            self.a
                .par_chunks_mut(HASH_CHUNK)
                .zip(self.b.par_chunks_mut(HASH_CHUNK))
                .enumerate()
                .for_each(|(k, (a, b))| {
                    for c in columns {
                        Values::of(&c.slice((k * HASH_CHUNK) as i64, a.len())).fold(a, b);
                    }
                });
        }
        Ok(self)
    }

    fn hashes(&self) -> Vec<u128> {
        self.a
            .iter()
            .zip(&self.b)
            .map(|(a, b)| (u128::from(*a) << 64) | u128::from(*b))
            .collect()
    }
}

/// One 128-bit hash per row over `columns`, in that order.
fn row_hashes(table: &Table, columns: &[String]) -> Result<Vec<u128>> {
    Ok(Lanes::new(table.rows()).fold(table, columns)?.hashes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_hashes(frame: &DataFrame, columns: &[String]) -> Vec<u128> {
        super::row_hashes(&Table::from_frame(frame.clone()), columns).unwrap()
    }

    fn roles(id: Option<&'static str>) -> Roles<'static> {
        Roles {
            label: "y",
            id,
            scores: &[],
            weight: None,
        }
    }

    #[test]
    fn duplicates_count_repeats_after_the_first() {
        let df = df!(
            "id" => [1i64, 2, 3, 3, 5, 6],
            "a" => [1.0, 2.0, 1.0, 1.0, 2.0, 9.0],
            "t" => ["x", "y", "x", "x", "y", "z"],
            "y" => [true, false, true, true, false, false],
        )
        .unwrap();
        let labels = [true, false, true, true, false, false];
        let i = compute(
            &Table::from_frame(df.clone()),
            &labels,
            roles(Some("id")),
            None,
        )
        .unwrap();
        // Rows 0, 2, 3 are equal but for the id, and 1, 4 too.
        assert_eq!(i.duplicate_rows, 3);
        assert_eq!(i.duplicate_ids, Some(1));
        assert_eq!(i.row_columns, ["a", "t", "y"]);
        let i = compute(&Table::from_frame(df.clone()), &labels, roles(None), None).unwrap();
        assert_eq!(i.duplicate_rows, 1, "with the id, only rows 2 and 3 repeat");
        assert_eq!(i.duplicate_ids, None);
    }

    #[test]
    fn equal_values_hash_alike_across_types_and_nulls_differ_from_values() {
        let ints = df!("v" => [Some(1i64), None, Some(3), Some(1 << 60)]).unwrap();
        let floats = df!("v" => [Some(1.0f64), Some(0.0), Some(3.0), Some(2f64.powi(60))]).unwrap();
        let small = df!("v" => [Some(1u8), Some(0), Some(3), Some(4)]).unwrap();
        let cols = ["v".to_string()];
        let (hi, hf, hs) = (
            row_hashes(&ints, &cols),
            row_hashes(&floats, &cols),
            row_hashes(&small, &cols),
        );
        assert_eq!(hi[0], hf[0]);
        assert_eq!(hi[0], hs[0]);
        assert_eq!(hi[2], hf[2]);
        assert_ne!(hi[1], hf[1], "a null is not 0.0");
        assert_eq!(hf[1], hs[1], "0.0 and 0u8 are equal values");
        assert_eq!(hi[3], hf[3], "2^60 is exact in both");
        // i64::MAX rounds to 2^63 as a float, but is not equal to it.
        let max = df!("v" => [i64::MAX]).unwrap();
        let two63 = df!("v" => [2f64.powi(63)]).unwrap();
        let big = df!("v" => [1u64 << 63]).unwrap();
        assert_ne!(row_hashes(&max, &cols), row_hashes(&two63, &cols));
        assert_eq!(row_hashes(&big, &cols), row_hashes(&two63, &cols));
        // -0.0 is 0.0; text "1" is not the number 1.
        let z = df!("v" => [-0.0f64, 0.0]).unwrap();
        let hz = row_hashes(&z, &cols);
        assert_eq!(hz[0], hz[1]);
        let t = df!("v" => ["1"]).unwrap();
        assert_ne!(row_hashes(&t, &cols)[0], hi[0]);
        // Column order matters: (1, 2) is not (2, 1).
        let ab = df!("a" => [1.0, 2.0], "b" => [2.0, 1.0]).unwrap();
        let h = row_hashes(&ab, &["a".to_string(), "b".to_string()]);
        assert_ne!(h[0], h[1]);
    }

    #[test]
    fn overlap_counts_shared_feature_rows_and_ids_but_not_labels_or_scores() {
        let holdout = df!(
            "id" => [1i64, 2, 3, 4],
            "a" => [1.0, 2.0, 3.0, 4.0],
            "y" => [true, false, false, true],
            "s" => [0.1, 0.2, 0.3, 0.4],
        )
        .unwrap();
        // Rows 1 and 4 reappear with other ids, labels and scores; id 3 too.
        let reference = df!(
            "id" => [10i64, 11, 3],
            "a" => [1.0, 4.0, 7.0],
            "y" => [false, false, true],
            "s" => [0.9, 0.9, 0.9],
            "extra" => ["p", "q", "r"],
        )
        .unwrap();
        let scores = ["s".to_string()];
        let r = Roles {
            label: "y",
            id: Some("id"),
            scores: &scores,
            weight: None,
        };
        let i = compute(
            &Table::from_frame(holdout),
            &[true, false, false, true],
            r,
            Some(&Table::from_frame(reference)),
        )
        .unwrap();
        let o = i.overlap.unwrap();
        assert_eq!(o.columns, ["a"]);
        assert_eq!(
            (o.shared_rows, o.shared_ids, o.reference_rows),
            (2, Some(1), 3)
        );
    }

    #[test]
    fn the_binary_search_auc_is_the_metric_with_ties_either_class_the_minority() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for rate in [0.01, 0.3, 0.7, 0.99] {
            let n = 5000;
            let labels: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < rate).collect();
            // Coarse values: many ties, within and across the classes.
            let values: Vec<f64> = labels
                .iter()
                .map(|l| (rng.random_range(0..40) + if *l { 6 } else { 0 }) as f64 / 4.0)
                .collect();
            let got = auc_alone(
                &Float64Chunked::from_vec("v".into(), values.clone()),
                &labels,
                |v| v,
            );
            let want = crate::metrics::roc_auc(&crate::metrics::Sweep::new(&values, &labels));
            let (auc, rows) = got.unwrap();
            assert!((auc - want).abs() < 1e-15, "rate {rate}: {auc} vs {want}");
            assert_eq!(rows, n as u64);
            // Continuous values, and a range so wide it overflows.
            for extreme in [None, Some(1e308)] {
                let mut values: Vec<f64> = labels
                    .iter()
                    .map(|l| rng.random::<f64>() + if *l { 0.3 } else { 0.0 })
                    .collect();
                if let Some(x) = extreme {
                    values[0] = -x;
                    values[1] = x;
                }
                let got = auc_alone(
                    &Float64Chunked::from_vec("v".into(), values.clone()),
                    &labels,
                    |v| v,
                );
                let want = crate::metrics::roc_auc(&crate::metrics::Sweep::new(&values, &labels));
                let auc = got.unwrap().0;
                assert!(
                    (auc - want).abs() < 1e-15,
                    "rate {rate} {extreme:?}: {auc} vs {want}"
                );
            }
        }
    }

    #[test]
    fn sorting_hashes_by_buckets_sorts() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for n in [0, 10, 70_000, 200_000] {
            let mut v: Vec<u128> = (0..n).map(|_| rng.random()).collect();
            // Repeats, and keys that share their top bits.
            v.extend_from_slice(&v.clone()[..n / 10]);
            v.extend((0..n as u128 / 10).map(|i| (7u128 << 112) | i));
            let mut want = v.clone();
            want.sort_unstable();
            assert_eq!(sort_hashes(v), want);
        }
    }

    #[test]
    fn feature_aucs_match_the_metric_and_skip_missing_values() {
        let df = df!(
            "leak" => [Some(0.9), Some(0.8), Some(0.1), None, Some(0.2)],
            "noise" => [Some(1.0), Some(1.0), Some(1.0), Some(1.0), Some(1.0)],
            "name" => ["a", "b", "c", "d", "e"],
            "y" => [1i64, 1, 0, 0, 0],
        )
        .unwrap();
        let labels = [true, true, false, false, false];
        let i = compute(&Table::from_frame(df.clone()), &labels, roles(None), None).unwrap();
        let get = |c: &str| i.feature_aucs.iter().find(|f| f.column == c).unwrap();
        assert_eq!((get("leak").auc, get("leak").rows), (1.0, 4));
        assert_eq!(get("noise").auc, 0.5);
        assert!(
            i.feature_aucs
                .iter()
                .all(|f| f.column != "name" && f.column != "y")
        );
    }
}
