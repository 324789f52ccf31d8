//! Replaying a decision: an auditor holds a `decision.json` (a release
//! asset) and wants to know whether running modelgate again on the same
//! inputs gives the same verdicts and numbers. The replay finds each input
//! the decision recorded — the file given with `--input`, the config's own
//! path, or for model files any registry artifact with the recorded digest
//! — refuses to run unless every digest matches, runs the evaluation and
//! the gates, and compares the whole new decision with the recorded one.
//!
//! The comparison is hand-written over `serde_json::Value`: JSON diff crates
//! compare numbers exactly or not at all, and the replay needs a stated
//! tolerance and to skip what legitimately differs between two runs (where
//! the files are, how long each step took).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{ArtifactFormat, ArtifactRef, Config, ModelRef, ScoreSource};
use crate::decision::{self, FileDigest, Inputs, Outcome, Recorded};
use crate::error::{Error, Result};
use crate::registry::{self, Registry};

/// Numbers agree when they differ by at most this, relative to their size
/// (and absolutely below 1). The evaluation is deterministic for a seed, so
/// replays agree exactly in practice; the slack covers summation order.
pub const DEFAULT_TOLERANCE: f64 = 1e-9;

/// Keys whose values differ between two runs of the same inputs.
const VOLATILE: [&str; 4] = ["path", "duration_ms", "scoring_ms", "timings_ms"];

/// The input keys a decision records, in the order they are checked.
pub const INPUT_KEYS: [&str; 5] = ["config", "holdout", "reference", "candidate", "production"];

/// One recorded input and the file found for it.
#[derive(Debug)]
pub struct InputCheck {
    pub key: &'static str,
    pub path: PathBuf,
    pub recorded: String,
    pub actual: String,
}

impl InputCheck {
    pub fn matches(&self) -> bool {
        self.recorded == self.actual
    }
}

/// A value that is not the same in the replay.
#[derive(Debug, PartialEq)]
pub struct Difference {
    /// A JSON pointer into the decision.
    pub pointer: String,
    pub recorded: String,
    pub replayed: String,
}

/// How the replayed decision compares with the recorded one.
#[derive(Debug, Default)]
pub struct Comparison {
    pub numbers: usize,
    pub values: usize,
    /// The largest relative difference among numbers that agreed.
    pub largest: f64,
    pub differences: Vec<Difference>,
}

#[derive(Debug)]
pub struct Replay {
    pub model: String,
    /// The recorded decision.
    pub decision: Outcome,
    pub checks: Vec<InputCheck>,
    /// The modelgate that made the recorded decision.
    pub recorded_by: String,
    /// `None` when an input differs: the decision is not run again.
    pub comparison: Option<Comparison>,
    pub tolerance: f64,
}

