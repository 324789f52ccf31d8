//! Model scoring: turns a model reference from the config into one score per
//! holdout row. A reference is a score column, an external score file, or a
//! model file scored natively; the decision is then bound to that file's
//! sha256.

pub mod linear;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::config::{ArtifactFormat, HoldoutSpec, ModelRef, ScoreSource};
use crate::data::{self, Holdout};
use crate::error::{Error, Result};

use linear::LinearModel;

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
    Linear {
        model: Box<LinearModel>,
        path: PathBuf,
        sha256: String,
        features: Vec<String>,
    },
}

impl Scorer {
    pub fn open(model: &ModelRef) -> Result<Scorer> {
        match model {
            ModelRef::Scores(s) => Ok(Scorer::Scores(s.clone())),
            ModelRef::Artifact(a) => match a.format {
                ArtifactFormat::Linfa => {
                    let mut model = LinearModel::load(&a.path)?;
                    let features = match &a.features {
                        None => model.features.clone(),
                        Some(f) if f.len() == model.features.len() => f.clone(),
                        Some(f) => {
                            return Err(Error::Model {
                                path: a.path.clone(),
                                message: format!(
                                    "`features` names {} columns but the model has {} inputs ({})",
                                    f.len(),
                                    model.features.len(),
                                    model.features.join(", ")
                                ),
                            });
                        }
                    };
                    model.features.clone_from(&features);
                    Ok(Scorer::Linear {
                        sha256: data::file_sha256(&a.path)?,
                        model: Box::new(model),
                        path: a.path.clone(),
                        features,
                    })
                }
            },
            ModelRef::Registry { alias } => Err(Error::Usage(format!(
                "the registry alias `{alias}` must be resolved before scoring"
            ))),
        }
    }

    /// The holdout columns this model reads.
    pub fn holdout_columns(&self) -> Vec<String> {
        match self {
            Scorer::Scores(ScoreSource::Column(c)) => vec![c.clone()],
            Scorer::Scores(ScoreSource::File { .. }) => Vec::new(),
            Scorer::Linear { features, .. } => features.clone(),
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
            Scorer::Linear {
                model,
                path,
                sha256,
                features,
            } => (
                model.score(&holdout.path, &holdout.frame)?,
                SourceInfo::Artifact {
                    format: ArtifactFormat::Linfa,
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
