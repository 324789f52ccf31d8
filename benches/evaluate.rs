//! Speed of the metrics and of `evaluate` end to end (a benchmark, not a
//! test). Run with `cargo bench --bench evaluate` (add `-- --rows N` to
//! change the large size). It prints wall times; the sort shared by every
//! curve metric is timed on its own so its share is visible, and so are
//! the streaming tier's column reads and profiles. Like the other benches
//! it times with `best_of` rather than criterion: a dev-dependency is
//! built for every `cargo test`, and these figures need no statistics
//! beyond the best of a few runs.

use std::time::Instant;

use modelgate::config::{Config, DataFormat, MetricsSpec, StatsSpec};
use modelgate::data::{Table, profile};
use modelgate::demo::DemoData;
use modelgate::integrity;
use modelgate::metrics::{self, Sweep};
use modelgate::stats::bootstrap;
use polars::prelude::*;

/// A config over `demo data` output: the two score columns as models.
const DEMO_CONFIG: &str = "\
# Over `modelgate demo data` output. Paths are relative to this file.
model: fraud-detector
holdout:
  path: holdout.parquet
  label: is_fraud
  id: transaction_id
  amount: amount
candidate:
  scores: { column: score_candidate }
production:
  scores: { column: score_production }
metrics:
  threshold: 0.5
  at_fpr: [0.001, 0.01]
";

/// The six built-in gates, added to [`DEMO_CONFIG`] for the `run` benchmark.
const DEMO_GATES: &str = "\
reference:
  path: reference/holdout.parquet
