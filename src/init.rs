//! `modelgate init`: a commented `modelgate.yaml` and the three workflows
//! (gate on pull requests, promote on main, deploy on dispatch). It never
//! overwrites a file without `--force`, and asks nothing unless stdin is a
//! terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::write_atomic;

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct InitSpec {
    pub dir: PathBuf,
    pub model: String,
    pub holdout: String,
    pub label: String,
    pub force: bool,
    /// Ask for the values above on a terminal.
    pub interactive: bool,
}

pub const WORKFLOWS: [(&str, &str); 3] = [
    (
        "modelgate-gate.yml",
        include_str!("../examples/workflows/evaluate-on-pr.yml"),
    ),
    (
        "modelgate-promote.yml",
        include_str!("../examples/workflows/promote-on-main.yml"),
    ),
    (
        "modelgate-deploy.yml",
        include_str!("../examples/workflows/deploy-on-dispatch.yml"),
    ),
];

/// The config template; `{MODEL}`, `{HOLDOUT}` and `{LABEL}` are filled in.
const CONFIG: &str = "\
# modelgate.yaml: the quality gate for `{MODEL}`.
# Reference: https://github.com/modelgate/modelgate#configuration-modelgateyaml
# Editor completion: `modelgate schema > modelgate.schema.json`, then point
# your YAML extension at it (yaml-language-server: $schema=modelgate.schema.json).
model: {MODEL}

holdout:                         # labelled data both models are scored on
  path: {HOLDOUT}                # .parquet, .csv, .csv.gz, .ndjson; relative to this file
  label: {LABEL}                 # 0/1 or true/false; `positive:` names another value
  # id: transaction_id           # names rows in errors; join key for score files

candidate:                       # the model to gate: the file you deploy
  onnx: { path: models/candidate.onnx }
  features: [amount, f01, f02]   # holdout columns in the model's input order
  # xgboost: { path: models/candidate.json }
  # lightgbm: { path: models/candidate.txt }
  # scores: { column: score_candidate }

production:
  registry: production           # whatever production currently is

metrics:
  threshold: { at_fpr: 0.01 }    # or a fixed score such as 0.5
  at_fpr: [0.001, 0.01]
  # What investigators can work: precision@k per day, recall and dollar
  # recall when each model raises only that many alerts (or { fraction: 0.005 }).
  # alert_budget: { per_day: 500, timestamp: event_time }

# What each error costs, for expected_cost, savings and the cost-optimal
# threshold (a missed fraud costs its amount with `holdout.amount`):
# cost: { false_positive: 2.5, false_negative: amount }

# Every metric and paired test per market, merchant type or amount band;
# the reports list the weakest segments.
# segments:
#   - column: country
#   - column: merchant_category
#   - column: amount
#     bins: [0, 50, 500, .inf]

registry:
  kind: local                    # `github` in CI: releases and tags of this repository

lineage:
  training_data: data/train.parquet   # hashed and profiled into every version
  # params: params.json

promote:
  dispatch: { event_type: model-promoted }
  # webhooks:
  #   - url: https://deploy.example.com/hooks/modelgate
  #     secret_env: DEPLOY_WEBHOOK_SECRET

gates:
  - uses: builtin:missing-values
    with: { max_ratio: 0.01 }
  - uses: builtin:class-balance
    with: { min_rate: 0.001, max_rate: 0.05 }
  - uses: builtin:drift
    severity: warn
  # Can the holdout be trusted: duplicates, overlap with `reference:` (point
  # it at the training set), leaked features, implausible AUCs.
  # - uses: builtin:integrity
  #   with: { max_feature_auc: 0.99, max_auc_gain: 0.1 }
  # No segment with at least 30 frauds worse by more than 0.02 AUC
  # (Holm-adjusted non-inferiority; needs `segments:`).
  # - uses: builtin:segment-regression
  #   with: { metric: roc_auc, margin: 0.02 }
  - uses: builtin:metric-threshold
    with: { min: { roc_auc: 0.9 } }
  - uses: builtin:champion-challenger
    with:
      metrics:
        average_precision: { min_absolute_change: 0.005 }
        roc_auc: { max_p_value: 0.05 }       # significantly better (DeLong)
";

/// The files `init` writes, relative to its directory, with their text.
pub fn files(spec: &InitSpec) -> Vec<(PathBuf, String)> {
    let config = CONFIG
        .replace("{MODEL}", &spec.model)
        .replace("{HOLDOUT}", &spec.holdout)
        .replace("{LABEL}", &spec.label);
    let mut out = vec![(PathBuf::from("modelgate.yaml"), config)];
    for (name, text) in WORKFLOWS {
        out.push((Path::new(".github/workflows").join(name), text.to_string()));
    }
    out
}

fn ask(label: &str, default: &str) -> Result<String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{label} [{default}]: ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read", "stdin", e))?;
    let v = line.trim();
    Ok(if v.is_empty() {
        default.to_string()
    } else {
        v.to_string()
    })
}

/// Writes the scaffold; returns the files written.
pub fn run(mut spec: InitSpec) -> Result<Vec<PathBuf>> {
    if spec.interactive && std::io::stdin().is_terminal() {
        spec.model = ask("model name", &spec.model)?;
        spec.holdout = ask("holdout file", &spec.holdout)?;
        spec.label = ask("label column", &spec.label)?;
    }
    let files = files(&spec);
    if !spec.force {
        let existing: Vec<String> = files
            .iter()
            .map(|(p, _)| spec.dir.join(p))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage(format!(
                "init: {} already exist(s): {}; nothing was written (use --force to overwrite)",
                existing.len(),
                existing.join(", ")
            )));
        }
    }
    let mut written = Vec::new();
    for (path, text) in files {
        let full = spec.dir.join(&path);
        write_atomic(&full, text.as_bytes())?;
        written.push(full);
    }
    Ok(written)
}
