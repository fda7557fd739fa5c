//! The `payment` command.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod failure;
mod mock;
mod output;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(cli.json);
            ExitCode::from(failure.code())
        }
    }
}

async fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Charge(c) => commands::charge(cli, c).await,
        Command::Refund(r) => commands::refund(cli, r).await,
        Command::Providers => {
            commands::providers(cli.json);
            Ok(())
        }
        Command::Mock(args) => mock::serve(cli.provider.as_deref(), args).await,
        Command::Demo => demo::run().await,
    }
}
