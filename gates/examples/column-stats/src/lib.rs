//! An example raw-column gate: streams one numeric column of the holdout in
//! chunks and checks that its mean lies within bounds. The gate benchmark
//! compares it with the same loop in native Rust.

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    column: String,
    min_mean: Option<f64>,
    max_mean: Option<f64>,
}

struct ColumnStats;

impl Gate for ColumnStats {
    type Config = Config;
    const NAME: &'static str = "column-stats";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str =
        "Streams a numeric column and bounds its mean; counts missing values.";

    fn config_schema() -> serde_json::Value {
        json!({"type": "object", "required": ["column"], "properties": {
            "column": {"type": "string"}, "min_mean": {"type": "number"}, "max_mean": {"type": "number"}}})
    }

    fn evaluate(c: Config) -> Result<Outcome, String> {
        let (mut n, mut missing, mut sum) = (0u64, 0u64, 0.0f64);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for chunk in numeric_chunks(Dataset::Holdout, &c.column) {
            for x in chunk? {
                if x.is_nan() {
                    missing += 1;
                } else {
                    n += 1;
                    sum += x;
                    // Plain comparisons: NaN is already excluded, and wasm's
                    // f64.min/max differ from Rust's, which costs a branchy
                    // sequence per value.
                    if x < lo {
                        lo = x;
                    }
                    if x > hi {
                        hi = x;
                    }
                }
            }
        }
        let mean = if n > 0 { sum / n as f64 } else { f64::NAN };
        let mut obs = vec![
            info(
                "rows",
                Some((n + missing) as f64),
                format!("min {lo}, max {hi}"),
            ),
            info("missing", Some(missing as f64), ""),
        ];
        if let Some(m) = c.min_mean {
            obs.push(check("mean", mean, Comparison::Ge, m));
        }
        if let Some(m) = c.max_mean {
            obs.push(check("mean", mean, Comparison::Le, m));
        }
        Ok(Outcome::from_checks(obs))
    }
}

export_gate!(ColumnStats);
