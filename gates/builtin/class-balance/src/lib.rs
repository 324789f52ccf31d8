//! `builtin:class-balance`: the positive (fraud) rate lies within bounds and
//! there are enough positives to judge a model at all.

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    min_rate: Option<f64>,
    max_rate: Option<f64>,
    #[serde(default = "default_min_positives")]
    min_positives: u64,
    /// Warn (instead of pass) below this many positives.
    warn_positives: Option<u64>,
}

fn default_min_positives() -> u64 {
    30
}

struct ClassBalance;

impl Gate for ClassBalance {
    type Config = Config;
    const NAME: &'static str = "class-balance";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Checks that the holdout's positive rate lies within bounds and that it holds a minimum number of positives (enough fraud cases to judge a model).";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "min_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "max_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "min_positives": {"type": "integer", "minimum": 0, "default": 30},
                "warn_positives": {"type": "integer", "minimum": 0}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let m = metrics(ModelRole::Candidate).ok_or("the host gave no evaluation")?;
        let rows = m.require("rows")?;
        let positives = m.require("positives")?;
        let rate = positives / rows;
        let mut obs = vec![check(
            "positives",
            positives,
            Comparison::Ge,
            config.min_positives as f64,
        )];
        if let Some(min) = config.min_rate {
            obs.push(check("positive_rate", rate, Comparison::Ge, min));
        }
        if let Some(max) = config.max_rate {
            obs.push(check("positive_rate", rate, Comparison::Le, max));
        }
        if config.min_rate.is_none() && config.max_rate.is_none() {
            obs.push(info("positive_rate", Some(rate), "no bounds configured"));
        }
        let mut outcome = Outcome::from_checks(obs);
        let headline = format!("{positives} positives in {rows} rows ({})", pct(rate));
        if outcome.verdict == Verdict::Pass
            && config.warn_positives.is_some_and(|w| positives < w as f64)
        {
            outcome.verdict = Verdict::Warn;
            outcome.summary = format!("{headline}: fewer positives than the warning level");
        } else {
            outcome.summary = format!("{headline}: {}", outcome.summary);
        }
        Ok(outcome)
    }
}

export_gate!(ClassBalance);
