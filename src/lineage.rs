//! Lineage (`modelgate.lineage/v1`): which data, code and parameters produced
//! a model version. It is written once, when the version is created, and
//! never changes, so a bad model can be traced back to its data months later.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::config::{Config, LineageParams, ModelRef, ReferenceSpec};
use crate::data::{self, profile::ColumnProfile};
use crate::error::{Error, Result};
use crate::model::linear::LinearModel;

pub const SCHEMA: &str = "modelgate.lineage/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    pub schema: String,
    pub model: String,
    pub version: String,
    /// The production version this one was compared with, if any.
    pub parent: Option<String>,
    pub created_at: String,
    pub creator: String,
    pub training_data: Option<DatasetLineage>,
    pub code: Option<CodeLineage>,
    pub params: serde_json::Value,
    pub artifacts: Vec<ArtifactDigest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetLineage {
    pub path: String,
    pub sha256: String,
    pub rows: u64,
    /// Per-column profile, missing values included.
    pub columns: Vec<ColumnProfile>,
}

impl DatasetLineage {
    /// Columns with missing values, worst first.
    pub fn missing(&self) -> Vec<(&str, u64, f64)> {
        let mut m: Vec<(&str, u64, f64)> = self
            .columns
            .iter()
            .filter(|c| c.nulls > 0)
            .map(|c| (c.name.as_str(), c.nulls, c.missing_ratio()))
            .collect();
        m.sort_by(|a, b| b.2.total_cmp(&a.2));
        m
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeLineage {
    pub repository: Option<String>,
    pub commit: String,
    /// Uncommitted changes to tracked files when the version was made.
    pub dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactDigest {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// The scoring format, when modelgate can score the file.
    pub format: Option<String>,
}

impl ArtifactDigest {
    pub fn of(path: &Path, format: Option<&str>) -> Result<ArtifactDigest> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        Ok(ArtifactDigest {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            sha256: data::file_sha256(path)?,
            size: meta.len(),
            format: format.map(str::to_string),
        })
    }
}

/// The training data a config or model names: `lineage.training_data`
/// first, else the path a `modelgate train` model recorded.
pub fn training_data(config: &Config) -> Option<ReferenceSpec> {
    if let Some(t) = &config.lineage.training_data {
        return Some(t.clone());
    }
    let ModelRef::Artifact(a) = &config.candidate else {
        return None;
    };
    let model = LinearModel::load(&a.path).ok()?;
    let path = PathBuf::from(model.training.path);
    let format = crate::config::DataFormat::from_path(&path)?;
    path.is_file().then_some(ReferenceSpec { path, format })
}

/// Hashes and profiles a dataset.
pub fn dataset(spec: &ReferenceSpec) -> Result<DatasetLineage> {
    let table = data::Table::open(&spec.path, spec.format)?;
    let columns = data::profile::profile(&table, None, false)?.holdout;
    Ok(DatasetLineage {
        path: spec.path.display().to_string(),
        sha256: data::file_sha256(&spec.path)?,
        rows: table.rows() as u64,
        columns,
    })
}

/// The parameters: from the config, else those a linfa model recorded.
pub fn params(config: &Config) -> Result<serde_json::Value> {
    match &config.lineage.params {
        LineageParams::Inline(v) => Ok(v.clone()),
        LineageParams::File(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Error::io("cannot read lineage.params", p, e))?;
            serde_norway::from_str::<serde_json::Value>(&text)
                .map_err(|e| Error::data(p, format!("lineage.params: not JSON or YAML: {e}")))
        }
        LineageParams::None => {
            if let ModelRef::Artifact(a) = &config.candidate
                && let Ok(m) = LinearModel::load(&a.path)
            {
                return Ok(serde_json::json!({ "linfa": m.params }));
            }
            Ok(serde_json::Value::Object(Default::default()))
        }
    }
}

/// The commit of the checkout around `dir`, preferring git itself and
/// falling back to GitHub Actions' `GITHUB_SHA`.
pub fn code(dir: &Path) -> Option<CodeLineage> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let repository = std::env::var("GITHUB_REPOSITORY")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["remote", "get-url", "origin"]).filter(|r| !r.is_empty()));
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        return Some(CodeLineage {
            repository,
            commit,
            dirty,
        });
    }
    std::env::var("GITHUB_SHA")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|commit| CodeLineage {
            repository,
            commit,
            dirty: false,
        })
}

/// Who is acting: the workflow's actor in CI, else the local user.
pub fn creator() -> String {
    ["GITHUB_ACTOR", "USER", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Now, as RFC 3339 UTC with second precision.
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (days-to-civil, Howard Hinnant).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
