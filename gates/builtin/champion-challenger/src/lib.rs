//! `builtin:champion-challenger`: the candidate must beat production on each
//! configured metric by a margin. Point margins follow MLflow's
//! `MetricThreshold` (`min_absolute_change`, `min_relative_change`,
//! `greater_is_better`); `improve_by` and `no_worse_than` are tested
//! margins (superiority and non-inferiority, one-sided at `alpha`), and a
//! holdout that cannot tell is "insufficient evidence", not a pass. See
//! gates/README.md.

use std::collections::BTreeMap;

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Per metric: the required improvement.
    metrics: BTreeMap<String, MetricRule>,
    /// What to do without a production model: `pass` (default; the first
    /// model is judged by the absolute gates alone) or `fail`.
    #[serde(default)]
    without_production: WithoutProduction,
    /// What a tested margin the data cannot decide does: `fail` (default)
    /// or `warn`.
    #[serde(default)]
    on_insufficient_evidence: WithoutProduction,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum WithoutProduction {
    #[default]
    Pass,
    Fail,
    Warn,
}

impl WithoutProduction {
    fn verdict(&self) -> Verdict {
        match self {
            WithoutProduction::Fail => Verdict::Fail,
            WithoutProduction::Warn => Verdict::Warn,
            WithoutProduction::Pass => Verdict::Pass,
        }
    }
}

/// One metric's rule. An object so later versions can add fields such as
/// significance testing without breaking configs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricRule {
    #[serde(default)]
    min_absolute_change: f64,
    #[serde(default)]
    min_relative_change: f64,
    /// Defaults to the metric's known direction.
    greater_is_better: Option<bool>,
    /// `fail` (default) or `warn`: missing this margin only warns.
    #[serde(default)]
    severity: WithoutProduction,
    /// Statistical evidence: the improvement must also be significant, with
    /// a two-sided p-value at most this (for metrics the host tests on the
    /// paired holdout: every rate metric, unless the bootstrap is off).
    max_p_value: Option<f64>,
    /// Superiority: the improvement must exceed this margin, shown by a
    /// one-sided test at `alpha`.
    improve_by: Option<f64>,
    /// Non-inferiority: the candidate may be worse by at most this margin,
    /// shown by a one-sided test at `alpha`.
    no_worse_than: Option<f64>,
    /// One-sided significance level of `improve_by` and `no_worse_than`.
    #[serde(default = "default_alpha")]
    alpha: f64,
}

fn default_alpha() -> f64 {
    0.05
}

struct ChampionChallenger;

