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

/// Every feature type in `reference/dtypes`.
const FEATURE_TYPES: [&str; 20] = [
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

/// Runs the gates on `name` (holdout and reference alike): it must be read,
/// nothing may err, and missing-values must block on exactly `x`, missing
/// in `ratio` of the rows. The problem, if any.
fn check_feature(name: &str, ratio: f64) -> Result<(), String> {
    let t = TempDir::new().unwrap();
    let f = file(name);
    config(
        t.path(),
        &f,
        "is_fraud",
        "score",
        &format!("reference: {{ path: {f} }}\n{GATES}"),
    );
    let out = modelgate(t.path())
        .args(["run", "--format", "json"])
        .any_status()
        .run();
    if out.status != 1 {
        return Err(format!(
            "{name}: exit {}: {}",
            out.status,
            out.stderr.trim()
        ));
    }
    let d = out.json();
    let x = d["gates"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "missing_ratio[holdout.x]")
        .and_then(|x| x["observed"].as_f64());
    let errs = d["gates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["verdict"] == "error");
    if d["blocking"] != serde_json::json!(["missing-values"])
        || x.is_none_or(|x| (x - ratio).abs() > 1e-12)
        || errs
    {
        return Err(format!("{name}: {}", d["gates"]));
    }
    Ok(())
}

/// Each type as a feature: read, profiled with its 12 nulls in 400 rows,
/// so missing-values blocks on exactly that column; nothing errs.
#[test]
fn every_arrow_type_is_read_and_profiled_as_a_feature() {
    let failures: Vec<String> = FEATURE_TYPES
        .iter()
        .filter_map(|ty| check_feature(&format!("feature_{ty}.parquet"), 0.03).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn evaluate(dir: &Path) -> Value {
    modelgate(dir)
        .args(["evaluate", "--format", "json"])
        .run()
        .json()
}

/// The `label` column of `name` gives the same evaluation as the int8
/// `is_fraud` beside it.
fn label_matches_int8(name: &str) {
    let t = TempDir::new().unwrap();
    let f = file(name);
    config(t.path(), &f, "is_fraud", "score", "");
    let int8 = evaluate(t.path());
    config(t.path(), &f, "label", "score", "");
    let other = evaluate(t.path());
    assert_eq!(int8["positives"], other["positives"], "{name}");
    assert_eq!(
        int8["models"]["candidate"]["metrics"], other["models"]["candidate"]["metrics"],
        "{name}"
    );
}

/// The float64 `score` as production, beside the score under test.
const PRODUCTION: &str = "production: { scores: { column: score } }\n";

/// The `score2` column of `name` ranks like the float64 `score` it was made
/// from; the evaluation, for further checks.
fn score_ranks_like_float64(name: &str) -> Value {
    let t = TempDir::new().unwrap();
    config(t.path(), &file(name), "is_fraud", "score2", PRODUCTION);
    let doc = evaluate(t.path());
    let m = &doc["models"];
    let (c, p) = (
        m["candidate"]["metrics"]["roc_auc"].as_f64().unwrap(),
        m["production"]["metrics"]["roc_auc"].as_f64().unwrap(),
    );
    assert!((c - p).abs() < 2e-3, "{name}: {c} vs {p}");
    doc
}

/// An int16, uint8, bool or decimal label gives the same evaluation as the
/// int8 one beside it.
#[test]
fn labels_of_every_integer_bool_and_decimal_type() {
    for ty in ["int16", "uint8", "bool", "decimal128"] {
        label_matches_int8(&format!("label_{ty}.parquet"));
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
        let doc = score_ranks_like_float64(&format!("score_{ty}.parquet"));
        let m = &doc["models"];
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

/// The same columns as pandas and pyarrow write them to CSV, and as pandas
/// writes NDJSON: every type is read (numbers as numbers, the rest as text
/// or dates) and profiled with its 4 nulls in 100 rows.
#[test]
fn every_arrow_type_as_pandas_and_pyarrow_write_csv_and_ndjson() {
    let mut failures = Vec::new();
    for ty in FEATURE_TYPES {
        for writer in ["pandas.csv", "pyarrow.csv", "pandas.ndjson"] {
            failures.extend(check_feature(&format!("feature_{ty}.{writer}"), 0.04).err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Labels and scores of other types, as pandas and pyarrow write them to
/// text, evaluate like the int8 label and float64 score beside them.
#[test]
fn labels_and_scores_in_csv_and_ndjson() {
    for writer in ["pandas.csv", "pyarrow.csv", "pandas.ndjson"] {
        for ty in ["int16", "uint8", "bool", "decimal128"] {
            label_matches_int8(&format!("label_{ty}.{writer}"));
        }
        for ty in ["float32", "decimal128", "int16"] {
            let name = format!("score_{ty}.{writer}");
            if (ty, writer) == ("decimal128", "pandas.ndjson") {
                // pandas writes a Decimal to JSON as a string: refused, not guessed.
                let t = TempDir::new().unwrap();
                config(t.path(), &file(&name), "is_fraud", "score2", PRODUCTION);
                modelgate(t.path())
                    .arg("evaluate")
                    .fails_with_one_line()
                    .stderr_has("score column `score2` has type str; expected numbers")
                    .run();
                continue;
            }
            score_ranks_like_float64(&name);
        }
    }
}
