//! The command line: clap types, and their validation into the arguments
//! of the [`crate::commands`] functions before anything runs, so the engine
//! never sees clap and every argument error is a usage error (exit 2).
//! `main` parses and dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::verify::{AttestationCheck, Target, VerifySpec};
use crate::commands::{DemoRun, RegistryQuery, ScoreSpec, Sinks, VersionRun};
use crate::config::{ArtifactFormat, LabelValue};
use crate::demo::{DemoData, DemoFormat};
use crate::error::{Error, Result};
use crate::init::InitSpec;
use crate::registry::{Bump, Version};
use crate::report::Format;
use crate::train::{self, TrainSpec};

/// Quality gate and model registry for ML models in CI.
///
/// Exit codes: 0 success (all gates passed), 1 a gate failed (not promoted),
/// 2 usage, config, data or runtime error.
#[derive(Debug, Parser)]
#[command(name = "modelgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Commands,
    /// Print only errors and requested data (no progress, notes or text report).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print each step with its timing on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Download nothing: gates by URL come from the cache only (also
    /// `MODELGATE_OFFLINE=1`).
    #[arg(long, global = true)]
    pub offline: bool,
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
    /// Train a linfa logistic regression and write it as a model file.
    Train(TrainArgs),
    /// Score every row of a data file with a model file, as the gates do (CSV on stdout).
    Score(ScoreArgs),
    /// Create a registry version (with lineage and evidence) without promoting it.
    Register(RegisterArgs),
    /// Run the gates and, if nothing blocks, publish the version, move
    /// production and fire the deploy triggers (exit 1 when blocked).
    Promote(PromoteArgs),
    /// List a model's versions, marking production.
    Show(ShowArgs),
    /// Show where a version came from: data (with missing values), code, parameters.
    Lineage(LineageArgs),
    /// Check a registered version: its artifacts against the digests its
    /// record names, and the decision's inputs against files you hold
    /// (exit 1 on a mismatch).
    Verify(VerifyArgs),
    /// List the promotions of a model to production.
    History(ShowArgs),
    /// Scaffold a commented modelgate.yaml and the GitHub workflows.
    Init(InitArgs),
    /// Print the JSON Schema of modelgate.yaml (for editor completion).
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write (modelgate.yaml and .github/workflows/).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The model's registry name.
    #[arg(long, default_value = "fraud-detector")]
    pub model: String,
    /// The holdout file, relative to the config.
    #[arg(long, default_value = "data/holdout.parquet")]
    pub holdout: String,
    /// The label column.
    #[arg(long, default_value = "is_fraud")]
    pub label: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Ask nothing, even on a terminal.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data (.parquet, .csv, .csv.gz, .ndjson).
    #[arg(long)]
    pub data: PathBuf,
    /// The label column.
    #[arg(long)]
    pub label: String,
    /// The label value of the positive (fraud) class; default true/1.
    #[arg(long)]
    pub positive: Option<String>,
    /// Feature columns, comma-separated; default every float column but the label.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Columns to leave out of the default feature set, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// linfa parameters: alpha=1.0 (L2 penalty), max_iterations=100, gradient_tolerance=1e-4.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Where to write the model (`*.linfa.json` by convention).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The model file (linfa JSON, ONNX, XGBoost JSON or UBJ, LightGBM text).
    pub model: PathBuf,
    /// The rows to score (.parquet, .csv, .csv.gz, .ndjson).
    #[arg(long)]
    pub data: PathBuf,
    /// The model's format; default told from the file.
    #[arg(long, value_enum)]
    pub format: Option<ModelFormatArg>,
    /// Input columns in the model's order, comma-separated; default the
    /// names the file records (an ONNX file records none).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// A column to print beside each score, to join the scores back.
    #[arg(long)]
    pub id: Option<String>,
}

/// The model formats, as `--format` spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelFormatArg {
    Linfa,
    Onnx,
    Xgboost,
    Lightgbm,
}

