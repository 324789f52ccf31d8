//! Model files through the real binary: each format scores a holdout, the
//! evaluation records the artifact's sha256 and format, and every way of
//! feeding a model the wrong columns is a clear error (exit 2).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::util::{Test, modelgate, repo, sha256_file};

fn models() -> PathBuf {
    repo().join("tests/reference/models")
}

/// A CSV holdout: f0-f6 on the reference grid, category f7, a label, a text
/// column; `nan_rows` rows have f1 empty.
fn holdout(dir: &Path, nan_rows: usize) {
    let mut s = String::from("id,f0,f1,f2,f3,f4,f5,f6,f7,merchant,is_fraud\n");
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..400 {
        let f: Vec<f64> = (0..7)
            .map(|_| ((next() * 4096.0) as i64 - 2048) as f64 / 512.0)
            .collect();
        let cat = (next() * 6.0).floor();
        let logit = 1.5 * f[0] - f[1] - 1.0;
        let y = i32::from(next() < 1.0 / (1.0 + (-logit).exp()));
        let f1 = if i < nan_rows {
            String::new()
        } else {
            f[1].to_string()
        };
        let _ = writeln!(
            s,
            "{i},{},{f1},{},{},{},{},{},{cat},shop,{y}",
            f[0], f[2], f[3], f[4], f[5], f[6]
        );
    }
    fs::write(dir.join("holdout.csv"), s).unwrap();
}

fn config(dir: &Path, candidate: &str, production: &str) {
    fs::write(
        dir.join("modelgate.yaml"),
        format!(
            "model: m\nholdout: {{ path: holdout.csv, label: is_fraud, id: id }}\ncandidate: {candidate}\n{production}"
        ),
    )
    .unwrap();
}

/// `evaluate --format json`, to be finished with expectations and `run`.
fn evaluate(dir: &Path) -> Test {
    modelgate(dir).args(["evaluate", "--format", "json"])
}

#[test]
fn native_files_score_and_bind_the_evaluation_to_their_bytes() {
    let t = TempDir::new().unwrap();
    holdout(t.path(), 20);
    let m = models();
    config(
        t.path(),
        &format!("{{ xgboost: {{ path: {} }} }}", m.join("xgb.ubj").display()),
        &format!(
            "production: {{ lightgbm: {{ path: {} }} }}\n",
            m.join("lgbm.txt").display()
        ),
    );
    let doc = evaluate(t.path()).run().json();
    let c = &doc["models"]["candidate"]["source"];
    assert_eq!(c["kind"], "artifact");
    assert_eq!(c["format"], "xgboost");
    assert_eq!(c["sha256"], sha256_file(&m.join("xgb.ubj")).as_str());
    assert_eq!(
        c["features"].as_array().unwrap().len(),
        7,
        "names from the model file"
    );
    assert_eq!(doc["models"]["production"]["source"]["format"], "lightgbm");
    assert!(doc["models"]["production"]["scoring_ms"].as_f64().unwrap() >= 0.0);
    // Both are real models of this data: far better than chance.
    for role in ["candidate", "production"] {
        let auc = doc["models"][role]["metrics"]["roc_auc"].as_f64().unwrap();
        assert!(auc > 0.75, "{role} auc {auc}");
    }
}

#[test]
fn onnx_needs_features_and_takes_them_by_name() {
    let t = TempDir::new().unwrap();
    holdout(t.path(), 0);
    let rf = models().join("rf_nozipmap.onnx");
    config(
        t.path(),
        &format!("{{ onnx: {{ path: {} }} }}", rf.display()),
        "",
    );
    evaluate(t.path())
        .fails_with_one_line()
        .stderr_has("list the input columns in order (`features:` in the config")
        .run();

    // Columns in another order in the file are fine: matching is by name.
    config(
        t.path(),
        &format!(
            "{{ onnx: {{ path: {} }}, features: [f0, f1, f2, f3, f4, f5, f6] }}",
            rf.display()
        ),
        &format!(
            "production: {{ onnx: {{ path: {} }}, features: [f0, f1, f2, f3, f4, f5, f6] }}\n",
            models().join("lr.onnx").display()
        ),
    );
    let doc = evaluate(t.path()).run().json();
    assert_eq!(doc["models"]["candidate"]["source"]["format"], "onnx");
    assert!(
        doc["models"]["production"]["metrics"]["roc_auc"]
            .as_f64()
            .unwrap()
            > 0.75
    );
}

#[test]
fn wrong_inputs_are_clear_errors() {
    let t = TempDir::new().unwrap();
    holdout(t.path(), 15);
    let m = models();
    let seven = "[f0, f1, f2, f3, f4, f5, f6]";
    let cases: Vec<(String, &str)> = vec![
        // A linear graph cannot take the 15 blank f1 values.
        (
            format!(
                "{{ onnx: {{ path: {} }}, features: {seven} }}",
                m.join("lr.onnx").display()
            ),
            "`f1` 15 rows",
        ),
        (
            format!(
                "{{ onnx: {{ path: {} }}, features: [f0, f1] }}",
                m.join("lr.onnx").display()
            ),
            "`features` names 2 columns but the model has 7 inputs",
        ),
        (
            format!(
                "{{ xgboost: {{ path: {} }}, features: [f0, f1, f2, f3, f4, f5, nope] }}",
                m.join("xgb.json").display()
            ),
            "no column `nope` (a model input)",
        ),
        (
            format!(
                "{{ xgboost: {{ path: {} }}, features: [f0, f1, f2, f3, f4, f5, merchant] }}",
                m.join("xgb.json").display()
            ),
            "feature `merchant` has type str",
        ),
        (
            format!(
                "{{ lightgbm: {{ path: {} }} }}",
                m.join("xgb.json").display()
            ),
            "not a LightGBM text model",
        ),
        (
            "{ onnx: { path: model.pkl } }".to_string(),
            "unpickling executes arbitrary code",
        ),
        (
            "{ xgboost: { path: model.joblib } }".to_string(),
            "skl2onnx.to_onnx",
        ),
    ];
    for (candidate, needle) in cases {
        config(t.path(), &candidate, "");
        evaluate(t.path())
            .fails_with_one_line()
            .stderr_has(needle)
            .run();
    }
}

#[test]
fn trees_route_missing_values() {
    let t = TempDir::new().unwrap();
    holdout(t.path(), 50);
    config(
        t.path(),
        &format!(
            "{{ onnx: {{ path: {} }}, features: [f0, f1, f2, f3, f4, f5, f6] }}",
            models().join("hgb.onnx").display()
        ),
        "",
    );
    evaluate(t.path()).run();
}
