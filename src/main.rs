//! The `modelgate` binary: parse, dispatch to one command function, map its
//! [`ExitStatus`] or error to the exit code. A closed stdout (`modelgate
//! history | head -1`) ends the command quietly with 0, as ripgrep does.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use modelgate::cli::{self, Cli, Commands, DemoArgs, DemoCommands, GateCommands};
use modelgate::commands::{self, ExitStatus};
use modelgate::progress;

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_level(cli.level());
    modelgate::gates::fetch::set_offline(cli.offline);
    let stdout = std::io::stdout();
    let color = progress::color_enabled(stdout.is_terminal());
    let mut out = progress::LineWriter::new(stdout.lock(), color);
    let result = dispatch(cli.command, &mut out);
    drop(out);
    match result {
        Ok(status) => status.into(),
        Err(e) if e.is_broken_pipe() => ExitStatus::Success.into(),
        Err(e) => {
            // One line, whatever a library's message holds: a CI log line is
            // often all a user sees, and tools match on it.
            let text = format!("{:#}", anyhow::Error::new(e));
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("error: {}", line.join(" "));
            ExitStatus::Error.into()
        }
    }
}

fn dispatch(command: Commands, out: &mut dyn Write) -> modelgate::Result<ExitStatus> {
    match command {
        Commands::Evaluate(a) => commands::evaluate(&a.config, a.format.into(), &a.sinks(), out),
        Commands::Run(a) => {
            commands::run(&a.common.config, a.common.format.into(), &a.sinks(), out)
        }
        Commands::Gate { command } => match command {
            GateCommands::List => commands::gate_list(out),
            GateCommands::Inspect { uses } => commands::gate_inspect(&uses, out),
            GateCommands::Test { uses, cases } => commands::gate_test(&uses, &cases, out),
            GateCommands::New { name, dir, lang } => {
                let dir = cli::gate_new_target(&name, dir)?;
                commands::gate_new(&name, &dir, lang.into(), out)
            }
            GateCommands::Build { dir, out: to } => commands::gate_build(&dir, to.as_deref(), out),
            GateCommands::Lock { config } => commands::gate_lock(&config, out),
            GateCommands::Push {
                component,
                reference,
            } => commands::gate_push(&component, &reference, out),
        },
        Commands::Demo(DemoArgs {
            data: Some(DemoCommands::Data(a)),
            ..
        }) => commands::demo_data(&a.data()?, &a.out, out),
        Commands::Demo(a) => commands::demo(&a.run(), out),
        Commands::Train(a) => {
            let target = a.out.clone();
            commands::train(&a.spec()?, &target, out)
        }
        Commands::Score(a) => commands::score(&a.spec(), out),
        Commands::Register(a) => {
            let params = a.params.clone();
            commands::register(&a.run()?, params, out)
        }
        Commands::Promote(a) => commands::promote(&a.run()?, out),
        Commands::Show(a) => commands::show(&a.query(), out),
        Commands::History(a) => commands::history(&a.query(), out),
        Commands::Lineage(a) => {
            let (query, version) = a.query()?;
            commands::lineage(&query, version, out)
        }
        Commands::Verify(a) => commands::verify(&a.spec()?, out),
        Commands::Init(a) => commands::init(a.spec(), out),
        Commands::Schema => commands::schema(out),
        Commands::Completions { shell } => commands::completions(shell, &mut Cli::command(), out),
    }
}
