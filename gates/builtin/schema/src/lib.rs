//! `builtin:schema`: required columns, dtypes, value ranges and allowed
//! categories of the holdout (and the reference data, when configured).

use std::collections::{BTreeMap, BTreeSet};

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    columns: BTreeMap<String, ColumnRule>,
    /// Also check the reference data (default true when it is configured).
    #[serde(default = "yes")]
    reference: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnRule {
    /// `numeric`, `int`, `float`, `str`, `bool`, or an exact polars dtype such as `f64`.
    dtype: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    allowed: Option<Vec<String>>,
    #[serde(default = "yes")]
    required: bool,
    /// `fail` (default) or `warn`: a violation of a `warn` column only warns.
    #[serde(default)]
    severity: Severity,
}

#[derive(Deserialize, Default, PartialEq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Severity {
    #[default]
    Fail,
    Warn,
}

fn dtype_matches(want: &str, got: &str) -> bool {
    let int = got.starts_with('i') || got.starts_with('u');
    let float = got.starts_with('f');
    match want {
        "numeric" => int || float,
        "int" | "integer" => int,
        "float" => float,
        "str" | "string" | "text" => got == "str",
        "bool" | "boolean" => got == "bool",
        exact => exact == got,
    }
}

struct Schema;

impl Gate for Schema {
    type Config = Config;
    const NAME: &'static str = "schema";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str =
        "Checks required columns, their dtypes, numeric ranges and allowed categories.";

    fn config_schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["columns"],
            "properties": {
                "reference": {"type": "boolean", "default": true},
                "columns": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "dtype": {"type": "string"},
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                        "allowed": {"type": "array", "items": {"type": "string"}},
                        "required": {"type": "boolean", "default": true},
                        "severity": {"enum": ["fail", "warn"], "default": "fail"}
                    }
                }}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let mut obs = Vec::new();
        let mut warn_only: Vec<usize> = Vec::new();
        let mut sets = vec![("holdout", Dataset::Holdout)];
        if config.reference {
            sets.push(("reference", Dataset::Reference));
        }
        for (label, data) in sets {
            let Some(profiles) = profiles(data) else {
                continue;
            };
            for (name, rule) in &config.columns {
                let first = obs.len();
                let key = format!("{label}.{name}");
                let Some(p) = profiles.iter().find(|p| &p.name == name) else {
                    if rule.required {
                        let mut o = info(
                            format!("present[{key}]"),
                            None,
                            "required column is missing",
                        );
                        o.passed = false;
                        obs.push(o);
                    }
                    continue;
                };
                if let Some(want) = &rule.dtype {
                    let ok = dtype_matches(want, &p.dtype);
                    let mut o = info(
                        format!("dtype[{key}]"),
                        None,
                        format!("expected {want}, found {}", p.dtype),
                    );
                    o.passed = ok;
                    obs.push(o);
                }
                if let Some(min) = rule.min {
                    match p.min {
                        Some(v) => obs.push(check(format!("min[{key}]"), v, Comparison::Ge, min)),
                        None => obs.push(not_numeric(&key, "min", &p.dtype)),
                    }
                }
                if let Some(max) = rule.max {
                    match p.max {
                        Some(v) => obs.push(check(format!("max[{key}]"), v, Comparison::Le, max)),
                        None => obs.push(not_numeric(&key, "max", &p.dtype)),
                    }
                }
                if let Some(allowed) = &rule.allowed {
                    obs.push(check_allowed(data, &key, name, allowed)?);
                }
                if rule.severity == Severity::Warn {
                    warn_only.extend(first..obs.len());
                }
            }
        }
        let blocking = obs
            .iter()
            .enumerate()
            .any(|(i, o)| !o.passed && !warn_only.contains(&i));
        let mut out = Outcome::from_checks(obs);
        if out.verdict == Verdict::Fail && !blocking {
            out.verdict = Verdict::Warn;
        }
        Ok(out)
    }
}

fn not_numeric(key: &str, what: &str, dtype: &str) -> Observation {
    let mut o = info(
        format!("{what}[{key}]"),
        None,
        format!("no numeric values (dtype {dtype})"),
    );
    o.passed = false;
    o
}

/// Streams the column and counts values outside the allowed set (exact, not
/// from the profile's top categories).
fn check_allowed(
    data: Dataset,
    key: &str,
    column: &str,
    allowed: &[String],
) -> Result<Observation, String> {
    let allowed: BTreeSet<&str> = allowed.iter().map(String::as_str).collect();
    let mut bad = 0u64;
    let mut examples: BTreeSet<String> = BTreeSet::new();
    for chunk in text_chunks(data, column) {
        for v in chunk?.into_iter().flatten() {
            if !allowed.contains(v.as_str()) {
                bad += 1;
                if examples.len() < 5 {
                    examples.insert(v);
                }
            }
        }
    }
    let o = check(
        format!("unexpected_categories[{key}]"),
        bad as f64,
        Comparison::Eq,
        0.0,
    );
    Ok(if bad > 0 {
        o.with_detail(format!(
            "{bad} rows outside the allowed set, e.g. {}",
            examples.into_iter().collect::<Vec<_>>().join(", ")
        ))
    } else {
        o
    })
}

export_gate!(Schema);
