//! `modelgate.summary/v1`: a holdout too large for one machine, as the
//! exact summaries an existing engine (Spark, with
//! `spark/modelgate_summaries.py`) computes from it.
//!
//! A summary directory holds `manifest.json` (counts, each pair of models'
//! DeLong components and per-row loss differences, every column's profile
//! and the KS statistics), `scores/` (Parquet: one row per model and
//! distinct score, with the exact counts of positives and negatives and
//! their amount sums) and `sample/` (Parquet: every positive and a seeded
//! share of the negatives, weighted, for the bootstrap). Everything the
//! metrics read is exact: a model's rows at one score are interchangeable
//! to every rank and threshold metric, so the counts per distinct score
//! give the same sweep, curve points and AUCs as the rows.
//!
//! The manifest is written last by the job, so a summary without one is an
//! incomplete run and is refused. Fields may be added within v1; readers
//! ignore fields they do not know.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Deserialize;

use super::profile::ColumnProfile;
use crate::error::{Error, Result};
use crate::stats::ks::{self, KsTest};

pub const SCHEMA: &str = "modelgate.summary/v1";

/// `manifest.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema: String,
    /// The holdout the job read, as it named it.
    pub holdout: String,
    pub reference: Option<String>,
    /// The reference's rows, when the job profiled one.
    pub reference_rows: Option<u64>,
    pub label: String,
    pub amount: Option<String>,
    pub rows: u64,
    pub positives: u64,
    /// The score column of each model summarised.
    pub models: Vec<String>,
    /// Every pair of models, in `models` order.
    #[serde(default)]
    pub pairs: Vec<Pair>,
    pub sample: SampleInfo,
    pub profiles: SummaryProfiles,
    /// The exact two-sample KS statistic of each numeric column the holdout
    /// and the reference both have.
    #[serde(default)]
    pub ks: BTreeMap<String, KsStatistic>,
    /// The Spark version that computed it.
    pub spark: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SummaryProfiles {
    pub holdout: Vec<ColumnProfile>,
    pub reference: Option<Vec<ColumnProfile>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KsStatistic {
    pub statistic: f64,
    pub holdout_rows: u64,
    pub reference_rows: u64,
}

/// How the bootstrap sample was drawn.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct SampleInfo {
    /// The chance each negative had of being kept (every positive is).
    pub negative_share: f64,
    pub seed: u64,
}

/// Models `a` and `b`, compared as `a` minus `b`.
#[derive(Debug, Clone, Deserialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub delong: DeLongParts,
    /// Absent unless both models' scores are probabilities.
    pub losses: Option<Losses>,
}

/// DeLong's components (Sun and Xu 2014) over one class: each row's
/// placement among the other class under both models.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Placements {
    pub n: u64,
    pub mean_a: f64,
    pub mean_b: f64,
    /// Sample variance of `a`'s placement minus `b`'s.
    pub var_difference: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct DeLongParts {
    pub positives: Placements,
    pub negatives: Placements,
}

/// A per-row difference (`a` minus `b`): count, mean and sample variance.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct MeanVar {
    pub n: u64,
    pub mean: f64,
    pub var: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Losses {
    pub log_loss: MeanVar,
    pub brier: MeanVar,
}

/// One model's rows as weighted groups: one entry per distinct score and
/// class, weighted by its row count, with the mean amount of its rows.
/// The metrics take the counts as row weights, which keeps every sum of
/// counts an exact integer.
#[derive(Debug, Default)]
pub struct Groups {
    pub scores: Vec<f64>,
    pub labels: Vec<bool>,
    pub counts: Vec<f64>,
    pub amounts: Option<Vec<f64>>,
}

/// The bootstrap sample, in row order.
#[derive(Debug)]
pub struct Sample {
    pub scores: Vec<Vec<f64>>,
    pub labels: Vec<bool>,
    pub amounts: Option<Vec<f64>>,
    pub weights: Vec<f64>,
}

/// An opened summary.
#[derive(Debug, Clone)]
pub struct Summary {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::data(path, message)
}

