//! Gate engine speed (a benchmark, not a test): cold compile and cached load
//! of a built-in gate, instantiate + evaluate, and a raw-column gate over 1M
//! and 10M rows against the same loop in native Rust.
//!
//! Run: `cargo bench --bench gates` (builds gates/examples/column-stats for
//! wasm32-wasip2 first; needs `rustup target add wasm32-wasip2`).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use modelgate::config::{DEFAULT_GATE_MEMORY, GateSource, GateSpec, Severity};
use modelgate::data::Table;
use modelgate::gates::host::{DatasetView, ModelView, RunData};
use modelgate::gates::{self, GateEngine, builtin};
use polars::prelude::*;

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let v = f();
    (t.elapsed().as_secs_f64() * 1e3, v)
}

fn build_example() -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("gates/target");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "gate-column-stats",
            "--manifest-path",
        ])
        .arg(repo.join("gates/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        // Speed over size for this benchmark gate (the built-ins optimise for size).
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building gates/examples/column-stats failed"
    );
    target.join("wasm32-wasip2/release/gate_column_stats.wasm")
}

fn run_data(rows: usize) -> Arc<RunData> {
    // A float column with 1% missing values, deterministic.
    let values: Vec<Option<f64>> = (0..rows)
        .map(|i| {
            if i % 100 == 7 {
                None
            } else {
                Some((i % 1000) as f64 * 0.5)
            }
        })
        .collect();
    let frame = df!("x" => values).expect("frame");
    let model = ModelView {
        metrics: vec![
            ("rows".into(), Some(rows as f64)),
            ("positives".into(), Some(1.0)),
        ],
        roc: Vec::new(),
        pr: Vec::new(),
        scores: Arc::new(Vec::new()),
    };
    Arc::new(RunData {
        model: "bench".into(),
        candidate_id: "column:x".into(),
        production_id: None,
        label_column: "y".into(),
        id_column: None,
        score_columns: Vec::new(),
        candidate: model,
        production: None,
        labels: Arc::new(Vec::new()),
        holdout: DatasetView::new(Table::from_frame(frame), Vec::new()),
        reference: None,
        delta_tests: Default::default(),
        segments: Vec::new(),
        weight_column: None,
        confidence: 0.95,
        ks: Default::default(),
        rows_held: true,
        integrity: Default::default(),
    })
}

fn spec(uses: &str, source: GateSource, with: serde_json::Value) -> GateSpec {
    GateSpec {
        uses: uses.into(),
        source,
        id: None,
        severity: Severity::Fail,
        timeout: std::time::Duration::from_secs(60),
        memory: DEFAULT_GATE_MEMORY,
        with,
    }
}

#[expect(
    unsafe_code,
    reason = "set_var is unsafe in edition 2024; the bench points the compile cache at a temp dir"
)]
fn main() {
    let cache = tempfile::tempdir().expect("temp dir");
    // SAFETY: still single-threaded here; no other thread reads the environment yet.
    unsafe { std::env::set_var("MODELGATE_CACHE_DIR", cache.path()) };
    let engine = GateEngine::global().expect("engine");

    let drift = builtin::find("drift").expect("builtin");
    let (cold, _) = time(|| engine.load("drift", drift.bytes).expect("load"));
    let (warm, _) = time(|| engine.load("drift", drift.bytes).expect("load"));
    println!(
        "builtin:drift ({} KiB): cold compile {cold:.1} ms, cached load {warm:.2} ms",
        drift.bytes.len() / 1024
    );

    let small = run_data(1000);
    let cb = spec(
        "builtin:class-balance",
        GateSource::Builtin("class-balance".into()),
        serde_json::json!({"min_positives": 1}),
    );
    let prepared = gates::prepare(std::slice::from_ref(&cb)).expect("prepare");
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let (ms, r) = time(|| gates::run_all(&prepared, &small).expect("run"));
        assert_eq!(r[0].verdict, gates::Verdict::Pass, "{}", r[0].summary);
        best = best.min(ms);
    }
    println!("builtin:class-balance instantiate + evaluate: {best:.2} ms (best of 20)");

    let wasm = build_example();
    for rows in [1_000_000usize, 10_000_000] {
        let data = run_data(rows);
        let s = spec(
            "column-stats",
            GateSource::File(wasm.clone()),
            serde_json::json!({"column": "x", "min_mean": 0.0}),
        );
        let prepared = gates::prepare(std::slice::from_ref(&s)).expect("prepare");
        // First run also casts the column once on the host; report both.
        let (first, r) = time(|| gates::run_all(&prepared, &data).expect("run"));
        assert_eq!(r[0].verdict, gates::Verdict::Pass, "{}", r[0].summary);
        let (gate_ms, _) = time(|| gates::run_all(&prepared, &data).expect("run"));

        let column: Vec<f64> = data
            .holdout
            .table
            .column("x")
            .unwrap()
            .as_materialized_series()
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        let (native_ms, mean) = time(|| {
            let (mut n, mut sum, mut lo, mut hi, mut missing) =
                (0u64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY, 0u64);
            for x in std::hint::black_box(&column) {
                if x.is_nan() {
                    missing += 1;
                } else {
                    n += 1;
                    sum += x;
                    if *x < lo {
                        lo = *x;
                    }
                    if *x > hi {
                        hi = *x;
                    }
                }
            }
            std::hint::black_box((lo, hi, missing));
            sum / n as f64
        });
        println!(
            "column-stats over {rows} rows: gate {gate_ms:.1} ms (first run {first:.1} ms incl. host cast), \
             native {native_ms:.1} ms, ratio {:.2}x (mean {mean:.3})",
            gate_ms / native_ms
        );
    }
}
