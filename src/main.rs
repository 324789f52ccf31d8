//! The `modelgate` binary: parse, run, map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use modelgate::app::{self, ERROR_EXIT_CODE};
use modelgate::cli::Cli;
use modelgate::progress;

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_level(cli.level());
    let stdout = std::io::stdout();
    let color = progress::color_enabled(stdout.is_terminal());
    let mut out = progress::LineWriter::new(stdout.lock(), color);
    let result = cli
        .into_command()
        .and_then(|command| app::execute(command, &mut out));
    drop(out);
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::new(e));
            ExitCode::from(ERROR_EXIT_CODE)
        }
    }
}
