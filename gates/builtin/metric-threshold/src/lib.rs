//! `builtin:metric-threshold`: absolute floors and ceilings on the
//! candidate's metrics, e.g. `roc_auc >= 0.9` or `recall_at_fpr[0.01] >= 0.6`.

use std::collections::BTreeMap;

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Floors: metric >= value.
    #[serde(default)]
    min: BTreeMap<String, f64>,
    /// Ceilings: metric <= value.
    #[serde(default)]
    max: BTreeMap<String, f64>,
    /// Expressions `metric OP value` with OP one of >=, >, <=, <, ==.
    #[serde(default)]
    checks: Vec<String>,
    /// Expressions whose failure only warns.
    #[serde(default)]
    warn_checks: Vec<String>,
}

fn parse(expr: &str) -> Result<(String, Comparison, f64), String> {
    for (op, cmp) in [
        (">=", Comparison::Ge),
        ("<=", Comparison::Le),
        ("==", Comparison::Eq),
        (">", Comparison::Gt),
        ("<", Comparison::Lt),
    ] {
        if let Some((name, value)) = expr.split_once(op) {
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("check `{expr}`: `{}` is not a number", value.trim()))?;
            return Ok((name.trim().to_string(), cmp, value));
        }
    }
    Err(format!(
        "check `{expr}`: expected `metric OP value` with OP one of >=, >, <=, <, =="
    ))
}

struct MetricThreshold;

impl Gate for MetricThreshold {
    type Config = Config;
    const NAME: &'static str = "metric-threshold";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Absolute floors and ceilings on the candidate's metrics, such as `roc_auc >= 0.9` or `recall_at_fpr[0.01] >= 0.6`. An unknown metric is an error, not a pass.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "min": {"type": "object", "additionalProperties": {"type": "number"}},
                "max": {"type": "object", "additionalProperties": {"type": "number"}},
                "checks": {"type": "array", "items": {"type": "string", "pattern": "^\\s*\\S+\\s*(>=|<=|==|>|<)\\s*\\S+\\s*$"}},
                "warn_checks": {"type": "array", "items": {"type": "string"}}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let m = metrics(ModelRole::Candidate).ok_or("the host gave no evaluation")?;
        let mut wanted: Vec<(String, Comparison, f64)> = Vec::new();
        wanted.extend(config.min.into_iter().map(|(k, v)| (k, Comparison::Ge, v)));
        wanted.extend(config.max.into_iter().map(|(k, v)| (k, Comparison::Le, v)));
        for c in &config.checks {
            wanted.push(parse(c)?);
        }
        let warn: Vec<(String, Comparison, f64)> = config
            .warn_checks
            .iter()
            .map(|c| parse(c))
            .collect::<Result<_, _>>()?;
        if wanted.is_empty() && warn.is_empty() {
            return Err(
                "no thresholds configured: set `min`, `max`, `checks` or `warn_checks`".into(),
            );
        }
        let mut obs = Vec::new();
        for (name, cmp, threshold) in wanted {
            let value = m.require(&name)?;
            obs.push(check(name, value, cmp, threshold));
        }
        let hard = obs.len();
        for (name, cmp, threshold) in warn {
            let value = m.require(&name)?;
            obs.push(check(name, value, cmp, threshold).with_detail("warning level"));
        }
        let blocking = obs[..hard].iter().any(|o| !o.passed);
        let mut out = Outcome::from_checks(obs);
        if out.verdict == Verdict::Fail && !blocking {
            out.verdict = Verdict::Warn;
        }
        Ok(out)
    }
}

export_gate!(MetricThreshold);
