//! `modelgate train`: a linfa logistic regression on standardised features,
//! written as a [`LinearModel`] with the training data's hash and the
//! parameters used, so the model file carries its own lineage.

use std::path::{Path, PathBuf};

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use polars::prelude::DataType;

use crate::config::{DataFormat, LabelValue};
use crate::data::{self, Columns, RowNames};
use crate::error::{Error, Result};
use crate::model::linear::{self, LinearModel, TrainParams, TrainingRecord};

/// What to train on.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    pub data: PathBuf,
    pub label: String,
    pub positive: Option<LabelValue>,
    /// Feature columns; empty means every float column but the label and `exclude`.
    pub features: Vec<String>,
    pub exclude: Vec<String>,
    pub params: TrainParams,
}

/// The linfa version this build trains with, recorded in every model.
pub const LINFA_VERSION: &str = "0.8";

/// Parses `alpha=0.1`-style parameters over the defaults.
pub fn parse_params(items: &[String]) -> Result<TrainParams> {
    let mut p = TrainParams::default();
    for item in items {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--param {item}: expected NAME=VALUE, e.g. alpha=0.1"
            ))
        })?;
        let bad = || Error::Usage(format!("--param {item}: `{v}` is not a valid {k}"));
        match k.trim() {
            "alpha" => {
                p.alpha = v.trim().parse().map_err(|_| bad())?;
                if !(p.alpha.is_finite() && p.alpha >= 0.0) {
                    return Err(bad());
                }
            }
            "max_iterations" => {
                p.max_iterations = v.trim().parse().map_err(|_| bad())?;
                if p.max_iterations == 0 {
                    return Err(bad());
                }
            }
            "gradient_tolerance" => {
                p.gradient_tolerance = v.trim().parse().map_err(|_| bad())?;
                if !(p.gradient_tolerance.is_finite() && p.gradient_tolerance > 0.0) {
                    return Err(bad());
                }
            }
            other => {
                return Err(Error::Usage(format!(
                    "--param {item}: unknown parameter `{other}`; known: alpha, max_iterations, gradient_tolerance"
                )));
            }
        }
    }
    Ok(p)
}

