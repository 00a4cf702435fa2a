//! A local HTTP server that emulates the chat providers' delete APIs, with an in-memory message store and fault
//! injection, for tests, benchmarks and the `make run` demo.
//!
//! # Layout
//! - [`state`]: the message store, counters, faults, credentials and the request log ([`Emulator`]).
//! - `fault`: injected answers ([`Fault`]) and what a delete call finds ([`Found`]).
//! - `admin`: the `/_emulator/*` endpoints that seed, inject and read counters over HTTP.
//! - `cometchat`, `room_im`, `quickblox`, `twochat`, `ofauth`: each provider's delete route, faithful to its page in
//!   `shared/seeds` (paths, auth headers, bodies, error shapes, IMKIT's `_all`, QuickBlox's buckets).
//! - `respond`: turning answers into responses and logging every provider request.

mod admin;
mod cometchat;
mod fault;
mod ofauth;
mod quickblox;
mod respond;
mod room_im;
pub mod state;
mod twochat;

pub use fault::{Fault, Found, Injected};
pub use state::{Credentials, Emulator, EmulatorConfig, RecordedRequest};

use std::future::Future;

/// Serves `emulator` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    emulator: Emulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, emulator.router()).with_graceful_shutdown(shutdown).await
}
