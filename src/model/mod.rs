//! Model scoring: turns a model reference from the config into one score per
//! holdout row. A reference is a score column, an external score file, or a
//! model file scored natively; the decision is then bound to that file's
//! sha256.

pub mod error;
pub mod linear;
pub mod onnx;
pub mod trees;

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::DataFrame;
use serde::Serialize;

use crate::config::{ArtifactFormat, HoldoutSpec, ModelRef, ScoreSource};
use crate::data::{self, Holdout};
use crate::error::{Error, Result};

use error::{FormatError, malformed};
use linear::LinearModel;
use onnx::OnnxModel;
use trees::Forest;

/// Scores for every holdout row, in holdout order, plus where they came from.
#[derive(Debug, Clone)]
pub struct Scored {
    pub scores: Vec<f64>,
    pub source: SourceInfo,
    pub scoring_ms: f64,
}

/// A description of a model's score source, recorded in the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceInfo {
    /// A column of the holdout.
    Column { column: String },
    /// A column of an external file joined on an id.
    File {
        path: String,
        column: String,
        join_on: String,
    },
    /// A model file, scored by modelgate.
    Artifact {
        format: ArtifactFormat,
        path: String,
        sha256: String,
        features: Vec<String>,
    },
}

impl SourceInfo {
    /// A short identifier for reports and gates.
    pub fn describe(&self) -> String {
        match self {
            SourceInfo::Column { column } => format!("column:{column}"),
            SourceInfo::File { path, column, .. } => format!("file:{path}#{column}"),
            SourceInfo::Artifact { format, sha256, .. } => {
                format!(
                    "{}:sha256:{}",
                    format.key(),
                    &sha256[..sha256.len().min(12)]
                )
            }
        }
    }
}

/// A model ready to score: its file (if any) is read and checked, so the
/// holdout is loaded only once the needed columns are known.
#[derive(Debug)]
pub enum Scorer {
    Scores(ScoreSource),
    Model {
        model: Box<Loaded>,
        format: ArtifactFormat,
        path: PathBuf,
        sha256: String,
        /// Holdout columns in the model's input order.
        features: Vec<String>,
    },
}

/// A parsed model file.
#[derive(Debug)]
pub enum Loaded {
    Linear(LinearModel),
    Trees(Forest),
    Onnx(OnnxModel),
}

impl Loaded {
    /// Reads a model file of a known format.
    pub fn load(format: ArtifactFormat, path: &Path) -> Result<Loaded> {
        let bad = |source: FormatError| Error::ModelFormat {
            path: path.to_path_buf(),
            source,
        };
        Ok(match format {
            ArtifactFormat::Linfa => Loaded::Linear(LinearModel::load(path)?),
            ArtifactFormat::Onnx => Loaded::Onnx(OnnxModel::load(path).map_err(bad)?),
            ArtifactFormat::Xgboost => {
                let bytes =
                    std::fs::read(path).map_err(|e| Error::io("cannot read model", path, e))?;
                // JSON text starts `{"`; UBJ starts `{` and a length marker.
                let json_text = bytes
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .take(2)
                    .eq(*b"{\"");
                let doc = if json_text {
                    serde_json::from_slice(&bytes)
                        .map_err(|e| bad(malformed!("not XGBoost JSON: {e}")))?
                } else {
                    trees::ubjson::parse(&bytes)
                        .map_err(|e| bad(e.context("not XGBoost JSON or UBJ")))?
                };
                Loaded::Trees(trees::xgboost::load(&doc).map_err(bad)?)
            }
            ArtifactFormat::Lightgbm => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::io("cannot read model", path, e))?;
                Loaded::Trees(trees::lightgbm::load(&text).map_err(bad)?)
            }
        })
    }

    /// Input names the file itself records, if any.
    fn own_features(&self) -> Option<Vec<String>> {
        match self {
            Loaded::Linear(m) => Some(m.features.clone()),
            Loaded::Trees(f) => f.feature_names.clone(),
            Loaded::Onnx(_) => None,
        }
    }

    fn n_inputs(&self) -> usize {
        match self {
            Loaded::Linear(m) => m.features.len(),
            Loaded::Trees(f) => f.n_features,
            Loaded::Onnx(m) => m.n_inputs(),
        }
    }

    /// Whether a missing value is a valid input (trees route it).
    fn takes_missing(&self) -> bool {
        match self {
            Loaded::Linear(_) => false,
            Loaded::Trees(_) => true,
            Loaded::Onnx(m) => matches!(m, OnnxModel::Trees(_)),
        }
    }
}

