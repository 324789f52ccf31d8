//! The commands, executed. Each takes validated input and returns an
//! [`Outcome`]; `main` maps outcomes and errors to exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Config, GateSource, LineageParams};
use crate::decision;
use crate::demo::DemoData;
use crate::error::{Error, Result};
use crate::evaluation;
use crate::gates::{self, GateEngine, builtin, scaffold, testing};
use crate::promote;
use crate::registry::{self, Version};
use crate::report::{self, Format};
use crate::train::{self, TrainSpec};

/// A validated command.
#[derive(Debug)]
pub enum Command {
    Evaluate(EvaluateRun),
    Run(EvaluateRun),
    Gate(GateCommand),
    Demo(DemoRun),
    DemoData {
        data: DemoData,
        out: PathBuf,
    },
    Train {
        spec: TrainSpec,
        out: PathBuf,
    },
    Register {
        run: VersionRun,
        params: Option<PathBuf>,
    },
    Promote(VersionRun),
    Show(RegistryQuery),
    History(RegistryQuery),
    Lineage {
        query: RegistryQuery,
        /// `None` means the current production version.
        version: Option<Version>,
    },
    Init(crate::init::InitSpec),
    /// Text computed from the command line itself (schema, completions).
    Print(String),
}

/// `register` and `promote`.
#[derive(Debug)]
pub struct VersionRun {
    pub config: PathBuf,
    pub options: promote::Options,
    pub format: Format,
    pub sinks: Sinks,
}

/// `show`, `history` and `lineage`.
#[derive(Debug)]
pub struct RegistryQuery {
    pub model: Option<String>,
    pub config: PathBuf,
    pub format: Format,
}

#[derive(Debug)]
pub struct EvaluateRun {
    pub config: PathBuf,
    pub format: Format,
    pub sinks: Sinks,
}

/// Where a report goes besides stdout.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// Report files; each extension picks its format.
    pub out: Vec<PathBuf>,
    /// JUnit XML, one test case per gate.
    pub junit: Option<PathBuf>,
    /// A sticky pull-request comment.
    pub comment: bool,
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
        Command::Demo(run) => crate::demo::story::run(&run, stdout),
        Command::Print(text) => {
            stdout.write_all(text.as_bytes()).map_err(out_err)?;
            Ok(Outcome::Success)
        }
        Command::Init(spec) => {
            for path in crate::init::run(spec)? {
                writeln!(stdout, "wrote {}", path.display()).map_err(out_err)?;
            }
            writeln!(
                stdout,
                "next: edit modelgate.yaml (holdout, candidate, gates), replace `acme/modelgate@v1` in the workflows with this action's repository, then `modelgate run`"
            )
            .map_err(out_err)?;
            Ok(Outcome::Success)
        }
        Command::Train { spec, out } => {
            let t0 = std::time::Instant::now();
            let model = train::train(&spec)?;
            train::write(&model, &out)?;
            let missing: u64 = model.training.missing.iter().map(|m| m.1).sum();
            writeln!(
                stdout,
                "trained a linfa logistic regression on {} rows ({} positives), {} features, in {:.2}s{}\nwrote {}",
                model.training.rows,
                model.training.positives,
                model.features.len(),
                t0.elapsed().as_secs_f64(),
                if missing > 0 {
                    format!("; {missing} missing training values were imputed with the feature mean")
                } else {
                    String::new()
                },
                out.display()
            )
            .map_err(out_err)?;
            Ok(Outcome::Success)
        }
        Command::Register { run, params } => {
            let mut config = Config::load(&run.config)?;
            if let Some(p) = params {
                config.lineage.params = LineageParams::File(p);
            }
            let r = promote::register(config, &run.options)?;
            write_version_run(&run, &r, stdout)?;
            Ok(Outcome::Success)
        }
        Command::Promote(run) => {
            let config = Config::load(&run.config)?;
            let r = promote::promote(config, &run.options)?;
            write_version_run(&run, &r, stdout)?;
            Ok(if r.status == "blocked" {
                Outcome::Blocked
            } else {
                Outcome::Success
            })
        }
        Command::Show(q) => {
            let (config, reg, model) = open_query(&q)?;
            let versions = reg.versions(&model)?;
            let production = registry::production(reg.as_ref(), &model)?;
            drop(config);
            stdout
                .write_all(
                    report::registry::show(
                        &model,
                        &reg.location(),
                        &versions,
                        production.as_ref().map(|p| &p.0),
                        q.format,
                    )?
                    .as_bytes(),
                )
                .map_err(out_err)?;
            Ok(Outcome::Success)
        }
        Command::History(q) => {
            let (_, reg, model) = open_query(&q)?;
            let promotions = reg.promotions(&model)?;
            stdout
                .write_all(report::registry::history(&model, &promotions, q.format)?.as_bytes())
                .map_err(out_err)?;
            Ok(Outcome::Success)
        }
        Command::Lineage { query, version } => {
            let (_, reg, model) = open_query(&query)?;
            let record = match version {
                Some(v) => registry::find_version(reg.as_ref(), &model, &v.to_string())?,
                None => registry::production(reg.as_ref(), &model)?.map(|p| p.1),
            }
            .ok_or_else(|| Error::Registry {
                location: reg.location(),
                message: format!(
                    "{model}@{} not found; `modelgate show {model}` lists the versions",
                    version.map_or("production".to_string(), |v| v.to_string())
                ),
            })?;
            let bytes = reg.fetch(&record, "lineage.json")?;
            let lineage: crate::lineage::Lineage =
                serde_json::from_slice(&bytes).map_err(|e| Error::Registry {
                    location: reg.location(),
                    message: format!("{} lineage.json is corrupt: {e}", record.tag),
                })?;
            stdout
                .write_all(report::registry::lineage(&lineage, query.format)?.as_bytes())
                .map_err(out_err)?;
            Ok(Outcome::Success)
        }
    }
}