gates:
  - uses: builtin:missing-values
    with: { max_ratio: 0.01 }
  - uses: builtin:schema
    with:
      columns:
        amount: { dtype: numeric, min: 0 }
        merchant_category: { dtype: str }
        country: { dtype: str }
  - uses: builtin:class-balance
    with: { min_rate: 0.001, max_rate: 0.05, min_positives: 100 }
  - uses: builtin:drift
    severity: warn
  - uses: builtin:metric-threshold
    with: { min: { roc_auc: 0.9, \"recall_at_fpr[0.01]\": 0.4 } }
  - uses: builtin:champion-challenger
    with: { metrics: { average_precision: { min_absolute_change: 0.005 }, log_loss: {} } }
";

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(v);
    }
    (best, last.expect("runs >= 1"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let large: u64 = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("threads: {}", rayon::current_num_threads());

    for rows in [1_000_000, large] {
        let data = DemoData::new(rows, 7);
        let (gen_s, path) = best_of(1, || data.write(dir.path()).expect("write demo data"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "\n== {rows} rows: generated in {gen_s:.2} s ({:.1} MiB parquet)",
            size as f64 / 1048576.0
        );

        let df =
            LazyFrame::scan_parquet(PlRefPath::try_from_path(&path).unwrap(), Default::default())
                .unwrap()
                .select([
                    col("is_fraud"),
                    col("score_candidate"),
                    col("score_production"),
                ])
                .collect()
                .unwrap();
        let labels: Vec<bool> = df
            .column("is_fraud")
            .unwrap()
            .as_materialized_series()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .map(|v| v == 1)
            .collect();
        let column = |name: &str| -> Vec<f64> {
            df.column(name)
                .unwrap()
                .as_materialized_series()
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect()
        };
        let scores = column("score_candidate");
        let production = column("score_production");

        let (sort_s, _) = best_of(3, || Sweep::new(&scores, &labels));
        let spec = MetricsSpec::default();
        let (metrics_s, _) = best_of(3, || metrics::evaluate(&scores, &labels, &spec).unwrap());
        println!("sort + sweep, one model:        {:>8.1} ms", sort_s * 1e3);
        println!(
            "all metrics, one model:         {:>8.1} ms",
            metrics_s * 1e3
        );

        let stats = StatsSpec::default();
        let (boot_s, _) = best_of(1, || {
            bootstrap::run(
                &scores,
                Some(&production),
                &labels,
                &Default::default(),
                &spec,
                &stats,
                None,
            )
            .unwrap()
        });
        println!(
            "paired bootstrap, {} resamples, both models, every rate metric: {:>8.1} ms",
            stats.resamples,
            boot_s * 1e3
        );

        let (read_s, _) = best_of(3, || {
            LazyFrame::scan_parquet(PlRefPath::try_from_path(&path).unwrap(), Default::default())
                .unwrap()
                .select([
                    col("transaction_id"),
                    col("amount"),
                    col("is_fraud"),
                    col("score_candidate"),
                    col("score_production"),
                ])
                .collect()
                .unwrap()
        });
        println!("polars read of the 5 columns:   {:>8.1} ms", read_s * 1e3);

        let cfg_path = dir.path().join("modelgate.yaml");
        std::fs::write(&cfg_path, DEMO_CONFIG).unwrap();
        let config = Config::load(&cfg_path).unwrap();
        let (eval_s, eval) = best_of(3, || modelgate::evaluation::evaluate(&config).unwrap());
        println!(
            "evaluate end to end (2 models): {:>8.1} ms  (load {:.1}, score {:.1}, metrics {:.1}, bootstrap {:.1})",
            eval_s * 1e3,
            eval.timings_ms.load,
            eval.timings_ms.score,
            eval.timings_ms.metrics,
            eval.timings_ms.bootstrap
        );

        // `run` with the demo's six built-in gates and a reference dataset.
        DemoData::new(rows, 8)
            .write(&dir.path().join("reference"))
            .expect("write reference");
        std::fs::write(&cfg_path, format!("{}{}", DEMO_CONFIG, DEMO_GATES)).unwrap();
        let config = Config::load(&cfg_path).unwrap();
        let (run_s, d) = best_of(1, || modelgate::decision::run(&config).unwrap());
        println!(
            "run with 6 built-in gates:      {:>8.1} ms  (evaluate {:.1}, profile {:.1}, gates {:.1}); decision {:?}",
            run_s * 1e3,
            d.timings_ms.evaluate,
            d.timings_ms.profile,
            d.timings_ms.gates,
            d.decision
        );

        // The integrity facts `builtin:integrity` reads: every value of both
        // datasets hashed, and one sort per numeric feature of the holdout,
        // the columns read from the files as a run reads them.
        let open = |p: &std::path::Path| Table::open(p, DataFormat::Parquet).unwrap();
        let holdout = open(&path);
        let reference = open(&dir.path().join("reference").join("holdout.parquet"));
        let scores = [
            "score_candidate".to_string(),
            "score_production".to_string(),
        ];
        let roles = integrity::Roles {
            label: "is_fraud",
            id: Some("transaction_id"),
            scores: &scores,
            weight: None,
        };
        let (integrity_s, facts) = best_of(1, || {
            integrity::compute(&holdout, &labels, roles, Some(&reference)).unwrap()
        });
        println!(
            "integrity facts:                {:>8.1} ms  ({} columns hashed on each side, {} feature AUCs; {} duplicate rows, {} shared)",
            integrity_s * 1e3,
            facts.row_columns.len(),
            facts.feature_aucs.len(),
            facts.duplicate_rows,
            facts.overlap.map_or(0, |o| o.shared_rows)
        );

        // The streaming tier's pieces: one column read from each file as
        // the profiles read it, the profile (with the KS test) of that
        // column pair (float32, a crowded float64, text), and the profiles
        // of every column of both files, read one column pair at a time.
        let read_one = |t: &Table, name: &str| Table::from_frame(t.frame(&[name.into()]).unwrap());
        for name in ["f01", "score_candidate", "country"] {
            let (read_s, (h, r)) =
                best_of(3, || (read_one(&holdout, name), read_one(&reference, name)));
            let (profile_s, _) = best_of(3, || profile::profile(&h, Some(&r), true).unwrap());
            println!(
                "{name:<16} read {:>7.1} ms, profiled {:>7.1} ms ({:.1} ns a value)",
                read_s * 1e3,
                profile_s * 1e3,
                profile_s * 1e9 / (2 * rows) as f64
            );
        }
        let (all_s, all) = best_of(1, || {
            profile::profile(&holdout, Some(&reference), true).unwrap()
        });
        println!(
            "profiles of both files:         {:>8.1} ms  ({} columns, {} KS tests)",
            all_s * 1e3,
            all.holdout.len(),
            all.ks.len()
        );
    }
}