impl Gate for ChampionChallenger {
    type Config = Config;
    const NAME: &'static str = "champion-challenger";
    const VERSION: &'static str = "0.2.0";
    const DESCRIPTION: &'static str = "The candidate must beat production on each configured metric by a minimum absolute and/or relative change, in the metric's better direction, and optionally with a significant difference (max_p_value), or with tested margins (improve_by, no_worse_than): DeLong's test for roc_auc, paired z for the losses, a paired bootstrap for the others.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["metrics"],
            "properties": {
                "metrics": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "min_absolute_change": {"type": "number", "minimum": 0, "default": 0},
                        "min_relative_change": {"type": "number", "minimum": 0, "default": 0},
                        "greater_is_better": {"type": "boolean"},
                        "severity": {"enum": ["fail", "warn"], "default": "fail"},
                        "max_p_value": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        "improve_by": {"type": "number", "minimum": 0},
                        "no_worse_than": {"type": "number", "minimum": 0},
                        "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5, "default": 0.05}
                    }
                }},
                "without_production": {"enum": ["pass", "warn", "fail"], "default": "pass"},
                "on_insufficient_evidence": {"enum": ["warn", "fail"], "default": "fail"}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        if config.metrics.is_empty() {
            return Err("no metrics configured".into());
        }
        let cand = metrics(ModelRole::Candidate).ok_or("the host gave no evaluation")?;
        if let Some(why) = nothing_to_compare() {
            return Ok(Outcome::new(
                config.without_production.verdict(),
                why,
                vec![],
            ));
        }
        let prod = metrics(ModelRole::Production).ok_or("the host gave no evaluation")?;
        let tested = config.metrics.values().any(|r| {
            r.max_p_value.is_some() || r.improve_by.is_some() || r.no_worse_than.is_some()
        });
        if tested && let Some(why) = cand.too_few_for_a_test() {
            insufficient_evidence();
            let verdict = if config.on_insufficient_evidence == WithoutProduction::Warn {
                Verdict::Warn
            } else {
                Verdict::Fail
            };
            return Ok(Outcome::new(verdict, why, vec![]));
        }
        let tests = delta_tests();
        let mut obs = Vec::new();
        let mut blocking = false;
        // Metrics a tested margin could not decide, with the smallest
        // distance from the margin this holdout can see.
        let mut insufficient: Vec<(String, f64)> = Vec::new();
        // Failing observations that are only undecided.
        let mut undecided = 0;
        for (name, rule) in &config.metrics {
            let greater = rule
                .greater_is_better
                .or_else(|| cand.greater_is_better(name))
                .ok_or_else(|| {
                    format!("metric `{name}`: set `greater_is_better`, its direction is not known")
                })?;
            let (c, p) = (cand.require(name)?, prod.require(name)?);
            // The candidate must reach the stricter of the two margins.
            let (required, cmp) = if greater {
                let abs = p + rule.min_absolute_change;
                let rel = p + p.abs() * rule.min_relative_change;
                (abs.max(rel), Comparison::Ge)
            } else {
                let abs = p - rule.min_absolute_change;
                let rel = p - p.abs() * rule.min_relative_change;
                (abs.min(rel), Comparison::Le)
            };
            let o = check(name.clone(), c, cmp, required);
            blocking |= !o.passed && rule.severity != WithoutProduction::Warn;
            if let Some(alpha) = rule.max_p_value {
                let t = tests.get(name).ok_or_else(|| {
                    format!(
                        "metric `{name}`: max_p_value needs a statistical test, and the host tests only: {}",
                        tests.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })?;
                // Significant, and in the better direction.
                let better = if greater {
                    t.delta > 0.0
                } else {
                    t.delta < 0.0
                };
                let p = if better { t.p_value } else { 1.0 };
                let detail = if t.delta == 0.0 && t.low == t.high {
                    format!(
                        "{}: no difference, the models rank every row alike",
                        t.method
                    )
                } else {
                    format!(
                        "{}: delta {:+.6}, {} CI {:+.6} to {:+.6}",
                        t.method,
                        t.delta,
                        confidence_percent(),
                        t.low,
                        t.high
                    )
                };
                let s =
                    check(format!("p_value[{name}]"), p, Comparison::Le, alpha).with_detail(detail);
                blocking |= !s.passed && rule.severity != WithoutProduction::Warn;
                obs.push(s);
            }
            for (kind, bound) in [
                ("improve_by", rule.improve_by),
                ("no_worse_than", rule.no_worse_than.map(|m| -m)),
            ] {
                let Some(bound) = bound else { continue };
                let t = margin_test(name, bound, greater, rule.alpha).ok_or_else(|| {
                    format!(
                        "metric `{name}`: {kind} needs a paired test, and the host tests only: {}",
                        tests.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })?;
                let (passed, reading) = if t.p_value <= rule.alpha {
                    (true, "shown")
                } else if t.p_value_short <= rule.alpha {
                    (false, "clearly not met")
                } else {
                    if !insufficient.iter().any(|(n, _)| n == name) {
                        insufficient.push((name.clone(), t.detectable));
                    }
                    undecided += 1;
                    (
                        false,
                        "insufficient evidence: the interval straddles the margin",
                    )
                };
                if !passed {
                    let soft = rule.severity == WithoutProduction::Warn
                        || (reading != "clearly not met"
                            && config.on_insufficient_evidence == WithoutProduction::Warn);
                    blocking |= !soft;
                }
                obs.push(Observation {
                    name: format!("{kind}[{name}]"),
                    observed: Some(t.improvement),
                    threshold: Some(bound),
                    comparison: Comparison::Gt,
                    passed,
                    detail: Some(format!(
                        "{}: improvement {:+.6} against {bound:+.6}{}, one-sided p {:.4} at alpha {}: {reading}",
                        t.method,
                        t.improvement,
                        interval(tests.get(name), greater),
                        t.p_value,
                        rule.alpha
                    )),
                });
            }
            obs.push(o.with_detail(format!(
                "production {p:.6}, change {:+.6} ({:+.3}%)",
                c - p,
                if p != 0.0 {
                    100.0 * (c - p) / p.abs()
                } else {
                    0.0
                }
            )));
        }
        let mut out = Outcome::from_checks(obs);
        if out.verdict == Verdict::Fail && !blocking {
            out.verdict = Verdict::Warn;
        }
        out.summary = if out.verdict == Verdict::Pass {
            "candidate beats production on every configured metric".into()
        } else if !insufficient.is_empty()
            && out.observations.iter().filter(|o| !o.passed).count() == undecided
        {
            insufficient_evidence();
            let positives = cand
                .get("positives")
                .map_or(String::new(), |p| format!("with {p:.0} positives, "));
            let why: Vec<String> = insufficient
                .iter()
                .map(|(name, d)| {
                    format!(
                        "{positives}a {name} change within {d:.4} of its margin cannot be detected \
                         (power 0.8)"
                    )
                })
                .collect();
            format!(
                "insufficient evidence on {}: {}; collect more labelled rows. {}",
                insufficient
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                why.join("; "),
                out.summary
            )
        } else {
            format!("candidate does not beat production: {}", out.summary)
        };
        Ok(out)
    }
}

/// The two-sided interval of the improvement, when the host has one:
/// how far the holdout can see, which says whether more labels would help.
fn interval(test: Option<&DeltaTest>, greater: bool) -> String {
    test.map(|t| {
        let (low, high) = if greater {
            (t.low, t.high)
        } else {
            (-t.high, -t.low)
        };
        format!(" ({} CI {low:+.6} to {high:+.6})", confidence_percent())
    })
    .unwrap_or_default()
}

export_gate!(ChampionChallenger);
