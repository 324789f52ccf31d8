//! Entry points for fuzzing: each takes arbitrary bytes and drives one
//! parser the way a run would, from the file on disk to the values a gate
//! or a metric sees, and says whether the input was accepted. A result,
//! error or not, is fine; a panic, a hang or
//! unbounded memory is a bug. `fuzz/` wraps each one in a libFuzzer target
//! (`cargo fuzz run <name>`), and the integration tests replay the seed
//! corpus in `fuzz/corpus/` and a seeded mutation pass over it in every CI
//! run, so the targets cannot rot between fuzzing sessions.

use std::path::Path;

use crate::config::{ArtifactFormat, Config, DataFormat, HoldoutSpec};
use crate::data::{self, Columns, profile};
use crate::model::Loaded;

/// A target: whether the input was accepted.
pub type Target = fn(&[u8]) -> bool;

/// Every target, by the name its corpus folder and libFuzzer binary use.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config),
    ("csv", csv),
    ("ndjson", ndjson),
    ("xgboost", xgboost),
    ("lightgbm", lightgbm),
    ("onnx", onnx),
    ("gate_outcome", gate_outcome),
];

/// Parses and validates a config, as `modelgate run` reads it.
pub fn config(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes)
        .is_ok_and(|text| Config::parse(Path::new("fuzz/modelgate.yaml"), text).is_ok())
}

/// A CSV holdout through loading, labels, scores, features and profiles.
pub fn csv(bytes: &[u8]) -> bool {
    holdout(bytes, "holdout.csv", DataFormat::Csv)
}

/// An NDJSON holdout, as [`csv`].
pub fn ndjson(bytes: &[u8]) -> bool {
    holdout(bytes, "holdout.ndjson", DataFormat::NdJson)
}

/// Whether the file loads as a holdout (its first column the label).
fn holdout(bytes: &[u8], name: &str, format: DataFormat) -> bool {
    let Some((_dir, path)) = on_disk(bytes, name) else {
        return false;
    };
    // The first column is the label and every other one a model input, so
    // each column goes through every reader a run can apply.
    let Ok(all) = data::read_columns(&path, format, &[], Columns::All) else {
        return false;
    };
    let names: Vec<String> = all
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let Some((label, inputs)) = names.split_first() else {
        return false;
    };
    let spec = HoldoutSpec {
        path: path.clone(),
        format,
        summary: false,
        label: label.clone(),
        id: None,
        amount: None,
        weight: None,
        positive: None,
    };
    let (frame, accepted) = match data::load_holdout(&spec, inputs, &[], Columns::All) {
        Ok(h) => {
            for name in inputs {
                let _ = h.score_column(name);
                let _ = data::feature_column(&path, &h.frame, name);
            }
            (h.frame, true)
        }
        Err(_) => (all, false),
    };
    let _ = profile::profile(
        &data::Table::from_frame(frame.clone()),
        Some(&data::Table::from_frame(frame)),
        true,
    );
    accepted
}

/// An XGBoost model, JSON or UBJ (told apart by content, as a run does),
/// loaded and scored.
pub fn xgboost(bytes: &[u8]) -> bool {
    model(bytes, "model.json", ArtifactFormat::Xgboost)
}

/// A LightGBM text model, loaded and scored.
pub fn lightgbm(bytes: &[u8]) -> bool {
    model(bytes, "model.txt", ArtifactFormat::Lightgbm)
}

/// An ONNX model, loaded and scored (tree ensembles natively, the rest on
/// tract).
pub fn onnx(bytes: &[u8]) -> bool {
    model(bytes, "model.onnx", ArtifactFormat::Onnx)
}

/// Inputs a model meets in a holdout: missing, zero, negative, huge,
/// fractional, and small integers that categorical splits read.
const PROBES: [f64; 8] = [f64::NAN, 0.0, -1.0, 1.0, 1e30, -1e30, 0.5, 3.0];

/// The most inputs scored: a model that declares more is only loaded.
const MAX_SCORED_INPUTS: usize = 4096;

/// Whether the file loads as a model and scores the probes.
fn model(bytes: &[u8], name: &str, format: ArtifactFormat) -> bool {
    let Some((_dir, path)) = on_disk(bytes, name) else {
        return false;
    };
    let Ok(loaded) = Loaded::load(format, &path) else {
        return false;
    };
    let n = match &loaded {
        Loaded::Trees(f) => f.n_features,
        Loaded::Onnx(m) => m.n_inputs(),
        Loaded::Linear(m) => m.features.len(),
    };
    if n > MAX_SCORED_INPUTS {
        return true;
    }
    // Row r of column c takes probe (r + c) mod 8, so each column sees each
    // probe and neighbouring columns differ.
    let columns: Vec<Vec<f64>> = (0..n)
        .map(|c| {
            (0..PROBES.len())
                .map(|r| PROBES[(r + c) % PROBES.len()])
                .collect()
        })
        .collect();
    match &loaded {
        Loaded::Trees(f) => f.predict(&columns).len() == PROBES.len(),
        Loaded::Onnx(m) => m.predict(&columns).is_ok_and(|s| s.len() == PROBES.len()),
        Loaded::Linear(_) => true,
    }
}

/// What a gate returns, checked as the host checks it: built from the
/// bytes, so lengths, counts and text are the fuzzer's choice.
pub fn gate_outcome(bytes: &[u8]) -> bool {
    crate::gates::fuzz_outcome(bytes)
}

/// The bytes in a file of their own, as a run would find them.
fn on_disk(bytes: &[u8], name: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).ok()?;
    Some((dir, path))
}
