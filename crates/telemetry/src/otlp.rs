//! The span exporter: OTLP over HTTP (protobuf) to `[telemetry] otlp_endpoint`, behind the SDK's batch span
//! processor, which runs on a thread of its own.
//!
//! What it guarantees: a span ending never waits for the network (it goes into a bounded queue of [`MAX_QUEUE`]
//! spans; when the queue is full the span is dropped, not the caller blocked); an export takes at most
//! [`EXPORT_TIMEOUT`]; a failing receiver is logged at most once per [`ERROR_LOG_EVERY`] with the count of
//! failures in between; [`crate::Telemetry::shutdown`] flushes what is queued within its bound. What it does not:
//! keep spans across a restart, or retry a batch the receiver refused.

use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest one export may take.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// Spans waiting for export at most; beyond, new spans are dropped.
pub const MAX_QUEUE: usize = 4096;
/// Export failures are logged at most this often.
pub const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint: cannot export to {url}: {reason}")]
pub struct ExporterError {
    url: String,
    reason: String,
}

/// A tracer provider exporting every span to `traces_url` as `service_name`.
pub fn provider(traces_url: &str, service_name: &str) -> Result<SdkTracerProvider, ExporterError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| ExporterError { url: traces_url.to_string(), reason: e.to_string() })?;
    let quiet = Quiet { inner: exporter, url: traces_url.to_string(), failures: Mutex::new(Failures::default()) };
    let batching = BatchConfigBuilder::default().with_max_queue_size(MAX_QUEUE).build();
    let processor = BatchSpanProcessor::builder(quiet).with_batch_config(batching).build();
    let resource = Resource::builder().with_service_name(service_name.to_string()).build();
    Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
}

/// Export failures since the last one logged.
#[derive(Debug, Default)]
struct Failures {
    last_logged: Option<Instant>,
    unlogged: u64,
}

/// An exporter that logs its failures at most once per [`ERROR_LOG_EVERY`].
#[derive(Debug)]
struct Quiet<E> {
    inner: E,
    url: String,
    failures: Mutex<Failures>,
}

impl<E: SpanExporter> Quiet<E> {
    fn failed(&self, spans: usize, error: &dyn std::fmt::Display) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.last_logged.is_some_and(|at| at.elapsed() < ERROR_LOG_EVERY) {
            failures.unlogged += 1;
            return;
        }
        let before = std::mem::take(&mut failures.unlogged);
        failures.last_logged = Some(Instant::now());
        tracing::warn!(
            url = %self.url,
            %error,
            spans,
            failures_not_logged = before,
            "Could not export spans; they are dropped (logged at most once a minute)."
        );
    }
}

impl<E: SpanExporter> SpanExporter for Quiet<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        if let Err(error) = &result {
            self.failed(spans, error);
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
