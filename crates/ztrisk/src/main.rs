//! `ztrisk`: the server and its admin commands.

mod admin;
mod cli;
mod client_cmd;
mod database;
mod demo;
mod events_cmd;
mod import;
mod serve;
mod signing_keys;
mod transfer;

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
            client_cmd::report(&e);
            client_cmd::exit_code(&e)
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Serve(args) => serve::run(&cli.database, args).await,
        cli::Command::Migrate => transfer::migrate(&cli.database).await,
        cli::Command::Export(args) => transfer::export(&cli.database, args).await,
        cli::Command::Import(args) => transfer::import(&cli.database, args).await,
        cli::Command::Accounts(command) => admin::accounts(&cli.database, command).await,
        cli::Command::Tokens(command) => admin::tokens(&cli.database, command).await,
        cli::Command::Keys(command) => admin::keys(&cli.database, command).await,
        cli::Command::SigningKeys(command) => signing_keys::run(&cli.database, command).await,
        cli::Command::Events(cli::EventsCommand::Send(args)) => {
            events_cmd::run(args, &cli.api).await
        }
        cli::Command::Events(cli::EventsCommand::Import(args)) => import::run(args, &cli.api).await,
        cli::Command::Demo(args) => demo::run(args, &cli.api).await,
        cli::Command::Behaviors(command) => client_cmd::behaviors::run(&cli.api, command).await,
        cli::Command::Users(command) => client_cmd::users::run(&cli.api, command).await,
        cli::Command::Integrations(command) => {
            client_cmd::integrations::run(&cli.api, command).await
        }
        cli::Command::Webhooks(command) => client_cmd::webhooks::run(&cli.api, command).await,
        cli::Command::Audit(command) => client_cmd::audit::run(&cli.api, command).await,
        cli::Command::Completions(args) => {
            client_cmd::completions(&args);
            Ok(())
        }
    }
}