impl ScoreArgs {
    pub fn spec(self) -> ScoreSpec {
        ScoreSpec {
            model: self.model,
            format: self.format.map(|f| match f {
                ModelFormatArg::Linfa => ArtifactFormat::Linfa,
                ModelFormatArg::Onnx => ArtifactFormat::Onnx,
                ModelFormatArg::Xgboost => ArtifactFormat::Xgboost,
                ModelFormatArg::Lightgbm => ArtifactFormat::Lightgbm,
            }),
            features: (!self.features.is_empty()).then_some(self.features),
            data: self.data,
            id: self.id,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BumpArg {
    Major,
    Minor,
    Patch,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// The config file.
    #[arg(long, short, default_value = "modelgate.yaml")]
    pub config: PathBuf,
    /// The artifact to register; default the candidate's model file.
    #[arg(long)]
    pub model_file: Option<PathBuf>,
    /// An explicit version (X.Y.Z) instead of bumping the highest one.
    #[arg(long)]
    pub version: Option<String>,
    /// Which part an automatic version bumps.
    #[arg(long, value_enum, default_value = "minor")]
    pub bump: BumpArg,
    /// Print each change the command would make, and make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Format printed on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub common: VersionArgs,
    /// Training parameters (JSON or YAML file) for the lineage, over `lineage.params`.
    #[arg(long)]
    pub params: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub common: VersionArgs,
    /// Print the deploy trigger payloads instead of sending them.
    #[arg(long)]
    pub print_triggers: bool,
    /// Also write the gate report to this file (.json, .md or text); repeatable.
    #[arg(long)]
    pub out: Vec<PathBuf>,
    /// Also write JUnit XML, one test case per gate.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Post the report as a sticky pull-request comment (GitHub Actions).
    #[arg(long)]
    pub comment: bool,
    /// Once the version is production, write the attestation predicate
    /// (https://modelgate.dev/decision/v1) and its subjects' checksums into
    /// this directory, for `actions/attest`.
    #[arg(long, value_name = "DIR")]
    pub attestation: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The model; default the config's `model`.
    pub model: Option<String>,
    /// The config file naming the registry; without it, the local default
    /// `.modelgate/registry` in the current directory.
    #[arg(long, short, default_value = "modelgate.yaml")]
    pub config: PathBuf,
    /// Format printed on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct LineageArgs {
    /// `<model>@<version>`, e.g. fraud-detector@v1.2.0, or `<model>@production`.
    pub reference: String,
    #[arg(long, short, default_value = "modelgate.yaml")]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `<model>@<version>` (e.g. fraud-detector@v1.2.0, or
    /// `<model>@production`; `@v1.2.0` for the config's model), or with
    /// `--replay` a decision.json file.
    pub reference: String,
    /// A file the decision was made from, as KEY=PATH (keys: config,
    /// holdout, reference, candidate, production); repeatable.
    #[arg(long = "input", value_name = "KEY=PATH")]
    pub inputs: Vec<String>,
    #[arg(long, short, default_value = "modelgate.yaml")]
    pub config: PathBuf,
    /// Run the recorded decision again from its inputs and compare every
    /// verdict and number with the record.
    #[arg(long)]
    pub replay: bool,
    /// How far a replayed number may be from the recorded one, relative to
    /// its size (absolute below 1).
    #[arg(long, default_value_t = crate::replay::DEFAULT_TOLERANCE, requires = "replay")]
    pub tolerance: f64,
    /// Check the signed attestation with `gh attestation verify`: `auto`
    /// when the registry is on GitHub and `gh` is on PATH.
    #[arg(long, value_enum, default_value = "auto")]
    pub attestation: AttestationArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AttestationArg {
    Auto,
    Require,
    Skip,
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
    /// (.json, .md, anything else text). Repeatable.
    #[arg(long)]
    pub out: Vec<PathBuf>,
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
    /// Post the report as a sticky pull-request comment (GitHub Actions).
    #[arg(long)]
    pub comment: bool,
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
    /// Scaffold a new gate from the SDK, in Rust, Python or JavaScript.
    New {
        /// Gate name (lowercase letters, digits and `-`).
        name: String,
        /// Directory to create; defaults to the name.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The gate's language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: LangArg,
    },
    /// Build a gate into a component: componentize-py for a Python gate
    /// (app.py), ComponentizeJS for a JavaScript one (app.js), cargo for a
    /// Rust one (Cargo.toml).
    Build {
        /// The gate's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to write the component; default `<dir>/<dir name>.wasm`
        /// (Python) or cargo's target directory (Rust).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Pin each `oci://` gate's tag to its manifest digest in the config
    /// (`tag@sha256:…`) and fetch every remote gate into the cache.
    Lock {
        #[arg(long, short, default_value = "modelgate.yaml")]
        config: PathBuf,
    },
    /// Publish a gate component to an OCI registry (as `wkg oci push` does)
    /// and print the pinned reference to use.
    Push {
        /// The component (.wasm).
        component: PathBuf,
        /// `oci://registry/repository:tag`.
        reference: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    Rust,
    Python,
    Js,
}

impl From<LangArg> for crate::gates::scaffold::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Rust => crate::gates::scaffold::Lang::Rust,
            LangArg::Python => crate::gates::scaffold::Lang::Python,
            LangArg::Js => crate::gates::scaffold::Lang::Js,
        }
    }
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
    /// How much to say on stderr.
    pub fn level(&self) -> crate::progress::Level {
        use crate::progress::Level;
        match (self.quiet, self.verbose) {
            (true, _) => Level::Quiet,
            (_, true) => Level::Verbose,
            _ => Level::Normal,
        }
    }
}

impl EvaluateArgs {
    pub fn sinks(&self) -> Sinks {
        Sinks {
            out: self.out.clone(),
            ..Sinks::default()
        }
    }
}

impl RunArgs {
    pub fn sinks(&self) -> Sinks {
        Sinks {
            out: self.common.out.clone(),
            junit: self.junit.clone(),
            comment: self.comment,
        }
    }
}

/// Checks a name for `gate new` and picks its directory.
pub fn gate_new_target(name: &str, dir: Option<PathBuf>) -> Result<PathBuf> {
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
    Ok(dir.unwrap_or_else(|| PathBuf::from(name)))
}

impl DemoDataArgs {
    pub fn data(&self) -> Result<DemoData> {
        let mut data = DemoData::new(self.rows, self.seed);
        data.missing = parse_missing(&self.missing)?;
        data.drift = self.drift;
        data.format = match self.format {
            DataFormatArg::Parquet => DemoFormat::Parquet,
            DataFormatArg::Csv => DemoFormat::Csv,
        };
        Ok(data)
    }
}

impl DemoArgs {
    pub fn run(&self) -> DemoRun {
        DemoRun {
            dir: self.dir.clone(),
            rows: self.rows,
            seed: self.seed,
        }
    }
}

impl TrainArgs {
    pub fn spec(self) -> Result<TrainSpec> {
        Ok(TrainSpec {
            data: self.data,
            label: self.label,
            positive: self.positive.map(|p| match p.parse::<i64>() {
                Ok(i) => LabelValue::Int(i),
                Err(_) => match p.as_str() {
                    "true" => LabelValue::Bool(true),
                    "false" => LabelValue::Bool(false),
                    _ => LabelValue::Text(p),
                },
            }),
            features: self.features,
            exclude: self.exclude,
            params: train::parse_params(&self.params)?,
        })
    }
}

impl PromoteArgs {
    pub fn run(self) -> Result<VersionRun> {
        let mut run = version_run(
            self.common,
            self.print_triggers,
            Sinks {
                out: self.out,
                junit: self.junit,
                comment: self.comment,
            },
        )?;
        run.options.attestation = self.attestation;
        Ok(run)
    }
}

impl RegisterArgs {
    pub fn run(self) -> Result<VersionRun> {
        version_run(self.common, false, Sinks::default())
    }
}

impl ShowArgs {
    pub fn query(self) -> RegistryQuery {
        query(self.model, self.config, self.format)
    }
}

/// `<model>@<version>` or `<model>@production` (the version `None`).
fn model_version(command: &str, reference: &str) -> Result<(String, Option<Version>)> {
    let (model, version) = reference.split_once('@').ok_or_else(|| {
        Error::Usage(format!(
            "{command} {reference}: expected <model>@<version>, e.g. fraud-detector@v1.2.0"
        ))
    })?;
    let version = if version == "production" {
        None
    } else {
        Some(Version::parse(version).ok_or_else(|| {
            Error::Usage(format!(
                "{command} {reference}: `{version}` is not a version like v1.2.0 (or `production`)"
            ))
        })?)
    };
    Ok((model.to_string(), version))
}

impl LineageArgs {
    /// The query and the version (`None` for production).
    pub fn query(self) -> Result<(RegistryQuery, Option<Version>)> {
        let (model, version) = model_version("lineage", &self.reference)?;
        Ok((
            query(Some(model), self.config.clone(), self.format),
            version,
        ))
    }
}

impl VerifyArgs {
    pub fn spec(self) -> Result<VerifySpec> {
        let inputs = self
            .inputs
            .iter()
            .map(|i| {
                let (key, path) = i.split_once('=').ok_or_else(|| {
                    Error::Usage(format!(
                        "verify --input {i}: expected KEY=PATH, e.g. holdout=data/holdout.parquet"
                    ))
                })?;
                let keys = crate::replay::INPUT_KEYS;
                if !keys.contains(&key) {
                    return Err(Error::Usage(format!(
                        "verify --input {i}: `{key}` is not an input; the keys are {}",
                        keys.join(", ")
                    )));
                }
                Ok((key.to_string(), PathBuf::from(path)))
            })
            .collect::<Result<_>>()?;
        if !(self.tolerance >= 0.0 && self.tolerance.is_finite()) {
            return Err(Error::Usage(format!(
                "verify --tolerance {}: expected a number >= 0",
                self.tolerance
            )));
        }
        let file = PathBuf::from(&self.reference);
        let target = if !self.reference.contains('@') || file.is_file() {
            if !self.replay {
                return Err(Error::Usage(format!(
                    "verify {}: a decision file is verified by running it again; add --replay (or name a version as <model>@<version>)",
                    self.reference
                )));
            }
            Target::DecisionFile(file)
        } else {
            let (model, version) = model_version("verify", &self.reference)?;
            Target::Version {
                // `@v1.2.0`: the config's model.
                query: query(
                    Some(model).filter(|m| !m.is_empty()),
                    self.config,
                    FormatArg::Text,
                ),
                version,
            }
        };
        Ok(VerifySpec {
            target,
            inputs,
            replay: self.replay,
            tolerance: self.tolerance,
            attestation: match self.attestation {
                AttestationArg::Auto => AttestationCheck::Auto,
                AttestationArg::Require => AttestationCheck::Require,
                AttestationArg::Skip => AttestationCheck::Skip,
            },
        })
    }
}

impl InitArgs {
    pub fn spec(self) -> InitSpec {
        InitSpec {
            dir: self.dir,
            model: self.model,
            holdout: self.holdout,
            label: self.label,
            force: self.force,
            interactive: !self.yes,
        }
    }
}

fn query(model: Option<String>, config: PathBuf, format: FormatArg) -> RegistryQuery {
    RegistryQuery {
        model,
        config,
        format: format.into(),
    }
}

fn version_run(a: VersionArgs, print_triggers: bool, sinks: Sinks) -> Result<VersionRun> {
    let version = a
        .version
        .map(|v| {
            Version::parse(&v)
                .ok_or_else(|| Error::Usage(format!("--version {v}: expected X.Y.Z, e.g. 1.4.0")))
        })
        .transpose()?;
    Ok(VersionRun {
        config: a.config,
        options: crate::promote::Options {
            dry_run: a.dry_run,
            version,
            bump: match a.bump {
                BumpArg::Major => Bump::Major,
                BumpArg::Minor => Bump::Minor,
                BumpArg::Patch => Bump::Patch,
            },
            model_file: a.model_file,
            print_triggers,
            attestation: None,
        },
        format: a.format.into(),
        sinks,
    })
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