/// Replays the decision in `bytes` (`what` names it in errors). `overrides`
/// are `(key, path)` pairs for inputs found elsewhere than their recorded
/// paths; `registry` is the registry to look model digests up in, when the
/// caller has one open (else the config's is opened read-only when needed).
pub fn replay(
    bytes: &[u8],
    what: &str,
    overrides: &[(String, PathBuf)],
    registry: Option<&dyn Registry>,
    tolerance: f64,
) -> Result<Replay> {
    let recorded = Recorded::parse(bytes, what)?;
    let inputs = recorded.inputs.clone().ok_or_else(|| Error::Evidence {
        what: what.to_string(),
        message:
            "this decision was made before modelgate recorded its inputs, so it cannot be replayed"
                .into(),
    })?;
    let given = |key: &str| {
        overrides
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| p.clone())
    };
    let config_path = given("config")
        .or_else(|| inputs.config.as_ref().map(|c| PathBuf::from(&c.path)))
        .ok_or_else(|| Error::Evidence {
            what: what.to_string(),
            message: "the decision recorded no config file: pass --input config=PATH".into(),
        })?;
    let mut config = Config::load(&config_path)?;
    let mut finder = ModelFinder {
        given: registry,
        opened: None,
        spec: config.registry.clone(),
        model: recorded.model.clone(),
    };
    if let Some(p) = given("holdout") {
        config.holdout.path = p;
    }
    if let (Some(p), Some(r)) = (given("reference"), config.reference.as_mut()) {
        r.path = p;
    }
    let features = match &config.candidate {
        ModelRef::Artifact(a) => a.features.clone(),
        _ => None,
    };
    if let Some(recorded) = &inputs.candidate {
        finder.place(&mut config.candidate, recorded, given("candidate"), None)?;
    }
    match (&inputs.production, config.production.as_mut()) {
        (Some(recorded), Some(m)) => {
            finder.place(m, recorded, given("production"), features)?;
        }
        // Production was empty when the decision was made.
        (None, Some(ModelRef::Registry { .. })) => config.production = None,
        _ => {}
    }
    let now = Inputs::of(&config)?;
    let mut checks = Vec::new();
    for key in INPUT_KEYS {
        if let Some(want) = input(&inputs, key) {
            let actual = input(&now, key);
            checks.push(InputCheck {
                key,
                path: actual.map_or_else(|| want.path.clone().into(), |a| a.path.clone().into()),
                recorded: want.sha256.clone(),
                actual: actual.map_or_else(|| "(none)".into(), |a| a.sha256.clone()),
            });
        }
    }
    let same = (now.seed, now.bootstrap, now.confidence)
        == (inputs.seed, inputs.bootstrap, inputs.confidence);
    let comparison = if checks.iter().all(InputCheck::matches) && same {
        let d = decision::run(&config)?;
        let replayed: Value =
            serde_json::from_str(&d.to_json()?).map_err(|source| Error::Json {
                what: "the replayed decision",
                source,
            })?;
        let original: Value = serde_json::from_slice(bytes).map_err(|e| Error::Evidence {
            what: what.to_string(),
            message: e.to_string(),
        })?;
        Some(compare(&original, &replayed, tolerance))
    } else {
        None
    };
    Ok(Replay {
        model: recorded.model,
        decision: recorded.decision,
        checks,
        recorded_by: inputs.modelgate,
        comparison,
        tolerance,
    })
}

/// The recorded file for an input key.
pub fn input<'a>(i: &'a Inputs, key: &str) -> Option<&'a FileDigest> {
    match key {
        "config" => i.config.as_ref(),
        "holdout" => i.holdout.as_ref(),
        "reference" => i.reference.as_ref(),
        "candidate" => i.candidate.as_ref(),
        "production" => i.production.as_ref(),
        _ => None,
    }
}

/// Finds a model file by the digest a decision recorded.
struct ModelFinder<'a> {
    given: Option<&'a dyn Registry>,
    opened: Option<Box<dyn Registry>>,
    spec: crate::config::RegistrySpec,
    model: String,
}

impl ModelFinder<'_> {
    /// Points `m` at the file with the recorded digest: the one given, the
    /// config's own when it matches, else a registry artifact with that
    /// digest. Left as configured when none is found; the digest check
    /// then names it.
    fn place(
        &mut self,
        m: &mut ModelRef,
        recorded: &FileDigest,
        given: Option<PathBuf>,
        features: Option<Vec<String>>,
    ) -> Result<()> {
        let own = match m {
            ModelRef::Artifact(a) => Some(a.path.clone()),
            ModelRef::Scores(ScoreSource::File { path, .. }) => Some(path.clone()),
            _ => None,
        };
        let path = match given {
            Some(p) => Some((p, None)),
            None if own
                .as_deref()
                .is_some_and(|p| digest_is(p, &recorded.sha256)) =>
            {
                None
            }
            None => self.in_registry(&recorded.sha256)?,
        };
        let Some((path, format)) = path else {
            return Ok(());
        };
        match m {
            ModelRef::Artifact(a) => a.path = path,
            ModelRef::Scores(ScoreSource::File { path: p, .. }) => *p = path,
            ModelRef::Scores(ScoreSource::Column(_)) => {}
            ModelRef::Registry { .. } => {
                let format = format
                    .or_else(|| ArtifactFormat::guess(&path))
                    .ok_or_else(|| Error::Model {
                        path: path.clone(),
                        message: "cannot tell the model format from the file name; name it like the registry artifact (e.g. .linfa.json, .onnx, .ubj)".into(),
                    })?;
                *m = ModelRef::Artifact(ArtifactRef {
                    format,
                    path,
                    features,
                });
            }
        }
        Ok(())
    }

    fn in_registry(&mut self, sha256: &str) -> Result<Option<(PathBuf, Option<ArtifactFormat>)>> {
        if self.given.is_none() && self.opened.is_none() {
            self.opened = Some(registry::open(&self.spec, true)?);
        }
        let Some(reg) = self.given.or(self.opened.as_deref()) else {
            return Ok(None);
        };
        for v in reg.versions(&self.model)? {
            if let Some(a) = v.artifacts.iter().find(|a| a.sha256 == sha256) {
                let path = registry::cached_artifact(reg, &v, a)?;
                let format = a.format.as_deref().and_then(ArtifactFormat::from_key);
                return Ok(Some((path, format)));
            }
        }
        Ok(None)
    }
}

