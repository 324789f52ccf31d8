//! The `modelgate` binary: parse, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use modelgate::app::{self, ERROR_EXIT_CODE};
use modelgate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = cli
        .into_command()
        .and_then(|command| app::execute(command, &mut std::io::stdout().lock()));
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::new(e));
            ExitCode::from(ERROR_EXIT_CODE)
        }
    }
}
