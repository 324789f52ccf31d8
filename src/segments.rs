//! Per-segment evaluation: each model's metrics and the paired tests on
//! every slice of the holdout that a `segments:` column cuts (a country, a
//! merchant category, an amount band), and the segments where the
//! candidate loses most.
//!
//! A candidate that is better overall can be much worse in one market, and
//! the overall metric hides it. Each segment keeps the operating threshold
//! each model has on the whole holdout (a bank runs one threshold, not one
//! per country), so a segment's precision and recall are what that segment
//! would see in production; its ranking metrics are its own. Paired tests
//! are the whole holdout's, on the segment's rows: DeLong's for ROC AUC,
//! the paired z-test for the losses, and the paired bootstrap for the rest,
//! which runs only on segments with enough positives to be judged.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude::{DataFrame, DataType};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{MetricsSpec, SegmentSpec, StatsSpec, Threshold};
use crate::error::{Error, Result};
use crate::metrics;
use crate::stats::{self, DeltaTest, bootstrap};

/// More distinct values than this and a column is an identifier, not a
/// segment: the table would be unreadable and most segments too small.
pub const MAX_SEGMENTS: usize = 1000;

/// The segment of rows with no value in the column.
pub const MISSING: &str = "(missing)";

/// The metric the weakest segments are ranked by: it has a closed-form
/// paired test in every segment with both classes.
pub const WEAK_METRIC: &str = "roc_auc";

/// How many of the weakest segments the report lists.
pub const WEAK_SHOWN: usize = 5;

/// One `segments:` column cut into segments.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentTable {
    pub column: String,
    /// Segments with fewer positives are not judged.
    pub min_positives: u64,
    /// Bins in edge order; categories by rows, most first.
    pub segments: Vec<Segment>,
}

/// Whether a segment can be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Enough positives and negatives for its tests to mean something.
    Judged,
    /// Fewer than `min_positives` positives (or fewer than 2 negatives):
    /// reported, never judged.
    TooSmall,
    /// One class only: no ranking metric exists.
    OneClass,
}

/// One segment's metrics, each model's on the segment's rows.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// The category, a bin such as `[50, 500)`, or [`MISSING`].
    pub value: String,
    pub rows: u64,
    pub positives: u64,
    pub status: Status,
    /// Scalar metrics by name, as the evaluation's; empty with one class.
    pub candidate: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<Map<String, Value>>,
    /// Candidate minus production.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub delta: Map<String, Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub delta_tests: BTreeMap<String, DeltaTest>,
}

impl Segment {
    /// A model's metric in this segment, when it is a number.
    pub fn metric(&self, production: bool, name: &str) -> Option<f64> {
        let m = if production {
            self.production.as_ref()?
        } else {
            &self.candidate
        };
        m.get(name)?.as_f64()
    }
}

/// A judged segment where the candidate's ROC AUC is below production's.
#[derive(Debug, Clone, Serialize)]
pub struct WeakSegment {
    pub column: String,
    pub value: String,
    pub positives: u64,
    pub metric: &'static str,
    pub candidate: f64,
    pub production: f64,
    pub delta: f64,
    /// DeLong's interval and p-value of the delta, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<DeltaTest>,
}

/// One model's scores and the threshold it operates at on the whole holdout.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    pub scores: &'a [f64],
    pub threshold: f64,
}

/// What the segments are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub path: &'a Path,
    pub frame: &'a DataFrame,
    pub labels: &'a [bool],
    pub amounts: Option<&'a [f64]>,
    pub weights: Option<&'a [f64]>,
    pub candidate: Scored<'a>,
    pub production: Option<Scored<'a>>,
    pub metrics: &'a MetricsSpec,
    pub stats: &'a StatsSpec,
}

/// Cuts the holdout by each configured column and evaluates every segment.
pub fn evaluate(specs: &[SegmentSpec], inputs: &Inputs) -> Result<Vec<SegmentTable>> {
    specs
        .iter()
        .map(|spec| {
            let (names, of_row) = assign(inputs.path, inputs.frame, spec)?;
            let mut rows: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
            for (row, s) in of_row.iter().enumerate() {
                rows[*s as usize].push(row as u32);
            }
            let segments = names
                .into_par_iter()
                .zip(rows)
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(value, rows)| segment(value, &rows, spec.min_positives, inputs))
                .collect::<Result<Vec<_>>>()?;
            Ok(SegmentTable {
                column: spec.column.clone(),
                min_positives: spec.min_positives,
                segments,
            })
        })
        .collect()
}

