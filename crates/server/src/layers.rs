//! The cross-cutting layers around every route, outermost first: the `Authorization` header marked sensitive,
//! request tracing (continuing the caller's `traceparent`), a global limit of requests in flight, and a request timeout.
//!
//! Overload and timeouts are answered here, in the API's JSON error shape, rather than by tower's own layers:
//! tower's concurrency limit makes excess requests wait instead of refusing them, and tower-http's timeout answers
//! with an empty body.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// How long one request may take, body upload included, before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests served at once; more are answered 503 at once (with `Retry-After: 1`).
pub const MAX_IN_FLIGHT: usize = 256;

/// Wraps `router` in the layers.
pub fn around(router: Router) -> Router {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // `Router::layer` wraps what is there already: the last layer added runs first.
    router
        .layer(middleware::from_fn(timeout))
        .layer(middleware::from_fn_with_state(slots, limit_in_flight))
        .layer(
            TraceLayer::new_for_http()
                // Method and path only: never the query, headers or body.
                .make_span_with(|request: &Request| {
                    let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
                    // The caller's trace, if it sent one (`trace_context`); a malformed header only warns.
                    match crate::trace_context::parse(request.headers()) {
                        Ok(traceparent) => deleteq_telemetry::continue_trace(&span, traceparent.as_ref()),
                        Err(why) => tracing::warn!(
                            parent: &span,
                            %why,
                            "Ignoring a malformed traceparent header: the request and its jobs start a trace of their own."
                        ),
                    }
                    span
                })
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
}

async fn timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(REQUEST_TIMEOUT.as_secs()).into_response(),
    }
}

async fn limit_in_flight(State(slots): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match slots.try_acquire_owned() {
        Ok(_slot) => next.run(request).await,
        Err(_) => ApiError::Overloaded.into_response(),
    }
}
