//! W3C trace context across the queue: a caller's `traceparent` becomes the OpenTelemetry parent of a span.

use deleteq_core::Traceparent;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes the caller's span (`traceparent`) the parent of `span`, so `span` and its children join the caller's
/// trace; without one, `span` starts a trace of its own (or joins its `tracing` parent's). Call it right after
/// creating `span`, before it is entered or has children. A no-op when spans are not exported (no OpenTelemetry
/// layer, or `span` disabled), so it costs nothing on a worker without `[telemetry] otlp_endpoint`.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&Traceparent>) {
    let Some(tp) = traceparent else {
        return;
    };
    if span.is_disabled() {
        return;
    }
    let remote = SpanContext::new(
        TraceId::from_bytes(tp.trace_id),
        SpanId::from_bytes(tp.parent_id),
        TraceFlags::new(tp.flags),
        true,
        TraceState::default(),
    );
    let parent = opentelemetry::Context::new().with_remote_span_context(remote);
    if let Err(error) = span.set_parent(parent) {
        // Only for a span already started, which the contract above rules out: the span keeps its own trace.
        tracing::debug!(%error, "Could not continue the caller's trace.");
    }
}
