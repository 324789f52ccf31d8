//! Model scoring: turns a model reference from the config into one score per
//! holdout row. Today a reference is a score column or an external score
//! file; model artifacts (ONNX, trees, linfa) slot in as further variants.

use std::time::Instant;

use serde::Serialize;

use crate::config::{HoldoutSpec, ModelRef, ScoreSource};
use crate::data::{self, Holdout};
use crate::error::{Error, Result};

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
}

impl SourceInfo {
    /// A short identifier for reports and gates.
    pub fn describe(&self) -> String {
        match self {
            SourceInfo::Column { column } => format!("column:{column}"),
            SourceInfo::File { path, column, .. } => format!("file:{path}#{column}"),
        }
    }
}

/// The holdout columns a model reads, so the data layer loads only those.
pub fn holdout_columns(model: &ModelRef) -> Vec<String> {
    match model {
        ModelRef::Scores(ScoreSource::Column(c)) => vec![c.clone()],
        ModelRef::Scores(ScoreSource::File { .. }) => Vec::new(),
    }
}

/// Produces validated scores for each holdout row.
pub fn score(model: &ModelRef, holdout: &Holdout, spec: &HoldoutSpec) -> Result<Scored> {
    let start = Instant::now();
    let (scores, source) = match model {
        ModelRef::Scores(ScoreSource::Column(c)) => (
            holdout.score_column(c)?,
            SourceInfo::Column { column: c.clone() },
        ),
        ModelRef::Scores(ScoreSource::File {
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
    };
    Ok(Scored {
        scores,
        source,
        scoring_ms: start.elapsed().as_secs_f64() * 1e3,
    })
}
