//! Tree-ensemble scoring speed (a benchmark, not a test): 200k rows through
//! a 100-tree depth-8 random forest (ONNX) and 300-tree XGBoost and
//! LightGBM models (native files and their ONNX exports), against
//! onnxruntime and the native libraries, single-threaded and on all cores.
//!
//! Run:
//!   .venv/bin/python tests/reference/bench_models.py target/bench-models
//!   MODELGATE_BENCH_MODELS=target/bench-models cargo bench --bench models
//!
//! The Python script trains the models and records its own timings; the
//! rows come from the same SplitMix64 generator on both sides.

use std::path::Path;
use std::time::Instant;

use modelgate::config::ArtifactFormat;
use modelgate::model::Loaded;
use serde_json::Value;

const REPEAT: usize = 5;

#[path = "../tests/splitmix.rs"]
mod splitmix;

/// make_models.py's `rows(seed, n, True)`, first 7 columns.
fn rows(seed: u64, n: usize) -> Vec<Vec<f64>> {
    let mut cols = splitmix::rows(seed, n, true);
    cols.truncate(7);
    cols
}

fn best(f: &mut dyn FnMut()) -> f64 {
    (0..REPEAT)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let Some(dir) = std::env::var_os("MODELGATE_BENCH_MODELS") else {
        eprintln!(
            "set MODELGATE_BENCH_MODELS to the output of tests/reference/bench_models.py (see benches/models.rs)"
        );
        return;
    };
    let dir = Path::new(&dir);
    let timings: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("timings.json")).expect("timings.json"),
    )
    .unwrap();
    let n = timings["rows"].as_u64().unwrap() as usize;
    let cols = rows(timings["seed"].as_u64().unwrap(), n);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    println!("{n} rows, best of {REPEAT}; reference timings from the Python script (1 thread)\n");
    println!(
        "{:<10} {:>12} {:>12} {:>14} {:>12}  ratio (reference / modelgate 1 thread)",
        "model", "mg 1 thread", "mg all", "reference", "ref time"
    );
    for (file, format, reference) in [
        ("rf.onnx", ArtifactFormat::Onnx, ("rf.onnx", "onnxruntime")),
        ("xgb.json", ArtifactFormat::Xgboost, ("xgb.json", "xgboost")),
        (
            "xgb.onnx",
            ArtifactFormat::Onnx,
            ("xgb.json", "onnxruntime"),
        ),
        (
            "lgbm.txt",
            ArtifactFormat::Lightgbm,
            ("lgbm.txt", "lightgbm"),
        ),
        (
            "lgbm.onnx",
            ArtifactFormat::Onnx,
            ("lgbm.txt", "onnxruntime"),
        ),
    ] {
        let model = Loaded::load(format, &dir.join(file)).expect("model loads");
        let score = || -> Vec<f64> {
            match &model {
                Loaded::Trees(f) => f.predict(&cols),
                Loaded::Onnx(m) => m.predict(&cols).unwrap(),
                Loaded::Linear(_) => unreachable!("benchmarks use tree models"),
            }
        };
        let single = one.install(|| best(&mut || drop(score())));
        let all = best(&mut || drop(score()));
        let r = timings[reference.0][reference.1].as_f64().unwrap();
        println!(
            "{file:<10} {:>10.1}ms {:>10.1}ms {:>14} {:>10.1}ms  {:.2}x",
            single * 1e3,
            all * 1e3,
            reference.1,
            r * 1e3,
            r / single
        );
    }
}