/// Trains a model; missing training values are imputed with the feature's
/// mean and counted in the record, so lineage shows them. The same data and
/// parameters give the same model bytes, so re-registering is idempotent.
pub fn train(spec: &TrainSpec) -> Result<LinearModel> {
    let path = spec.data.as_path();
    let format = DataFormat::from_path(path).ok_or_else(|| {
        Error::Usage(format!(
            "{}: cannot tell the file format from its name; expected {}",
            path.display(),
            DataFormat::EXPECTED
        ))
    })?;
    let frame = data::read_columns(
        path,
        format,
        &[("--label", spec.label.as_str())],
        Columns::All,
    )?;
    let features = if spec.features.is_empty() {
        frame
            .columns()
            .iter()
            .filter(|c| c.dtype().is_float())
            .map(|c| c.name().to_string())
            .filter(|n| *n != spec.label && !spec.exclude.contains(n))
            .collect()
    } else {
        spec.features.clone()
    };
    if features.is_empty() {
        return Err(Error::data(
            path,
            "no feature columns: name them with --features (the default takes every float column but the label)",
        ));
    }
    if features.contains(&spec.label) {
        return Err(Error::Usage(format!(
            "--features includes the label `{}`",
            spec.label
        )));
    }
    let label = frame
        .column(&spec.label)
        .map_err(|e| Error::polars("cannot read", path, e))?
        .as_materialized_series();
    let labels = data::labels(path, label, spec.positive.as_ref(), &RowNames::Index)?;
    let positives = labels.iter().filter(|l| **l).count();
    if positives == 0 || positives == labels.len() {
        return Err(Error::data(
            path,
            format!(
                "label `{}` has only one class ({positives} positives in {} rows); training needs both",
                spec.label,
                labels.len()
            ),
        ));
    }

    let n = labels.len();
    let mut x = Array2::<f64>::zeros((n, features.len()));
    let (mut mean, mut scale, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for (j, name) in features.iter().enumerate() {
        if frame
            .column(name)
            .is_ok_and(|c| c.dtype() == &DataType::String)
        {
            return Err(Error::data(
                path,
                format!("feature `{name}` is text; a logistic regression needs numeric features"),
            ));
        }
        let (values, rows) = data::feature_column(path, &frame, name)?;
        if rows.len() == n {
            return Err(Error::data(
                path,
                format!("feature `{name}` has no values at all"),
            ));
        }
        let present = (n - rows.len()) as f64;
        let m = values.iter().filter(|v| !v.is_nan()).sum::<f64>() / present;
        let var = values
            .iter()
            .filter(|v| !v.is_nan())
            .map(|v| (v - m).powi(2))
            .sum::<f64>()
            / present;
        let s = if var > 0.0 { var.sqrt() } else { 1.0 };
        for (i, v) in values.iter().enumerate() {
            x[(i, j)] = if v.is_nan() { 0.0 } else { (v - m) / s };
        }
        mean.push(m);
        scale.push(s);
        missing.push((name.clone(), rows.len() as u64));
    }

    let y: Array1<bool> = labels.iter().copied().collect();
    let dataset = Dataset::new(x, y);
    let fitted = LogisticRegression::default()
        .alpha(spec.params.alpha)
        .max_iterations(spec.params.max_iterations)
        .gradient_tolerance(spec.params.gradient_tolerance)
        .fit(&dataset)
        .map_err(|e| Error::data(path, format!("linfa could not fit the model: {e}")))?;
    // linfa's "positive" class is the larger one; flip to fraud's log-odds.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let coefficients: Vec<f64> = fitted.params().iter().map(|w| sign * w).collect();
    let intercept = sign * fitted.intercept();

    let model = LinearModel {
        schema: linear::SCHEMA.into(),
        kind: "logistic_regression".into(),
        features,
        mean,
        scale,
        coefficients,
        intercept,
        positive_class: spec
            .positive
            .as_ref()
            .map_or_else(|| "true / 1".to_string(), |p| p.to_string()),
        params: spec.params.clone(),
        training: TrainingRecord {
            path: path.display().to_string(),
            sha256: data::file_sha256(path)?,
            rows: n as u64,
            positives: positives as u64,
            label: spec.label.clone(),
            missing,
            linfa_version: LINFA_VERSION.into(),
        },
    };
    Ok(model)
}

/// Writes a model as pretty JSON.
pub fn write(model: &LinearModel, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(model).map_err(|source| Error::Json {
        what: "the model",
        source,
    })?;
    crate::fs::write_atomic(out, format!("{json}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn params_parse_and_reject() {
        let p = parse_params(&["alpha=0.5".into(), "max_iterations=20".into()]).unwrap();
        assert_eq!((p.alpha, p.max_iterations), (0.5, 20));
        assert!(parse_params(&["alpha=-1".into()]).is_err());
        assert!(parse_params(&["beta=1".into()]).is_err());
        assert!(parse_params(&["alpha".into()]).is_err());
    }

    /// Fraud is the minority here, so linfa's "positive" class is the
    /// legitimate one; the trained model must still score fraud high.
    #[test]
    fn trains_fraud_log_odds_whichever_class_linfa_calls_positive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        let n = 4000;
        let mut rng = crate::demo::Rng::new(3, 0, 0);
        let mut xs = Vec::new();
        let mut noise = Vec::new();
        let mut ys = Vec::new();
        for _ in 0..n {
            let fraud = rng.uniform() < 0.1;
            xs.push(rng.normal() + if fraud { 2.0 } else { 0.0 });
            noise.push(if rng.uniform() < 0.05 {
                None
            } else {
                Some(rng.normal())
            });
            ys.push(i32::from(fraud));
        }
        let mut df = df!("x" => &xs, "noise" => &noise, "y" => &ys).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let spec = TrainSpec {
            data: path.clone(),
            label: "y".into(),
            positive: None,
            features: vec![],
            exclude: vec![],
            params: TrainParams::default(),
        };
        let m = train(&spec).unwrap();
        assert_eq!(m.features, vec!["x", "noise"]);
        assert!(m.coefficients[0] > 0.5, "{:?}", m.coefficients);
        assert!(m.coefficients[1].abs() < 0.2, "{:?}", m.coefficients);
        let noise_missing = m.training.missing[1].1;
        assert!((100..300).contains(&noise_missing), "{noise_missing}");
        assert_eq!(m.training.rows, n as u64);
        // The mean probability on the training data is near the base rate.
        let df =
            df!("x" => &xs, "noise" => noise.iter().map(|v| v.unwrap_or(0.0)).collect::<Vec<_>>())
                .unwrap();
        let p = m.score(&path, &df).unwrap();
        let mean = p.iter().sum::<f64>() / n as f64;
        let rate = ys.iter().sum::<i32>() as f64 / n as f64;
        assert!((mean - rate).abs() < 0.03, "{mean} vs {rate}");
    }
}
