//! `builtin:segment-regression`: no segment of the holdout (a country, a
//! merchant category, an amount band from `segments:`) may be worse under
//! the candidate than under production beyond a margin. A better overall
//! AUC can hide a market the new model serves much worse.
//!
//! Each judged segment gets a one-sided non-inferiority test of candidate
//! minus production against `-margin` (DeLong's for ROC AUC, the paired
//! z-test for the losses, the paired bootstrap for the rest), and the
//! p-values are adjusted across the judged segments by Holm's step-down
//! method (or Bonferroni's, or none). A segment passes when non-inferiority
//! is shown at `alpha` after adjustment; it is "worse" when the mirror test
//! (inferiority beyond the margin), adjusted the same way, shows it; and
//! otherwise the holdout cannot tell. See gates/README.md.

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The metric compared in each segment.
    #[serde(default = "default_metric")]
    metric: String,
    /// How much worse than production a segment may be, in the metric's
    /// units.
    #[serde(default = "default_margin")]
    margin: f64,
    /// One-sided familywise significance level.
    #[serde(default = "default_alpha")]
    alpha: f64,
    #[serde(default)]
    correction: Correction,
    /// Only these `segments:` columns (default: all of them).
    columns: Option<Vec<String>>,
    /// Judge only segments with at least this many positives (never fewer
    /// than the column's own `min_positives`).
    min_positives: Option<u64>,
    #[serde(default)]
    on_insufficient_evidence: Softness,
    #[serde(default = "pass")]
    without_production: Softness,
}

fn default_metric() -> String {
    "roc_auc".into()
}
fn default_margin() -> f64 {
    0.02
}
fn default_alpha() -> f64 {
    0.05
}
fn pass() -> Softness {
    Softness::Pass
}

/// How p-values are adjusted across segments.
#[derive(Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Correction {
    /// Holm's step-down method: familywise error at `alpha`, uniformly more
    /// powerful than Bonferroni's.
    #[default]
    Holm,
    Bonferroni,
    /// Each segment at `alpha` alone: more segments, more false alarms.
    None,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Softness {
    #[default]
    Fail,
    Warn,
    Pass,
}

impl Softness {
    fn verdict(self) -> Verdict {
        match self {
            Softness::Fail => Verdict::Fail,
            Softness::Warn => Verdict::Warn,
            Softness::Pass => Verdict::Pass,
        }
    }
}

/// Adjusted p-values, in the input order: Holm's, Bonferroni's (`m p`,
/// capped at 1), or none.
fn adjust(p: &[f64], correction: Correction) -> Vec<f64> {
    match correction {
        Correction::None => p.to_vec(),
        Correction::Bonferroni => p.iter().map(|x| (x * p.len() as f64).min(1.0)).collect(),
        Correction::Holm => holm_adjusted(p),
    }
}

/// What a judged segment's tests showed.
#[derive(Clone, Copy, PartialEq)]
enum Finding {
    NonInferior,
    Worse,
    Undecided,
}

struct Judged {
    segment: Segment,
    test: MarginTest,
    candidate: f64,
    production: f64,
}

struct SegmentRegression;

