//! Every everyday Arrow type, in parquet files as pyarrow and pandas write
//! them (`reference/make_dtypes.py`; versions in `reference/dtypes/VERSIONS`):
//! as a feature profiled by the gates, as a label and as a score. A type
//! modelgate cannot read is refused once, by column name and type.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{modelgate, repo, write};

fn file(name: &str) -> String {
    repo()
        .join("tests/reference/dtypes")
        .join(name)
        .display()
        .to_string()
}

fn config(dir: &Path, holdout: &str, label: &str, candidate: &str, extra: &str) {
    write(
        &dir.join("modelgate.yaml"),
        format!(
            "model: m\nholdout: {{ path: {holdout}, label: {label}, id: transaction_id }}\n\
             candidate: {{ scores: {{ column: {candidate} }} }}\n{extra}"
        ),
    );
}

/// Gates that profile every column. Drift is left out: it compares numbers
/// and categories, and a file whose only feature is a date has none.
const GATES: &str = "gates:\n  - uses: builtin:missing-values\n    with: { max_ratio: 0.01 }\n  \
                     - uses: builtin:class-balance\n    with: { min_positives: 1 }\n";

/// Each type as a feature: read, profiled with its 12 nulls in 400 rows,
/// so missing-values blocks on exactly that column; nothing errs.
#[test]
fn every_arrow_type_is_read_and_profiled_as_a_feature() {
    let types = [
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
        "bool",
        "decimal128",
        "string",
        "large_string",
        "dictionary",
        "date32",
        "timestamp_us",
        "timestamp_ns_utc",
        "duration_ms",
        "time64_us",
    ];
    for ty in types {
        let t = TempDir::new().unwrap();
        let f = file(&format!("feature_{ty}.parquet"));
        config(
            t.path(),
            &f,
            "is_fraud",
            "score",
            &format!("reference: {{ path: {f} }}\n{GATES}"),
        );
        let d = modelgate(t.path())
            .args(["run", "--format", "json"])
            .status(1)
            .run()
            .json();
        assert_eq!(
            d["blocking"],
            serde_json::json!(["missing-values"]),
            "{ty}: {d}"
        );
        let mv = &d["gates"][0]["observations"];
        let x = mv
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "missing_ratio[holdout.x]")
            .unwrap_or_else(|| panic!("{ty}: no observation for x: {mv}"));
        assert!(
            (x["observed"].as_f64().unwrap() - 0.03).abs() < 1e-12,
            "{ty}: {x}"
        );
        for g in d["gates"].as_array().unwrap() {
            assert_ne!(g["verdict"], "error", "{ty}: {g}");
        }
    }
}

fn evaluate(dir: &Path) -> Value {
    modelgate(dir)
        .args(["evaluate", "--format", "json"])
        .run()
        .json()
}

/// An int16, uint8, bool or decimal label gives the same evaluation as the
/// int8 one beside it.
#[test]
fn labels_of_every_integer_bool_and_decimal_type() {
    for ty in ["int16", "uint8", "bool", "decimal128"] {
        let t = TempDir::new().unwrap();
        let f = file(&format!("label_{ty}.parquet"));
        config(t.path(), &f, "is_fraud", "score", "");
        let int8 = evaluate(t.path());
        config(t.path(), &f, "label", "score", "");
        let other = evaluate(t.path());
        assert_eq!(int8["positives"], other["positives"], "{ty}");
        assert_eq!(
            int8["models"]["candidate"]["metrics"], other["models"]["candidate"]["metrics"],
            "{ty}"
        );
    }
    // A pandas `category` label, with its positive value named.
    let t = TempDir::new().unwrap();
    config(
        t.path(),
        &file("pandas_category_label.parquet"),
        "is_fraud, positive: fraud",
        "score",
        "",
    );
    let doc = evaluate(t.path());
    assert!(doc["positives"].as_u64().unwrap() > 40, "{doc}");
}

/// float32, decimal and int16 scores rank like the float64 score they
/// were made from (int16 ones are not probabilities).
#[test]
fn scores_of_float32_decimal_and_integer_types() {
    for ty in ["float32", "decimal128", "int16"] {
        let t = TempDir::new().unwrap();
        config(
            t.path(),
            &file(&format!("score_{ty}.parquet")),
            "is_fraud",
            "score2",
            "production: { scores: { column: score } }\n",
        );
        let doc = evaluate(t.path());
        let m = &doc["models"];
        let (c, p) = (
            m["candidate"]["metrics"]["roc_auc"].as_f64().unwrap(),
            m["production"]["metrics"]["roc_auc"].as_f64().unwrap(),
        );
        assert!((c - p).abs() < 2e-3, "{ty}: {c} vs {p}");
        if ty == "int16" {
            assert!(m["candidate"]["metrics"]["log_loss"].is_null());
        }
    }
}

/// pandas' nullable Int8, category and datetime64 columns in one file.
#[test]
fn a_pandas_frame_with_nullable_category_and_datetime_columns() {
    let t = TempDir::new().unwrap();
    let f = file("pandas_mixed.parquet");
    config(t.path(), &f, "is_fraud", "score", GATES);
    let d = modelgate(t.path())
        .args(["run", "--format", "json"])
        .status(1)
        .run()
        .json();
    assert_eq!(d["blocking"], serde_json::json!(["missing-values"]), "{d}");
}

/// A list column cannot be profiled: refused once, by name and type, when
/// the gates need every column; evaluation alone does not read it.
#[test]
fn an_unreadable_column_is_refused_by_name_and_type() {
    let t = TempDir::new().unwrap();
    let f = file("unreadable_list.parquet");
    config(t.path(), &f, "is_fraud", "score", GATES);
    modelgate(t.path())
        .args(["run"])
        .fails_with_one_line()
        .stderr_has("column `embedding` has type list")
        .run();
    evaluate(t.path());
}
