//! The commands, executed. Each takes validated input and returns an
//! [`Outcome`]; `main` maps outcomes and errors to exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Config, GateSource};
use crate::decision;
use crate::demo::DemoData;
use crate::error::{Error, Result};
use crate::evaluation;
use crate::gates::{self, GateEngine, builtin, scaffold, testing};
use crate::report::{self, Format};

/// A validated command.
#[derive(Debug)]
pub enum Command {
    Evaluate(EvaluateRun),
    Run(EvaluateRun),
    Gate(GateCommand),
    Demo(DemoRun),
    DemoData { data: DemoData, out: PathBuf },
}

#[derive(Debug)]
pub struct EvaluateRun {
    pub config: PathBuf,
    pub out: Option<PathBuf>,
    pub format: Format,
    /// JUnit XML output (`run` only).
    pub junit: Option<PathBuf>,
}

#[derive(Debug)]
pub enum GateCommand {
    List,
    Inspect { uses: String },
    Test { uses: String, cases: PathBuf },
    New { name: String, dir: PathBuf },
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
        Command::Run(run) => run_gates(&run, stdout),
        Command::Gate(g) => gate(g, stdout),
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

fn out_err(e: std::io::Error) -> Error {
    Error::io("cannot write to", "stdout", e)
}

fn run_gates(run: &EvaluateRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let config = Config::load(&run.config)?;
    let d = decision::run(&config)?;
    if let Some(out) = &run.out {
        write_atomic(
            out,
            report::render_decision(&d, Format::from_path(out))?.as_bytes(),
        )?;
    }
    if let Some(junit) = &run.junit {
        write_atomic(junit, report::junit::render(&d).as_bytes())?;
    }
    let in_actions = std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    if in_actions {
        report::actions::publish(&d, &report::render_decision(&d, Format::Markdown)?)?;
        // Workflow commands are read from stdout; keep JSON output parseable.
        if run.format != Format::Json {
            for line in report::actions::annotations(&d) {
                writeln!(stdout, "{line}").map_err(out_err)?;
            }
        }
    }
    stdout
        .write_all(report::render_decision(&d, run.format)?.as_bytes())
        .map_err(out_err)?;
    Ok(match d.decision {
        decision::Outcome::Pass => Outcome::Success,
        decision::Outcome::Fail => Outcome::Blocked,
    })
}

fn gate(command: GateCommand, stdout: &mut dyn Write) -> Result<Outcome> {
    match command {
        GateCommand::List => {
            let engine = GateEngine::global()?;
            for b in builtin::BUILTINS {
                let loaded = engine.load(b.name, b.bytes).map_err(Error::Gate)?;
                let m = loaded
                    .metadata(engine, gates::host::RunData::empty())
                    .map_err(|e| Error::Gate(format!("builtin:{}: {e}", b.name)))?;
                writeln!(
                    stdout,
                    "builtin:{:<22} v{}  {}",
                    b.name, m.version, m.description
                )
                .map_err(out_err)?;
            }
            Ok(Outcome::Success)
        }
        GateCommand::Inspect { uses } => {
            let source = GateSource::parse(Path::new("."), &uses);
            let bytes = gates::gate_bytes(&source)?;
            let engine = GateEngine::global()?;
            let loaded = engine.load(&uses, &bytes).map_err(Error::Gate)?;
            let m = loaded
                .metadata(engine, gates::host::RunData::empty())
                .map_err(|e| Error::Gate(format!("{uses}: {e}")))?;
            let schema = serde_json::to_string_pretty(&m.config_schema).unwrap_or_default();
            writeln!(
                stdout,
                "{uses}\n  name:        {}\n  version:     {}\n  description: {}\n  size:        {} bytes\n  sha256:      {}\n  imports:\n{}\n  config schema:\n{}",
                m.name,
                m.version,
                m.description,
                loaded.size,
                loaded.sha256,
                loaded.imports.iter().map(|i| format!("    {i}")).collect::<Vec<_>>().join("\n"),
                schema.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
            )
            .map_err(out_err)?;
            Ok(Outcome::Success)
        }
        GateCommand::Test { uses, cases } => testing::run_cases(&uses, &cases, stdout),
        GateCommand::New { name, dir } => {
            scaffold::create(&name, &dir)?;
            writeln!(
                stdout,
                "created gate `{name}` in {}\nbuild it:  cd {} && cargo build --release --target wasm32-wasip2\ntest it:   modelgate gate test {}/target/wasm32-wasip2/release/{}.wasm --cases {}/cases.yaml",
                dir.display(),
                dir.display(),
                dir.display(),
                name.replace('-', "_"),
                dir.display()
            )
            .map_err(out_err)?;
            Ok(Outcome::Success)
        }
    }
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

/// Gates the demo adds to [`DEMO_CONFIG`] for `modelgate demo`.
pub const DEMO_GATES: &str = "\
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

fn demo(run: &DemoRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let holdout = DemoData::new(run.rows, run.seed).write(&run.dir)?;
    // The "training data": same generator, another seed.
    let reference =
        DemoData::new(run.rows, run.seed.wrapping_add(1)).write(&run.dir.join("reference"))?;
    let config_path = run.dir.join("modelgate.yaml");
    write_atomic(
        &config_path,
        format!("{DEMO_CONFIG}{DEMO_GATES}").as_bytes(),
    )?;
    writeln!(
        stdout,
        "modelgate demo: generated {} holdout rows (seed {}) into {} and reference data into {}\n\
         config: {} (run `modelgate run --config {}` to repeat)\n",
        run.rows,
        run.seed,
        holdout.display(),
        reference.display(),
        config_path.display(),
        config_path.display()
    )
    .map_err(out_err)?;
    run_gates(
        &EvaluateRun {
            config: config_path,
            out: Some(run.dir.join("decision.json")),
            format: Format::Text,
            junit: None,
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
