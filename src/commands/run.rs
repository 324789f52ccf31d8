//! `modelgate run`: evaluates, runs every gate and decides; exit 1 when a
//! gate blocks.

use std::io::Write;
use std::path::Path;

use super::{ExitStatus, Sinks, deliver, load_read_only, print, quiet_text};
use crate::decision::{self, Outcome};
use crate::error::Result;
use crate::report::{self, Format};

pub fn run(
    config_path: &Path,
    format: Format,
    sinks: &Sinks,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let config = load_read_only(config_path)?;
    let d = decision::run(&config)?;
    deliver(&d, sinks, config_path, format, stdout)?;
    if !quiet_text(format) {
        print(stdout, &report::render_decision(&d, format)?)?;
    }
    Ok(match d.decision {
        Outcome::Pass => ExitStatus::Success,
        Outcome::Fail => ExitStatus::Blocked,
    })
}
