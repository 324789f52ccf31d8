//! `builtin:integrity`: can this holdout be trusted at all? It blocks on
//! duplicated rows or ids (each copy shrinks every p-value as if it were
//! new evidence), on rows the reference (training) data already holds (the
//! model has seen them), and on leaks: a single feature that separates the
//! labels almost alone, a candidate AUC above a ceiling, or a gain over
//! production no honest retrain makes. The host hashes the rows and scores
//! each feature once, before the gates run (`integrity()` in the WIT).
//! Defaults and their reasons are in gates/README.md.

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Largest share of holdout rows that repeat an earlier row (every
    /// column but the id).
    #[serde(default = "default_duplicate_rows")]
    max_duplicate_rows: f64,
    /// Largest share of rows that repeat an earlier `holdout.id`.
    #[serde(default)]
    max_duplicate_ids: f64,
    /// Largest share of holdout rows found in the reference data, by their
    /// feature values or by id.
    #[serde(default = "default_overlap")]
    max_overlap: f64,
    /// Largest max(AUC, 1 - AUC) of any single feature.
    #[serde(default = "default_feature_auc")]
    max_feature_auc: f64,
    /// Largest ROC AUC of the candidate.
    #[serde(default = "default_auc")]
    max_auc: f64,
    /// Largest ROC AUC gain of the candidate over production.
    #[serde(default = "default_auc_gain")]
    max_auc_gain: f64,
    /// Features exempt from the single-feature check.
    #[serde(default)]
    ignore: Vec<String>,
}

fn default_duplicate_rows() -> f64 {
    0.001
}
fn default_overlap() -> f64 {
    0.001
}
fn default_feature_auc() -> f64 {
    0.99
}
fn default_auc() -> f64 {
    0.995
}
fn default_auc_gain() -> f64 {
    0.1
}

struct Integrity;

/// How many leaking features the summary names.
const WORST: usize = 3;

