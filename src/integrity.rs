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

use crate::metrics::{self, Sweep};

/// What [`compute`] finds; mirrored by the WIT's `integrity-facts`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
}

impl Roles<'_> {
    fn is_feature(&self, name: &str) -> bool {
        name != self.label && Some(name) != self.id && !self.scores.iter().any(|s| s == name)
    }
}

pub fn compute(
    holdout: &DataFrame,
    labels: &[bool],
    roles: Roles<'_>,
    reference: Option<&DataFrame>,
) -> Integrity {
    let row_columns: Vec<String> = names(holdout)
        .filter(|n| Some(n.as_str()) != roles.id)
        .collect();
    let id_column = roles.id.filter(|id| holdout.column(id).is_ok());
    let ((duplicate_rows, duplicate_ids), (overlap, feature_aucs)) = rayon::join(
        || {
            rayon::join(
                || duplicates(row_hashes(holdout, &row_columns)),
                || id_column.map(|id| duplicates(row_hashes(holdout, &[id.to_string()]))),
            )
        },
        || {
            rayon::join(
                || reference.map(|r| overlap(holdout, r, roles)),
                || feature_aucs(holdout, labels, roles),
            )
        },
    );
    Integrity {
        rows: holdout.height() as u64,
        row_columns,
        duplicate_rows,
        duplicate_ids,
        overlap,
        feature_aucs,
    }
}

fn names(frame: &DataFrame) -> impl Iterator<Item = String> + '_ {
    frame.get_column_names().into_iter().map(|n| n.to_string())
}

fn overlap(holdout: &DataFrame, reference: &DataFrame, roles: Roles<'_>) -> Overlap {
    let columns: Vec<String> = names(holdout)
        .filter(|n| roles.is_feature(n) && reference.column(n).is_ok())
        .collect();
    let shared_ids = roles
        .id
        .filter(|id| holdout.column(id).is_ok() && reference.column(id).is_ok())
        .map(|id| {
            let id = [id.to_string()];
            shared(row_hashes(holdout, &id), row_hashes(reference, &id))
        });
    let shared_rows = if columns.is_empty() {
        0
    } else {
        shared(
            row_hashes(holdout, &columns),
            row_hashes(reference, &columns),
        )
    };
    Overlap {
        reference_rows: reference.height() as u64,
        columns,
        shared_rows,
        shared_ids,
    }
}

/// Rows whose hash equals an earlier row's.
fn duplicates(mut hashes: Vec<u128>) -> u64 {
    hashes.par_sort_unstable();
    hashes.windows(2).filter(|w| w[0] == w[1]).count() as u64
}

/// Holdout rows whose hash is among the reference's.
fn shared(mut holdout: Vec<u128>, mut reference: Vec<u128>) -> u64 {
    rayon::join(
        || holdout.par_sort_unstable(),
        || reference.par_sort_unstable(),
    );
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

fn feature_aucs(holdout: &DataFrame, labels: &[bool], roles: Roles<'_>) -> Vec<FeatureAuc> {
    let columns: Vec<&Column> = holdout
        .columns()
        .iter()
        .filter(|c| roles.is_feature(c.name()) && (c.dtype().is_numeric() || c.dtype().is_bool()))
        .collect();
    columns
        .par_iter()
        .filter_map(|c| {
            let values = c.as_materialized_series().cast(&DataType::Float64).ok()?;
            let values = values.f64().ok()?;
            let (mut scores, mut y) = (Vec::with_capacity(labels.len()), Vec::new());
            y.reserve(labels.len());
            for (v, l) in values.iter().zip(labels) {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    scores.push(v);
                    y.push(*l);
                }
            }
            let sweep = Sweep::new(&scores, &y);
            (sweep.positives() > 0 && sweep.negatives() > 0).then(|| FeatureAuc {
                column: c.name().to_string(),
                auc: metrics::roc_auc(&sweep),
                rows: scores.len() as u64,
            })
        })
        .collect()
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

/// Each value's hash, by the column's type; an unreadable column (lists,
/// structs) hashes by its text.
fn value_hashes(c: &Column) -> Vec<u64> {
    let s = c.as_materialized_series();
    let null = mix(NULL);
    let dt = s.dtype();
    let cast = |to: &DataType| s.cast(to).ok();
    if dt.is_float() || dt.is_decimal() {
        if let Some(f) = cast(&DataType::Float64)
            .as_ref()
            .and_then(|f| f.f64().ok().cloned())
        {
            return f.iter().map(|v| v.map_or(null, number)).collect();
        }
    } else if dt.is_unsigned_integer() {
        if let Some(u) = cast(&DataType::UInt64)
            .as_ref()
            .and_then(|u| u.u64().ok().cloned())
        {
            return u.iter().map(|v| v.map_or(null, uint)).collect();
        }
    } else if dt.is_integer() || dt.is_temporal() || dt.is_bool() {
        let physical = s.to_physical_repr();
        if let Some(i) = physical
            .cast(&DataType::Int64)
            .ok()
            .as_ref()
            .and_then(|i| i.i64().ok().cloned())
        {
            return i.iter().map(|v| v.map_or(null, int)).collect();
        }
    }
    match cast(&DataType::String) {
        Some(t) => match t.str() {
            Ok(t) => t.iter().map(|v| v.map_or(null, text)).collect(),
            Err(_) => vec![null; s.len()],
        },
        None => vec![null; s.len()],
    }
}

/// One 128-bit hash per row over `columns`, in that order.
fn row_hashes(frame: &DataFrame, columns: &[String]) -> Vec<u128> {
    let n = frame.height();
    let (mut a, mut b) = (vec![0x5151_5151u64; n], vec![0xa3a3_a3a3u64; n]);
    for name in columns {
        let Ok(c) = frame.column(name) else { continue };
        let v = value_hashes(c);
        for ((a, b), v) in a.iter_mut().zip(b.iter_mut()).zip(&v) {
            *a = mix(*a ^ v);
            *b = mix(b.wrapping_add(v.rotate_left(29)) ^ 0x9e37_79b9_7f4a_7c15);
        }
    }
    a.into_iter()
        .zip(b)
        .map(|(a, b)| (u128::from(a) << 64) | u128::from(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(id: Option<&'static str>) -> Roles<'static> {
        Roles {
            label: "y",
            id,
            scores: &[],
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
        let i = compute(&df, &labels, roles(Some("id")), None);
        // Rows 0, 2, 3 are equal but for the id, and 1, 4 too.
        assert_eq!(i.duplicate_rows, 3);
        assert_eq!(i.duplicate_ids, Some(1));
        assert_eq!(i.row_columns, ["a", "t", "y"]);
        let i = compute(&df, &labels, roles(None), None);
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
        };
        let i = compute(&holdout, &[true, false, false, true], r, Some(&reference));
        let o = i.overlap.unwrap();
        assert_eq!(o.columns, ["a"]);
        assert_eq!(
            (o.shared_rows, o.shared_ids, o.reference_rows),
            (2, Some(1), 3)
        );
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
        let i = compute(&df, &labels, roles(None), None);
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
