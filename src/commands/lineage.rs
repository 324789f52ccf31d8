//! `modelgate lineage`: where a version came from (data, code, parameters).

use std::io::Write;

use super::{ExitStatus, RegistryQuery, print};
use crate::error::{Error, Result};
use crate::registry::Version;
use crate::report;

/// `version` `None` means the current production version.
pub fn lineage(
    q: &RegistryQuery,
    version: Option<Version>,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let (reg, model) = q.open()?;
    let record = super::version_record(reg.as_ref(), &model, version)?;
    let bytes = reg.fetch(&record, "lineage.json")?;
    let lineage: crate::lineage::Lineage =
        serde_json::from_slice(&bytes).map_err(|e| Error::Registry {
            location: reg.location(),
            message: format!("{} lineage.json is corrupt: {e}", record.tag),
        })?;
    print(stdout, &report::registry::lineage(&lineage, q.format)?)?;
    Ok(ExitStatus::Success)
}