fn share(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

impl Gate for Integrity {
    type Config = Config;
    const NAME: &'static str = "integrity";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Fails on a holdout that cannot be trusted: duplicate rows or ids, rows shared with the reference (training) data, a single feature that separates the labels almost alone, a candidate AUC above a ceiling or an implausible gain over production.";

    fn config_schema() -> serde_json::Value {
        let share = json!({"type": "number", "minimum": 0, "maximum": 1});
        let auc = json!({"type": "number", "minimum": 0.5, "maximum": 1});
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "max_duplicate_rows": share,
                "max_duplicate_ids": share,
                "max_overlap": share,
                "max_feature_auc": auc,
                "max_auc": auc,
                "max_auc_gain": {"type": "number", "minimum": 0, "maximum": 1},
                "ignore": {"type": "array", "items": {"type": "string"}}
            }
        })
    }

    fn evaluate(config: Config) -> Result<Outcome, String> {
        let facts = integrity();
        let rows = facts.rows;
        // (the check, and a short reason for the summary when it fails)
        let mut checks: Vec<(Observation, String)> = Vec::new();

        let dup = share(facts.duplicate_rows, rows);
        checks.push((
            check(
                "duplicate_rows",
                dup,
                Comparison::Le,
                config.max_duplicate_rows,
            )
            .with_detail(format!(
                "{} of {rows} rows repeat an earlier row in all {} columns but the id",
                facts.duplicate_rows,
                facts.row_columns.len()
            )),
            format!("{} duplicate rows ({})", facts.duplicate_rows, pct(dup)),
        ));
        if let Some(ids) = facts.duplicate_ids {
            let s = share(ids, rows);
            checks.push((
                check("duplicate_ids", s, Comparison::Le, config.max_duplicate_ids)
                    .with_detail(format!("{ids} of {rows} rows repeat an earlier id")),
                format!("{ids} duplicate ids ({})", pct(s)),
            ));
        }
        match &facts.overlap {
            Some(o) => {
                let s = share(o.shared_rows, rows);
                checks.push((
                    check("overlap_rows", s, Comparison::Le, config.max_overlap).with_detail(
                        format!(
                            "{} of {rows} holdout rows equal a reference row in the {} shared feature columns ({} reference rows)",
                            o.shared_rows,
                            o.columns.len(),
                            o.reference_rows
                        ),
                    ),
                    format!("{} rows shared with the reference ({})", o.shared_rows, pct(s)),
                ));
                if let Some(ids) = o.shared_ids {
                    let s = share(ids, rows);
                    checks.push((
                        check("overlap_ids", s, Comparison::Le, config.max_overlap).with_detail(
                            format!("{ids} of {rows} holdout ids appear in the reference"),
                        ),
                        format!("{ids} ids shared with the reference ({})", pct(s)),
                    ));
                }
            }
            None => checks.push((
                info(
                    "overlap_rows",
                    None,
                    "no reference data configured: overlap with training data not checked",
                ),
                String::new(),
            )),
        }

        let mut features: Vec<(f64, &FeatureAuc)> = facts
            .feature_aucs
            .iter()
            .filter(|f| !config.ignore.contains(&f.column))
            .map(|f| (f.auc.max(1.0 - f.auc), f))
            .collect();
        features.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut leaks = Vec::new();
        for (separation, f) in &features {
            if *separation > config.max_feature_auc {
                leaks.push(format!("{} {:.4}", f.column, separation));
            }
        }
        for (i, (separation, f)) in features.iter().enumerate() {
            // Every leak, and the strongest feature even when it is fine.
            if *separation > config.max_feature_auc || i == 0 {
                checks.push((
                    check(
                        format!("feature_auc[{}]", f.column),
                        *separation,
                        Comparison::Le,
                        config.max_feature_auc,
                    )
                    .with_detail(format!(
                        "AUC {:.4} on {} rows with a value; max(AUC, 1 - AUC) alone",
                        f.auc, f.rows
                    )),
                    String::new(),
                ));
            }
        }

        let cand = metrics(ModelRole::Candidate).ok_or("the host gave no evaluation")?;
        if let Some(auc) = cand.get("roc_auc") {
            checks.push((
                check("roc_auc", auc, Comparison::Le, config.max_auc).with_detail(
                    "the candidate's AUC; higher than this is likelier a leak than a model",
                ),
                format!("candidate AUC {auc:.4} above {}", config.max_auc),
            ));
        }
        let prod = metrics(ModelRole::Production);
        if let (Some(c), Some(p)) = (
            cand.get("roc_auc"),
            prod.as_ref().and_then(|p| p.get("roc_auc")),
        ) {
            let gain = c - p;
            let ci = delta_tests()
                .get("roc_auc")
                .map(|t| {
                    format!(
                        " ({} CI [{:+.4}, {:+.4}])",
                        confidence_percent(),
                        t.low,
                        t.high
                    )
                })
                .unwrap_or_default();
            checks.push((
                check("roc_auc_gain", gain, Comparison::Le, config.max_auc_gain).with_detail(
                    format!("candidate {c:.4} minus production {p:.4}{ci}; a gain this large is likelier a leak"),
                ),
                format!("AUC gain {gain:+.4}{ci} above {}", config.max_auc_gain),
            ));
        }

        let mut failed: Vec<String> = checks
            .iter()
            .filter(|(o, _)| !o.passed)
            .map(|(o, why)| {
                if why.is_empty() {
                    o.name.clone()
                } else {
                    why.clone()
                }
            })
            .filter(|why| !why.starts_with("feature_auc["))
            .collect();
        if !leaks.is_empty() {
            let more = if leaks.len() > WORST {
                format!(" and {} more", leaks.len() - WORST)
            } else {
                String::new()
            };
            failed.push(format!(
                "leaked feature{}: {}{more}",
                if leaks.len() > 1 { "s" } else { "" },
                leaks[..leaks.len().min(WORST)].join(", ")
            ));
        }
        let observations: Vec<Observation> = checks.into_iter().map(|(o, _)| o).collect();
        Ok(if failed.is_empty() {
            let strongest = features
                .first()
                .map(|(s, f)| format!("; strongest single feature {} {s:.4}", f.column))
                .unwrap_or_default();
            Outcome::new(
                Verdict::Pass,
                format!("no duplicates, overlap or leak found in {rows} rows{strongest}"),
                observations,
            )
        } else {
            Outcome::new(Verdict::Fail, failed.join("; "), observations)
        })
    }
}

export_gate!(Integrity);