fn segment(value: String, rows: &[u32], min_positives: u64, inputs: &Inputs) -> Result<Segment> {
    let pick = |v: &[f64]| -> Vec<f64> { rows.iter().map(|r| v[*r as usize]).collect() };
    let labels: Vec<bool> = rows.iter().map(|r| inputs.labels[*r as usize]).collect();
    let amounts = inputs.amounts.map(pick);
    let weights = inputs.weights.map(pick);
    let rows_of = metrics::Rows {
        amounts: amounts.as_deref(),
        weights: weights.as_deref(),
        days: None,
    };
    let positives = labels.iter().filter(|l| **l).count() as u64;
    let negatives = labels.len() as u64 - positives;
    let mut out = Segment {
        value,
        rows: labels.len() as u64,
        positives,
        status: Status::OneClass,
        candidate: Map::new(),
        production: None,
        delta: Map::new(),
        delta_tests: BTreeMap::new(),
    };
    if positives == 0 || negatives == 0 {
        return Ok(out);
    }
    out.status = if positives >= min_positives && negatives >= 2 {
        Status::Judged
    } else {
        Status::TooSmall
    };
    let assess = |m: Scored, scores: &[f64]| {
        // The alert budget is the whole team's, not a segment's.
        let spec = MetricsSpec {
            threshold: Threshold::Fixed(m.threshold),
            alert_budget: None,
            ..inputs.metrics.clone()
        };
        metrics::evaluate_with_money(scores, &labels, &rows_of, &spec).map(|m| m.to_map())
    };
    let cand = pick(inputs.candidate.scores);
    out.candidate = assess(inputs.candidate, &cand)?;
    let Some(p) = inputs.production else {
        return Ok(out);
    };
    let prod = pick(p.scores);
    let mut prod_map = assess(p, &prod)?;
    if let Some(cost) = &inputs.metrics.cost {
        let name = "expected_cost_at_production_threshold";
        for (map, scores) in [(&mut out.candidate, &cand), (&mut prod_map, &prod)] {
            let v = metrics::cost_at(scores, &labels, &rows_of, cost, p.threshold);
            map.insert(name.into(), metrics::metric_json(name, v));
        }
    }
    out.delta = metrics::delta(&out.candidate, &prod_map);
    out.production = Some(prod_map);
    let level = inputs.stats.confidence;
    // DeLong's test takes no weights: with them the bootstrap tests ROC AUC.
    if weights.is_none()
        && let Some(t) = stats::delong(&cand, &prod, &labels, level)
    {
        out.delta_tests.insert("roc_auc".into(), t);
    }
    for (metric, t) in metrics::loss_tests(&cand, &prod, &labels, weights.as_deref(), level) {
        out.delta_tests.insert(metric.to_string(), t);
    }
    if out.status == Status::Judged
        && let Some(b) = bootstrap::run_at(
            &cand,
            Some(&prod),
            &labels,
            &rows_of,
            inputs.metrics,
            [inputs.candidate.threshold, p.threshold],
            inputs.stats,
        )
    {
        out.delta_tests.extend(b.tests);
    }
    Ok(out)
}

