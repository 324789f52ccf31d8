//! The decision: evaluate, profile the data, run every gate, and decide.
//! Promotion is blocked by any `fail` of a `severity: fail` gate and by any
//! gate `error`, whatever its severity: a gate that could not decide fails
//! closed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use polars::prelude::DataFrame;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::data::{self, profile};
use crate::error::{Error, Result};
use crate::evaluation::{self, Evaluation};
use crate::gates::host::{DatasetView, ModelView, RunData};
use crate::gates::{self, GateResult, Verdict};

pub const SCHEMA: &str = "modelgate.decision/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

/// The `modelgate.decision/v1` document.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub schema: &'static str,
    pub model: String,
    pub decision: Outcome,
    /// Ids of the gates that block promotion.
    pub blocking: Vec<String>,
    pub summary: String,
    pub gates: Vec<GateResult>,
    pub evaluation: Evaluation,
    /// What the decision was made from, by digest; each gate's component
    /// digest is in its result.
    pub inputs: Inputs,
    pub timings_ms: DecisionTimings,
}

/// The files and settings a decision was made from, so an auditor can
/// check that what they hold is what was judged, and run it again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The modelgate that decided.
    pub modelgate: String,
    pub config: Option<FileDigest>,
    pub holdout: Option<FileDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<FileDigest>,
    /// The candidate's model file, or the file its scores come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<FileDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<FileDigest>,
    /// The bootstrap's seed and resamples and the intervals' level: with
    /// the files, everything a replay needs to give the same numbers.
    pub seed: u64,
    pub bootstrap: u32,
    pub confidence: f64,
}

/// A file, as named in the config, and the sha256 of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    pub path: String,
    pub sha256: String,
}

impl Inputs {
    /// Hashes the files the config names.
    pub fn of(config: &Config) -> Result<Inputs> {
        use crate::config::{ModelRef, ScoreSource};
        let digest = |path: &std::path::Path| -> Result<FileDigest> {
            Ok(FileDigest {
                path: path.display().to_string(),
                sha256: data::file_sha256(path)?,
            })
        };
        let model = |m: &ModelRef| -> Result<Option<FileDigest>> {
            match m {
                ModelRef::Artifact(a) => digest(&a.path).map(Some),
                ModelRef::Scores(ScoreSource::File { path, .. }) => digest(path).map(Some),
                ModelRef::Scores(ScoreSource::Column(_)) | ModelRef::Registry { .. } => Ok(None),
            }
        };
        // The holdout and its reference, the large files, are hashed
        // together (see `data::files_sha256`).
        let reference = config.reference.as_ref().map(|r| r.path.as_path());
        let data_files: Vec<&std::path::Path> = (!config.holdout.summary)
            .then_some(config.holdout.path.as_path())
            .into_iter()
            .chain(reference)
            .collect();
        let mut digests =
            data_files
                .iter()
                .zip(data::files_sha256(&data_files)?)
                .map(|(path, sha256)| FileDigest {
                    path: path.display().to_string(),
                    sha256,
                });
        let holdout = if config.holdout.summary {
            FileDigest {
                path: config.holdout.path.display().to_string(),
                sha256: data::summary::Summary::digest(&config.holdout.path)?,
            }
        } else {
            digests.next().expect("the holdout was hashed")
        };
        Ok(Inputs {
            modelgate: env!("CARGO_PKG_VERSION").to_string(),
            config: digest(&config.file).ok(),
            holdout: Some(holdout),
            reference: digests.next(),
            candidate: model(&config.candidate)?,
            production: config.production.as_ref().map(model).transpose()?.flatten(),
            seed: config.stats.seed,
            bootstrap: config.stats.resamples,
            confidence: config.stats.confidence,
        })
    }
}

/// `decision.json` read back, by `verify` and the attestation: the fields
/// they check, typed; everything else is kept as JSON for the replay's
/// comparison.
#[derive(Debug, Clone, Deserialize)]
pub struct Recorded {
    pub schema: String,
    pub model: String,
    pub decision: Outcome,
    pub gates: Vec<RecordedGate>,
    /// `None` in decisions made before modelgate recorded its inputs.
    #[serde(default)]
    pub inputs: Option<Inputs>,
}

