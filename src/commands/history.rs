//! `modelgate history`: every promotion of a model to production.

use std::io::Write;

use super::{ExitStatus, RegistryQuery, print};
use crate::error::Result;
use crate::report;

pub fn history(q: &RegistryQuery, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let (reg, model) = q.open()?;
    let promotions = reg.promotions(&model)?;
    print(
        stdout,
        &report::registry::history(&model, &promotions, q.format)?,
    )?;
    Ok(ExitStatus::Success)
}
