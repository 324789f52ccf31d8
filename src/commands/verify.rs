//! `modelgate verify`: does a registered version hold what its record says,
//! and was its decision made from the files an auditor holds? It re-hashes
//! every artifact from the registry (release assets on GitHub) against the
//! digests in the version record, and each `--input KEY=PATH` against the
//! digest `decision.json` recorded for that input. A mismatch exits 1 and
//! names the file; a version or input that cannot be read is an error.

use std::io::Write;
use std::path::PathBuf;

use super::{ExitStatus, RegistryQuery, print};
use crate::error::{Error, Result};
use crate::registry::{self, Version};

pub fn verify(
    q: &RegistryQuery,
    version: Option<Version>,
    inputs: &[(String, PathBuf)],
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let (reg, model) = q.open()?;
    let record = super::version_record(reg.as_ref(), &model, version)?;
    let mut lines = Vec::new();
    let mut mismatches = 0;
    let mut check = |what: String, got: &str, want: &str| {
        if got == want {
            lines.push(format!("ok        {what} sha256 {got}"));
        } else {
            mismatches += 1;
            lines.push(format!("MISMATCH  {what}: sha256 {got}, recorded {want}"));
        }
    };
    for a in &record.artifacts {
        let got = registry::sha256_hex(&reg.fetch(&record, &a.name)?);
        check(format!("artifact {}", a.name), &got, &a.sha256);
    }
    if !inputs.is_empty() {
        let decision: serde_json::Value =
            serde_json::from_slice(&reg.fetch(&record, "decision.json")?).map_err(|e| {
                Error::Registry {
                    location: reg.location(),
                    message: format!("{} decision.json is corrupt: {e}", record.tag),
                }
            })?;
        for (key, path) in inputs {
            let want = decision["inputs"][key]["sha256"].as_str().ok_or_else(|| {
                Error::Usage(format!(
                    "verify --input {key}: {}'s decision.json records no `{key}` file (recorded: {})",
                    record.tag,
                    decision["inputs"]
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(_, v)| v["sha256"].is_string())
                                .map(|(k, _)| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "none; made before modelgate recorded inputs".into())
                ))
            })?;
            let got = crate::data::file_sha256(path)?;
            check(format!("input {key} {}", path.display()), &got, want);
        }
    }
    let verdict = if mismatches == 0 {
        format!("VERIFIED {} {}", record.model, record.version)
    } else {
        format!(
            "NOT VERIFIED {} {}: {mismatches} file(s) differ from the record",
            record.model, record.version
        )
    };
    print(stdout, &format!("{verdict}\n{}\n", lines.join("\n")))?;
    Ok(if mismatches == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    })
}