impl Scorer {
    pub fn open(model: &ModelRef) -> Result<Scorer> {
        match model {
            ModelRef::Scores(s) => Ok(Scorer::Scores(s.clone())),
            ModelRef::Artifact(a) => {
                let loaded = Loaded::load(a.format, &a.path)?;
                let n = loaded.n_inputs();
                let features = match (&a.features, loaded.own_features()) {
                    (Some(f), _) => f.clone(),
                    (None, Some(own)) => own,
                    (None, None) => {
                        return Err(Error::Model {
                            path: a.path.clone(),
                            message: format!(
                                "the model takes one tensor of {n} columns without names: list the input columns in order (`features:` in the config, `--features` for `modelgate score`)"
                            ),
                        });
                    }
                };
                if features.len() != n {
                    return Err(Error::Model {
                        path: a.path.clone(),
                        message: format!(
                            "`features` names {} columns but the model has {n} inputs",
                            features.len()
                        ),
                    });
                }
                if let Loaded::Linear(m) = &loaded
                    && m.features != features
                {
                    let mut m = m.clone();
                    m.features.clone_from(&features);
                    return Ok(Scorer::Model {
                        sha256: data::file_sha256(&a.path)?,
                        model: Box::new(Loaded::Linear(m)),
                        format: a.format,
                        path: a.path.clone(),
                        features,
                    });
                }
                Ok(Scorer::Model {
                    sha256: data::file_sha256(&a.path)?,
                    model: Box::new(loaded),
                    format: a.format,
                    path: a.path.clone(),
                    features,
                })
            }
            ModelRef::Registry { alias } => Err(Error::Usage(format!(
                "the registry alias `{alias}` must be resolved before scoring"
            ))),
        }
    }

    /// The holdout columns this model reads.
    /// Whether scoring joins a scores file on the holdout's id column.
    pub fn joins_on_id(&self) -> bool {
        matches!(self, Scorer::Scores(ScoreSource::File { .. }))
    }

    pub fn holdout_columns(&self) -> Vec<String> {
        match self {
            Scorer::Scores(ScoreSource::Column(c)) => vec![c.clone()],
            Scorer::Scores(ScoreSource::File { .. }) => Vec::new(),
            Scorer::Model { features, .. } => features.clone(),
        }
    }

    /// Produces validated scores for each holdout row.
    pub fn score(&self, holdout: &Holdout, spec: &HoldoutSpec) -> Result<Scored> {
        let start = Instant::now();
        let (scores, source) = match self {
            Scorer::Scores(ScoreSource::Column(c)) => (
                holdout.score_column(c)?,
                SourceInfo::Column { column: c.clone() },
            ),
            Scorer::Scores(ScoreSource::File {
                path,
                format,
                column,
                join_on,
            }) => {
                let id = spec.id.as_deref().ok_or_else(|| {
                    Error::Usage("an external score file needs `holdout.id` to join on".into())
                })?;
                (
                    data::scores_from_file(holdout, id, path, *format, column, join_on)?,
                    SourceInfo::File {
                        path: path.display().to_string(),
                        column: column.clone(),
                        join_on: join_on.clone(),
                    },
                )
            }
            Scorer::Model {
                model,
                format,
                path,
                sha256,
                features,
            } => (
                score_frame(model, features, &holdout.path, &holdout.frame, path)?,
                SourceInfo::Artifact {
                    format: *format,
                    path: path.display().to_string(),
                    sha256: sha256.clone(),
                    features: features.clone(),
                },
            ),
        };
        Ok(Scored {
            scores,
            source,
            scoring_ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// Reads the feature columns of `frame` (a table read from `data`; missing
/// values as NaN) and scores every row: the one path both the holdout and
/// `modelgate score` take, so a served model can be checked against the
/// scores the gates saw.
pub fn score_frame(
    model: &Loaded,
    features: &[String],
    data: &Path,
    frame: &DataFrame,
    path: &Path,
) -> Result<Vec<f64>> {
    let read = || -> Result<Vec<Vec<f64>>> {
        let mut columns = Vec::with_capacity(features.len());
        let mut missing = Vec::new();
        for name in features {
            let (values, rows) = data::feature_column(data, frame, name)?;
            if !rows.is_empty() {
                missing.push(format!("`{name}` {} rows", rows.len()));
            }
            columns.push(values);
        }
        if !missing.is_empty() && !model.takes_missing() {
            return Err(Error::data(
                data,
                format!(
                    "missing or non-finite feature values ({}); this model cannot take them. Fill them upstream, or use a tree model, which routes missing values",
                    missing.join(", ")
                ),
            ));
        }
        Ok(columns)
    };
    match model {
        Loaded::Linear(m) => m.score(data, frame),
        Loaded::Trees(f) => Ok(f.predict(&read()?)),
        Loaded::Onnx(m) => m.predict(&read()?).map_err(|source| Error::ModelFormat {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Tells a model file's format from its name, or for `.json` from its
/// content (a linfa model names its schema; XGBoost's has a `learner`).
pub fn infer_format(path: &Path) -> Result<ArtifactFormat> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let unknown = || {
        Error::Model {
        path: path.to_path_buf(),
        message: "cannot tell the model format from the file name (.onnx, .ubj, .txt for LightGBM, .json for linfa or XGBoost); pass --format".into(),
    }
    };
    if name.ends_with(".onnx") {
        Ok(ArtifactFormat::Onnx)
    } else if name.ends_with(".ubj") {
        Ok(ArtifactFormat::Xgboost)
    } else if name.ends_with(".txt") {
        Ok(ArtifactFormat::Lightgbm)
    } else if name.ends_with(".json") {
        /// Just enough of the file to tell the two JSON formats apart.
        #[derive(serde::Deserialize)]
        struct Probe {
            schema: Option<String>,
            learner: Option<serde::de::IgnoredAny>,
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("cannot read model", path, e))?;
        match serde_json::from_str::<Probe>(&text) {
            Ok(p) if p.schema.as_deref() == Some(linear::SCHEMA) => Ok(ArtifactFormat::Linfa),
            Ok(p) if p.learner.is_some() => Ok(ArtifactFormat::Xgboost),
            _ => Err(unknown()),
        }
    } else {
        Err(unknown())
    }
}
