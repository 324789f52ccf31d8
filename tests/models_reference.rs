//! Model files scored by modelgate against their own libraries' predictions
//! (onnxruntime for ONNX, xgboost for XGBoost files, lightgbm for LightGBM
//! files), recorded by `tests/reference/make_models.py` with the versions in
//! `requirements-models.txt`. The test rows are regenerated here from the
//! same SplitMix64 stream, so no Python is needed.

use std::path::PathBuf;

use modelgate::config::ArtifactFormat;
use modelgate::model::{Loaded, onnx::OnnxModel};
use serde_json::Value;

const TOLERANCE: f64 = 1e-5;

use crate::splitmix::rows;

fn dir() -> PathBuf {
    crate::util::repo().join("tests/reference/models")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn every_model_file_matches_its_library_within_1e_5() {
    let doc = expected();
    let g = &doc["generator"];
    let n = g["rows"].as_u64().unwrap() as usize;
    let seed = g["test_seed"].as_u64().unwrap();
    let clean = rows(seed, n, false);
    let with_missing = rows(seed, n, true);
    let mut report = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let format = ArtifactFormat::from_key(case["format"].as_str().unwrap()).unwrap();
        let width = case["features"].as_array().unwrap().len();
        let cols = if case["test_missing"].as_bool().unwrap() {
            &with_missing
        } else {
            &clean
        };
        let model =
            Loaded::load(format, &dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = match &model {
            Loaded::Trees(f) => f.predict(&cols[..width]),
            Loaded::Onnx(m) => m.predict(&cols[..width]).unwrap(),
            Loaded::Linear(_) => panic!("{file}: unexpected linear model"),
        };
        let want: Vec<f64> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{file}");
        let max = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let engine = match &model {
            Loaded::Onnx(OnnxModel::Trees(_)) | Loaded::Trees(_) => "native trees",
            _ => "tract",
        };
        report.push(format!(
            "{file:<18} {engine:<13} max |diff| {max:.2e}  vs {}",
            case["reference"].as_str().unwrap()
        ));
        let worst: Vec<(usize, f64, f64)> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (a, b))| (*a - *b).abs() > TOLERANCE)
            .map(|(i, (a, b))| (i, *a, *b))
            .take(3)
            .collect();
        assert!(
            max <= TOLERANCE,
            "{file}: max abs diff {max:e} > {TOLERANCE:e}; first (row, got, want): {worst:?}"
        );
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(report.len(), 11, "every case ran");
}

#[test]
fn the_models_cover_what_they_claim() {
    // The LightGBM model really has categorical splits, and the missing-value
    // test rows really have NaN in the split columns.
    let text = std::fs::read_to_string(dir().join("lgbm.txt")).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("num_cat=") && l != "num_cat=0")
    );
    let m = rows(1, 1000, true);
    let nan = m[1].iter().filter(|v| v.is_nan()).count();
    assert!((60..140).contains(&nan), "{nan}");
}

/// `modelgate score`, the command a serving stack is checked against, reads
/// the same rows from a CSV (blank cells missing) and gives each library's
/// predictions.
#[test]
fn the_score_command_gives_each_librarys_predictions_from_a_csv() {
    let doc = expected();
    let g = &doc["generator"];
    let n = g["rows"].as_u64().unwrap() as usize;
    let seed = g["test_seed"].as_u64().unwrap();
    let t = tempfile::TempDir::new().unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let format = case["format"].as_str().unwrap();
        let features: Vec<&str> = case["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let cols = rows(seed, n, case["test_missing"].as_bool().unwrap());
        let mut csv = features.join(",") + "\n";
        let cell = |v: f64| {
            if v.is_nan() {
                String::new()
            } else {
                v.to_string()
            }
        };
        let lines = (0..n).map(|i| {
            let cells: Vec<String> = cols[..features.len()].iter().map(|c| cell(c[i])).collect();
            cells.join(",") + "\n"
        });
        csv.extend(lines);
        crate::util::write(&t.path().join("rows.csv"), csv);
        // ONNX records no input names; the other formats are told from the
        // file, names included.
        let mut test = crate::util::modelgate(t.path())
            .arg("score")
            .arg(dir().join(file))
            .args(["--data", "rows.csv"]);
        if format == "onnx" {
            test = test.args(["--features", &features.join(",")]);
        }
        let out = test.run();
        let mut lines = out.stdout.lines();
        assert_eq!(lines.next(), Some("score"), "{file}");
        let got: Vec<f64> = lines.map(|l| l.parse().unwrap()).collect();
        let want = case["expected"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{file}");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            let b = b.as_f64().unwrap();
            assert!((a - b).abs() <= TOLERANCE, "{file} row {i}: {a} vs {b}");
        }
    }
}
