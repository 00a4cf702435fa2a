//! One module per command; [`dispatch`] routes to them.

mod accounts;
mod audit;
mod campaign;
mod dlq;
mod emulator;
mod enqueue;
mod schedules;
mod serve;
mod status;
mod worker;

use crate::args::{Cli, Command};
use crate::exit::Failure;
use crate::settings;
use deleteq_queue::{Queue, QueueOptions, RedisTarget};

/// Runs the parsed command.
pub(crate) async fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Emulator(args) => emulator::run(args).await,
        command => {
            let config = settings::load(cli.config.as_deref())?;
            match command {
                Command::Worker => worker::run(config).await,
                Command::Enqueue(args) => enqueue::run(config, args).await,
                Command::Campaign(cmd) => campaign::run(config, cmd).await,
                Command::Audit(cmd) => audit::run(config, cmd).await,
                Command::Dlq(cmd) => dlq::run(config, cmd).await,
                Command::Status(flag) => status::run(config, flag.json).await,
                Command::Accounts(cmd) => accounts::run(config, cmd).await,
                Command::Serve(args) => serve::run(config, args).await,
                Command::Emulator(_) => Ok(()),
            }
        }
    }
}

/// Connects to the config's queue for a one-shot command (no retrying: the command reports and exits 1).
pub(crate) async fn connect(config: &deleteq_core::Config) -> Result<Queue, Failure> {
    let target = RedisTarget::from_config(&config.redis).map_err(|e| Failure::Invalid(format!("redis.url: {e}")))?;
    let options = QueueOptions::from_config(config);
    let queue = Queue::connect(&target, options)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot reach Redis at {}: {e}", target.redacted())))?;
    queue.ping().await.map_err(|e| Failure::Runtime(format!("Redis at {} does not answer: {e}", target.redacted())))?;
    Ok(queue)
}