/// Opens the registry a query names: the config's, or the local default in
/// the current directory when the default config file does not exist.
fn open_query(q: &RegistryQuery) -> Result<(Option<Config>, Box<dyn registry::Registry>, String)> {
    let config = if q.config.is_file() || q.config != Path::new("modelgate.yaml") {
        Some(Config::load(&q.config)?)
    } else {
        None
    };
    let spec = registry::spec_for(config.as_ref(), Path::new("."));
    let model = q
        .model
        .clone()
        .or_else(|| config.as_ref().map(|c| c.model.clone()))
        .ok_or_else(|| Error::Usage("name the model, or pass --config with a `model`".into()))?;
    let reg = registry::open(&spec, true)?;
    Ok((config, reg, model))
}

/// Writes the outcome of `register` or `promote`, with the gate report.
pub fn write_version_run(
    run: &VersionRun,
    r: &promote::Report,
    stdout: &mut dyn Write,
) -> Result<()> {
    if let Some(d) = &r.decision {
        deliver(d, &run.sinks, &run.config, run.format, stdout)?;
        if run.format != Format::Json && !quiet_text(run.format) {
            stdout
                .write_all(report::render_decision(d, run.format)?.as_bytes())
                .map_err(out_err)?;
        }
    }
    report::actions::publish_promotion(r)?;
    stdout
        .write_all(report::registry::outcome(r, run.format)?.as_bytes())
        .map_err(out_err)
}

/// Sends a decision to its files, JUnit, GitHub Actions (outputs, step
/// summary, annotations pointing at the gate's line in the config) and the
/// sticky pull-request comment.
fn deliver(
    d: &decision::Decision,
    sinks: &Sinks,
    config: &Path,
    format: Format,
    stdout: &mut dyn Write,
) -> Result<()> {
    for out in &sinks.out {
        let format = Format::from_path(out);
        write_atomic(out, report::render_decision(d, format)?.as_bytes())?;
        if format == Format::Markdown {
            report::svg::write_beside(out, &d.evaluation)?;
        }
    }
    if let Some(junit) = &sinks.junit {
        write_atomic(junit, report::junit::render(d).as_bytes())?;
    }
    let markdown = report::render_decision(d, Format::Markdown)?;
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        report::actions::publish(d, &markdown)?;
        // Workflow commands are read from stdout; keep JSON output parseable.
        if format != Format::Json {
            let lines = std::fs::read_to_string(config)
                .map(|text| report::actions::gate_lines(&text))
                .unwrap_or_default();
            // Annotations link to files relative to the repository root.
            let shown = std::env::var_os("GITHUB_WORKSPACE")
                .and_then(|w| {
                    let w = std::fs::canonicalize(w).ok()?;
                    let c = std::fs::canonicalize(config).ok()?;
                    c.strip_prefix(w).ok().map(Path::to_path_buf)
                })
                .unwrap_or_else(|| config.to_path_buf());
            for line in report::actions::annotations(d, Some((&shown, &lines))) {
                writeln!(stdout, "{line}").map_err(out_err)?;
            }
        }
    }
    if sinks.comment {
        report::comment::post(d, &markdown, config);
    }
    Ok(())
}

fn evaluate(run: &EvaluateRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let mut config = Config::load(&run.config)?;
    for note in promote::resolve_read_only(&mut config)? {
        crate::progress::note(&note);
    }
    let eval = evaluation::evaluate(&config)?;
    for out in &run.sinks.out {
        let format = Format::from_path(out);
        write_atomic(out, report::render(&eval, format)?.as_bytes())?;
        if format == Format::Markdown {
            report::svg::write_beside(out, &eval)?;
        }
    }
    if !quiet_text(run.format) {
        stdout
            .write_all(report::render(&eval, run.format)?.as_bytes())
            .map_err(out_err)?;
    }
    Ok(Outcome::Success)
}

/// `--quiet` drops text reports; data formats asked for explicitly stay.
fn quiet_text(format: Format) -> bool {
    format == Format::Text && crate::progress::level() == crate::progress::Level::Quiet
}

pub fn out_err(e: std::io::Error) -> Error {
    Error::io("cannot write to", "stdout", e)
}

pub fn run_gates(run: &EvaluateRun, stdout: &mut dyn Write) -> Result<Outcome> {
    let mut config = Config::load(&run.config)?;
    for note in promote::resolve_read_only(&mut config)? {
        crate::progress::note(&note);
    }
    let d = decision::run(&config)?;
    deliver(&d, &run.sinks, &run.config, run.format, stdout)?;
    if !quiet_text(run.format) {
        stdout
            .write_all(report::render_decision(&d, run.format)?.as_bytes())
            .map_err(out_err)?;
    }
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
