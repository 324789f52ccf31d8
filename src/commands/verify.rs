//! `modelgate verify`: does a registered version hold what its record says,
//! was it attested by the workflow that promoted it, was its decision made
//! from the files an auditor holds, and does running it again give the same
//! verdicts and numbers?
//!
//! - Every artifact is re-hashed from the registry (release assets on
//!   GitHub) against the version record.
//! - With `gh` on PATH and a GitHub registry, `gh attestation verify`
//!   checks the signed `https://modelgate.dev/decision/v1` statement, and
//!   the statement's subjects and evidence digests are checked against the
//!   registry's bytes.
//! - Each `--input KEY=PATH` is hashed against the digest `decision.json`
//!   recorded.
//! - `--replay` runs the recorded decision again (see [`crate::replay`]);
//!   it also takes a `decision.json` file instead of a version.
//!
//! A failed check exits 1 and names what differs; a version, file or tool
//! that cannot be read is an error (exit 2).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ExitStatus, RegistryQuery, print};
use crate::attest;
use crate::decision::{Outcome, Recorded};
use crate::error::{Error, Result};
use crate::registry::{self, Registry, Version, VersionRecord};
use crate::replay::{self, Replay};

/// Whether `verify` checks the attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationCheck {
    /// When the registry is on GitHub and `gh` is on PATH.
    Auto,
    /// Always; a missing `gh` or a local registry is an error.
    Require,
    Skip,
}

/// What to verify: a registered version, or a decision file to replay.
pub enum Target {
    Version {
        query: RegistryQuery,
        version: Option<Version>,
    },
    DecisionFile(PathBuf),
}

pub struct VerifySpec {
    pub target: Target,
    pub inputs: Vec<(String, PathBuf)>,
    pub replay: bool,
    pub tolerance: f64,
    pub attestation: AttestationCheck,
}

/// Check lines and how many failed.
#[derive(Default)]
struct Lines {
    text: Vec<String>,
    failed: usize,
}

impl Lines {
    fn check(&mut self, ok: bool, text: String) {
        if ok {
            self.text.push(format!("ok        {text}"));
        } else {
            self.failed += 1;
            self.text.push(format!("MISMATCH  {text}"));
        }
    }

    fn note(&mut self, text: String) {
        self.text.push(format!("note      {text}"));
    }
}

pub fn verify(spec: &VerifySpec, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let mut lines = Lines::default();
    let subject = match &spec.target {
        Target::DecisionFile(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
            let r = replay::replay(
                &bytes,
                &path.display().to_string(),
                &spec.inputs,
                None,
                spec.tolerance,
            )?;
            replay_lines(&r, &mut lines);
            format!("{} decision {}", r.model, path.display())
        }
        Target::Version { query, version } => {
            let (reg, model) = query.open()?;
            let record = super::version_record(reg.as_ref(), &model, *version)?;
            let mut bytes = Vec::new();
            for a in &record.artifacts {
                let b = reg.fetch(&record, &a.name)?;
                let got = registry::sha256_hex(&b);
                lines.check(
                    got == a.sha256,
                    if got == a.sha256 {
                        format!("artifact {} sha256 {got}", a.name)
                    } else {
                        format!("artifact {}: sha256 {got}, recorded {}", a.name, a.sha256)
                    },
                );
                bytes.push(b);
            }
            attestation(reg.as_ref(), &record, &bytes, spec.attestation, &mut lines)?;
            if spec.replay || !spec.inputs.is_empty() {
                let decision = reg.fetch(&record, "decision.json")?;
                let what = format!("{} decision.json", record.tag);
                if spec.replay {
                    let r = replay::replay(
                        &decision,
                        &what,
                        &spec.inputs,
                        Some(reg.as_ref()),
                        spec.tolerance,
                    )?;
                    replay_lines(&r, &mut lines);
                } else {
                    inputs(&decision, &what, &spec.inputs, &mut lines)?;
                }
            }
            format!("{} {}", record.model, record.version)
        }
    };
    let verdict = if lines.failed == 0 {
        format!("VERIFIED {subject}")
    } else {
        format!("NOT VERIFIED {subject}: {} check(s) failed", lines.failed)
    };
    print(stdout, &format!("{verdict}\n{}\n", lines.text.join("\n")))?;
    Ok(if lines.failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    })
}

