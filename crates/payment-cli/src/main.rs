//! The `payment` command.
#![forbid(unsafe_code)]

/// Prints a line on stdout; a reader that went away (`payment … | head`) ends the command quietly
/// instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::emit(format_args!($($arg)*))
    };
}

mod annotate;
mod args;
mod commands;
mod config;
mod demo;
mod failure;
mod input;
mod journal;
mod mock;
mod mock_control;
mod output;
mod reconcile;
mod route;
mod webhook;

use std::process::ExitCode;

use args::{Cli, Command};
use failure::Failure;

#[cfg(feature = "otel")]
mod telemetry;

/// The exporters to flush before exiting (feature `otel`).
#[cfg(feature = "otel")]
type Exporters = telemetry::Export;
#[cfg(not(feature = "otel"))]
type Exporters = std::convert::Infallible;

/// Turns on attempt logging on stderr for `-v` (`payment::attempt=debug`) or `RUST_LOG` (`target=level,…`),
/// and, built with `otel`, OpenTelemetry export when the `OTEL_…` environment asks for it.
/// Only what the engine logs reaches stderr: method, path, status, attempt, the key's hash,
/// latency; never a header, a body or a query string, so no secret or card number.
fn init_logging(verbose: bool) -> Result<Option<Exporters>, String> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt;
    let spec = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ if verbose => Some("payment::attempt=debug".to_owned()),
        _ => None,
    };
    let stderr = match spec {
        Some(spec) => {
            let filter: tracing_subscriber::filter::Targets =
                spec.parse().map_err(|e| format!("RUST_LOG {spec:?} is not a list of target=level: {e}"))?;
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_target(false)
                .without_time()
                .compact()
                .with_filter(filter);
            Some(layer)
        }
        None => None,
    };
    #[cfg(feature = "otel")]
    let exporters = telemetry::from_env()?;
    #[cfg(feature = "otel")]
    let otel = exporters.as_ref().map(telemetry::Export::layer);
    #[cfg(not(feature = "otel"))]
    let (exporters, otel) = (None, None::<tracing_subscriber::layer::Identity>);
    if stderr.is_none() && otel.is_none() {
        return Ok(exporters);
    }
    let subscriber = tracing_subscriber::registry().with(stderr).with(otel);
    tracing_subscriber::util::SubscriberInitExt::try_init(subscriber).map_err(|e| e.to_string())?;
    Ok(exporters)
}

/// Flushes what the exporters still hold (feature `otel`).
fn flush(exporters: Option<Exporters>) {
    #[cfg(feature = "otel")]
    if let Some(exporters) = exporters {
        exporters.shutdown();
    }
    #[cfg(not(feature = "otel"))]
    let _ = exporters;
}

/// Global options each command does not use: its `--help` leaves them out.
const IGNORED_BY: &[(&str, &[&str])] = &[
    ("mock", &["config", "account", "base_url", "timeout", "journal"]),
    ("mock-control", &["config", "provider", "account", "base_url", "timeout", "journal"]),
    ("completions", &["config", "provider", "account", "base_url", "timeout", "journal", "json", "verbose"]),
];

/// The command line, with each command's help showing only the options it uses. Global options
/// are copied into the subcommands when the command is built, so they are hidden after that.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    command.build();
    for (name, ignored) in IGNORED_BY {
        if let Some(sub) = command.find_subcommand_mut(name) {
            let hidden =
                std::mem::take(sub).mut_args(|a| if ignored.contains(&a.get_id().as_str()) { a.hide(true) } else { a });
            *sub = hidden;
        }
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    let exporters = match init_logging(cli.verbose) {
        Ok(exporters) => exporters,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let code = run_command(&cli);
    flush(exporters);
    code
}

/// Runs the command on the async runtime: its exit code.
fn run_command(cli: &Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(cli.json);
            if failure.is_missing_setting() && !cli.json && payment::config_file(cli.config.as_deref()).is_none() {
                eprintln!(
                    "hint: no config file was read: give --config PATH, set PAYMENT_CONFIG, or create ./{}",
                    payment::CONFIG_FILE_NAME
                );
            }
            ExitCode::from(failure.code())
        }
    }
}

async fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Charge(c) => commands::charge(cli, c).await,
        Command::Refund(r) => commands::refund(cli, r).await,
        Command::Providers { test_data: false } => {
            commands::providers(cli.json);
            Ok(())
        }
        Command::Providers { test_data: true } => {
            commands::test_data(cli.json);
            Ok(())
        }
        Command::Mock(args) => mock::serve(cli.provider.as_deref(), args, cli.json).await,
        Command::Demo => demo::run(cli.json).await,
        Command::Journal(j) => journal::run(cli, j).await,
        Command::Reconcile(args) => reconcile::run(cli, args).await,
        Command::Webhook(w) => webhook::run(cli, w).await,
        Command::Route(r) => route::run(cli, r).await,
        Command::MockControl(args) => mock_control::run(args, cli.json).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "payment", &mut script);
            out!("{}", String::from_utf8_lossy(&script).trim_end());
            Ok(())
        }
    }
}