impl Summary {
    /// Reads and checks the manifest.
    pub fn open(dir: &Path) -> Result<Summary> {
        let path = dir.join("manifest.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(
                    dir,
                    format!(
                        "not a {SCHEMA} directory: it has no manifest.json (the Spark job writes it last, so a failed run leaves none)"
                    ),
                ));
            }
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| bad(&path, format!("not a {SCHEMA} manifest: {e}")))?;
        if manifest.schema != SCHEMA {
            return Err(bad(
                &path,
                format!(
                    "schema is `{}`; this modelgate reads `{SCHEMA}`",
                    manifest.schema
                ),
            ));
        }
        if manifest.positives > manifest.rows {
            return Err(bad(
                &path,
                format!(
                    "positives ({}) exceed rows ({})",
                    manifest.positives, manifest.rows
                ),
            ));
        }
        let share = manifest.sample.negative_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(bad(
                &path,
                format!("sample.negative_share is {share}; expected a share in (0, 1]"),
            ));
        }
        Ok(Summary {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// Refuses a config that names other columns than the summary's.
    pub fn check_columns(&self, label: &str, amount: Option<&str>) -> Result<()> {
        let m = &self.manifest;
        if m.label != label {
            return Err(bad(
                &self.manifest_path(),
                format!(
                    "the summary's label is `{}`, but holdout.label is `{label}`",
                    m.label
                ),
            ));
        }
        if let Some(a) = amount
            && m.amount.as_deref() != Some(a)
        {
            let had = m
                .amount
                .as_deref()
                .map_or("no amount column (run the job with --amount)".into(), |x| {
                    format!("amount `{x}`")
                });
            return Err(bad(
                &self.manifest_path(),
                format!("holdout.amount is `{a}`, but the summary has {had}"),
            ));
        }
        Ok(())
    }

    /// Refuses a model the summary does not hold.
    pub fn check_model(&self, column: &str) -> Result<()> {
        if self.manifest.models.iter().any(|m| m == column) {
            return Ok(());
        }
        Err(bad(
            &self.manifest_path(),
            format!(
                "the summary has no scores for column `{column}`; it has {}",
                self.manifest
                    .models
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    /// The Parquet files of a part directory, in name order; hidden and
    /// marker files (`.crc`, `_SUCCESS`) are not data.
    fn parts(&self, name: &str) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(name);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("cannot list", &dir, e))?;
        let mut parts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot list", &dir, e))?;
            let file = entry.file_name().to_string_lossy().to_string();
            if file.ends_with(".parquet") && !file.starts_with(['.', '_']) {
                parts.push(entry.path());
            }
        }
        parts.sort();
        if parts.is_empty() {
            return Err(bad(&dir, "no Parquet part files"));
        }
        Ok(parts)
    }

    /// A model's rows grouped by score and class, checked against the
    /// manifest's counts.
    pub fn groups(&self, model: &str) -> Result<Groups> {
        let with_amount = self.manifest.amount.is_some();
        let mut g = Groups {
            amounts: with_amount.then(Vec::new),
            ..Groups::default()
        };
        let (mut rows, mut positives) = (0u64, 0u64);
        for part in self.parts("scores")? {
            let mut wanted = vec!["score", "positives", "negatives"];
            if with_amount {
                wanted.extend(["positive_amount", "negative_amount"]);
            }
            let frame = super::scan(&part, crate::config::DataFormat::Parquet)?
                .filter(col("model").eq(lit(model)))
                .select(wanted.iter().map(|c| col(*c)).collect::<Vec<_>>())
                .collect()
                .map_err(|e| Error::polars("cannot read the score counts of", &part, e))?;
            let f64s = |name: &str| -> Result<Vec<f64>> {
                let c = frame
                    .column(name)
                    .and_then(|c| c.cast(&DataType::Float64))
                    .map_err(|e| Error::polars("cannot read the score counts of", &part, e))?;
                let ca = c
                    .f64()
                    .map_err(|e| Error::polars("cannot read the score counts of", &part, e))?;
                if ca.null_count() > 0 {
                    return Err(bad(&part, format!("column `{name}` has missing values")));
                }
                Ok(ca.into_no_null_iter().collect())
            };
            let scores = f64s("score")?;
            let (pos, neg) = (f64s("positives")?, f64s("negatives")?);
            let money = if with_amount {
                Some((f64s("positive_amount")?, f64s("negative_amount")?))
            } else {
                None
            };
            for i in 0..scores.len() {
                let s = scores[i];
                if !s.is_finite() {
                    return Err(bad(
                        &part,
                        format!("model `{model}` has a score of {s}; scores must be finite"),
                    ));
                }
                for (label, count) in [(true, pos[i]), (false, neg[i])] {
                    if !(count >= 0.0 && count.fract() == 0.0) {
                        return Err(bad(
                            &part,
                            format!("model `{model}` at score {s}: a count of {count}"),
                        ));
                    }
                    if count == 0.0 {
                        continue;
                    }
                    g.scores.push(s);
                    g.labels.push(label);
                    g.counts.push(count);
                    if let (Some(a), Some((pa, na))) = (&mut g.amounts, &money) {
                        a.push(if label { pa[i] } else { na[i] } / count);
                    }
                    rows += count as u64;
                    positives += if label { count as u64 } else { 0 };
                }
            }
        }
        let m = &self.manifest;
        if (rows, positives) != (m.rows, m.positives) {
            return Err(bad(
                &self.dir.join("scores"),
                format!(
                    "model `{model}` counts {rows} rows and {positives} positives; the manifest says {} and {} (a part file is missing or extra)",
                    m.rows, m.positives
                ),
            ));
        }
        Ok(g)
    }

    /// The bootstrap sample with each model's scores, in `models` order.
    pub fn sample(&self, models: &[&str]) -> Result<Sample> {
        let mut wanted: Vec<String> = models.iter().map(|m| m.to_string()).collect();
        wanted.extend(["label".into(), "weight".into()]);
        if self.manifest.amount.is_some() {
            wanted.push("amount".into());
        }
        let mut frame: Option<DataFrame> = None;
        for part in self.parts("sample")? {
            let f = super::read_columns(
                &part,
                crate::config::DataFormat::Parquet,
                &wanted
                    .iter()
                    .map(|c| ("a sample column", c.as_str()))
                    .collect::<Vec<_>>(),
                super::Columns::Named,
            )?;
            match &mut frame {
                Some(all) => {
                    all.vstack_mut(&f)
                        .map_err(|e| Error::polars("cannot read the sample", &part, e))?;
                }
                None => frame = Some(f),
            }
        }
        let frame = frame.unwrap_or_default();
        let path = self.dir.join("sample");
        let names = super::RowNames::Index;
        let column = |name: &str| -> Result<&Series> {
            frame
                .column(name)
                .map(|c| c.as_materialized_series())
                .map_err(|e| Error::polars("cannot read the sample", &path, e))
        };
        let labels = super::labels(&path, column("label")?, None, &names)?;
        let weights = super::weights(&path, column("weight")?, &labels, &names)?;
        let amounts = self
            .manifest
            .amount
            .as_ref()
            .map(|_| super::amounts(&path, column("amount")?, &names))
            .transpose()?;
        let scores = models
            .iter()
            .map(|m| super::scores(&path, column(m)?, &names))
            .collect::<Result<Vec<_>>>()?;
        Ok(Sample {
            scores,
            labels,
            amounts,
            weights,
        })
    }

    /// The pair of `a` and `b` as `a` minus `b`, turned round when the job
    /// summarised it the other way.
    pub fn pair(&self, a: &str, b: &str) -> Option<Pair> {
        self.manifest.pairs.iter().find_map(|p| {
            if p.a == a && p.b == b {
                Some(p.clone())
            } else if p.a == b && p.b == a {
                Some(p.reversed())
            } else {
                None
            }
        })
    }

    /// The KS tests, with their p-values, by column.
    pub fn ks_tests(&self) -> std::collections::HashMap<String, KsTest> {
        self.manifest
            .ks
            .iter()
            .map(|(name, k)| {
                (
                    name.clone(),
                    ks::from_statistic(k.statistic, k.reference_rows, k.holdout_rows),
                )
            })
            .collect()
    }

    /// The sha256 of the summary: of each file's path (relative, sorted)
    /// and sha256, one per line. Checksums and markers are left out.
    pub fn digest(dir: &Path) -> Result<String> {
        use sha2::Digest;
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| Error::io("cannot list", &d, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot list", &d, e))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if path.is_dir() {
                    stack.push(path);
                } else if !name.starts_with(['.', '_']) {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut hasher = sha2::Sha256::new();
        for f in files {
            let rel = f.strip_prefix(dir).unwrap_or(&f).to_string_lossy();
            hasher.update(format!("{}  {rel}\n", super::file_sha256(&f)?));
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

impl Pair {
    fn reversed(&self) -> Pair {
        let flip = |p: Placements| Placements {
            mean_a: p.mean_b,
            mean_b: p.mean_a,
            ..p
        };
        let neg = |m: MeanVar| MeanVar { mean: -m.mean, ..m };
        Pair {
            a: self.b.clone(),
            b: self.a.clone(),
            delong: DeLongParts {
                positives: flip(self.delong.positives),
                negatives: flip(self.delong.negatives),
            },
            losses: self.losses.map(|l| Losses {
                log_loss: neg(l.log_loss),
                brier: neg(l.brier),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Pair {
        let side = |n, a, b, v| Placements {
            n,
            mean_a: a,
            mean_b: b,
            var_difference: v,
        };
        let mv = |mean| MeanVar {
            n: 1000,
            mean,
            var: 0.01,
        };
        Pair {
            a: "c".into(),
            b: "p".into(),
            delong: DeLongParts {
                positives: side(40, 0.93, 0.9, 0.02),
                negatives: side(960, 0.93, 0.9, 0.004),
            },
            losses: Some(Losses {
                log_loss: mv(-0.002),
                brier: mv(0.0005),
            }),
        }
    }

    #[test]
    fn a_pair_asked_for_the_other_way_round_tests_the_opposite_delta() {
        let s = Summary {
            dir: PathBuf::from("s"),
            manifest: serde_json::from_value(serde_json::json!({
                "schema": SCHEMA, "holdout": "h", "label": "y", "rows": 1000,
                "positives": 40, "models": ["c", "p"],
                "sample": {"negative_share": 1.0, "seed": 1},
                "profiles": {"holdout": []},
            }))
            .unwrap(),
        };
        let s = Summary {
            manifest: Manifest {
                pairs: vec![pair()],
                ..s.manifest
            },
            ..s
        };
        let (ab, ba) = (s.pair("c", "p").unwrap(), s.pair("p", "c").unwrap());
        assert!(s.pair("c", "x").is_none());
        let (t, u) = (
            crate::stats::delong_from_parts(&ab.delong, 0.95).unwrap(),
            crate::stats::delong_from_parts(&ba.delong, 0.95).unwrap(),
        );
        assert_eq!(t.delta, -u.delta);
        assert_eq!((t.std_error, t.p_value), (u.std_error, u.p_value));
        assert_eq!((t.low, t.high), (-u.high, -u.low));
        let (l, m) = (ab.losses.unwrap(), ba.losses.unwrap());
        assert_eq!(l.log_loss.mean, -m.log_loss.mean);
        assert_eq!(l.brier.var, m.brier.var);
    }

    #[test]
    fn a_summary_with_a_sample_share_outside_zero_to_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = |share: f64| {
            serde_json::json!({
                "schema": SCHEMA, "holdout": "h", "label": "y", "rows": 10,
                "positives": 2, "models": ["c"],
                "sample": {"negative_share": share, "seed": 1},
                "profiles": {"holdout": []},
            })
            .to_string()
        };
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, manifest(0.0)).unwrap();
        let e = Summary::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("negative_share"), "{e}");
        std::fs::write(&path, manifest(0.5)).unwrap();
        assert_eq!(Summary::open(dir.path()).unwrap().manifest.rows, 10);
    }
}
