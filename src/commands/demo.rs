//! `modelgate demo`: the product's story end to end on a local registry,
//! with no network and no token, told by calling the commands themselves;
//! and `modelgate demo data`, the seeded holdout on its own.
//!
//! 1. Train Model 1 on clean data and promote it: the first production.
//! 2. Train Model 2 on data with missing values injected. The gates reject
//!    it; it is registered for the audit trail, and its lineage names the
//!    columns with missing values.
//! 3. Train Model 3 on clean data with more features. It beats production,
//!    is promoted, and the deploy payloads are printed, not sent.
//! 4. Print the promotion history.

use std::io::Write;
use std::path::Path;

use super::{ExitStatus, RegistryQuery, evidence, out_err};
use crate::config::Config;
use crate::demo::{DemoData, feature_name};
use crate::error::{Error, Result};
use crate::fs::write_atomic;
use crate::model::linear::TrainParams;
use crate::promote::{self, Status};
use crate::registry::Bump;
use crate::report::Format;
use crate::train::{self, TrainSpec};

/// Where and how big the demo is.
#[derive(Debug)]
pub struct DemoRun {
    pub dir: std::path::PathBuf,
    pub rows: u64,
    pub seed: u64,
}

/// `modelgate demo data`: writes the seeded holdout.
pub fn demo_data(data: &DemoData, out: &Path, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let path = data.write(out)?;
    writeln!(
        stdout,
        "wrote {} ({} rows, seed {})",
        path.display(),
        data.rows,
        data.seed
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}

/// The config each step writes; `{N}` is the model number.
const STORY_CONFIG: &str = "\
# Written by `modelgate demo` for model {N}. Paths are relative to this file.
model: fraud-detector
holdout:
  path: holdout/holdout.parquet
  label: is_fraud
  id: transaction_id
  amount: amount
candidate:
  linfa: { path: models/model-{N}.linfa.json }
production:
  registry: production
metrics:
  threshold: { at_fpr: 0.01 }
  at_fpr: [0.001, 0.01]
  alert_budget: { per_day: 100, timestamp: event_time }   # what investigators can work
segments:
  - column: country
  - column: merchant_category
  - column: amount
    bins: [0, 50, 500, .inf]
registry:
  kind: local
  path: registry
lineage:
  training_data: train-{N}/holdout.parquet
promote:
  dispatch: { event_type: model-promoted }
  webhooks:
    - url: https://deploy.example.com/hooks/modelgate
      secret_env: DEPLOY_WEBHOOK_SECRET
gates:
  - uses: builtin:missing-values
    with: { max_ratio: 0.01 }
  - uses: builtin:schema
    with:
      columns:
        amount: { dtype: numeric, min: 0 }
        merchant_category: { dtype: str }
  - uses: builtin:class-balance
    with: { min_rate: 0.001, max_rate: 0.05, min_positives: 100 }
  - uses: builtin:drift
    severity: warn
  - uses: builtin:metric-threshold
    with: { min: { roc_auc: 0.8 } }
  - uses: builtin:champion-challenger
    with:
      metrics:
        average_precision: { min_absolute_change: 0.005 }
        roc_auc: { max_p_value: 0.05 }   # significantly better, by DeLong's test
  - uses: builtin:segment-regression     # no market or merchant type shown worse
    with: { margin: 0.02, on_insufficient_evidence: warn }
";

/// Per model: features, and the columns blanked in its training data.
struct Step {
    features: usize,
    missing: &'static [(&'static str, f64)],
    title: &'static str,
}

const STEPS: [Step; 3] = [
    Step {
        features: 4,
        missing: &[],
        title: "Model 1: 4 features, clean training data → the first production model",
    },
    Step {
        features: 10,
        missing: &[("f01", 0.35), ("f02", 0.30), ("f03", 0.25)],
        title: "Model 2: 10 features, but its training data lost values in f01-f03",
    },
    Step {
        features: 10,
        missing: &[],
        title: "Model 3: 10 features, clean training data",
    },
];

fn say(stdout: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(stdout, "{text}").map_err(out_err)
}

