//! The process's `tracing` subscriber, set up once: log lines on stderr (text or JSON lines) filtered by
//! `RUST_LOG` or the command's default level, and, with an OTLP endpoint, deleteq's spans exported.

use crate::otlp::{self, ExporterError};
use deleteq_core::config::{LogFormat, TelemetryConfig};
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::time::Duration;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// How a process logs and traces.
#[derive(Debug, Clone)]
pub struct LogSettings<'a> {
    /// The shape of a log line.
    pub format: LogFormat,
    /// The filter when `RUST_LOG` is unset (`"info"` for long-running commands, `"warn"` for one-shot ones).
    pub default_filter: &'a str,
    /// Where spans go: `Some` only for `worker` and `serve` with `[telemetry] otlp_endpoint` set.
    pub export: Option<&'a TelemetryConfig>,
}

/// What [`init`] set up; [`Telemetry::shutdown`] flushes the spans still queued.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still queued, waiting at most `within`; then the exporter is gone. Blocks the calling
    /// thread: call it after the runtime's work is done, not from a task.
    pub fn shutdown(self, within: Duration) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown_with_timeout(within) {
                tracing::warn!(%error, "Could not flush the spans still queued for export.");
            }
        }
    }
}

/// Installs the subscriber as the global default. Only the first call in a process installs anything (later ones
/// and a subscriber set elsewhere are left alone).
pub fn init(settings: &LogSettings<'_>) -> Result<Telemetry, ExporterError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(settings.default_filter));
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::with_capacity(2);
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    layers.push(match settings.format {
        // Colours only on a terminal: logs collected from a container or a file stay plain text.
        LogFormat::Text => lines.with_ansi(ansi()).with_filter(filter).boxed(),
        // One object per line: timestamp, level, target, message and the event's fields at the top level, and the
        // span it ran in (`span`, with that span's fields).
        LogFormat::Json => {
            lines.json().flatten_event(true).with_current_span(true).with_span_list(false).with_filter(filter).boxed()
        }
    });
    let mut telemetry = Telemetry::default();
    if let Some(url) = settings.export.and_then(TelemetryConfig::traces_url) {
        let service = settings.export.map_or("deleteq", |t| t.service_name.as_str());
        let provider = otlp::provider(&url, service)?;
        let tracer = provider.tracer("deleteq");
        // Spans only (events stay log lines), and only deleteq's own, at every level: the worker's spans are
        // `debug` so that without this layer they are disabled where they are written.
        let ours = filter_fn(|meta| meta.is_span() && meta.target().starts_with(crate::EXPORTED_TARGETS));
        // No busy/idle timing, thread attributes or OpenTelemetry context activation on entry: nothing here reads
        // them, and each costs a little on every span.
        let bridge = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_context_activation(false);
        layers.push(bridge.with_filter(ours).boxed());
        telemetry.provider = Some(provider);
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Ok(telemetry)
}

fn ansi() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr())
}
