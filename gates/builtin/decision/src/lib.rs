//! `builtin:decision`: the rule experimentation platforms ship changes by,
//! as one gate. The candidate is promoted when it is significantly better
//! on at least one *success* metric and not significantly worse, beyond
//! its margin, on any *guardrail*. Success metrics share `alpha` through
//! Holm's step-down correction; each guardrail is a non-inferiority test at
//! `alpha`. When the data cannot tell, the outcome says "insufficient
//! evidence", with the effect this holdout can detect.
//!
//! A gate of its own rather than a mode of champion-challenger: that gate
//! judges each metric alone, while this rule is one decision over a family
//! of metrics, and its multiple-comparison correction only means something
//! over the whole family.

use std::collections::BTreeMap;

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// At least one must improve significantly (by `improve_by`, default 0).
    success: Vec<String>,
    /// Per metric, how much worse the candidate may be.
    #[serde(default)]
    guardrails: BTreeMap<String, Guardrail>,
    /// Superiority margin of the success metrics.
    #[serde(default)]
    improve_by: f64,
    /// Family-wise level of the success metrics (Holm), and the level of
    /// each guardrail.
    #[serde(default = "default_alpha")]
    alpha: f64,
    #[serde(default)]
    on_insufficient_evidence: Soft,
    #[serde(default)]
    without_production: Soft,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Guardrail {
    no_worse_than: f64,
}

#[derive(Deserialize, Default, PartialEq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Soft {
    #[default]
    Fail,
    Warn,
    Pass,
}

impl Soft {
    fn verdict(self) -> Verdict {
        match self {
            Soft::Fail => Verdict::Fail,
            Soft::Warn => Verdict::Warn,
            Soft::Pass => Verdict::Pass,
        }
    }
}

fn default_alpha() -> f64 {
    0.05
}

/// Holm's step-down procedure: which of the `p` values are rejected at
/// family-wise level `alpha`.
fn holm(p: &[f64], alpha: f64) -> Vec<bool> {
    holm_adjusted(p).into_iter().map(|q| q <= alpha).collect()
}

struct Decision;

impl Gate for Decision {
    type Config = Config;
    const NAME: &'static str = "decision";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Promote when at least one success metric improves significantly (Holm) and no guardrail is worse beyond its margin; otherwise say why, or that the holdout cannot tell.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["success"],
            "properties": {
                "success": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true},
                "guardrails": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["no_worse_than"],
                    "properties": {"no_worse_than": {"type": "number", "minimum": 0}}
                }},
                "improve_by": {"type": "number", "minimum": 0, "default": 0},
                "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5, "default": 0.05},
                "on_insufficient_evidence": {"enum": ["fail", "warn"], "default": "fail"},
                "without_production": {"enum": ["fail", "warn", "pass"], "default": "fail"}
            }
        })
    }

    fn evaluate(c: Config) -> Result<Outcome, String> {
        let cand = metrics(ModelRole::Candidate).ok_or("the host gave no evaluation")?;
        if metrics(ModelRole::Production).is_none() {
            return Ok(Outcome::new(
                c.without_production.verdict(),
                "no production model to decide against",
                vec![],
            ));
        }
        if let Some(why) = cand.too_few_for_a_test() {
            insufficient_evidence();
            return Ok(Outcome::new(
                c.on_insufficient_evidence.verdict(),
                why,
                vec![],
            ));
        }
        let direction = |name: &str| {
            cand.greater_is_better(name).ok_or_else(|| {
                format!("metric `{name}`: its direction is not known, so it cannot be tested")
            })
        };
        let test = |name: &str, bound: f64| -> Result<MarginTest, String> {
            margin_test(name, bound, direction(name)?, c.alpha).ok_or_else(|| {
                format!(
                    "metric `{name}` has no paired test; the host tests: {}",
                    delta_tests().keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })
        };
        let mut obs = Vec::new();
        // Success: Holm over the family, one-sided against `improve_by`.
        let success: Vec<MarginTest> = c
            .success
            .iter()
            .map(|name| test(name, c.improve_by))
            .collect::<Result<_, _>>()?;
        let p: Vec<f64> = success.iter().map(|t| t.p_value).collect();
        let rejected = holm(&p, c.alpha);
        let improved = rejected.iter().any(|r| *r);
        // Clearly not better: every success metric's opposite test is
        // significant (each at alpha, a conservative reading).
        let clearly_not = success.iter().all(|t| t.p_value_short <= c.alpha);
        for (t, r) in success.iter().zip(&rejected) {
            obs.push(Observation {
                name: format!("success[{}]", t.metric),
                observed: Some(t.improvement),
                threshold: Some(t.bound),
                comparison: Comparison::Gt,
                passed: *r,
                detail: Some(format!(
                    "{}: improvement {:+.6}, one-sided p {:.4}; Holm over {} success metrics at alpha {}: {}",
                    t.method,
                    t.improvement,
                    t.p_value,
                    success.len(),
                    c.alpha,
                    if *r { "significant" } else { "not significant" }
                )),
            });
        }
        // Guardrails: each a non-inferiority test at alpha.
        let mut worse = Vec::new();
        let mut unsure: Vec<(String, f64)> = Vec::new();
        for (name, g) in &c.guardrails {
            let t = test(name, -g.no_worse_than)?;
            let passed = t.p_value <= c.alpha;
            if !passed {
                if t.p_value_short <= c.alpha {
                    worse.push(name.clone());
                } else {
                    unsure.push((name.clone(), t.detectable));
                }
            }
            obs.push(Observation {
                name: format!("guardrail[{name}]"),
                observed: Some(t.improvement),
                threshold: Some(t.bound),
                comparison: Comparison::Gt,
                passed,
                detail: Some(format!(
                    "{}: improvement {:+.6}, may be worse by at most {}; one-sided p {:.4} at alpha {}",
                    t.method, t.improvement, g.no_worse_than, t.p_value, c.alpha
                )),
            });
        }
        if !improved && !clearly_not {
            let d = success.iter().map(|t| t.detectable).fold(0.0, f64::max);
            unsure.push((c.success.join(" or "), d));
        }
        let positives = cand
            .get("positives")
            .map_or(String::new(), |p| format!("with {p:.0} positives, "));
        let (verdict, summary) = if !worse.is_empty() {
            (
                Verdict::Fail,
                format!(
                    "guardrail broken: worse beyond its margin on {}",
                    worse.join(", ")
                ),
            )
        } else if !improved && clearly_not {
            (
                Verdict::Fail,
                format!("no success metric improves: {}", c.success.join(", ")),
            )
        } else if !unsure.is_empty() {
            insufficient_evidence();
            let why: Vec<String> = unsure
                .iter()
                .map(|(name, d)| {
                    format!("{name}: a change within {d:.4} of its margin cannot be detected")
                })
                .collect();
            (
                c.on_insufficient_evidence.verdict(),
                format!(
                    "insufficient evidence ({positives}power 0.8): {}; collect more labelled rows",
                    why.join("; ")
                ),
            )
        } else {
            let shown: Vec<&str> = success
                .iter()
                .zip(&rejected)
                .filter(|(_, r)| **r)
                .map(|(t, _)| t.metric.as_str())
                .collect();
            (
                Verdict::Pass,
                format!(
                    "promote: significantly better on {} (Holm, alpha {}); {} guardrails hold",
                    shown.join(", "),
                    c.alpha,
                    c.guardrails.len()
                ),
            )
        };
        Ok(Outcome {
            verdict,
            summary,
            observations: obs,
        })
    }
}

export_gate!(Decision);
