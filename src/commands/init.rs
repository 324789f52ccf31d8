//! `modelgate init`: writes the commented config and the three workflows,
//! then says what to edit next.

use std::io::Write;

use super::{ExitStatus, out_err};
use crate::error::Result;
use crate::init::InitSpec;

pub fn init(spec: InitSpec, stdout: &mut dyn Write) -> Result<ExitStatus> {
    for path in crate::init::run(spec)? {
        writeln!(stdout, "wrote {}", path.display()).map_err(out_err)?;
    }
    writeln!(
        stdout,
        "next: edit modelgate.yaml (holdout, candidate, gates), replace `acme/modelgate@v1` in the workflows with this action's repository, then `modelgate run`"
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}
