//! `holdout: { summary: DIR }`: a `modelgate.summary/v1` stands in for the
//! rows. Here the summary's score counts are grouped by the test itself
//! from a demo holdout, and the run on them must give every metric the
//! run on the file gives; `.ci/run` checks the Spark job's summaries the
//! same way (`spark/equality.sh`). The refusals name the key or file.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use polars::prelude::*;
use serde_json::{Value, json};

use crate::util::{demo_data, modelgate, write};

const MODELS: [&str; 2] = ["score_candidate", "score_production"];

/// Groups the holdout's rows by model and score, as the Spark job does,
/// and writes the counts and a manifest without pairs or profiles.
fn summarise(holdout: &Path, out: &Path) {
    let frame = LazyFrame::scan_parquet(
        PlRefPath::try_from_path(holdout).unwrap(),
        ScanArgsParquet::default(),
    )
    .unwrap()
    .select([
        col("is_fraud"),
        col("amount"),
        col(MODELS[0]),
        col(MODELS[1]),
    ])
    .collect()
    .unwrap();
    let column = |name: &str| -> Vec<f64> {
        let c = frame
            .column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap();
        c.f64().unwrap().into_no_null_iter().collect()
    };
    let (labels, amounts) = (column("is_fraud"), column("amount"));
    let (mut model, mut score, mut pos, mut neg, mut pos_amount, mut neg_amount) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for m in MODELS {
        let mut groups: BTreeMap<u64, (i64, i64, f64, f64)> = BTreeMap::new();
        for ((s, y), a) in column(m).iter().zip(&labels).zip(&amounts) {
            let g = groups.entry(s.to_bits()).or_default();
            if *y == 1.0 {
                g.0 += 1;
                g.2 += a;
            } else {
                g.1 += 1;
                g.3 += a;
            }
        }
        for (bits, (p, n, pa, na)) in groups {
            model.push(m);
            score.push(f64::from_bits(bits));
            pos.push(p);
            neg.push(n);
            pos_amount.push(pa);
            neg_amount.push(na);
        }
    }
    let mut counts = df!(
        "model" => model,
        "score" => score,
        "positives" => pos,
        "negatives" => neg,
        "positive_amount" => pos_amount,
        "negative_amount" => neg_amount,
    )
    .unwrap();
    fs::create_dir_all(out.join("scores")).unwrap();
    let file = fs::File::create(out.join("scores/part-00000.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut counts).unwrap();
    // Markers and checksums the job leaves beside its parts are not data.
    write(&out.join("scores/_SUCCESS"), "");
    write(&out.join("scores/.part-00000.parquet.crc"), "not parquet");
    let positives = labels.iter().filter(|y| **y == 1.0).count();
    let manifest = json!({
        "schema": "modelgate.summary/v1",
        "holdout": holdout.display().to_string(),
        "reference": null,
        "label": "is_fraud",
        "amount": "amount",
        "rows": labels.len(),
        "positives": positives,
        "models": MODELS,
        "pairs": [],
        "sample": { "negative_share": 1.0, "seed": 7 },
        "profiles": { "holdout": [], "reference": null },
        "ks": {},
        "a_field_from_a_later_v1_job": true,
    });
    write(
        &out.join("manifest.json"),
        serde_json::to_string(&manifest).unwrap(),
    );
}

fn config(holdout: &str, extra: &str) -> String {
    format!(
        "model: fraud
holdout: {{ {holdout}, label: is_fraud, amount: amount }}
candidate: {{ scores: {{ column: score_candidate }} }}
production: {{ scores: {{ column: score_production }} }}
metrics: {{ threshold: 0.5, at_fpr: [0.001, 0.01] }}
cost: {{ false_positive: 5, false_negative: amount }}
stats: {{ bootstrap: 0 }}
gates:
  - uses: builtin:metric-threshold
    with: {{ min: {{ roc_auc: 0.5 }} }}
{extra}"
    )
}

fn metrics(d: &Value, role: &str) -> serde_json::Map<String, Value> {
    d["evaluation"]["models"][role]["metrics"]
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn a_summary_of_counts_per_score_gives_the_metrics_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    demo_data(p, "data", 20_000, 11, &[]);
    summarise(&p.join("data/holdout.parquet"), &p.join("summary"));
    write(
        &p.join("file.yaml"),
        config("path: data/holdout.parquet", ""),
    );
    write(&p.join("summary.yaml"), config("summary: summary", ""));
    let rows = modelgate(p)
        .args(["run", "-c", "file.yaml", "--format", "json", "-q"])
        .run()
        .json();
    let summary = modelgate(p)
        .args(["run", "-c", "summary.yaml", "--format", "json", "-q"])
        .run()
        .json();
    assert_eq!(rows["decision"], summary["decision"]);
    assert_eq!(summary["evaluation"]["rows"], 20_000);
    for role in ["candidate", "production"] {
        let (a, b) = (metrics(&rows, role), metrics(&summary, role));
        assert_eq!(a.len(), b.len(), "{role}: {a:?} against {b:?}");
        assert!(a.len() > 20, "{a:?}");
        for (name, x) in &a {
            let y = &b[name];
            match name.as_str() {
                // The rank metrics come from the same sweep: equal bits.
                "roc_auc" | "average_precision" | "pr_auc" | "ks" | "recall" | "precision" => {
                    assert_eq!(x, y, "{role} {name}")
                }
                _ => {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    assert!(
                        (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                        "{role} {name}: {x} against {y}"
                    );
                }
            }
        }
        let curves = |d: &Value| d["evaluation"]["models"][role]["curves"]["roc"].clone();
        assert_eq!(curves(&rows), curves(&summary), "{role} ROC curve");
    }
    // A summary without pairs has no exact tests to report; none is made up.
    assert!(
        summary["evaluation"]["delta_tests"]
            .get("roc_auc")
            .is_none(),
        "{}",
        summary["evaluation"]["delta_tests"]
    );
    assert_eq!(
        summary["evaluation"]["holdout"]["summary"]["schema"],
        "modelgate.summary/v1"
    );
    // The decision records the summary by one digest over its files.
    let digest = summary["inputs"]["holdout"]["sha256"].as_str().unwrap();
    assert_eq!(digest.len(), 64);

    // A part file lost on the way: the counts no longer add up.
    fs::remove_file(p.join("summary/scores/part-00000.parquet")).unwrap();
    modelgate(p)
        .args(["run", "-c", "summary.yaml", "-q"])
        .status(2)
        .fails_with_one_line()
        .stderr_has("no Parquet part files")
        .run();
}

#[test]
fn a_summary_refuses_what_needs_rows_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::create_dir_all(p.join("empty")).unwrap();
    write(&p.join("m.yaml"), config("summary: empty", ""));
    modelgate(p)
        .args(["run", "-c", "m.yaml", "-q"])
        .status(2)
        .fails_with_one_line()
        .stderr_has("no manifest.json")
        .run();

    write(
        &p.join("other/manifest.json"),
        r#"{"schema": "modelgate.summary/v9"}"#,
    );
    write(&p.join("m.yaml"), config("summary: other", ""));
    modelgate(p)
        .args(["run", "-c", "m.yaml", "-q"])
        .status(2)
        .fails_with_one_line()
        .stderr_has("manifest.json")
        .run();

    for (extra, says) in [
        (
            "segments: [{ column: country }]",
            "segments: segments need each row's segment value",
        ),
        (
            "reference: { path: r.parquet }",
            "reference: a summary carries its reference's profiles",
        ),
    ] {
        write(&p.join("m.yaml"), config("summary: other", extra));
        modelgate(p)
            .args(["run", "-c", "m.yaml", "-q"])
            .status(2)
            .fails_with_one_line()
            .stderr_has(says)
            .run();
    }
    write(
        &p.join("m.yaml"),
        config("summary: other", "").replace(
            "{ scores: { column: score_candidate } }",
            "{ onnx: { path: m.onnx } }",
        ),
    );
    modelgate(p)
        .args(["run", "-c", "m.yaml", "-q"])
        .status(2)
        .stderr_has("candidate: a summary holds score counts, not features")
        .run();
    write(
        &p.join("m.yaml"),
        config("summary: other", "  - uses: builtin:integrity\n"),
    );
    modelgate(p)
        .args(["run", "-c", "m.yaml", "-q"])
        .status(2)
        .fails_with_one_line()
        .stderr_has("imports `integrity`")
        .run();
}
