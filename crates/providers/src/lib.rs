//! The chat providers: one module per provider, each owning its request building and its response classification.
//! Providers know HTTP and their own JSON, nothing about Redis or queues.
//!
//! # Layout
//! - [`request`]: what the worker asks of a provider ([`DeleteRequest`]) and what it gets back ([`Response`],
//!   [`Disposition`]).
//! - [`classify`]: the one place that decides, from a status and the provider's own error code, whether a failure
//!   is retryable, permanent, or parks the account.
//! - [`hint`]: the one parser of rate-limit hints (`Retry-After`, reset epochs, body fields).
//! - [`budget`]: the rate-limit budget providers report on every response (`X-RateLimit-Remaining` and kin).
//! - [`http`]: the shared reqwest client, path-segment encoding, and transport errors.
//! - [`url`]: builds each request URL and refuses, unsent, one that URL parsing would change.
//! - [`cometchat`], [`room_im`], [`quickblox`], [`twochat`], [`ofauth`]: one module per provider page of
//!   `shared/seeds`; [`noop`] answers without a call.
//! - [`registry`]: builds a client per configured account.

pub mod budget;
pub mod classify;
pub mod cometchat;
pub mod hint;
pub mod http;
pub mod noop;
pub mod ofauth;
pub mod quickblox;
pub mod registry;
pub mod request;
pub mod room_im;
#[cfg(test)]
mod testing;
pub mod twochat;
pub mod url;

pub use budget::RateBudget;
pub use registry::{AccountClient, Providers};
pub use request::{DeleteRequest, Disposition, MessageResult, Response};
