//! The real binary, in a temp dir with a clean environment: happy paths,
//! output formats, the exit-code contract and every bad-input case.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{demo_data, modelgate};

fn config(holdout: &str, extra: &str) -> String {
    format!(
        "model: fraud-detector\nholdout:\n  path: {holdout}\n  label: is_fraud\n  id: transaction_id\n\
         candidate:\n  scores: {{ column: score_candidate }}\n{extra}"
    )
}

/// A small CSV holdout: `rows` of (id, label, candidate, production).
fn csv(rows: &[(i64, &str, &str, &str)]) -> String {
    let mut s = String::from("transaction_id,is_fraud,score_candidate,score_production\n");
    for (id, y, c, p) in rows {
        s.push_str(&format!("{id},{y},{c},{p}\n"));
    }
    s
}

fn good_rows() -> Vec<(i64, &'static str, &'static str, &'static str)> {
    vec![
        (1, "0", "0.1", "0.2"),
        (2, "0", "0.4", "0.3"),
        (3, "1", "0.35", "0.1"),
        (4, "1", "0.8", "0.7"),
        (5, "0", "0.2", "0.6"),
    ]
}

/// A temp dir with `h.csv` (this text) and a `modelgate.yaml` reading it,
/// with `extra` config appended.
fn csv_project(holdout_csv: &str, extra: &str) -> TempDir {
    let t = TempDir::new().unwrap();
    write(t.path(), "h.csv", holdout_csv);
    write(t.path(), "modelgate.yaml", &config("h.csv", extra));
    t
}

/// Production scores from `s.csv`, joined on the holdout's id.
const PRODUCTION_FROM_FILE: &str = "production:\n  scores: { path: s.csv, column: p }\n";

fn write(dir: &Path, name: &str, text: &str) {
    crate::util::write(&dir.join(name), text);
}

/// Runs evaluate and asserts exit 2 with a one-line error containing `needles`.
fn expect_error(dir: &Path, needles: &[&str]) {
    let mut test = modelgate(dir)
        .args(["evaluate", "--config", "modelgate.yaml"])
        .fails_with_one_line();
    for n in needles {
        test = test.stderr_has(*n);
    }
    test.run();
}

fn evaluate_json(dir: &Path) -> Value {
    modelgate(dir)
        .args(["evaluate", "--config", "modelgate.yaml", "--format", "json"])
        .run()
        .json()
}

#[test]
fn evaluate_csv_reports_both_models_in_every_format() {
    let t = csv_project(
        &csv(&good_rows()),
        "production:\n  scores: { column: score_production }\n",
    );
    let doc = evaluate_json(t.path());
    assert_eq!(doc["schema"], "modelgate.evaluation/v1");
    assert_eq!(doc["rows"], 5);
    assert_eq!(doc["positives"], 2);
    // Candidate: positives 0.35, 0.8 vs negatives 0.1, 0.4, 0.2 → 5 of 6 pairs.
    let auc = doc["models"]["candidate"]["metrics"]["roc_auc"]
        .as_f64()
        .unwrap();
    assert!((auc - 5.0 / 6.0).abs() < 1e-12, "{auc}");
    let prod = doc["models"]["production"]["metrics"]["roc_auc"]
        .as_f64()
        .unwrap();
    let delta = doc["delta"]["roc_auc"].as_f64().unwrap();
    assert!((delta - (auc - prod)).abs() < 1e-12);
    assert_eq!(doc["models"]["candidate"]["metrics"]["tp"], 1);

    modelgate(t.path())
        .args([
            "evaluate",
            "--config",
            "modelgate.yaml",
            "--out",
            "report.md",
        ])
        .stdout_has("candidate")
        .stdout_has("production")
        .stdout_has("roc_auc")
        .run();
    let md = fs::read_to_string(t.path().join("report.md")).unwrap();
    assert!(md.contains("| `roc_auc` |"), "{md}");
}

#[test]
fn external_score_file_joins_by_id() {
    let t = csv_project(&csv(&good_rows()), PRODUCTION_FROM_FILE);
    // Same scores as the holdout's candidate column, shuffled.
    write(
        t.path(),
        "s.csv",
        "transaction_id,p\n4,0.8\n1,0.1\n5,0.2\n3,0.35\n2,0.4\n",
    );
    let doc = evaluate_json(t.path());
    let c = &doc["models"]["candidate"]["metrics"];
    let p = &doc["models"]["production"]["metrics"];
    assert_eq!(c["roc_auc"], p["roc_auc"]);
    assert_eq!(c["log_loss"], p["log_loss"]);
    assert_eq!(doc["models"]["production"]["source"]["kind"], "file");
}

