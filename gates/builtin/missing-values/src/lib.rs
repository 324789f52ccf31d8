//! `builtin:missing-values`: the share of missing values per column, on the
//! holdout and, when configured, the reference data.

use std::collections::BTreeMap;

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Largest allowed missing ratio for any column.
    #[serde(default = "default_max")]
    max_ratio: f64,
    /// Optional warning level below `max_ratio`.
    warn_ratio: Option<f64>,
    /// Per-column limits that override `max_ratio`.
    #[serde(default)]
    columns: BTreeMap<String, f64>,
    /// Columns to skip.
    #[serde(default)]
    ignore: Vec<String>,
}

fn default_max() -> f64 {
    0.0
}

struct MissingValues;

/// How many of the worst columns the summary names.
const WORST: usize = 5;

impl Gate for MissingValues {
    type Config = Config;
    const NAME: &'static str = "missing-values";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Fails when the share of missing values (nulls and NaN) in a column exceeds its limit, on the holdout and the reference data; names the worst columns.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "max_ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
                "warn_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "columns": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}},
                "ignore": {"type": "array", "items": {"type": "string"}}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let mut observations = Vec::new();
        let mut worst: Vec<(f64, String)> = Vec::new();
        let (mut failed, mut warned) = (0usize, 0usize);
        for (label, data) in [
            ("holdout", Dataset::Holdout),
            ("reference", Dataset::Reference),
        ] {
            let Some(profiles) = profiles(data) else {
                continue;
            };
            for p in profiles {
                if config.ignore.contains(&p.name) {
                    continue;
                }
                let limit = config
                    .columns
                    .get(&p.name)
                    .copied()
                    .unwrap_or(config.max_ratio);
                let ratio = if p.count == 0 {
                    0.0
                } else {
                    p.nulls as f64 / p.count as f64
                };
                let name = format!("missing_ratio[{label}.{}]", p.name);
                if ratio > 0.0 {
                    worst.push((ratio, format!("{label}.{} {}", p.name, pct(ratio))));
                }
                let obs = check(&name, ratio, Comparison::Le, limit)
                    .with_detail(format!("{} of {} rows missing", p.nulls, p.count));
                if !obs.passed {
                    failed += 1;
                    observations.push(obs);
                } else if config.warn_ratio.is_some_and(|w| ratio > w) {
                    warned += 1;
                    observations.push(obs.with_detail(format!(
                        "{} of {} rows missing, above the warning level",
                        p.nulls, p.count
                    )));
                } else if ratio > 0.0 {
                    observations.push(obs);
                }
            }
        }
        worst.sort_by(|a, b| b.0.total_cmp(&a.0));
        let named: Vec<String> = worst.iter().take(WORST).map(|w| w.1.clone()).collect();
        observations.sort_by(|a, b| {
            b.observed
                .unwrap_or(0.0)
                .total_cmp(&a.observed.unwrap_or(0.0))
        });
        let (verdict, summary) = if failed > 0 {
            (
                Verdict::Fail,
                format!(
                    "{failed} columns exceed their missing-value limit; worst: {}",
                    named.join(", ")
                ),
            )
        } else if warned > 0 {
            (
                Verdict::Warn,
                format!(
                    "{warned} columns above the warning level; worst: {}",
                    named.join(", ")
                ),
            )
        } else if named.is_empty() {
            (Verdict::Pass, "no missing values".to_string())
        } else {
            (
                Verdict::Pass,
                format!("missing values within limits; worst: {}", named.join(", ")),
            )
        };
        Ok(Outcome::new(verdict, summary, observations))
    }
}

export_gate!(MissingValues);