/// Each `--input` against the digest the decision recorded for it.
fn inputs(
    decision: &[u8],
    what: &str,
    given: &[(String, PathBuf)],
    lines: &mut Lines,
) -> Result<()> {
    let recorded = Recorded::parse(decision, what)?;
    let inputs = recorded.inputs.unwrap_or_default();
    for (key, path) in given {
        let want = replay::input(&inputs, key).ok_or_else(|| {
            let known: Vec<&str> = replay::INPUT_KEYS
                .into_iter()
                .filter(|k| replay::input(&inputs, k).is_some())
                .collect();
            Error::Usage(format!(
                "verify --input {key}: {what} records no `{key}` file (recorded: {})",
                if known.is_empty() {
                    "none; made before modelgate recorded inputs".into()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let got = crate::data::file_sha256(path)?;
        lines.check(
            got == want.sha256,
            if got == want.sha256 {
                format!("input {key} {} sha256 {got}", path.display())
            } else {
                format!(
                    "input {key} {}: sha256 {got}, recorded {}",
                    path.display(),
                    want.sha256
                )
            },
        );
    }
    Ok(())
}

fn replay_lines(r: &Replay, lines: &mut Lines) {
    for c in &r.checks {
        lines.check(
            c.matches(),
            if c.matches() {
                format!("input {} {} sha256 {}", c.key, c.path.display(), c.actual)
            } else {
                format!(
                    "input {} {}: sha256 {}, recorded {}",
                    c.key,
                    c.path.display(),
                    c.actual,
                    c.recorded
                )
            },
        );
    }
    let this = env!("CARGO_PKG_VERSION");
    if r.recorded_by != this {
        lines.note(format!(
            "decided by modelgate {}, replayed by {this}: built-in gates may differ",
            r.recorded_by
        ));
    }
    let Some(c) = &r.comparison else {
        lines.check(
            false,
            "replay: not run, because an input differs from the one judged (pass the right file with --input KEY=PATH)".into(),
        );
        return;
    };
    const SHOWN: usize = 20;
    for d in c.differences.iter().take(SHOWN) {
        lines.check(
            false,
            format!(
                "replay {}: recorded {}, replayed {}",
                d.pointer, d.recorded, d.replayed
            ),
        );
    }
    if c.differences.len() > SHOWN {
        lines.note(format!(
            "{} more difference(s) not shown",
            c.differences.len() - SHOWN
        ));
    }
    if c.differences.is_empty() {
        lines.check(
            true,
            format!(
                "replay: the same decision ({}) and gate verdicts; {} numbers agree within {:e} ({}) and {} other values are equal",
                match r.decision {
                    Outcome::Pass => "pass",
                    Outcome::Fail => "fail",
                },
                c.numbers,
                r.tolerance,
                if c.largest == 0.0 {
                    "all identical".to_string()
                } else {
                    format!("largest relative difference {:.1e}", c.largest)
                },
                c.values
            ),
        );
    }
}

/// Checks the signed statement for the version with `gh attestation verify`.
fn attestation(
    reg: &dyn Registry,
    record: &VersionRecord,
    artifact_bytes: &[Vec<u8>],
    mode: AttestationCheck,
    lines: &mut Lines,
) -> Result<()> {
    if mode == AttestationCheck::Skip {
        return Ok(());
    }
    let Some(repo) = reg.github_repository() else {
        if mode == AttestationCheck::Require {
            return Err(Error::Usage(format!(
                "verify --attestation require: {} is a local registry; attestations live on GitHub",
                reg.location()
            )));
        }
        return Ok(());
    };
    let (Some(a), Some(bytes)) = (record.artifacts.first(), artifact_bytes.first()) else {
        return Ok(());
    };
    // gh hashes the file it is given and looks attestations up by digest.
    let dir =
        tempfile::tempdir().map_err(|e| Error::io("cannot create", std::env::temp_dir(), e))?;
    let file = dir.path().join(
        Path::new(&a.name)
            .file_name()
            .unwrap_or("artifact".as_ref()),
    );
    crate::fs::write_atomic(&file, bytes)?;
    let out = std::process::Command::new("gh")
        .args(["attestation", "verify"])
        .arg(&file)
        .args(["--repo", repo, "--predicate-type", attest::PREDICATE_TYPE])
        .args(["--format", "json"])
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if mode == AttestationCheck::Require {
                return Err(Error::Usage(
                    "verify --attestation require: `gh` (the GitHub CLI) is not on PATH".into(),
                ));
            }
            lines.note("attestation not checked: `gh` (the GitHub CLI) is not on PATH".into());
            return Ok(());
        }
        Err(e) => return Err(Error::io("cannot run", "gh", e)),
    };
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        lines.check(
            false,
            format!(
                "attestation: `gh attestation verify {} --repo {repo}` failed: {}",
                a.name,
                crate::text::cut(why.trim(), 300)
            ),
        );
        return Ok(());
    }
    for (ok, text) in attest::check_verified(&out.stdout, reg, record)? {
        lines.check(ok, text);
    }
    Ok(())
}
