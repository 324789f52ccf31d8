//! The command line: clap types only. They are turned into validated
//! [`crate::app::Command`]s before anything runs, so the engine never sees
//! clap and every argument error is a usage error (exit 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::{Command, DemoRun, EvaluateRun, GateCommand};
use crate::demo::{DemoData, DemoFormat};
use crate::error::{Error, Result};
use crate::report::Format;

/// Quality gate and model registry for ML models in CI.
///
/// Exit codes: 0 success (all gates passed), 1 a gate failed (not promoted),
/// 2 usage, config, data or runtime error.
#[derive(Debug, Parser)]
#[command(name = "modelgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Score candidate and production on the holdout and report fraud metrics.
    Evaluate(EvaluateArgs),
    /// Evaluate, run the quality gates and decide (exit 1 when a gate blocks).
    Run(RunArgs),
    /// Work with gates: list the built-ins, inspect, test or scaffold one.
    Gate {
        #[command(subcommand)]
        command: GateCommands,
    },
    /// Run the end-to-end demo on generated data, or generate demo data.
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The config file.
    #[arg(long, short, default_value = "modelgate.yaml")]
    pub config: PathBuf,
    /// Also write the report to this file; its extension picks the format
    /// (.json, .md, anything else text).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Format printed on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: EvaluateArgs,
    /// Also write JUnit XML, one test case per gate.
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum GateCommands {
    /// List the built-in gates with their descriptions.
    List,
    /// Show a gate's metadata, config schema, imports, size and sha256.
    Inspect {
        /// `builtin:<name>` or a path to a .wasm component.
        uses: String,
    },
    /// Run a gate against table-driven cases and check the expected verdicts.
    Test {
        /// `builtin:<name>` or a path to a .wasm component.
        uses: String,
        /// The cases file (YAML).
        #[arg(long)]
        cases: PathBuf,
    },
    /// Scaffold a new gate crate from the SDK.
    New {
        /// Gate name (lowercase letters, digits and `-`).
        name: String,
        /// Directory to create; defaults to the name.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub data: Option<DemoCommands>,
    /// Where the demo writes its data and config.
    #[arg(long, default_value = ".modelgate/demo")]
    pub dir: PathBuf,
    /// Rows of generated holdout.
    #[arg(long, default_value_t = 200_000)]
    pub rows: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommands {
    /// Write a seeded synthetic fraud holdout.
    Data(DemoDataArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DataFormatArg {
    Parquet,
    Csv,
}

#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Seed; the same seed gives the same file, byte for byte.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory; the file is `holdout.parquet` or `holdout.csv` inside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Blank out a fraction of a column, as `column=ratio` (repeatable).
    #[arg(long, value_name = "COL=RATIO")]
    pub missing: Vec<String>,
    /// Shift the feature distributions by this many standard deviations.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub drift: f64,
    /// File format.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: DataFormatArg,
}

fn parse_missing(items: &[String]) -> Result<Vec<(String, f64)>> {
    items
        .iter()
        .map(|item| {
            let (col, ratio) = item.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--missing {item}: expected COLUMN=RATIO, e.g. amount=0.05"
                ))
            })?;
            let ratio: f64 = ratio.trim().parse().map_err(|_| {
                Error::Usage(format!("--missing {item}: `{ratio}` is not a number"))
            })?;
            Ok((col.trim().to_string(), ratio))
        })
        .collect()
}

impl Cli {
    /// Validates the arguments into a command for the engine.
    pub fn into_command(self) -> Result<Command> {
        Ok(match self.command {
            Commands::Evaluate(a) => Command::Evaluate(EvaluateRun {
                config: a.config,
                out: a.out,
                format: a.format.into(),
                junit: None,
            }),
            Commands::Run(a) => Command::Run(EvaluateRun {
                config: a.common.config,
                out: a.common.out,
                format: a.common.format.into(),
                junit: a.junit,
            }),
            Commands::Gate { command } => Command::Gate(match command {
                GateCommands::List => GateCommand::List,
                GateCommands::Inspect { uses } => GateCommand::Inspect { uses },
                GateCommands::Test { uses, cases } => GateCommand::Test { uses, cases },
                GateCommands::New { name, dir } => {
                    let valid = !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && name.starts_with(|c: char| c.is_ascii_lowercase());
                    if !valid {
                        return Err(Error::Usage(format!(
                            "gate new {name}: a gate name uses lowercase letters, digits and `-`, starting with a letter"
                        )));
                    }
                    GateCommand::New {
                        dir: dir.unwrap_or_else(|| PathBuf::from(&name)),
                        name,
                    }
                }
            }),
            Commands::Demo(DemoArgs {
                data: Some(DemoCommands::Data(a)),
                ..
            }) => {
                let mut data = DemoData::new(a.rows, a.seed);
                data.missing = parse_missing(&a.missing)?;
                data.drift = a.drift;
                data.format = match a.format {
                    DataFormatArg::Parquet => DemoFormat::Parquet,
                    DataFormatArg::Csv => DemoFormat::Csv,
                };
                Command::DemoData { data, out: a.out }
            }
            Commands::Demo(a) => Command::Demo(DemoRun {
                dir: a.dir,
                rows: a.rows,
                seed: a.seed,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parses_pairs_and_rejects_garbage() {
        assert_eq!(
            parse_missing(&["amount=0.5".into()]).unwrap(),
            vec![("amount".into(), 0.5)]
        );
        assert!(parse_missing(&["amount".into()]).is_err());
        assert!(parse_missing(&["amount=x".into()]).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
