//! `modelgate score`: one score per row of a data file, from a model file,
//! through the same scoring path the gates use. It exists so that whatever
//! serves the model (the `examples/serving` service, a batch job) can be
//! checked against the scores the promotion was decided on.

use std::io::Write;
use std::path::PathBuf;

use polars::prelude::{Column, CsvWriter, DataFrame, DataType, SerWriter};

use super::ExitStatus;
use crate::config::{ArtifactFormat, ArtifactRef, DataFormat, ModelRef};
use crate::data::{self, Columns};
use crate::error::{Error, Result};
use crate::model::{self, Scorer};

/// What to score, validated from the command line.
#[derive(Debug, Clone)]
pub struct ScoreSpec {
    pub model: PathBuf,
    /// `None` infers it from the file (see [`model::infer_format`]).
    pub format: Option<ArtifactFormat>,
    /// Input columns in the model's order; `None` uses the file's own names.
    pub features: Option<Vec<String>>,
    pub data: PathBuf,
    /// A column printed beside each score, to join the scores back.
    pub id: Option<String>,
}

/// Prints CSV: a header, then `[id,]score` per row in the data's order.
pub fn score(spec: &ScoreSpec, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let format = match spec.format {
        Some(f) => f,
        None => model::infer_format(&spec.model)?,
    };
    let data_format = DataFormat::from_path(&spec.data).ok_or_else(|| {
        Error::data(
            &spec.data,
            "cannot tell the file format from its name; expected .parquet, .csv, .csv.gz or .ndjson",
        )
    })?;
    let scorer = Scorer::open(&ModelRef::Artifact(ArtifactRef {
        format,
        path: spec.model.clone(),
        features: spec.features.clone(),
    }))?;
    let Scorer::Model {
        model, features, ..
    } = &scorer
    else {
        unreachable!("a model file always opens as a model");
    };
    let mut wanted: Vec<(&str, &str)> = features
        .iter()
        .map(|f| ("a model input", f.as_str()))
        .collect();
    if let Some(id) = &spec.id {
        wanted.push(("--id", id));
    }
    let frame = data::read_columns(&spec.data, data_format, &wanted, Columns::Named)?;
    let scores = model::score_frame(model, features, &spec.data, &frame, &spec.model)?;
    let mut columns = Vec::with_capacity(2);
    if let Some(id) = &spec.id {
        let c = frame
            .column(id)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| Error::polars("cannot read the id column of", &spec.data, e))?;
        columns.push(c);
    }
    columns.push(Column::new("score".into(), scores));
    let mut table = DataFrame::new_infer_height(columns)
        .map_err(|e| Error::polars("cannot build the scores of", &spec.data, e))?;
    CsvWriter::new(stdout)
        .include_header(true)
        .finish(&mut table)
        .map_err(|e| Error::polars("cannot write the scores of", &spec.data, e))?;
    Ok(ExitStatus::Success)
}
