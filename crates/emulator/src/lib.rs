//! A local HTTP server that emulates the chat providers' delete APIs, with an in-memory message store and fault
//! injection, for tests, benchmarks and the `make run` demo.
//!
//! # Layout
//! - [`state`]: the message store, counters, faults, credentials and the request log ([`Emulator`]).
//! - `deletion`: what the call that deleted a message asked for ([`DeletedAs`]).
//! - `fault`: injected answers ([`Fault`]) and what a delete call finds ([`Found`]).
//! - `admin`: the `/_emulator/*` endpoints that seed, inject and read counters over HTTP.
//! - here: [`Emulator::router`], which puts the routes together, and [`serve`].
//! - `cometchat`, `room_im`, `quickblox`, `twochat`, `ofauth`: each provider's delete route, faithful to its page in
//!   `shared/seeds` (paths, auth headers, bodies, error shapes, IMKIT's `_all`, QuickBlox's buckets), and IMKIT's
//!   room deletion, which no seed page shows and deleteq must never reach. A body no seed page documents is marked
//!   `Not on the seed page` where it is built.
//! - `respond`: turning answers into responses, plan limits, and logging every provider request.
//! - `plan`: per-provider plan limits (a fixed window per second) with each provider's rate-limit headers.

#![warn(missing_docs)]

mod admin;
mod cometchat;
mod deletion;
mod fault;
mod ofauth;
mod plan;
mod quickblox;
mod respond;
mod room_im;
pub mod state;
mod twochat;

pub use deletion::DeletedAs;
pub use fault::{Fault, Found, Injected};
pub use state::{Credentials, Emulator, EmulatorConfig, RecordedRequest};

use axum::routing::{any, delete};
use axum::Router;
use std::future::Future;

impl Emulator {
    /// Every route: the five providers' delete APIs (each request held to its provider's plan limit by one
    /// middleware, counted and logged by another) and the `/_emulator/*` admin endpoints.
    pub fn router(&self) -> Router {
        let providers = Router::new()
            .route("/v3/messages/{id}", delete(cometchat::delete_message))
            .route("/rooms/{room}/messages/{id}", delete(room_im::delete_message))
            // IMKIT's room deletion; also with a trailing slash, which IMKIT's Express routing (non-strict by
            // default) treats the same: `…/rooms/r/messages/..` is sent by reqwest as `DELETE /rooms/r/`.
            .route("/rooms/{room}", delete(room_im::delete_room))
            .route("/rooms/{room}/", delete(room_im::delete_room))
            .route("/chat/Message/{ids}", delete(quickblox::delete_messages))
            .route("/open/whatsapp/message/{session}/{id}", delete(twochat::delete_message))
            .route("/v2/access/chats/{user}/messages/{id}", delete(ofauth::delete_message))
            .route("/v2/{*rest}", any(ofauth::unknown_route))
            .layer(axum::middleware::from_fn_with_state(self.clone(), respond::plan_limit))
            .layer(axum::middleware::from_fn_with_state(self.clone(), respond::log_request));
        Router::new().merge(providers).merge(admin::routes()).with_state(self.clone())
    }
}

/// Serves `emulator` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    emulator: Emulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, emulator.router()).with_graceful_shutdown(shutdown).await
}