/// One gate's result as recorded: which component decided what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedGate {
    pub id: String,
    pub uses: String,
    pub verdict: Verdict,
    pub sha256: String,
}

impl Recorded {
    /// Reads a `modelgate.decision/v1` document; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Recorded> {
        let r: Recorded = serde_json::from_slice(bytes).map_err(|e| Error::Evidence {
            what: what.to_string(),
            message: format!("not a modelgate decision record: {e}"),
        })?;
        if r.schema != SCHEMA {
            return Err(Error::Evidence {
                what: what.to_string(),
                message: format!("schema is `{}`, expected `{SCHEMA}`", r.schema),
            });
        }
        Ok(r)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionTimings {
    pub evaluate: f64,
    pub profile: f64,
    pub gates: f64,
    pub total: f64,
}

impl Decision {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            what: "the decision",
            source,
        })
    }
}

/// Decides from gate results: pass unless something blocks.
pub fn decide(
    model: String,
    evaluation: Evaluation,
    gates: Vec<GateResult>,
    timings: DecisionTimings,
) -> Decision {
    let blocking: Vec<String> = gates
        .iter()
        .filter(|g| g.blocking)
        .map(|g| g.id.clone())
        .collect();
    let count = |v: Verdict| gates.iter().filter(|g| g.verdict == v).count();
    let summary = format!(
        "{} gates: {} passed, {} warned, {} failed, {} errors",
        gates.len(),
        count(Verdict::Pass),
        count(Verdict::Warn),
        count(Verdict::Fail),
        count(Verdict::Error)
    );
    Decision {
        schema: SCHEMA,
        model,
        decision: if blocking.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        blocking,
        summary,
        gates,
        evaluation,
        inputs: Inputs::default(),
        timings_ms: timings,
    }
}

/// A gate's bad `with:` setting as a config error at its line.
fn settings_error(config: &Config, bad: gates::BadSettings) -> Error {
    use crate::config::Step;
    let mut path = vec![
        Step::Key("gates".into()),
        Step::Index(bad.index),
        Step::Key("with".into()),
    ];
    path.extend(bad.violation.path.iter().cloned());
    // A missing key or an absent `with:` points at the nearest enclosing
    // value that is written down, at worst the gate's entry.
    let text = std::fs::read_to_string(&config.file).unwrap_or_default();
    let (line, column) = (2..=path.len())
        .rev()
        .find_map(|n| crate::config::locate(&text, &path[..n]))
        .unzip();
    let key: String = bad.violation.path.iter().map(ToString::to_string).collect();
    Error::Config {
        file: config.file.clone(),
        line,
        column,
        message: format!("gate `{}`: with{key}: {}", bad.id, bad.violation.message),
    }
}