fn digest_is(path: &Path, sha256: &str) -> bool {
    crate::data::file_sha256(path).is_ok_and(|s| s == sha256)
}

/// Compares a replayed decision with the recorded one: every value but the
/// volatile ones and the inputs (checked by digest before the run).
pub fn compare(recorded: &Value, replayed: &Value, tolerance: f64) -> Comparison {
    let mut c = Comparison::default();
    walk(recorded, replayed, &mut String::new(), tolerance, &mut c);
    c
}

fn walk(a: &Value, b: &Value, at: &mut String, tol: f64, c: &mut Comparison) {
    let len = at.len();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                if VOLATILE.contains(&k.as_str()) || (at.is_empty() && k == "inputs") {
                    continue;
                }
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match y.get(k) {
                    Some(vb) => walk(va, vb, at, tol, c),
                    None => c.differ(at, show(va), ABSENT.into()),
                }
                at.truncate(len);
            }
            for (k, vb) in y {
                if !x.contains_key(k) && !VOLATILE.contains(&k.as_str()) {
                    at.push('/');
                    at.push_str(k);
                    c.differ(at, ABSENT.into(), show(vb));
                    at.truncate(len);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                at.push('/');
                at.push_str(&i.to_string());
                walk(va, vb, at, tol, c);
                at.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => c.differ(
            at,
            format!("{} items", x.len()),
            format!("{} items", y.len()),
        ),
        (Value::Number(x), Value::Number(y)) => {
            c.numbers += 1;
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            let rel = (x - y).abs() / x.abs().max(y.abs()).max(1.0);
            if x == y || rel <= tol {
                c.largest = c.largest.max(if x == y { 0.0 } else { rel });
            } else {
                c.differ(at, show(a), show(b));
            }
        }
        _ => {
            c.values += 1;
            if a != b {
                c.differ(at, show(a), show(b));
            }
        }
    }
}

const ABSENT: &str = "(absent)";

fn show(v: &Value) -> String {
    crate::text::cut(&v.to_string(), 120)
}

impl Comparison {
    fn differ(&mut self, at: &str, recorded: String, replayed: String) {
        self.differences.push(Difference {
            pointer: at.to_string(),
            recorded,
            replayed,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_agree_within_the_tolerance_and_volatile_keys_are_skipped() {
        let a = json!({"x": 1.0, "y": [0.5, "s"], "timings_ms": {"total": 3.0},
                       "inputs": {"modelgate": "0.1.0"}, "g": {"path": "a", "duration_ms": 1}});
        let b = json!({"x": 1.0 + 1e-12, "y": [0.5, "s"], "timings_ms": {"total": 9.0},
                       "inputs": {"modelgate": "0.2.0"}, "g": {"path": "b", "duration_ms": 2}});
        let c = compare(&a, &b, 1e-9);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert_eq!(c.numbers, 2);
        assert!(c.largest > 0.0 && c.largest < 1e-11);
    }

    #[test]
    fn differences_are_named_by_json_pointer() {
        let a = json!({"gates": [{"verdict": "pass", "v": 0.9}], "n": [1, 2], "gone": true});
        let b = json!({"gates": [{"verdict": "fail", "v": 0.8}], "n": [1], "new": 1});
        let c = compare(&a, &b, 1e-9);
        let at: Vec<&str> = c.differences.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(
            at,
            ["/gates/0/verdict", "/gates/0/v", "/n", "/gone", "/new"]
        );
        assert_eq!(c.differences[0].recorded, "\"pass\"");
        assert_eq!(c.differences[0].replayed, "\"fail\"");
        assert_eq!(c.differences[3].replayed, "(absent)");
        assert_eq!(c.differences[4].recorded, "(absent)");
    }
}
