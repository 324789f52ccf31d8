//! `builtin:drift`: population stability (PSI) and the exact two-sample
//! Kolmogorov-Smirnov test per numeric feature, and PSI plus unseen
//! categories per text feature, between the reference data and the holdout.
//!
//! The defaults and their sources:
//! - PSI 0.1 (warn) and 0.25 (fail): the industry levels of credit-risk
//!   scorecard monitoring (Siddiqi, *Credit Risk Scorecards*, 2006).
//! - KS needs both an effect and evidence. At millions of rows any gap is
//!   significant, so a column fails only when the gap between the CDFs is
//!   at least `ks_fail` (0.1: a shift of a quarter standard deviation of a
//!   normal feature moves the CDF by 0.1; half a standard deviation by 0.2)
//!   *and* its p-value is below `ks_alpha` (0.01), so a small holdout's
//!   noise does not fail a column either. `ks_warn` (0.05) warns the same
//!   way. The statistic is exact (the host sorts both columns), where it
//!   used to be read off ten histogram bins, a lower bound that put a
//!   half-sd shift at the old 0.2 limit by chance.

use std::collections::{BTreeMap, BTreeSet};

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "psi_warn")]
    psi_warn: f64,
    #[serde(default = "psi_fail")]
    psi_fail: f64,
    #[serde(default = "ks_warn")]
    ks_warn: f64,
    #[serde(default = "ks_fail")]
    ks_fail: f64,
    /// A KS gap counts only when its p-value is below this.
    #[serde(default = "ks_alpha")]
    ks_alpha: f64,
    /// Share of holdout rows in categories never seen in the reference above
    /// which the column fails.
    #[serde(default = "new_fail")]
    new_category_fail: f64,
    /// Only these columns (default: every column both datasets have, except
    /// the label, the id and score columns).
    columns: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    /// How many of the most drifted columns the summary lists.
    #[serde(default = "top")]
    top: usize,
}

fn psi_warn() -> f64 {
    0.1
}
fn psi_fail() -> f64 {
    0.25
}
fn ks_warn() -> f64 {
    0.05
}
fn ks_fail() -> f64 {
    0.1
}
fn ks_alpha() -> f64 {
    0.01
}
fn new_fail() -> f64 {
    0.01
}
fn top() -> usize {
    5
}

/// Smoothing for empty bins, so PSI stays finite.
const EPS: f64 = 1e-4;

fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    let (te, ta) = (
        expected.iter().sum::<f64>().max(1.0),
        actual.iter().sum::<f64>().max(1.0),
    );
    expected
        .iter()
        .zip(actual)
        .map(|(e, a)| {
            let (e, a) = ((e / te).max(EPS), (a / ta).max(EPS));
            (a - e) * (a / e).ln()
        })
        .sum()
}

fn binned_ks(expected: &[f64], actual: &[f64]) -> f64 {
    let (te, ta) = (
        expected.iter().sum::<f64>().max(1.0),
        actual.iter().sum::<f64>().max(1.0),
    );
    let (mut ce, mut ca, mut worst) = (0.0, 0.0, 0.0f64);
    for (e, a) in expected.iter().zip(actual) {
        ce += e / te;
        ca += a / ta;
        worst = worst.max((ce - ca).abs());
    }
    worst
}

struct Drift;