#[test]
fn ndjson_and_gzipped_csv_holdouts_read_the_same() {
    let t = TempDir::new().unwrap();
    let rows = good_rows();
    let mut nd = String::new();
    for (id, y, c, p) in &rows {
        nd.push_str(&format!(
            "{{\"transaction_id\":{id},\"is_fraud\":{y},\"score_candidate\":{c},\"score_production\":{p}}}\n"
        ));
    }
    write(t.path(), "h.ndjson", &nd);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv(&rows).as_bytes()).unwrap();
    fs::write(t.path().join("h.csv.gz"), gz.finish().unwrap()).unwrap();

    write(t.path(), "modelgate.yaml", &config("h.ndjson", ""));
    let a = evaluate_json(t.path());
    write(t.path(), "modelgate.yaml", &config("h.csv.gz", ""));
    let b = evaluate_json(t.path());
    assert_eq!(
        a["models"]["candidate"]["metrics"],
        b["models"]["candidate"]["metrics"]
    );
    assert_eq!(a["rows"], 5);
}

#[test]
fn scores_outside_unit_interval_mark_probability_metrics_not_applicable() {
    let rows = vec![
        (1, "0", "-2.5", "0"),
        (2, "1", "3.0", "0"),
        (3, "0", "1.5", "0"),
        (4, "1", "0.5", "0"),
    ];
    let t = csv_project(&csv(&rows), "");
    let doc = evaluate_json(t.path());
    let cand = &doc["models"]["candidate"];
    assert!(cand["metrics"]["log_loss"].is_null());
    assert!(cand["metrics"]["brier"].is_null());
    assert!(cand["metrics"]["roc_auc"].as_f64().unwrap() > 0.7);
    let reason = cand["not_applicable"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("outside [0, 1]"), "{reason}");
}

#[test]
fn demo_data_is_reproducible_byte_for_byte() {
    let t = TempDir::new().unwrap();
    for dir in ["a", "b"] {
        demo_data(t.path(), dir, 70000, 11, &[]);
    }
    let a = fs::read(t.path().join("a/holdout.parquet")).unwrap();
    let b = fs::read(t.path().join("b/holdout.parquet")).unwrap();
    assert!(a.len() > 1000);
    assert!(a == b, "same seed must give identical bytes");
    demo_data(t.path(), "c", 70000, 12, &[]);
    assert!(fs::read(t.path().join("c/holdout.parquet")).unwrap() != a);
}

