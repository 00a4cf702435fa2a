//! The `deleteq` command line (DESIGN §4). Thin: every command is a call into the library crates.
//!
//! # Layout
//! - `args`: the clap definitions.
//! - `settings`: finding and loading the config (`--config`, `DELETEQ_CONFIG`, `./deleteq.toml`, `REDIS_URL`).
//! - `commands/*`: one file per command.
//! - `exit`: exit codes (0 success, 1 runtime failure, 2 invalid input or usage).

mod args;
mod commands;
mod exit;
mod settings;
mod table;

use clap::Parser;

/// Runs the command line and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let args = match args::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_tracing(&args.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            std::process::ExitCode::from(failure.code())
        }
    }
}

fn init_tracing(command: &args::Command) {
    let default = match command {
        args::Command::Worker | args::Command::Emulator(_) | args::Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs collected from a container or a file stay plain text.
        .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