/// Each row's segment, and the segments' names in table order.
fn assign(path: &Path, frame: &DataFrame, spec: &SegmentSpec) -> Result<(Vec<String>, Vec<u32>)> {
    let column = &spec.column;
    let series = frame
        .column(column)
        .map_err(|e| Error::polars("cannot read a segment column of", path, e))?
        .as_materialized_series();
    let dtype = series.dtype().clone();
    if let Some(edges) = &spec.bins {
        if !dtype.is_primitive_numeric() && !dtype.is_decimal() {
            return Err(Error::data(
                path,
                format!("segments: column `{column}` has type {dtype}; `bins:` needs numbers"),
            ));
        }
        let values = series
            .cast(&DataType::Float64)
            .map_err(|e| Error::polars("cannot read a segment column of", path, e))?;
        let values = values
            .f64()
            .map_err(|e| Error::polars("cannot read a segment column of", path, e))?;
        let mut names = bin_names(edges);
        let (below, above, missing) = (names.len(), names.len() + 1, names.len() + 2);
        names.push(format!("< {}", edges[0]));
        names.push(format!("> {}", edges[edges.len() - 1]));
        names.push(MISSING.into());
        let of_row = values
            .iter()
            .map(|v| match v {
                Some(x) if x.is_nan() => missing,
                None => missing,
                Some(x) => bin_of(edges, x).unwrap_or(if x < edges[0] { below } else { above }),
            } as u32)
            .collect();
        return Ok((names, of_row));
    }
    if dtype.is_float() {
        return Err(Error::data(
            path,
            format!(
                "segments: column `{column}` holds floats ({dtype}); give `bins:` to cut it into bands, e.g. bins: [0, 50, 500, .inf]"
            ),
        ));
    }
    if !crate::data::is_readable(&dtype) {
        return Err(Error::data(
            path,
            format!("segments: column `{column}` has type {dtype}, which cannot name a segment"),
        ));
    }
    let as_text = series
        .cast(&DataType::String)
        .map_err(|e| Error::polars("cannot read a segment column of", path, e))?;
    let text = as_text
        .str()
        .map_err(|e| Error::polars("cannot read a segment column of", path, e))?;
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut of_row = Vec::with_capacity(text.len());
    for v in text.iter() {
        let key = v.unwrap_or(MISSING);
        let next = index.len() as u32;
        let s = *index.entry(key).or_insert(next);
        if s == next {
            if index.len() > MAX_SEGMENTS {
                let distinct = as_text.n_unique().unwrap_or(index.len());
                return Err(Error::data(
                    path,
                    format!(
                        "segments: column `{column}` has {distinct} distinct values; a segment column may have at most {MAX_SEGMENTS} (an id or free text is not a segment)"
                    ),
                ));
            }
            counts.push(0);
        }
        counts[s as usize] += 1;
        of_row.push(s);
    }
    // Table order: most rows first, then by name, whatever the file's order.
    let mut names: Vec<(&str, u32)> = index.into_iter().collect();
    names.sort_by(|a, b| {
        counts[b.1 as usize]
            .cmp(&counts[a.1 as usize])
            .then(a.0.cmp(b.0))
    });
    let mut rank = vec![0u32; names.len()];
    for (k, (_, s)) in names.iter().enumerate() {
        rank[*s as usize] = k as u32;
    }
    for s in &mut of_row {
        *s = rank[*s as usize];
    }
    Ok((
        names.into_iter().map(|(n, _)| n.to_string()).collect(),
        of_row,
    ))
}

/// `[a, b)` for each bin, the last closed: `[500, inf]`.
fn bin_names(edges: &[f64]) -> Vec<String> {
    let last = edges.len() - 2;
    edges
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let close = if i == last { ']' } else { ')' };
            format!("[{}, {}{close}", w[0], w[1])
        })
        .collect()
}

/// The bin of `x`: `[edges[i], edges[i+1])`, the last closed; `None`
/// outside the edges.
fn bin_of(edges: &[f64], x: f64) -> Option<usize> {
    let bins = edges.len() - 1;
    if x < edges[0] || x > edges[bins] {
        return None;
    }
    Some(
        edges
            .partition_point(|e| *e <= x)
            .saturating_sub(1)
            .min(bins - 1),
    )
}

/// The judged segments where the candidate's ROC AUC falls furthest below
/// production's, worst first, at most [`WEAK_SHOWN`]. Segments too small
/// to judge are left out: with a handful of frauds their AUC moves by
/// chance more than any model change does.
pub fn weakest(tables: &[SegmentTable]) -> Vec<WeakSegment> {
    let mut weak: Vec<WeakSegment> = tables
        .iter()
        .flat_map(|t| t.segments.iter().map(move |s| (t, s)))
        .filter(|(_, s)| s.status == Status::Judged)
        .filter_map(|(t, s)| {
            let (c, p) = (s.metric(false, WEAK_METRIC)?, s.metric(true, WEAK_METRIC)?);
            (c < p).then(|| WeakSegment {
                column: t.column.clone(),
                value: s.value.clone(),
                positives: s.positives,
                metric: WEAK_METRIC,
                candidate: c,
                production: p,
                delta: c - p,
                test: s.delta_tests.get(WEAK_METRIC).cloned(),
            })
        })
        .collect();
    weak.sort_by(|a, b| a.delta.total_cmp(&b.delta));
    weak.truncate(WEAK_SHOWN);
    weak
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_half_open_and_the_last_is_closed() {
        let edges = [0.0, 50.0, 500.0, f64::INFINITY];
        assert_eq!(bin_names(&edges), ["[0, 50)", "[50, 500)", "[500, inf]"]);
        for (x, want) in [
            (0.0, Some(0)),
            (49.99, Some(0)),
            (50.0, Some(1)),
            (499.0, Some(1)),
            (500.0, Some(2)),
            (1e300, Some(2)),
            (f64::INFINITY, Some(2)),
            (-0.01, None),
        ] {
            assert_eq!(bin_of(&edges, x), want, "{x}");
        }
        let closed = [1.0, 2.0, 3.0];
        assert_eq!(bin_of(&closed, 3.0), Some(1));
        assert_eq!(bin_of(&closed, 3.5), None);
    }
}