/// Refuses, at the gate's entry, a gate that takes the integrity facts
/// when the holdout is a summary: they are facts about rows (duplicates,
/// leaks), which a summary does not hold. A gate's other row reads fail
/// when made ([`crate::gates::host::NO_ROWS`]), which fails the gate
/// closed; a gate may read rows only for some settings.
fn refuse_integrity_gates(config: &Config, prepared: &[gates::PreparedGate]) -> Result<()> {
    use crate::config::Step;
    for (index, gate) in prepared.iter().enumerate() {
        let function = "integrity";
        if !gate.calls(function) {
            continue;
        }
        let text = std::fs::read_to_string(&config.file).unwrap_or_default();
        let path = [Step::Key("gates".into()), Step::Index(index)];
        let (line, column) = crate::config::locate(&text, &path).unzip();
        return Err(Error::Config {
            file: config.file.clone(),
            line,
            column,
            message: format!(
                "gates[{index}] (`{}`) reads holdout rows (it imports `{function}`), which holdout.summary does not hold; use gates that read profiles, metrics and tests, or evaluate the holdout file",
                config.gates[index].uses
            ),
        });
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Holdout and reference rows (together) up to which the data is profiled
/// while the holdout is scored. Beside a small evaluation the profiles
/// fill a core it leaves idle: at 2.5M + 2.5M rows the run took 6% less
/// wall time for 4% more CPU. A large evaluation keeps both cores busy
/// itself (two models and the hashes): at 10M + 10M profiling beside it
/// saved no wall time and cost 1 CPU-second and 350 MB more, its pages
/// faulted in fresh on top of the sweeps'.
const CONCURRENT_ROWS: usize = 6_000_000;

/// The holdout and reference tables to profile beside the evaluation:
/// Parquet files only (a row format is read whole when opened); none for a
/// summary, without gates, or when a file cannot be opened (the
/// evaluation, which reads the same files, reports that).
fn tables(config: &Config) -> Option<(data::Table, Option<data::Table>)> {
    let parquet = |f: crate::config::DataFormat| f == crate::config::DataFormat::Parquet;
    if config.holdout.summary
        || config.gates.is_empty()
        || !parquet(config.holdout.format)
        || config
            .reference
            .as_ref()
            .is_some_and(|r| !parquet(r.format))
    {
        return None;
    }
    let holdout = data::Table::open(&config.holdout.path, config.holdout.format).ok()?;
    let reference = match &config.reference {
        Some(r) => Some(data::Table::open(&r.path, r.format).ok()?),
        None => None,
    };
    Some((holdout, reference))
}

/// Evaluates, runs the configured gates and decides.
pub fn run(config: &Config) -> Result<Decision> {
    // Gates load and their settings are checked first: a typo in `with:`
    // is reported in a second, not after scoring a large holdout.
    let prepared = gates::prepare(&config.gates)?;
    gates::check_settings(&prepared).map_err(|bad| settings_error(config, bad))?;
    if config.holdout.summary {
        refuse_integrity_gates(config, &prepared)?;
    }

    let t0 = Instant::now();
    let with_ks = prepared.iter().any(|g| g.calls("test-distribution"));
    // A small holdout and its reference are profiled while the holdout is
    // scored: evaluation alone leaves a core idle, once the inputs are
    // hashed. A large one is profiled after, so that the evaluation's
    // columns and the profiles' are never in memory together.
    let opened = tables(config);
    let beside = opened
        .as_ref()
        .filter(|(h, r)| h.rows() + r.as_ref().map_or(0, data::Table::rows) <= CONCURRENT_ROWS);
    crate::progress::step(if beside.is_some() {
        "scoring the holdout, computing metrics and profiling the data"
    } else {
        "scoring the holdout and computing metrics"
    });
    let stop = AtomicBool::new(false);
    // The inputs are hashed while the holdout is scored. Evaluation reads
    // only the columns it needs; the gates' columns are read one at a time
    // by the profiles, so the whole holdout is never in memory.
    let (evaluated, inputs, profiled) = std::thread::scope(|scope| {
        let profiling = beside.map(|(h, r)| {
            scope.spawn(|| {
                let t = Instant::now();
                let p = profile::profile_until(h, r.as_ref(), with_ks, &stop);
                (p, ms(t))
            })
        });
        let (evaluated, inputs) = rayon::join(|| evaluation::run(config), || Inputs::of(config));
        if evaluated.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let profiled = profiling.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (evaluated, inputs, profiled)
    });
    let (evaluated, inputs) = (evaluated?, inputs?);
    let evaluate_ms = ms(t0);
    crate::progress::done(
        &format!("evaluated {} rows", evaluated.evaluation.rows),
        evaluate_ms,
    );

    // Only the labels and scores go on to the gates: the frame evaluation
    // read is dropped before the profiles read their columns.
    let labels = Arc::new(evaluated.holdout.labels);
    drop(evaluated.holdout.frame);
    drop(evaluated.holdout.row_names);
    drop(evaluated.holdout.amounts);
    drop(evaluated.holdout.weights);

    let t1 = Instant::now();
    if !config.gates.is_empty() && profiled.is_none() {
        crate::progress::step("profiling the holdout and reference data");
    }
    // Without gates nothing reads the data again (a CSV would be parsed
    // whole for nothing).
    let open = |path: &Path, format| {
        if config.gates.is_empty() {
            Ok(data::Table::from_frame(DataFrame::empty()))
        } else {
            data::Table::open(path, format)
        }
    };
    let (holdout_table, reference, profiles, profile_ms) =
        match (&evaluated.summary, opened, profiled) {
            // A summary's rows stay where they are; its profiles and KS tests
            // were computed with it.
            (Some(summary), _, _) => {
                let m = &summary.manifest;
                let reference =
                    m.profiles.reference.as_ref().map(|_| {
                        data::Table::counted(m.reference_rows.unwrap_or_default() as usize)
                    });
                let profiles = profile::Profiles {
                    holdout: m.profiles.holdout.clone(),
                    reference: m.profiles.reference.clone(),
                    ks: summary.ks_tests(),
                };
                (
                    data::Table::counted(m.rows as usize),
                    reference,
                    profiles,
                    ms(t1),
                )
            }
            (None, opened, profiled) => {
                // The tables opened to decide on profiling beside the
                // evaluation serve here too.
                let (holdout_table, reference) = match opened {
                    Some(tables) => tables,
                    None => (
                        open(&config.holdout.path, config.holdout.format)?,
                        config
                            .reference
                            .as_ref()
                            .map(|r| open(&r.path, r.format))
                            .transpose()?,
                    ),
                };
                let (profiles, took) = match profiled {
                    Some((profiles, took)) => (profiles?, took),
                    None if config.gates.is_empty() => (profile::Profiles::default(), ms(t1)),
                    None => (
                        profile::profile(&holdout_table, reference.as_ref(), with_ks)?,
                        ms(t1),
                    ),
                };
                (holdout_table, reference, profiles, took)
            }
        };
    crate::progress::done("profiled the data", profile_ms);

    let eval = evaluated.evaluation;
    let model_view = |m: &evaluation::ModelEvaluation, scores: Vec<f64>| ModelView {
        metrics: m.raw.named(),
        roc: m.curves.roc.clone(),
        pr: m.curves.pr.clone(),
        scores: Arc::new(scores),
    };
    let mut score_columns = Vec::new();
    for m in std::iter::once(&eval.models.candidate).chain(eval.models.production.as_ref()) {
        if let crate::model::SourceInfo::Column { column } = &m.source {
            score_columns.push(column.clone());
        }
    }
    let run_data = Arc::new(RunData {
        model: config.model.clone(),
        candidate_id: eval.models.candidate.source.describe(),
        production_id: eval.models.production.as_ref().map(|p| p.source.describe()),
        label_column: config.holdout.label.clone(),
        id_column: config.holdout.id.clone(),
        score_columns,
        weight_column: config.holdout.weight.clone(),
        candidate: model_view(&eval.models.candidate, evaluated.candidate_scores),
        production: eval
            .models
            .production
            .as_ref()
            // A summary's models have metrics but no per-row scores.
            .map(|m| model_view(m, evaluated.production_scores.unwrap_or_default())),
        labels,
        holdout: DatasetView::new(holdout_table, profiles.holdout),
        reference: reference.map(|t| DatasetView::new(t, profiles.reference.unwrap_or_default())),
        delta_tests: eval.delta_tests.clone(),
        segments: eval.segments.clone(),
        confidence: eval.stats.confidence,
        ks: profiles.ks,
        rows_held: evaluated.summary.is_none(),
        integrity: Default::default(),
    });
    // Before the gates, so the hashing and the per-feature AUCs are not
    // charged to a gate's time limit.
    let mut profile_ms = profile_ms;
    if prepared.iter().any(|g| g.calls("integrity")) {
        let t = Instant::now();
        crate::progress::step("hashing rows and scoring each feature alone (integrity)");
        run_data.compute_integrity()?;
        let took = ms(t);
        crate::progress::done("computed the integrity facts", took);
        profile_ms += took;
    }

    let t2 = Instant::now();
    crate::progress::step(&format!("running {} gates", config.gates.len()));
    let results = gates::run_all(&prepared, &run_data)?;
    let gates_ms = ms(t2);
    crate::progress::done(&format!("ran {} gates", results.len()), gates_ms);
    let mut decision = decide(
        config.model.clone(),
        eval,
        results,
        DecisionTimings {
            evaluate: evaluate_ms,
            profile: profile_ms,
            gates: gates_ms,
            total: ms(t0),
        },
    );
    decision.inputs = inputs;
    Ok(decision)
}