impl Gate for SegmentRegression {
    type Config = Config;
    const NAME: &'static str = "segment-regression";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "No judged segment of the holdout (a `segments:` column's value or bin) may be worse under the candidate than under production by more than a margin: a one-sided non-inferiority test per segment, with p-values adjusted across segments (Holm by default). Names the segments that fail, worst first.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "metric": {"type": "string", "default": "roc_auc"},
                "margin": {"type": "number", "minimum": 0, "default": 0.02},
                "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5, "default": 0.05},
                "correction": {"enum": ["holm", "bonferroni", "none"], "default": "holm"},
                "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "min_positives": {"type": "integer", "minimum": 2},
                "on_insufficient_evidence": {"enum": ["fail", "warn"], "default": "fail"},
                "without_production": {"enum": ["pass", "warn", "fail"], "default": "pass"}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let all = segments();
        if all.is_empty() {
            return Err(
                "the config has no `segments:`; add the columns to cut the holdout by, e.g. segments: [{column: country}]"
                    .into(),
            );
        }
        if let Some(columns) = &config.columns {
            for c in columns {
                if !all.iter().any(|s| &s.column == c) {
                    let mut known: Vec<&str> = all.iter().map(|s| s.column.as_str()).collect();
                    known.dedup();
                    return Err(format!(
                        "columns: `{c}` is not a `segments:` column; they are: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        if let Some(why) = nothing_to_compare() {
            return Ok(Outcome::new(
                config.without_production.verdict(),
                why,
                vec![],
            ));
        }
        let wanted = |s: &Segment| {
            config
                .columns
                .as_ref()
                .is_none_or(|c| c.contains(&s.column))
        };
        let (mut judged, mut small) = (Vec::new(), 0usize);
        let mut greater = None;
        for s in all.into_iter().filter(wanted) {
            let enough = config.min_positives.is_none_or(|m| s.positives >= m);
            if s.status != SegmentStatus::Judged || !enough {
                small += 1;
                continue;
            }
            let value = |list: &[Metric]| list.iter().find(|m| m.name == config.metric).cloned();
            let c = value(&s.candidate);
            let p = s.production.as_deref().and_then(value);
            let (Some(c), Some(p)) = (c, p) else {
                return Err(format!(
                    "metric `{}`: not computed in segment {}={}; segment metrics are: {}",
                    config.metric,
                    s.column,
                    s.value,
                    s.candidate
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            let g = *greater.get_or_insert(c.greater_is_better.ok_or_else(|| {
                format!(
                    "metric `{}` has no better direction to compare",
                    config.metric
                )
            })?);
            let test = segment_margin_test(
                &s.column,
                &s.value,
                &config.metric,
                -config.margin,
                g,
                config.alpha,
            )
            .ok_or_else(|| {
                format!(
                    "metric `{}`: no paired test in segment {}={} (DeLong covers roc_auc; the bootstrap, the others, unless `stats.bootstrap: 0`)",
                    config.metric, s.column, s.value
                )
            })?;
            let (Some(candidate), Some(production)) = (c.value, p.value) else {
                return Err(format!(
                    "metric `{}` does not apply in segment {}={}",
                    config.metric, s.column, s.value
                ));
            };
            judged.push(Judged {
                segment: s,
                test,
                candidate,
                production,
            });
        }
        let small_note = if small > 0 {
            format!("; {small} segments too small to judge")
        } else {
            String::new()
        };
        if judged.is_empty() {
            insufficient_evidence();
            return Ok(Outcome::new(
                config.on_insufficient_evidence.verdict(),
                format!("no segment has enough positives to judge{small_note}"),
                vec![],
            ));
        }
        let shown = adjust(
            &judged.iter().map(|j| j.test.p_value).collect::<Vec<_>>(),
            config.correction,
        );
        let worse = adjust(
            &judged
                .iter()
                .map(|j| j.test.p_value_short)
                .collect::<Vec<_>>(),
            config.correction,
        );
        let mut rows: Vec<(Judged, Finding, f64)> = judged
            .into_iter()
            .zip(shown.into_iter().zip(worse))
            .map(|(j, (p_ok, p_bad))| {
                let finding = if p_ok <= config.alpha {
                    Finding::NonInferior
                } else if p_bad <= config.alpha {
                    Finding::Worse
                } else {
                    Finding::Undecided
                };
                let p = if finding == Finding::Worse {
                    p_bad
                } else {
                    p_ok
                };
                (j, finding, p)
            })
            .collect();
        // Worst first.
        rows.sort_by(|a, b| a.0.test.improvement.total_cmp(&b.0.test.improvement));
        let correction = match config.correction {
            Correction::Holm => "Holm-adjusted",
            Correction::Bonferroni => "Bonferroni-adjusted",
            Correction::None => "unadjusted",
        };
        let level = confidence_percent();
        let observations: Vec<Observation> = rows
            .iter()
            .map(|(j, finding, p)| {
                let reading = match finding {
                    Finding::NonInferior => "non-inferiority shown",
                    Finding::Worse => "worse beyond the margin",
                    Finding::Undecided => "insufficient evidence: the interval straddles the margin",
                };
                let ci = j
                    .segment
                    .tests
                    .iter()
                    .find(|t| t.metric == config.metric)
                    .map(|t| format!(", {level} CI {:+.4} to {:+.4}", t.low, t.high))
                    .unwrap_or_default();
                Observation {
                    name: format!("{}={}", j.segment.column, j.segment.value),
                    observed: Some(j.test.improvement),
                    threshold: Some(-config.margin),
                    comparison: Comparison::Gt,
                    passed: *finding == Finding::NonInferior,
                    detail: Some(format!(
                        "{} {}: candidate {:.4}, production {:.4}, delta {:+.4}{ci}; {} positives; {}, one-sided p {:.4} ({correction}): {reading}",
                        config.metric,
                        j.test.method,
                        j.candidate,
                        j.production,
                        j.candidate - j.production,
                        j.segment.positives,
                        if *finding == Finding::Worse { "inferiority" } else { "non-inferiority" },
                        p
                    )),
                }
            })
            .collect();
        let names = |f: Finding| -> Vec<String> {
            rows.iter()
                .filter(|r| r.1 == f)
                .map(|(j, ..)| {
                    format!(
                        "{}={} ({:+.4})",
                        j.segment.column,
                        j.segment.value,
                        j.candidate - j.production
                    )
                })
                .collect()
        };
        let (bad, undecided) = (names(Finding::Worse), names(Finding::Undecided));
        let n = rows.len();
        let mut out = Outcome::from_checks(observations);
        if !bad.is_empty() {
            out.verdict = Verdict::Fail;
            out.summary = format!(
                "{} of {n} judged segments worse than production by more than {} {}: {}{}{small_note}",
                bad.len(),
                config.margin,
                config.metric,
                bad.join(", "),
                if undecided.is_empty() {
                    String::new()
                } else {
                    format!("; {} more undecided", undecided.len())
                }
            );
        } else if !undecided.is_empty() {
            insufficient_evidence();
            out.verdict = config.on_insufficient_evidence.verdict();
            out.summary = format!(
                "insufficient evidence in {} of {n} judged segments: {}; non-inferiority within {} {} is not shown ({correction}, alpha {}); collect more labelled rows or widen the margin{small_note}",
                undecided.len(),
                undecided.join(", "),
                config.margin,
                config.metric,
                config.alpha
            );
        } else {
            out.verdict = Verdict::Pass;
            out.summary = format!(
                "all {n} judged segments within {} {} of production ({correction}, alpha {}){small_note}",
                config.margin, config.metric, config.alpha
            );
        }
        Ok(out)
    }
}

export_gate!(SegmentRegression);
