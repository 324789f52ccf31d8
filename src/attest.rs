//! Signed evidence. A promotion's claim — these model bytes passed these
//! gates, decided from these inputs, with this evidence — is written as an
//! in-toto predicate (`https://modelgate.dev/decision/v1`) whose subjects
//! are the version's artifacts. GitHub's `actions/attest` signs it with the
//! workflow's identity, and `gh attestation verify` checks the signature;
//! modelgate holds no keys and no Sigstore trust roots of its own. What it
//! does here is state the claim from what the registry holds, and check a
//! verified statement against the registry again, so a signature over a
//! predicate also vouches for the release assets an auditor downloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decision::{Inputs, Outcome, Recorded, RecordedGate};
use crate::error::{Error, Result};
use crate::lineage::ArtifactDigest;
use crate::registry::{self, EVIDENCE_FILES, Promotion, Registry, VersionRecord};

/// The predicate type, versioned like the other schemas.
pub const PREDICATE_TYPE: &str = "https://modelgate.dev/decision/v1";
/// What `promote --attestation DIR` writes, for `actions/attest`'s
/// `predicate-path` and `subject-checksums`.
pub const PREDICATE_FILE: &str = "modelgate-predicate.json";
pub const SUBJECTS_FILE: &str = "modelgate-subjects.sha256";

/// The claim a promotion makes about its artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    pub model: String,
    pub version: String,
    /// The version tag (`<model>@vX.Y.Z`).
    pub tag: String,
    /// Where the version lives, as modelgate names it.
    pub registry: String,
    pub decision: Outcome,
    /// The move of the production alias this attests, when it was one.
    pub promotion: Option<PromotionRef>,
    /// The deployable files: also the statement's subjects.
    pub artifacts: Vec<ArtifactDigest>,
    /// The version's evidence files by name, with the sha256 of the bytes
    /// the registry holds.
    pub evidence: BTreeMap<String, String>,
    /// The decision's inputs (config, data and model digests, seed);
    /// `None` for decisions made before modelgate recorded them.
    pub inputs: Option<Inputs>,
    /// Every gate that ran, by component digest.
    pub gates: Vec<RecordedGate>,
}

/// A promotion, as the predicate names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionRef {
    pub number: u64,
    pub tag: String,
    pub previous: Option<String>,
}

/// States the claim for a published version from the registry's own bytes,
/// so the predicate describes what an auditor will download, also on a
/// re-run whose evidence was published by the first run.
pub fn predicate(
    reg: &dyn Registry,
    record: &VersionRecord,
    promotion: Option<&Promotion>,
) -> Result<Predicate> {
    let decision_bytes = reg.fetch(record, "decision.json")?;
    let decision = Recorded::parse(&decision_bytes, &format!("{} decision.json", record.tag))?;
    let mut evidence = BTreeMap::new();
    for name in EVIDENCE_FILES {
        let sha256 = if name == "decision.json" {
            registry::sha256_hex(&decision_bytes)
        } else {
            registry::sha256_hex(&reg.fetch(record, name)?)
        };
        evidence.insert(name.to_string(), sha256);
    }
    Ok(Predicate {
        model: record.model.clone(),
        version: record.version.clone(),
        tag: record.tag.clone(),
        registry: reg.location(),
        decision: decision.decision,
        promotion: promotion.map(|p| PromotionRef {
            number: p.number,
            tag: p.tag.clone(),
            previous: p.previous.clone(),
        }),
        artifacts: record.artifacts.clone(),
        evidence,
        inputs: decision.inputs,
        gates: decision.gates,
    })
}

/// Writes the predicate and the subjects (in `sha256sum`'s format, which
/// `actions/attest` reads as `subject-checksums`) into `dir`.
pub fn write(dir: &Path, p: &Predicate) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let mut json = serde_json::to_vec_pretty(p).map_err(|source| Error::Json {
        what: "the attestation predicate",
        source,
    })?;
    json.push(b'\n');
    let subjects: String = p
        .artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.name))
        .collect();
    let predicate = dir.join(PREDICATE_FILE);
    let checksums = dir.join(SUBJECTS_FILE);
    crate::fs::write_atomic(&predicate, &json)?;
    crate::fs::write_atomic(&checksums, subjects.as_bytes())?;
    Ok((predicate, checksums))
}

