//! The `modelgate.model.linfa/v1` format: a logistic regression trained with
//! linfa by `modelgate train`, stored as plain JSON so any language can read
//! it and a reviewer can diff two versions.
//!
//! Coefficients act on standardised features and give the log-odds of the
//! *positive* (fraud) class. linfa itself calls whichever class is more
//! frequent "positive"; `train` resolves that once, so nothing downstream
//! has to know.

use std::path::Path;

use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::error::{Error, Result};

pub const SCHEMA: &str = "modelgate.model.linfa/v1";

/// A trained logistic regression, with what produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearModel {
    pub schema: String,
    /// Always `logistic_regression` in v1.
    pub kind: String,
    /// Input columns, in coefficient order.
    pub features: Vec<String>,
    /// Training mean of each feature (also the value imputed for a missing
    /// training value).
    pub mean: Vec<f64>,
    /// Training standard deviation of each feature (1 where it was 0).
    pub scale: Vec<f64>,
    /// Log-odds of the positive class per standardised feature.
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    /// The label value treated as positive, as text.
    pub positive_class: String,
    pub params: TrainParams,
    pub training: TrainingRecord,
}

/// linfa's hyperparameters, recorded as used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// L2 penalty on the coefficients.
    pub alpha: f64,
    pub max_iterations: u64,
    pub gradient_tolerance: f64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
        }
    }
}

/// The data a model was trained on, so lineage can name it without guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    pub path: String,
    pub sha256: String,
    pub rows: u64,
    pub positives: u64,
    pub label: String,
    /// Missing training values per feature (imputed with the mean).
    pub missing: Vec<(String, u64)>,
    pub linfa_version: String,
}

impl LinearModel {
    pub fn load(path: &Path) -> Result<LinearModel> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("cannot read model", path, e))?;
        let model: LinearModel = serde_json::from_str(&text).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            message: format!("not a {SCHEMA} model: {e}"),
        })?;
        model.check(path)?;
        Ok(model)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |message: String| Error::Model {
            path: path.to_path_buf(),
            message,
        };
        if self.schema != SCHEMA {
            return Err(bad(format!(
                "schema is `{}`; this modelgate reads `{SCHEMA}`",
                self.schema
            )));
        }
        if self.kind != "logistic_regression" {
            return Err(bad(format!(
                "kind is `{}`; expected `logistic_regression`",
                self.kind
            )));
        }
        let n = self.features.len();
        if n == 0 || self.mean.len() != n || self.scale.len() != n || self.coefficients.len() != n {
            return Err(bad(format!(
                "{n} features but {} means, {} scales and {} coefficients; all must match",
                self.mean.len(),
                self.scale.len(),
                self.coefficients.len()
            )));
        }
        let finite = self
            .mean
            .iter()
            .chain(&self.scale)
            .chain(&self.coefficients)
            .chain(std::iter::once(&self.intercept))
            .all(|v| v.is_finite());
        if !finite || self.scale.iter().any(|s| *s <= 0.0) {
            return Err(bad(
                "coefficients, means and scales must be finite, scales positive".into(),
            ));
        }
        Ok(())
    }

    /// Probabilities of the positive class for every row of `frame`. A
    /// missing feature value is an error with counts: a linear model has no
    /// principled answer for it, and imputing silently would hide a data bug.
    pub fn score(&self, path: &Path, frame: &DataFrame) -> Result<Vec<f64>> {
        let mut logits = vec![self.intercept; frame.height()];
        let mut missing = Vec::new();
        for (j, name) in self.features.iter().enumerate() {
            let (values, rows) = data::feature_column(path, frame, name)?;
            if !rows.is_empty() {
                missing.push(format!("`{name}` {} rows", rows.len()));
                continue;
            }
            let (w, m, s) = (self.coefficients[j], self.mean[j], self.scale[j]);
            for (z, x) in logits.iter_mut().zip(&values) {
                *z += w * (x - m) / s;
            }
        }
        if !missing.is_empty() {
            return Err(Error::data(
                path,
                format!(
                    "missing or non-finite feature values ({}); a logistic regression cannot score them. Fill them upstream, or use a tree model, which routes missing values",
                    missing.join(", ")
                ),
            ));
        }
        Ok(logits.into_iter().map(sigmoid).collect())
    }
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn model() -> LinearModel {
        LinearModel {
            schema: SCHEMA.into(),
            kind: "logistic_regression".into(),
            features: vec!["a".into(), "b".into()],
            mean: vec![1.0, 0.0],
            scale: vec![2.0, 1.0],
            coefficients: vec![0.5, -1.0],
            intercept: 0.25,
            positive_class: "1".into(),
            params: TrainParams::default(),
            training: TrainingRecord {
                path: "t.parquet".into(),
                sha256: String::new(),
                rows: 2,
                positives: 1,
                label: "y".into(),
                missing: vec![],
                linfa_version: "0.8".into(),
            },
        }
    }

    #[test]
    fn scores_are_the_logistic_of_the_standardised_dot_product() {
        let df = df!("a" => [3.0, 1.0], "b" => [1i64, -2], "extra" => ["x", "y"]).unwrap();
        let p = model().score(Path::new("h.parquet"), &df).unwrap();
        let want0 = sigmoid(0.25 + 0.5 * (3.0 - 1.0) / 2.0 - 1.0);
        let want1 = sigmoid(0.25 + 2.0);
        assert!((p[0] - want0).abs() < 1e-15 && (p[1] - want1).abs() < 1e-15);
    }

    #[test]
    fn missing_feature_and_missing_values_are_named() {
        let df = df!("a" => [3.0, 1.0]).unwrap();
        let e = model().score(Path::new("h.parquet"), &df).unwrap_err();
        assert!(e.to_string().contains("no feature column `b`"), "{e}");
        let df = df!("a" => [Some(3.0), None], "b" => [1.0, 2.0]).unwrap();
        let e = model().score(Path::new("h.parquet"), &df).unwrap_err();
        assert!(e.to_string().contains("`a` 1 rows"), "{e}");
        let df = df!("a" => ["x", "y"], "b" => [1.0, 2.0]).unwrap();
        let e = model().score(Path::new("h.parquet"), &df).unwrap_err();
        assert!(e.to_string().contains("expects a numeric column"), "{e}");
    }

    #[test]
    fn inconsistent_files_are_refused() {
        let mut m = model();
        m.coefficients.pop();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(&p, serde_json::to_string(&m).unwrap()).unwrap();
        assert!(
            LinearModel::load(&p)
                .unwrap_err()
                .to_string()
                .contains("must match")
        );
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-16);
    }
}
