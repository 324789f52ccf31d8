//! `modelgate show`: a model's versions, marking production.

use std::io::Write;

use super::{ExitStatus, RegistryQuery, print};
use crate::error::Result;
use crate::registry;
use crate::report;

pub fn show(q: &RegistryQuery, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let (reg, model) = q.open()?;
    let versions = reg.versions(&model)?;
    let production = registry::production(reg.as_ref(), &model)?;
    let text = report::registry::show(
        &model,
        &reg.location(),
        &versions,
        production.as_ref().map(|p| &p.0),
        q.format,
    )?;
    print(stdout, &text)?;
    Ok(ExitStatus::Success)
}
