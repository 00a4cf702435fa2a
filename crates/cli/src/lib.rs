//! The `deleteq` command line (DESIGN §4). Thin: every command is a call into the library crates.
//!
//! # Layout
//! - `args`: the clap definitions.
//! - `settings`: finding and loading the config (`--config`, `DELETEQ_CONFIG`, `./deleteq.toml`, `REDIS_URL`).
//! - `logging`: the log format (`[log]`) and span export (`[telemetry]`), set up before the command runs.
//! - `commands/*`: one file per command.
//! - `exit`: exit codes (0 success, 1 runtime failure, 2 invalid input or usage).

mod args;
mod commands;
mod exit;
mod logging;
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
    let logging = match logging::start(&args) {
        Ok(logging) => logging,
        Err(failure) => {
            eprintln!("{failure}");
            return std::process::ExitCode::from(failure.code());
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::dispatch(args));
    // The command is done: the spans it left in the export queue go out now, outside the runtime.
    logging.finish();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            std::process::ExitCode::from(failure.code())
        }
    }
}