/// One verified statement from `gh attestation verify --format json`: only
/// what the check reads.
#[derive(Debug, Deserialize)]
struct Verified {
    #[serde(rename = "verificationResult")]
    result: VerificationResult,
}

#[derive(Debug, Deserialize)]
struct VerificationResult {
    statement: Statement,
}

#[derive(Debug, Deserialize)]
struct Statement {
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Subject {
    #[serde(default)]
    name: String,
    digest: BTreeMap<String, String>,
}

/// What a signed statement says about a version, checked against the
/// registry: each line is `(ok, text)`.
pub fn check_verified(
    gh_json: &[u8],
    reg: &dyn Registry,
    record: &VersionRecord,
) -> Result<Vec<(bool, String)>> {
    let statements: Vec<Verified> =
        serde_json::from_slice(gh_json).map_err(|e| Error::Evidence {
            what: "`gh attestation verify --format json` output".into(),
            message: e.to_string(),
        })?;
    let ours: Vec<(Predicate, &Statement)> = statements
        .iter()
        .map(|v| &v.result.statement)
        .filter(|s| s.predicate_type == PREDICATE_TYPE)
        .filter_map(|s| {
            serde_json::from_value::<Predicate>(s.predicate.clone())
                .ok()
                .map(|p| (p, s))
        })
        .filter(|(p, _)| p.model == record.model && p.version == record.version)
        .collect();
    // Several runs may attest one version (a re-run attests again); the
    // latest promotion's statement is the one that moved production.
    let Some((p, statement)) = ours
        .into_iter()
        .max_by_key(|(p, _)| p.promotion.as_ref().map_or(0, |x| x.number))
    else {
        return Ok(vec![(
            false,
            format!(
                "attestation: no signed {PREDICATE_TYPE} statement names {} {} ({} verified statement(s) for these bytes)",
                record.model,
                record.version,
                statements.len()
            ),
        )]);
    };
    let mut lines = Vec::new();
    let signed: Vec<String> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("sha256").cloned())
        .collect();
    for a in &record.artifacts {
        let ok = signed.contains(&a.sha256) && p.artifacts.iter().any(|x| x.sha256 == a.sha256);
        lines.push((
            ok,
            format!(
                "attestation subject {}: sha256 {}{}",
                a.name,
                a.sha256,
                if ok {
                    ""
                } else {
                    " is not among the signed subjects"
                }
            ),
        ));
    }
    if let Some(extra) = statement.subject.iter().find(|s| {
        !record
            .artifacts
            .iter()
            .any(|a| s.digest.get("sha256") == Some(&a.sha256))
    }) {
        lines.push((
            false,
            format!(
                "attestation signs {} ({:?}), which {} does not hold",
                extra.name, extra.digest, record.tag
            ),
        ));
    }
    for (name, signed) in &p.evidence {
        let got = registry::sha256_hex(&reg.fetch(record, name)?);
        let ok = &got == signed;
        lines.push((
            ok,
            if ok {
                format!("attestation evidence {name}: sha256 {got}")
            } else {
                format!("attestation evidence {name}: sha256 {got}, signed {signed}")
            },
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, sha: &str) -> ArtifactDigest {
        ArtifactDigest {
            name: name.into(),
            sha256: sha.into(),
            size: 1,
            format: None,
        }
    }

    #[test]
    fn the_predicate_round_trips_and_the_subjects_are_sha256sum_lines() {
        let p = Predicate {
            model: "m".into(),
            version: "v1.0.0".into(),
            tag: "m@v1.0.0".into(),
            registry: "local".into(),
            decision: Outcome::Pass,
            promotion: None,
            artifacts: vec![artifact("a.json", "ab"), artifact("b.bin", "cd")],
            evidence: BTreeMap::new(),
            inputs: None,
            gates: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        let (pred, sums) = write(dir.path(), &p).unwrap();
        let back: Predicate = serde_json::from_slice(&std::fs::read(pred).unwrap()).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            std::fs::read_to_string(sums).unwrap(),
            "ab  a.json\ncd  b.bin\n"
        );
    }
}
