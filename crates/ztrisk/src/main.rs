//! `ztrisk`: the server and its admin commands.

mod admin;
mod cli;
mod demo;
mod events_cmd;
mod remote;
mod serve;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Serve(args) => serve::run(&cli.database, args).await,
        cli::Command::Accounts(command) => admin::accounts(&cli.database, command).await,
        cli::Command::Tokens(command) => admin::tokens(&cli.database, command).await,
        cli::Command::Keys(command) => admin::keys(&cli.database, command).await,
        cli::Command::Events(cli::EventsCommand::Send(args)) => events_cmd::run(args).await,
        cli::Command::Demo(args) => demo::run(args).await,
    }
}