impl Gate for Drift {
    type Config = Config;
    const NAME: &'static str = "drift";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Compares the holdout with the reference data: PSI and the exact two-sample KS test per numeric feature, PSI and the share of unseen categories per text feature; lists the most drifted columns.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "psi_warn": {"type": "number", "minimum": 0, "default": 0.1},
                "psi_fail": {"type": "number", "minimum": 0, "default": 0.25},
                "ks_warn": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05},
                "ks_fail": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.1},
                "ks_alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.01},
                "new_category_fail": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.01},
                "columns": {"type": "array", "items": {"type": "string"}},
                "exclude": {"type": "array", "items": {"type": "string"}},
                "top": {"type": "integer", "minimum": 1, "default": 5}
            }
        })
    }

    fn evaluate(c: Config) -> Result<Outcome, String> {
        let reference = profiles(Dataset::Reference)
            .ok_or("drift needs reference data: set `reference: { path: ... }` in the config")?;
        let holdout = profiles(Dataset::Holdout).ok_or("the host gave no holdout profile")?;
        let ctx = host::run_context();
        let mut skip: BTreeSet<String> = c.exclude.iter().cloned().collect();
        skip.insert(ctx.label_column.clone());
        skip.extend(ctx.id_column.clone());
        skip.extend(ctx.score_columns.iter().cloned());
        let by_name: BTreeMap<&str, &ColumnProfile> =
            reference.iter().map(|p| (p.name.as_str(), p)).collect();

        let mut obs = Vec::new();
        let mut ranked: Vec<(f64, String)> = Vec::new();
        let (mut fails, mut warns) = (0, 0);
        for h in &holdout {
            let wanted = match &c.columns {
                Some(cols) => cols.contains(&h.name),
                None => !skip.contains(&h.name),
            };
            if !wanted {
                continue;
            }
            let Some(r) = by_name.get(h.name.as_str()) else {
                if c.columns.is_some() {
                    return Err(format!("column `{}` is not in the reference data", h.name));
                }
                continue;
            };
            let mut checks: Vec<(Observation, f64)> = Vec::new();
            match (&r.histogram, &h.histogram) {
                (Some(rh), Some(hh)) if rh.edges == hh.edges => {
                    let (e, a): (Vec<f64>, Vec<f64>) = (
                        rh.counts.iter().map(|x| *x as f64).collect(),
                        hh.counts.iter().map(|x| *x as f64).collect(),
                    );
                    let p = psi(&e, &a);
                    checks.push((
                        check(format!("psi[{}]", h.name), p, Comparison::Lt, c.psi_fail),
                        c.psi_warn,
                    ));
                    checks.push(ks_check(&h.name, &e, &a, &c));
                }
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "column `{}`: histograms do not share edges",
                        h.name
                    ));
                }
                _ if !r.top_categories.is_empty() || !h.top_categories.is_empty() => {
                    let (p, unseen) = categorical(r, h);
                    checks.push((
                        check(format!("psi[{}]", h.name), p, Comparison::Lt, c.psi_fail),
                        c.psi_warn,
                    ));
                    checks.push((
                        check(
                            format!("unseen_categories[{}]", h.name),
                            unseen,
                            Comparison::Le,
                            c.new_category_fail,
                        ),
                        f64::INFINITY,
                    ));
                }
                _ => continue,
            }
            let mut score = 0.0f64;
            for (o, warn) in checks {
                let v = o.observed.unwrap_or(0.0);
                score = score.max(v / o.threshold.unwrap_or(1.0).max(1e-12));
                if !o.passed {
                    fails += 1;
                } else if v >= warn && !o.detail.as_deref().is_some_and(is_noise) {
                    warns += 1;
                }
                obs.push(o);
            }
            ranked.push((score, h.name.clone()));
        }
        if obs.is_empty() {
            return Err(
                "no column to compare: the holdout and reference share no feature columns".into(),
            );
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let most: Vec<String> = ranked.iter().take(c.top).map(|r| r.1.clone()).collect();
        obs.sort_by(|a, b| {
            let sa = a.observed.unwrap_or(0.0) / a.threshold.unwrap_or(1.0).max(1e-12);
            let sb = b.observed.unwrap_or(0.0) / b.threshold.unwrap_or(1.0).max(1e-12);
            sb.total_cmp(&sa)
        });
        let (verdict, summary) = if fails > 0 {
            (
                Verdict::Fail,
                format!(
                    "{fails} drift checks over the limit; most drifted: {}",
                    most.join(", ")
                ),
            )
        } else if warns > 0 {
            (
                Verdict::Warn,
                format!(
                    "{warns} drift checks above the warning level; most drifted: {}",
                    most.join(", ")
                ),
            )
        } else {
            (
                Verdict::Pass,
                format!(
                    "no drift beyond warning levels across {} columns; most drifted: {}",
                    ranked.len(),
                    most.join(", ")
                ),
            )
        };
        Ok(Outcome::new(verdict, summary, obs))
    }
}

/// How a KS observation's detail starts when its gap is not significant.
const NOISE: &str = "not significant";

fn is_noise(detail: &str) -> bool {
    detail.contains(NOISE)
}

/// The KS observation of a numeric column: the host's exact test, failing
/// only with both the effect and the evidence; the binned distance when
/// the host has no test (a column with no value on one side).
fn ks_check(column: &str, e: &[f64], a: &[f64], c: &Config) -> (Observation, f64) {
    let name = format!("ks[{column}]");
    let Some(t) = distribution_test(column) else {
        let k = binned_ks(e, a);
        return (
            check(name, k, Comparison::Lt, c.ks_fail)
                .with_detail("binned over the shared histogram (a lower bound)"),
            c.ks_warn,
        );
    };
    let significant = t.p_value < c.ks_alpha;
    let mut o = check(name, t.statistic, Comparison::Lt, c.ks_fail);
    if !significant {
        o.passed = true;
    }
    let detail = format!(
        "exact KS over {} reference and {} holdout values, p {:.2e}{}",
        t.reference_rows,
        t.holdout_rows,
        t.p_value,
        if significant {
            String::new()
        } else {
            format!(": {NOISE} at {}", c.ks_alpha)
        }
    );
    (o.with_detail(detail), c.ks_warn)
}

/// PSI over the union of both profiles' top categories plus an "other"
/// bucket, and the share of holdout rows in categories unseen in reference.
fn categorical(r: &ColumnProfile, h: &ColumnProfile) -> (f64, f64) {
    let rmap: BTreeMap<&str, u64> = r
        .top_categories
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    let hmap: BTreeMap<&str, u64> = h
        .top_categories
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    let keys: BTreeSet<&str> = rmap.keys().chain(hmap.keys()).copied().collect();
    let (mut e, mut a) = (Vec::new(), Vec::new());
    for k in &keys {
        e.push(*rmap.get(k).unwrap_or(&0) as f64);
        a.push(*hmap.get(k).unwrap_or(&0) as f64);
    }
    let r_valid = (r.count - r.nulls) as f64;
    let h_valid = (h.count - h.nulls) as f64;
    e.push((r_valid - e.iter().sum::<f64>()).max(0.0));
    a.push((h_valid - a.iter().sum::<f64>()).max(0.0));
    // Only categories listed in the reference's full top list count as seen;
    // a reference with more distinct values than listed makes this a bound.
    let unseen: u64 = if r.distinct.unwrap_or(0) as usize <= r.top_categories.len() {
        h.top_categories
            .iter()
            .filter(|c| !rmap.contains_key(c.value.as_str()))
            .map(|c| c.count)
            .sum()
    } else {
        0
    };
    (
        psi(&e, &a),
        if h_valid > 0.0 {
            unseen as f64 / h_valid
        } else {
            0.0
        },
    )
}

export_gate!(Drift);
