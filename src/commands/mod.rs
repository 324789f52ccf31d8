//! The command layer: one file per `modelgate` command, each a plain
//! function that takes validated arguments, writes its report to stdout and
//! returns an [`ExitStatus`], as uv's `crates/uv/src/commands/` does. `main`
//! parses and dispatches; everything below this layer (config, data, model,
//! metrics, gates, decision, registry, report) never imports it, so the
//! library reads bottom-up and the demo can call the commands themselves.

mod completions;
mod demo;
mod evaluate;
mod gate;
mod history;
mod init;
mod lineage;
mod promote;
mod register;
mod run;
mod schema;
mod score;
mod show;
mod train;
pub mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use completions::completions;
pub use demo::{DemoRun, demo, demo_data};
pub use evaluate::evaluate;
pub use gate::{gate_build, gate_inspect, gate_list, gate_lock, gate_new, gate_push, gate_test};
pub use history::history;
pub use init::init;
pub use lineage::lineage;
pub use promote::{VersionRun, promote};
pub use register::register;
pub use run::run;
pub use schema::schema;
pub use score::{ScoreSpec, score};
pub use show::show;
pub use train::train;
pub use verify::verify;

use crate::config::Config;
use crate::decision::Decision;
use crate::error::{Error, Result};
use crate::fs::write_atomic;
use crate::progress::{self, Level};
use crate::registry;
use crate::report::{self, Format};

/// How a command ended: the exit-code contract of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything passed, or the command did what it was asked (exit 0).
    Success,
    /// A gate blocked: nothing was registered or promoted (exit 1).
    Blocked,
    /// Usage, config, data or runtime error (exit 2).
    Error,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Blocked => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
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

/// A version of `model`, or its production version when `version` is
/// `None`; an error naming how to list them when there is none.
fn version_record(
    reg: &dyn registry::Registry,
    model: &str,
    version: Option<registry::Version>,
) -> Result<registry::VersionRecord> {
    match version {
        Some(v) => registry::find_version(reg, model, &v.to_string())?,
        None => registry::production(reg, model)?.map(|p| p.1),
    }
    .ok_or_else(|| Error::Registry {
        location: reg.location(),
        message: format!(
            "{model}@{} not found; `modelgate show {model}` lists the versions",
            version.map_or("production".to_string(), |v| v.to_string())
        ),
    })
}

/// The registry a query command (`show`, `history`, `lineage`) reads.
#[derive(Debug, Clone)]
pub struct RegistryQuery {
    pub model: Option<String>,
    pub config: PathBuf,
    pub format: Format,
}

impl RegistryQuery {
    /// Opens the registry the query names: the config's, or the local
    /// default in the current directory when the default config file does
    /// not exist.
    fn open(&self) -> Result<(Box<dyn registry::Registry>, String)> {
        let config = if self.config.is_file() || self.config != Path::new("modelgate.yaml") {
            Some(Config::load(&self.config)?)
        } else {
            None
        };
        let spec = registry::spec_for(config.as_ref(), Path::new("."));
        let model = self
            .model
            .clone()
            .or_else(|| config.as_ref().map(|c| c.model.clone()))
            .ok_or_else(|| {
                Error::Usage("name the model, or pass --config with a `model`".into())
            })?;
        let reg = registry::open(&spec, true)?;
        Ok((reg, model))
    }
}

/// The evidence stored with a version: the decision as markdown. Rendering
/// lives here, above `promote`, so the registry layer never imports reports.
fn evidence(d: &Decision) -> Result<String> {
    report::render_decision(d, Format::Markdown)
}

/// Writes text to stdout, naming stdout in the error (a closed pipe is
/// recognised by `main` and ends quietly).
fn print(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout.write_all(text.as_bytes()).map_err(out_err)
}

fn out_err(e: std::io::Error) -> Error {
    Error::io("cannot write to", "stdout", e)
}

/// `--quiet` drops text reports; data formats asked for explicitly stay.
fn quiet_text(format: Format) -> bool {
    format == Format::Text && progress::level() == Level::Quiet
}

/// Writes a report to each `--out` file (its extension picks the format),
/// with the ROC and PR charts beside every markdown file.
fn write_reports(
    outs: &[PathBuf],
    evaluation: &crate::evaluation::Evaluation,
    render: impl Fn(Format) -> Result<String>,
) -> Result<()> {
    for out in outs {
        let format = Format::from_path(out);
        write_atomic(out, render(format)?.as_bytes())?;
        if format == Format::Markdown {
            report::svg::write_beside(out, evaluation)?;
        }
    }
    Ok(())
}

/// Sends a decision to its files, JUnit, GitHub Actions (outputs, step
/// summary, annotations pointing at the gate's line in the config) and the
/// sticky pull-request comment.
fn deliver(
    d: &Decision,
    sinks: &Sinks,
    config: &Path,
    format: Format,
    stdout: &mut dyn Write,
) -> Result<()> {
    write_reports(&sinks.out, &d.evaluation, |f| report::render_decision(d, f))?;
    if let Some(junit) = &sinks.junit {
        write_atomic(junit, report::junit::render(d).as_bytes())?;
    }
    let markdown = report::render_decision(d, Format::Markdown)?;
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        report::actions::publish(d, &markdown)?;
        // Workflow commands are read from stdout; keep JSON output parseable.
        if format != Format::Json {
            let lines = std::fs::read_to_string(config)
                .map(|text| report::actions::gate_lines(&text, d.gates.len()))
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

/// Loads a config for a read-only command (`evaluate`, `run`), resolving a
/// registry production model and saying what it resolved.
fn load_read_only(config: &Path) -> Result<Config> {
    let mut config = Config::load(config)?;
    for note in crate::promote::resolve_read_only(&mut config)? {
        progress::note(&note);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The layering rule, read from the source: below the command layer
    /// nothing names `commands` or `cli`, and `promote` renders no report.
    #[test]
    fn no_module_below_the_command_layer_imports_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let top = [src.join("main.rs"), src.join("lib.rs"), src.join("cli.rs")];
        let mut checked = 0;
        for file in files {
            if file.starts_with(src.join("commands")) || top.contains(&file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for layer in ["commands", "cli"] {
                    assert!(
                        !code.contains(&format!("crate::{layer}")),
                        "{}:{}: a library module imports the command layer: {line}",
                        file.display(),
                        n + 1
                    );
                }
            }
            checked += 1;
        }
        assert!(checked > 40, "only {checked} files were read");
        let promote = std::fs::read_to_string(src.join("promote.rs")).unwrap();
        assert!(
            !promote.contains("crate::report"),
            "promote renders no report; the command layer passes the evidence in"
        );
    }
}
