//! `deleteq serve`: the HTTP API of DESIGN §8 (axum), its OpenAPI document and the dashboard. Every report and
//! operator write is the operator layer's (`deleteq-ops`), shared with the command line: the handlers parse, call
//! it and send what it answers.
//!
//! # Layout
//! - `routes`: the endpoints and the router; `routes/*` one file per group (jobs, campaigns, operations, audit,
//!   probes, and the dashboard: its page and files, embedded from `assets/`).
//! - [`auth`]: bearer tokens, compared in constant time.
//! - `layers`: tracing, the in-flight limit and the request timeout around every route.
//! - `trace_context`: the W3C `traceparent` header, continued by the request's span and carried by its jobs.
//! - [`error`]: [`ApiError`], the one JSON error shape and its status codes.
//! - `openapi`: the OpenAPI document, generated from the handlers.
//!
//! [`run`] checks the access policy, binds, connects to Redis and serves until `shutdown` resolves; in-flight
//! requests then finish (each is bounded by the request timeout).

pub mod auth;
pub mod error;
mod layers;
mod openapi;
mod routes;
mod trace_context;

pub use auth::Access;
pub use error::ApiError;
pub use routes::{router, AppState};

use deleteq_core::Config;
use deleteq_ops::{ConnectError, Ops};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// How `deleteq serve` was asked to run, besides the config.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (`--addr`, else `[api] addr`).
    pub addr: SocketAddr,
    /// Serve without authentication when no tokens are configured (`--insecure-no-auth`).
    pub insecure_no_auth: bool,
}

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No `[api] tokens` and no `--insecure-no-auth`.
    #[error(
        "no API tokens configured: set [api] tokens = [\"${{DELETEQ_API_TOKEN}}\"] in the config (or pass \
         --insecure-no-auth to serve without authentication)"
    )]
    NoTokens,
    /// `[redis] url` does not parse (the error names the target, redacted). A Redis that does not answer is not
    /// an error: the server waits for it, unready.
    #[error(transparent)]
    Connect(ConnectError),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while serving.
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// Decides who may call the API: holders of the configured tokens whenever there are any; with none, everyone if
/// `--insecure-no-auth` was given, else it is an error (the server must not start open by accident, nor drop
/// tokens that are configured).
pub fn access(config: &Config, insecure_no_auth: bool) -> Result<Access, ServeError> {
    match (config.api.tokens.is_empty(), insecure_no_auth) {
        (false, _) => Ok(Access::Tokens(Arc::new(config.api.tokens.clone()))),
        (true, true) => Ok(Access::Open),
        (true, false) => Err(ServeError::NoTokens),
    }
}

/// Runs the API until `shutdown` resolves; then stops accepting and lets in-flight requests finish.
///
/// It listens at once, before Redis answers: `/healthz` says the process is up, `/readyz` and every route that
/// needs Redis answer 503 (with `Retry-After`) until it does, while a background task connects with backoff.
/// So an orchestrator sees a live, unready server during a Redis outage at startup, not a restart loop.
pub async fn run(
    config: Config,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let access = access(&config, options.insecure_no_auth)?;
    // A URL that does not parse fails before the address is taken: no retry can fix it.
    let target = deleteq_ops::RedisTarget::from_config(&config.redis)
        .map_err(|e| ServeError::Connect(ConnectError::Target(e)))?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServeError::Bind { addr: options.addr, source })?;
    let addr = listener.local_addr().unwrap_or(options.addr);
    if let Access::Open = access {
        tracing::warn!("Serving WITHOUT authentication (--insecure-no-auth): anyone who reaches {addr} may enqueue.");
    }
    let redis = target.redacted().to_string();
    let state = AppState::connecting(redis.clone(), config.api.max_body);
    // One bounded attempt first, so that in the usual case the server is ready from its first request; if Redis
    // does not answer in time, serve unready and go on trying in the background.
    let connecting = match tokio::time::timeout(FIRST_CONNECT, Ops::connect(&config)).await {
        Ok(Ok(ops)) => {
            state.connected(ops);
            None
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "Redis does not answer yet; serving 503 until it does.");
            Some(tokio::spawn(connect_until_ready(config.clone(), state.clone())))
        }
        Err(_) => {
            tracing::warn!(%redis, "Redis did not answer within {FIRST_CONNECT:?}; serving 503 until it does.");
            Some(tokio::spawn(connect_until_ready(config.clone(), state.clone())))
        }
    };
    let app = router(state, access);
    tracing::info!(%addr, %redis, "Serving the HTTP API.");
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    if let Some(task) = connecting {
        task.abort();
    }
    served.map_err(ServeError::Serve)?;
    tracing::info!("The HTTP API stopped.");
    Ok(())
}

/// How long `serve` waits for Redis before it starts serving unready.
const FIRST_CONNECT: std::time::Duration = std::time::Duration::from_secs(3);

/// Connects to the config's Redis, retrying with backoff (100 ms doubling to 5 s) until it answers, then hands the
/// connection to `state`. Every tenth failure is logged (the first was, before serving).
async fn connect_until_ready(config: Config, state: AppState) {
    let notice = |failures: u32, error: &ConnectError| {
        if failures % 10 == 9 {
            tracing::warn!(%error, failures = failures + 1, "Redis still does not answer; serving 503.");
        }
    };
    // The target parsed before the server started, so no error that retrying cannot fix is left.
    if let Ok(ops) = Ops::connect_retrying(&config, std::time::Duration::from_secs(5), notice).await {
        tracing::info!(redis = %ops.redacted_target(), "Redis answers; the HTTP API is ready.");
        state.connected(ops);
    }
}
