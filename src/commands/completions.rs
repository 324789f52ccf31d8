//! `modelgate completions`: a shell completion script for the command line
//! `main` parses.

use std::io::Write;

use super::{ExitStatus, print};
use crate::error::Result;

pub fn completions(
    shell: clap_complete::Shell,
    command: &mut clap::Command,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    let mut out = Vec::new();
    clap_complete::generate(shell, command, "modelgate", &mut out);
    print(stdout, &String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Success)
}
