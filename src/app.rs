//! The commands, executed. Each takes validated input and returns an
//! [`Outcome`]; `main` maps outcomes and errors to exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::demo::DemoData;
use crate::error::{Error, Result};
use crate::evaluation;
use crate::report::{self, Format};

/// A validated command.
#[derive(Debug)]
pub enum Command {
    Evaluate(EvaluateRun),
    Demo(DemoRun),
    DemoData { data: DemoData, out: PathBuf },
}

#[derive(Debug)]
pub struct EvaluateRun {
    pub config: PathBuf,
    pub out: Option<PathBuf>,
    pub format: Format,
}

#[derive(Debug)]
pub struct DemoRun {
    pub dir: PathBuf,
    pub rows: u64,
    pub seed: u64,
}

/// How a command ended, when it ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed (exit 0).
    Success,
    /// A gate blocked (exit 1).
    Blocked,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Blocked => 1,
        }
    }
}

/// Exit code for errors: usage, config, data or runtime.
pub const ERROR_EXIT_CODE: u8 = 2;

/// Runs a command, writing its report to `stdout`.
pub fn execute(command: Command, stdout: &mut dyn Write) -> Result<Outcome> {
    match command {
        Command::Evaluate(run) => evaluate(&run, stdout),
        Command::DemoData { data, out } => {
            let path = data.write(&out)?;
            writeln!(
                stdout,
                "wrote {} ({} rows, seed {})",
                path.display(),
                data.rows,
                data.seed
            )
            .map_err(|e| Error::io("cannot write to", "stdout", e))?;
            Ok(Outcome::Success)
        }
        Command::Demo(run) => demo(&run, stdout),
    }
}

fn evaluate(run: &EvaluateRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let config = Config::load(&run.config)?;
    let eval = evaluation::evaluate(&config)?;
    if let Some(out) = &run.out {
        write_atomic(
            out,
            report::render(&eval, Format::from_path(out))?.as_bytes(),
        )?;
    }
    stdout
        .write_all(report::render(&eval, run.format)?.as_bytes())
        .map_err(|e| Error::io("cannot write to", "stdout", e))?;
    Ok(Outcome::Success)
}

/// The config the demo writes next to its generated holdout.
pub const DEMO_CONFIG: &str = "\
# Written by `modelgate demo`. Paths are relative to this file.
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

fn demo(run: &DemoRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let data = DemoData::new(run.rows, run.seed);
    let holdout = data.write(&run.dir)?;
    let config_path = run.dir.join("modelgate.yaml");
    write_atomic(&config_path, DEMO_CONFIG.as_bytes())?;
    let io = |e| Error::io("cannot write to", "stdout", e);
    writeln!(
        stdout,
        "modelgate demo: generated {} rows (seed {}) into {}\n\
         config: {} (run `modelgate evaluate --config {}` to repeat)\n",
        run.rows,
        run.seed,
        holdout.display(),
        config_path.display(),
        config_path.display()
    )
    .map_err(io)?;
    evaluate(
        &EvaluateRun {
            config: config_path,
            out: Some(run.dir.join("evaluation.json")),
            format: Format::Text,
        },
        stdout,
    )
}

/// Writes a file through a temporary sibling and a rename, so a reader never
/// sees a half-written report.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot write", path, e))
}
