//! `modelgate evaluate`: scores candidate and production on the holdout and
//! reports every metric with its delta, gating nothing.

use std::io::Write;
use std::path::Path;

use super::{ExitStatus, Sinks, load_read_only, print, quiet_text, write_reports};
use crate::error::Result;
use crate::evaluation;
use crate::report::{self, Format};

pub fn evaluate(
    config: &Path,
    format: Format,
    sinks: &Sinks,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let config = load_read_only(config)?;
    let eval = evaluation::evaluate(&config)?;
    write_reports(&sinks.out, &eval, |f| report::render(&eval, f))?;
    if !quiet_text(format) {
        print(stdout, &report::render(&eval, format)?)?;
    }
    Ok(ExitStatus::Success)
}
