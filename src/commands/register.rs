//! `modelgate register`: creates a version with its lineage and evidence
//! (the gates still run and their decision is recorded) without promoting.

use std::io::Write;
use std::path::PathBuf;

use super::promote::{VersionRun, write_version_run};
use super::{ExitStatus, evidence};
use crate::config::{Config, LineageParams};
use crate::error::Result;
use crate::promote;

pub fn register(
    run: &VersionRun,
    params: Option<PathBuf>,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let mut config = Config::load(&run.config)?;
    if let Some(p) = params {
        config.lineage.params = LineageParams::File(p);
    }
    let r = promote::register(config, &run.options, &evidence)?;
    write_version_run(run, &r, stdout)?;
    Ok(ExitStatus::Success)
}
