//! Logging and tracing for the command, set up before it runs: `[log] format` and, for `worker` and `serve`,
//! `[telemetry]` come from the config the command is about to load.

use crate::args::{Cli, Command};
use crate::exit::Failure;
use crate::settings;
use deleteq_core::config::{LogFormat, Needs};
use deleteq_telemetry::{LogSettings, Telemetry};
use std::time::Duration;

/// What was set up, to be finished when the command is done.
pub(crate) struct Started {
    telemetry: Telemetry,
    /// `[worker] shutdown_grace`: the longest the last spans' export may take at exit.
    grace: Duration,
}

impl Started {
    /// Flushes the spans still queued (at most `shutdown_grace`). Call it outside the runtime.
    pub(crate) fn finish(self) {
        self.telemetry.shutdown(self.grace);
    }
}

/// Installs the subscriber. A config that does not load gives text logs here; the command itself then reports it
/// (exit 2). An OTLP exporter that cannot be built stops `worker` and `serve` (exit 2, naming the key).
pub(crate) fn start(cli: &Cli) -> Result<Started, Failure> {
    let (default_filter, exports) = match &cli.command {
        Command::Worker | Command::Serve(_) => ("info", true),
        Command::Emulator(_) => ("info", false),
        _ => ("warn", false),
    };
    let config = match &cli.command {
        // These print to stdout or need no config; their logs stay text.
        Command::Emulator(_) | Command::Config(_) => None,
        _ => settings::load(cli.config.as_deref(), Needs::PRODUCER).ok(),
    };
    let format = config.as_ref().map_or(LogFormat::Text, |c| c.log.format);
    let export = config.as_ref().filter(|_| exports).map(|c| &c.telemetry);
    let grace = config.as_ref().map_or(Duration::from_secs(30), |c| c.worker.shutdown_grace);
    let settings = LogSettings { format, default_filter, export };
    let telemetry = deleteq_telemetry::init(&settings).map_err(|e| Failure::Invalid(e.to_string()))?;
    if telemetry.exporting() {
        let service = export.map_or("", |t| t.service_name.as_str());
        let url = export.and_then(|t| t.traces_url()).unwrap_or_default();
        tracing::info!(%url, %service, "Exporting spans over OTLP/HTTP.");
    }
    Ok(Started { telemetry, grace })
}
