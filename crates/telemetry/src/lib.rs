//! deleteq's logs and traces, owned in one place: the CLI sets them up once per process, the worker and the HTTP
//! API continue a caller's trace through it.
//!
//! # Layout
//! - [`subscriber`]: the process's `tracing` subscriber: log lines on stderr as text or JSON (`[log] format`),
//!   and, only with `[telemetry] otlp_endpoint`, a layer that turns deleteq's spans into OpenTelemetry spans.
//! - [`otlp`]: the exporter behind that layer: batched, a bounded queue, on its own thread, errors logged at most
//!   once a minute, flushed at shutdown within a bound. Never in a job's way.
//! - [`context`]: a job's or a request's W3C `traceparent` made the parent of a span, so one job's spans (HTTP
//!   request, lease, call, ack) are one trace.
//!
//! Without an endpoint no exporter and no OpenTelemetry layer exist: the worker's spans are `debug` level, which
//! the default `info` filter disables at their call sites, so they cost what a disabled `tracing` span costs.

pub mod context;
pub mod otlp;
pub mod subscriber;

pub use context::continue_trace;
pub use subscriber::{init, LogSettings, Telemetry};

/// The prefix of the targets whose spans are exported: deleteq's own crates, never its dependencies' (an HTTP
/// client's spans inside the exporter would be exported by the exporter, forever).
pub const EXPORTED_TARGETS: &str = "deleteq";