pub fn demo(run: &DemoRun, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let dir = &run.dir;
    // The demo owns its directory: start each story from an empty registry.
    let registry = dir.join("registry");
    if registry.exists() {
        std::fs::remove_dir_all(&registry).map_err(|e| Error::io("cannot reset", &registry, e))?;
    }
    let holdout = DemoData::new(run.rows, run.seed).write(&dir.join("holdout"))?;
    say(
        stdout,
        &format!(
            "modelgate demo: {} holdout rows (seed {}) in {}; registry {}\n",
            run.rows,
            run.seed,
            holdout.display(),
            registry.display()
        ),
    )?;

    for (i, step) in STEPS.iter().enumerate() {
        let n = i + 1;
        say(stdout, &format!("━━ {}", step.title))?;
        let mut data = DemoData::new(run.rows, run.seed.wrapping_add(n as u64));
        data.missing = step
            .missing
            .iter()
            .map(|(c, r)| (c.to_string(), *r))
            .collect();
        let train_path = data.write(&dir.join(format!("train-{n}")))?;
        let model_path = dir.join(format!("models/model-{n}.linfa.json"));
        let t0 = std::time::Instant::now();
        let model = train::train(&TrainSpec {
            data: train_path,
            label: "is_fraud".into(),
            positive: None,
            features: (1..=step.features).map(feature_name).collect(),
            exclude: Vec::new(),
            params: TrainParams::default(),
        })?;
        train::write(&model, &model_path)?;
        say(
            stdout,
            &format!(
                "   $ modelgate train --data train-{n}/holdout.parquet --label is_fraud --features f01..f{:02} --out models/model-{n}.linfa.json\n   trained in {:.2}s; {} missing training values imputed",
                step.features,
                t0.elapsed().as_secs_f64(),
                model.training.missing.iter().map(|m| m.1).sum::<u64>()
            ),
        )?;
        let config_path = dir.join(format!("model-{n}.yaml"));
        write_atomic(
            &config_path,
            STORY_CONFIG.replace("{N}", &n.to_string()).as_bytes(),
        )?;

        say(
            stdout,
            &format!("   $ modelgate promote --config model-{n}.yaml --print-triggers\n"),
        )?;
        let options = promote::Options {
            dry_run: false,
            version: None,
            bump: Bump::Minor,
            model_file: None,
            print_triggers: true,
            attestation: None,
        };
        let report = promote::promote(Config::load(&config_path)?, &options, &evidence)?;
        if let Some(d) = &report.decision {
            say(stdout, &crate::report::decision_brief(d))?;
        }
        say(
            stdout,
            &crate::report::registry::outcome(&report, Format::Text)?,
        )?;

        if report.status == Status::Blocked {
            say(
                stdout,
                &format!(
                    "\n   The candidate is kept out of production. Register it anyway, for the audit trail:\n   $ modelgate register --config model-{n}.yaml\n"
                ),
            )?;
            let r = promote::register(Config::load(&config_path)?, &options, &evidence)?;
            let version = r
                .version
                .as_ref()
                .map(|v| v.version.clone())
                .unwrap_or_default();
            say(
                stdout,
                &format!(
                    "   registered {version} (decision: fail)\n\n   Why? Its lineage names the data problem:\n   $ modelgate lineage fraud-detector@{version} --config model-{n}.yaml\n"
                ),
            )?;
            super::lineage(
                &RegistryQuery {
                    model: Some("fraud-detector".into()),
                    config: config_path.clone(),
                    format: Format::Text,
                },
                crate::registry::Version::parse(&version),
                stdout,
            )?;
        }
        say(stdout, "")?;
    }

    say(
        stdout,
        "━━ The production alias, with every move kept:\n   $ modelgate history fraud-detector\n",
    )?;
    let config_path = dir.join("model-3.yaml");
    super::history(
        &RegistryQuery {
            model: Some("fraud-detector".into()),
            config: config_path.clone(),
            format: Format::Text,
        },
        stdout,
    )?;
    say(
        stdout,
        &format!(
            "\nRepeat any step with the configs in {}; `modelgate show fraud-detector --config {}` lists the versions.",
            dir.display(),
            Path::new(&config_path).display()
        ),
    )?;
    Ok(ExitStatus::Success)
}