#[test]
fn demo_tells_the_story_on_a_local_registry() {
    let t = TempDir::new().unwrap();
    let out = modelgate(t.path()).args(["demo", "--rows", "60000"]).run();
    let stdout = out.stdout;
    // Model 1 becomes production, Model 2 is blocked by its training data's
    // missing values (named), Model 3 is promoted over Model 1.
    for needle in [
        "PROMOTED fraud-detector v1.0.0 to production (was none)",
        "FAIL: `fraud-detector` is blocked by missing-values",
        "worst: reference.f01 3",
        "registered v1.1.0 (decision: fail)",
        "3 columns have missing values",
        "PROMOTED fraud-detector v1.2.0 to production (was v1.0.0)",
        "\"event_type\": \"model-promoted\"",
        "#2   v1.0.0 → v1.2.0",
    ] {
        assert!(stdout.contains(needle), "missing `{needle}` in:\n{stdout}");
    }
    let reg = t.path().join(".modelgate/demo/registry/fraud-detector");
    let decision: Value = serde_json::from_str(
        &fs::read_to_string(reg.join("versions/v1.2.0/decision.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(decision["schema"], "modelgate.decision/v1");
    assert_eq!(decision["decision"], "pass");
    assert_eq!(decision["gates"].as_array().unwrap().len(), 7);
    let doc = &decision["evaluation"];
    // Model 3's evaluation has the money, the alert budget and the segments.
    let metrics = &doc["models"]["candidate"]["metrics"];
    for m in [
        "dollar_recall",
        "precision_at_budget",
        "dollar_recall_at_budget",
    ] {
        assert!(metrics[m].is_number(), "{m}: {metrics}");
    }
    let columns: Vec<&str> = doc["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["column"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["country", "merchant_category", "amount"]);
    assert!(stdout.contains("precision_at_budget"), "{stdout}");
    for m in ["roc_auc", "average_precision"] {
        let d = doc["delta"][m].as_f64().unwrap();
        assert!(d > 0.0, "model 3 beats model 1 on {m}: delta {d}");
    }
    let sha = doc["models"]["candidate"]["source"]["sha256"]
        .as_str()
        .unwrap();
    let model = fs::read(reg.join("versions/v1.2.0/artifacts/model-3.linfa.json")).unwrap();
    use sha2::Digest;
    assert_eq!(
        sha,
        hex::encode(sha2::Sha256::digest(&model)),
        "the decision is bound to the artifact's bytes"
    );
    // A second run starts again from an empty registry and tells the same story.
    modelgate(t.path())
        .args(["demo", "--rows", "60000"])
        .stdout_has("PROMOTED fraud-detector v1.2.0")
        .run();
}

#[test]
fn demo_data_missing_scores_are_rejected_with_ids() {
    let t = TempDir::new().unwrap();
    demo_data(
        t.path(),
        ".",
        5000,
        7,
        &["--missing", "score_candidate=0.01"],
    );
    write(t.path(), "modelgate.yaml", &config("holdout.parquet", ""));
    expect_error(
        t.path(),
        &[
            "holdout.parquet",
            "score_candidate",
            "missing, e.g. transaction_id",
        ],
    );
}

#[test]
fn demo_data_csv_and_bad_missing_spec() {
    let t = TempDir::new().unwrap();
    demo_data(
        t.path(),
        "d",
        1000,
        7,
        &["--format", "csv", "--drift", "0.5"],
    );
    let text = fs::read_to_string(t.path().join("d/holdout.csv")).unwrap();
    assert_eq!(text.lines().count(), 1001);
    assert!(text.starts_with("transaction_id,amount,f01,"));
    modelgate(t.path())
        .args(["demo", "data", "--out", "d", "--missing", "nope=0.1"])
        .status(2)
        .stderr_has("nope")
        .run();
}

#[test]
fn usage_errors_exit_2() {
    let t = TempDir::new().unwrap();
    modelgate(t.path())
        .args(["evaluate", "--format", "xml"])
        .status(2)
        .run();
    modelgate(t.path()).arg("frobnicate").status(2).run();
}

// ---- bad input: each gets exit 2 and a one-line error naming the culprit ----

#[test]
fn bad_missing_config_file() {
    let t = TempDir::new().unwrap();
    expect_error(t.path(), &["modelgate.yaml"]);
}

#[test]
fn bad_missing_holdout_file() {
    let t = TempDir::new().unwrap();
    write(t.path(), "modelgate.yaml", &config("nope.parquet", ""));
    expect_error(t.path(), &["nope.parquet", "does not exist"]);
}

#[test]
fn bad_unknown_extension() {
    let t = TempDir::new().unwrap();
    write(t.path(), "modelgate.yaml", &config("h.xlsx", ""));
    expect_error(
        t.path(),
        &["modelgate.yaml:3:3", "holdout: path `h.xlsx`", ".parquet"],
    );
}

#[test]
fn bad_missing_label_column_lists_columns() {
    let t = csv_project(&csv(&good_rows()).replace("is_fraud", "fraud_flag"), "");
    expect_error(
        t.path(),
        &[
            "h.csv",
            "no column `is_fraud`",
            "fraud_flag",
            "score_candidate",
        ],
    );
}

#[test]
fn bad_non_binary_label() {
    let mut rows = good_rows();
    rows[2].1 = "2";
    let t = csv_project(&csv(&rows), "");
    expect_error(
        t.path(),
        &["h.csv", "is_fraud", "not binary", "transaction_id 3"],
    );
}

#[test]
fn bad_nan_and_null_scores() {
    let mut rows = good_rows();
    rows[1].2 = "NaN";
    rows[3].2 = "";
    let t = csv_project(&csv(&rows), "");
    expect_error(
        t.path(),
        &[
            "h.csv",
            "score_candidate",
            "1 missing, e.g. transaction_id 4",
            "1 NaN or infinite, e.g. transaction_id 2",
        ],
    );
}

#[test]
fn bad_empty_holdout() {
    let t = csv_project(&csv(&[]), "");
    expect_error(t.path(), &["h.csv", "no rows"]);
}

#[test]
fn bad_single_class_holdout() {
    let rows: Vec<_> = good_rows()
        .into_iter()
        .map(|(i, _, c, p)| (i, "0", c, p))
        .collect();
    let t = csv_project(&csv(&rows), "");
    expect_error(t.path(), &["h.csv", "single class", "0 positives"]);
}

#[test]
fn bad_join_unmatched_ids() {
    let t = csv_project(&csv(&good_rows()), PRODUCTION_FROM_FILE);
    write(
        t.path(),
        "s.csv",
        "transaction_id,p\n4,0.8\n1,0.1\n5,0.2\n3,0.35\n",
    );
    expect_error(
        t.path(),
        &[
            "s.csv",
            "1 of 5 holdout rows have no score",
            "transaction_id 2",
        ],
    );
}

#[test]
fn bad_join_duplicate_ids() {
    let t = csv_project(
        &csv(&good_rows()),
        "production:\n  scores: { path: s.csv, column: p, join_on: tx }\n",
    );
    write(
        t.path(),
        "s.csv",
        "tx,p\n4,0.8\n1,0.1\n5,0.2\n3,0.35\n2,0.4\n2,0.5\n",
    );
    expect_error(t.path(), &["s.csv", "`tx` is not unique", "tx 2"]);
}

#[test]
fn bad_yaml_syntax_points_at_line() {
    let t = TempDir::new().unwrap();
    write(t.path(), "modelgate.yaml", "model: m\nholdout: [unclosed\n");
    expect_error(t.path(), &["modelgate.yaml:"]);
}

#[test]
fn bad_unknown_key_suggests_fix() {
    let t = csv_project(&csv(&good_rows()), "metrics:\n  treshold: 0.3\n");
    expect_error(
        t.path(),
        &[
            "modelgate.yaml:9:3",
            "unknown key `treshold`, did you mean `threshold`?",
        ],
    );
}

#[test]
fn bad_stats_settings_name_the_key() {
    for (stats, want) in [
        (
            "stats: { bootstrap: 50 }\n",
            "stats.bootstrap: expected 0 (off) or 200 to 100000 resamples, got 50",
        ),
        (
            "stats: { confidence: 1.5 }\n",
            "stats.confidence: expected a level from 0.5 to below 1",
        ),
        (
            "stats: { confidense: 0.9 }\n",
            "unknown key `confidense`, did you mean `confidence`?",
        ),
        ("stats: { seed: -1 }\n", "stats.seed"),
    ] {
        let t = csv_project(&csv(&good_rows()), stats);
        expect_error(t.path(), &["modelgate.yaml", want]);
    }
}

#[test]
fn bad_corrupt_parquet_names_the_file() {
    let t = TempDir::new().unwrap();
    write(t.path(), "h.parquet", "this is not parquet");
    write(t.path(), "modelgate.yaml", &config("h.parquet", ""));
    modelgate(t.path())
        .args(["evaluate", "--config", "modelgate.yaml"])
        .fails_with_one_line()
        .stderr_has("h.parquet")
        .run();
}

#[test]
fn init_scaffolds_once_and_never_overwrites_without_force() {
    let t = TempDir::new().unwrap();
    modelgate(t.path())
        .args(["init", "--model", "card-fraud"])
        .stdout_has("wrote ./modelgate.yaml")
        .run();
    let config = fs::read_to_string(t.path().join("modelgate.yaml")).unwrap();
    assert!(config.contains("model: card-fraud"));
    for w in [
        "modelgate-gate.yml",
        "modelgate-promote.yml",
        "modelgate-deploy.yml",
    ] {
        assert!(t.path().join(".github/workflows").join(w).is_file(), "{w}");
    }
    fs::write(t.path().join("modelgate.yaml"), "edited").unwrap();
    modelgate(t.path())
        .arg("init")
        .status(2)
        .stderr_has("already exist")
        .stderr_has("--force")
        .run();
    assert_eq!(
        fs::read_to_string(t.path().join("modelgate.yaml")).unwrap(),
        "edited"
    );
    modelgate(t.path()).args(["init", "--force"]).run();
    assert!(
        fs::read_to_string(t.path().join("modelgate.yaml"))
            .unwrap()
            .contains("model: fraud-detector")
    );
}

#[test]
fn schema_describes_every_top_level_key_and_completions_print() {
    let t = TempDir::new().unwrap();
    let schema = modelgate(t.path()).arg("schema").run().json();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "model",
        "holdout",
        "candidate",
        "production",
        "metrics",
        "reference",
        "gates",
        "registry",
        "promote",
        "lineage",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown keys are errors, in the schema too"
    );
    assert_eq!(
        schema["required"],
        serde_json::json!(["model", "holdout", "candidate"])
    );
    for shell in ["bash", "zsh", "fish"] {
        modelgate(t.path())
            .args(["completions", shell])
            .stdout_has("promote")
            .run();
    }
}

#[test]
fn evaluation_carries_a_delong_interval_for_the_auc_delta() {
    let t = TempDir::new().unwrap();
    demo_data(t.path(), ".", 30000, 7, &[]);
    write(
        t.path(),
        "modelgate.yaml",
        &config(
            "holdout.parquet",
            "production:\n  scores: { column: score_production }\n",
        ),
    );
    let doc = modelgate(t.path())
        .args(["evaluate", "--format", "json"])
        .run()
        .json();
    let test = &doc["delta_tests"]["roc_auc"];
    assert_eq!(test["method"], "DeLong");
    let (low, delta, high) = (
        test["low"].as_f64().unwrap(),
        test["delta"].as_f64().unwrap(),
        test["high"].as_f64().unwrap(),
    );
    assert!(low < delta && delta < high, "{test}");
    assert!((delta - doc["delta"]["roc_auc"].as_f64().unwrap()).abs() < 1e-12);
    let p = test["p_value"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0);
    let text = modelgate(t.path()).arg("evaluate").run().stdout;
    // Each value with its bootstrap interval, each delta with its test.
    let line = text
        .lines()
        .find(|l| l.starts_with("average_precision "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.matches('[').count(), 3, "{line}");
    assert!(line.contains(" p="), "{line}");
    for note in [
        "values: 95% percentile intervals of a label-stratified bootstrap (2000 resamples, seed 7)",
        "DeLong for roc_auc",
        "paired z of per-row losses for brier, log_loss",
        "paired bootstrap for the others",
    ] {
        assert!(text.contains(note), "{note}: {text}");
    }
    let ap = &doc["delta_tests"]["average_precision"];
    assert_eq!(ap["method"], "paired bootstrap");
    assert_eq!(doc["stats"]["bootstrap"], 2000);
    let interval = &doc["models"]["candidate"]["intervals"]["average_precision"];
    let value = doc["models"]["candidate"]["metrics"]["average_precision"]
        .as_f64()
        .unwrap();
    assert!(
        interval[0].as_f64().unwrap() < value && value < interval[1].as_f64().unwrap(),
        "{interval}"
    );
}

/// `stats:` sets every interval: a lower confidence narrows the bootstrap's
/// and DeLong's intervals and the reports name it; `bootstrap: 0` leaves
/// the closed-form tests and drops the bootstrap's.
#[test]
fn stats_settings_shape_every_interval() {
    let t = TempDir::new().unwrap();
    demo_data(t.path(), ".", 20000, 7, &[]);
    let evaluate = |stats: &str| {
        write(
            t.path(),
            "modelgate.yaml",
            &config(
                "holdout.parquet",
                &format!("production:\n  scores: {{ column: score_production }}\n{stats}"),
            ),
        );
        let doc = modelgate(t.path())
            .args(["evaluate", "--format", "json"])
            .run()
            .json();
        let text = modelgate(t.path()).arg("evaluate").run().stdout;
        (doc, text)
    };
    let width = |doc: &Value, path: [&str; 2]| {
        let i = &doc["models"]["candidate"][path[0]][path[1]];
        i[1].as_f64().unwrap() - i[0].as_f64().unwrap()
    };
    let (wide, _) = evaluate("");
    let (narrow, text) = evaluate("stats: { confidence: 0.8, bootstrap: 1000, seed: 3 }\n");
    assert_eq!(narrow["stats"]["confidence"], 0.8);
    assert_eq!(narrow["stats"]["seed"], 3);
    assert_eq!(narrow["delta_tests"]["roc_auc"]["level"], 0.8);
    let (w, n) = (
        width(&wide, ["intervals", "average_precision"]),
        width(&narrow, ["intervals", "average_precision"]),
    );
    // For a near-normal statistic the 80% interval is 1.28/1.96 of the 95% one.
    assert!(n < 0.8 * w && n > 0.5 * w, "80%: {n}, 95%: {w}");
    let delong = |d: &Value| {
        let t = &d["delta_tests"]["roc_auc"];
        t["high"].as_f64().unwrap() - t["low"].as_f64().unwrap()
    };
    let ratio = delong(&narrow) / delong(&wide);
    assert!(
        (ratio - 1.281_551_565_544_600_5 / 1.959_963_984_540_054).abs() < 1e-9,
        "{ratio}"
    );
    assert!(text.contains("values: 80% percentile intervals"), "{text}");
    assert!(text.contains("(1000 resamples, seed 3)"), "{text}");

    let (off, text) = evaluate("stats: { bootstrap: 0 }\n");
    assert_eq!(off["stats"]["bootstrap"], 0);
    assert!(
        off["models"]["candidate"].get("intervals").is_none(),
        "{off}"
    );
    assert!(off["delta_tests"].get("average_precision").is_none());
    assert_eq!(off["delta_tests"]["roc_auc"]["method"], "DeLong");
    assert!(!text.contains("values:"), "{text}");
}

/// `modelgate history | head -1`: a reader that goes away is not an error.
#[test]
fn a_closed_stdout_ends_quietly_with_exit_0() {
    let t = TempDir::new().unwrap();
    modelgate(t.path()).args(["demo", "--rows", "5000"]).run();
    for args in [
        &[
            "history",
            "fraud-detector",
            "--config",
            ".modelgate/demo/model-3.yaml",
        ][..],
        &["schema"],
    ] {
        // The read end is closed before the child starts: every write fails
        // with EPIPE, whatever the pipe's buffer size.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(crate::util::binary())
            .args(args)
            .current_dir(t.path())
            .env_clear()
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_ragged_csv_row_names_its_line() {
    let t = csv_project(&format!("{}9,0,0.5,0.5,EXTRA\n", csv(&good_rows())), "");
    expect_error(
        t.path(),
        &["h.csv", "line 7 has 5 fields but the header has 4"],
    );
}

#[test]
fn bad_ndjson_line_is_named() {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        "h.ndjson",
        "{\"transaction_id\":1,\"is_fraud\":0,\"score_candidate\":0.1}\n\
         {\"transaction_id\":2,\"is_fraud\":1,\"score_candidate\":0.9\n",
    );
    write(t.path(), "modelgate.yaml", &config("h.ndjson", ""));
    expect_error(t.path(), &["h.ndjson", "line 2 is not valid JSON"]);
}

/// A config that is really a large CSV, and one nested 64k brackets deep:
/// refused at once, with a short message.
#[test]
fn bad_oversized_or_deeply_nested_config() {
    let t = TempDir::new().unwrap();
    let rows: String = (0..200_000)
        .map(|i| format!("{i},{},0.5\n", i % 2))
        .collect();
    write(t.path(), "modelgate.yaml", &format!("a,b,c\n{rows}"));
    let out = modelgate(t.path())
        .args(["evaluate", "--config", "modelgate.yaml"])
        .fails_with_one_line()
        .stderr_has("a modelgate config is at most 1024 KiB")
        .run();
    assert!(
        out.stderr.len() < 400,
        "{} bytes of error",
        out.stderr.len()
    );
    write(
        t.path(),
        "modelgate.yaml",
        &format!("model: {}", "[".repeat(65_536)),
    );
    expect_error(t.path(), &["modelgate.yaml:1:72", "nested deeper than 64"]);
}

/// The README's annotated config is a valid config, and every built-in
/// gate's `with:` in it passes that gate's schema: the run gets as far as
/// reading the model file, which the example only names.
#[test]
fn the_readme_config_example_is_valid() {
    let readme = fs::read_to_string(crate::util::repo().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Configuration")
        .expect("a configuration section")..];
    let start = section.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let yaml = &section[start..start + section[start..].find("```").unwrap()];
    let t = TempDir::new().unwrap();
    write(t.path(), "modelgate.yaml", yaml);
    // The example's own gate is not built here: it may fail to load, which
    // is a gate error at run time, not a config error.
    fs::create_dir_all(t.path().join("gates")).unwrap();
    write(t.path(), "gates/my_gate.wasm", "not a component");
    modelgate(t.path())
        .arg("run")
        .status(2)
        .stderr_has("error: cannot read model models/candidate")
        .run();
}

/// `modelgate score` with a model `train` wrote: the id column beside each
/// score, in the data's order, and each score the logistic of the
/// standardised dot product that the model file states.
#[test]
fn score_prints_ids_and_the_linfa_formula() {
    let t = TempDir::new().unwrap();
    demo_data(t.path(), "d", 3000, 5, &[]);
    modelgate(t.path())
        .args([
            "train",
            "--data",
            "d/holdout.parquet",
            "--label",
            "is_fraud",
            "--features",
            "f01,f02,f03",
            "--out",
            "m.linfa.json",
        ])
        .run();
    demo_data(t.path(), "rows", 500, 6, &["--format", "csv"]);
    let out = modelgate(t.path())
        .args([
            "score",
            "m.linfa.json",
            "--data",
            "rows/holdout.csv",
            "--id",
            "transaction_id",
        ])
        .run();
    let model: Value =
        serde_json::from_str(&fs::read_to_string(t.path().join("m.linfa.json")).unwrap()).unwrap();
    let num = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (mean, scale, coef) = (
        num(&model["mean"]),
        num(&model["scale"]),
        num(&model["coefficients"]),
    );
    let intercept = model["intercept"].as_f64().unwrap();
    let text = fs::read_to_string(t.path().join("rows/holdout.csv")).unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, cols) = (at("transaction_id"), [at("f01"), at("f02"), at("f03")]);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("transaction_id,score"));
    let mut n = 0;
    for (row, line) in rows.zip(lines) {
        let cells: Vec<&str> = row.split(',').collect();
        let (got_id, got) = line.split_once(',').unwrap();
        assert_eq!(got_id, cells[id]);
        let z = intercept
            + (0..3)
                .map(|j| coef[j] * (cells[cols[j]].parse::<f64>().unwrap() - mean[j]) / scale[j])
                .sum::<f64>();
        let want = 1.0 / (1.0 + (-z).exp());
        let got: f64 = got.parse().unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        n += 1;
    }
    assert_eq!(n, 500);
}

#[test]
fn score_refuses_bad_input_with_one_line() {
    let t = TempDir::new().unwrap();
    demo_data(t.path(), "d", 200, 5, &["--format", "csv"]);
    let onnx = crate::util::repo().join("tests/reference/models/lr.onnx");
    let onnx = onnx.to_str().unwrap();
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &[onnx, "--data", "d/holdout.csv"],
            &["lr.onnx", "without names", "--features"],
        ),
        (
            &[
                onnx,
                "--data",
                "d/holdout.csv",
                "--features",
                "f01,f02,f03,nope,f05,f06,f07",
            ],
            &["holdout.csv", "no column `nope`"],
        ),
        (
            &[onnx, "--data", "d/holdout.xlsx", "--features", "a"],
            &["holdout.xlsx", "file format"],
        ),
        (
            &["d/holdout.csv", "--data", "d/holdout.csv"],
            &["holdout.csv", "pass --format"],
        ),
        (
            &[onnx, "--data", "d/holdout.csv", "--features", "f01,f02"],
            &["2 columns", "7 inputs"],
        ),
    ];
    for (args, needles) in cases {
        let mut test = modelgate(t.path())
            .arg("score")
            .args(args)
            .fails_with_one_line();
        for n in needles {
            test = test.stderr_has(*n);
        }
        test.run();
    }
}

#[test]
fn bad_amounts_are_refused_with_the_column_and_rows() {
    let head = "transaction_id,is_fraud,score_candidate,score_production,amount\n";
    let rows = [
        (
            "1,0,0.1,0.2,10.5",
            "2,1,0.9,0.8,-3",
            &["amount", "negative in 1 of 2 rows", "transaction_id 2"][..],
        ),
        (
            "1,0,0.1,0.2,10.5",
            "2,1,0.9,0.8,",
            &["amount", "1 missing, e.g. transaction_id 2"][..],
        ),
        (
            "1,0,0.1,0.2,ten",
            "2,1,0.9,0.8,3",
            &["amount column `amount` has type str"][..],
        ),
    ];
    for (a, b, needles) in rows {
        let t = csv_project(&format!("{head}{a}\n{b}\n"), "");
        let config = fs::read_to_string(t.path().join("modelgate.yaml")).unwrap();
        write(
            t.path(),
            "modelgate.yaml",
            &config.replace(
                "  id: transaction_id\n",
                "  id: transaction_id\n  amount: amount\n",
            ),
        );
        expect_error(t.path(), needles);
    }
}

#[test]
fn bad_cost_settings_are_config_errors() {
    for (cost, needle) in [
        (
            "cost: { false_positive: -1, false_negative: 10 }",
            "cost.false_positive: expected a finite cost >= 0",
        ),
        (
            "cost: { false_positive: 1, false_negative: amount }",
            "`amount` needs `holdout.amount`",
        ),
        (
            "cost: { false_positive: 1, false_negative: dollars }",
            "expected `amount` or a number, got `dollars`",
        ),
        (
            "cost: { false_positive: 1, false_negative: 5, per_day: 3 }",
            "per_day",
        ),
    ] {
        let t = csv_project(&csv(&good_rows()), &format!("{cost}\n"));
        expect_error(t.path(), &["modelgate.yaml", needle]);
    }
}

#[test]
fn bad_segments_are_errors_naming_the_column() {
    let many: String = (0..1001)
        .map(|i| format!("{i},{},0.{},0.5\n", i % 2, i % 10))
        .collect();
    let many = format!("transaction_id,is_fraud,score_candidate,score_production\n{many}");
    for (holdout, segments, needles) in [
        (
            csv(&good_rows()),
            "segments: [{ column: score_candidate }]",
            vec!["h.csv", "`score_candidate` holds floats", "bins:"],
        ),
        (
            csv(&good_rows()),
            "segments: [{ column: country }]",
            vec!["h.csv", "no column `country` (a `segments:` column)"],
        ),
        (
            many,
            "segments: [{ column: transaction_id }]",
            vec!["`transaction_id` has 1001 distinct values", "at most 1000"],
        ),
        (
            csv(&good_rows()),
            "segments: [{ column: score_candidate, bins: [1, 0.5] }]",
            vec![
                "modelgate.yaml",
                "segments[0].bins: expected strictly ascending edges",
            ],
        ),
        (
            csv(&good_rows()),
            "segments: [{ column: is_fraud }, { column: is_fraud }]",
            vec![
                "modelgate.yaml",
                "segments[1].column: `is_fraud` is already a segment column",
            ],
        ),
        (
            csv(&good_rows()),
            "segments: [{ column: transaction_id, min_positives: 1 }]",
            vec!["segments[0].min_positives: expected at least 2"],
        ),
    ] {
        let t = csv_project(&holdout, &format!("{segments}\n"));
        expect_error(t.path(), &needles);
    }
}

#[test]
fn bad_alert_budgets_are_errors_naming_the_key_or_column() {
    let dated = "transaction_id,is_fraud,score_candidate,score_production,day\n\
                 1,0,0.1,0.2,2026-11-01\n2,0,0.4,0.3,2026-11-01\n3,1,0.35,0.1,2026-11-02\n\
                 4,1,0.8,0.7,\n5,0,0.2,0.6,2026-11-02\n";
    for (holdout, budget, needles) in [
        (
            csv(&good_rows()),
            "{ per_day: 10 }",
            vec![
                "modelgate.yaml",
                "metrics.alert_budget.timestamp: `per_day` needs the column",
            ],
        ),
        (
            csv(&good_rows()),
            "{ per_day: 10, fraction: 0.1, timestamp: transaction_id }",
            vec!["not both"],
        ),
        (
            csv(&good_rows()),
            "{ fraction: 1.5 }",
            vec!["metrics.alert_budget.fraction: expected a share of rows in (0, 1]"],
        ),
        (
            csv(&good_rows()),
            "{ per_day: 10, timestamp: transaction_id }",
            vec![
                "h.csv",
                "column `transaction_id` (metrics.alert_budget.timestamp): has type i64",
            ],
        ),
        (
            dated.to_string(),
            "{ per_day: 10, timestamp: day }",
            vec![
                "h.csv",
                "column `day`",
                "1 rows have no date",
                "rows 3 (0-based)",
            ],
        ),
    ] {
        let t = csv_project(
            &holdout,
            &format!("metrics: {{ alert_budget: {budget} }}\n"),
        );
        expect_error(t.path(), &needles);
    }
}

#[test]
fn bad_weights_are_errors_naming_the_column_and_rows() {
    let with_weights = |w: [&str; 5]| {
        let mut s = String::from("transaction_id,is_fraud,score_candidate,score_production,w\n");
        for ((id, y, c, p), w) in good_rows().into_iter().zip(w) {
            s.push_str(&format!("{id},{y},{c},{p},{w}\n"));
        }
        s
    };
    for (weights, needles) in [
        (
            ["1", "-2", "1", "1", "1"],
            vec![
                "h.csv",
                "weight column `w` is negative in 1 of 5 rows",
                "transaction_id 2",
            ],
        ),
        (
            ["1", "1", "", "1", "1"],
            vec!["h.csv", "`w`", "transaction_id 3"],
        ),
        (
            ["1", "1", "0", "0", "1"],
            vec!["h.csv", "gives the positive rows no weight in total"],
        ),
    ] {
        let t = csv_project(&with_weights(weights), "");
        let config = std::fs::read_to_string(t.path().join("modelgate.yaml"))
            .unwrap()
            .replace("label: is_fraud\n", "label: is_fraud\n  weight: w\n");
        write(t.path(), "modelgate.yaml", &config);
        expect_error(t.path(), &needles);
    }
}
