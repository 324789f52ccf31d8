//! `modelgate promote`: runs the gates and, when nothing blocks, publishes
//! the version, moves production and fires the deploy triggers.

use std::io::Write;
use std::path::PathBuf;

use super::{ExitStatus, Sinks, deliver, evidence, print, quiet_text};
use crate::config::Config;
use crate::error::Result;
use crate::promote::{self, Options, Status};
use crate::report::{self, Format};

/// What `register` and `promote` were asked to do.
#[derive(Debug)]
pub struct VersionRun {
    pub config: PathBuf,
    pub options: Options,
    pub format: Format,
    pub sinks: Sinks,
}

pub fn promote(run: &VersionRun, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let config = Config::load(&run.config)?;
    let r = promote::promote(config, &run.options, &evidence)?;
    write_version_run(run, &r, stdout)?;
    Ok(match r.status {
        Status::Blocked => ExitStatus::Blocked,
        Status::Promoted | Status::AlreadyProduction | Status::Registered => ExitStatus::Success,
    })
}

/// Writes the outcome of `register` or `promote`, with the gate report.
pub(super) fn write_version_run(
    run: &VersionRun,
    r: &promote::Report,
    stdout: &mut dyn Write,
) -> Result<()> {
    if let Some(d) = &r.decision {
        deliver(d, &run.sinks, &run.config, run.format, stdout)?;
        if run.format != Format::Json && !quiet_text(run.format) {
            print(stdout, &report::render_decision(d, run.format)?)?;
        }
    }
    report::actions::publish_promotion(r)?;
    print(stdout, &report::registry::outcome(r, run.format)?)
}
