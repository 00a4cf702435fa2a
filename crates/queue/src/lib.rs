//! The Redis queue: the only crate that speaks Redis.
//!
//! # Layout
//! - [`keys`]: the key schema, every key with its Redis type. No key name is written anywhere else.
//! - [`stored`]: the stored form of a job, `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>"` (the header
//!   `lua/shared.lua` parses), and the compact envelope JSON inside it ([`stored::encode_compact`],
//!   [`stored::decode_stored`]).
//! - `script/`: the Lua scripts (`lua/*.lua`, each with a KEYS/ARGV/returns header, `lua/shared.lua` prepended),
//!   one Rust file per script holding its source and the one function that builds its KEYS and ARGV in the
//!   header's order; each file's test holds the call it builds against the header.
//! - `job`: the jobs as the calls take and give them: [`NewJob`], [`Leased`], [`Lease`], [`LeaseBatch`],
//!   [`PaceHints`], [`Ack`], [`Reschedule`], [`Expand`]. `options`: [`QueueOptions`], [`Paced`].
//! - `shard`: placing a job in a shard (a stable hash) and grouping a batch by shard.
//! - [`connection`]: connecting with explicit timeouts, and the separate connection idle workers block on.
//! - [`queue`]: [`Queue`] (its connection, shards' keys and scripts, readiness checks), with its calls grouped by
//!   who makes them: `queue/worker.rs` (lease, hold, ack, reschedule, release, expand and a bulk job's id list,
//!   promote, reclaim) and `queue/producer.rs` (enqueue). Each call goes to the shard of the job it concerns (a
//!   job carries its shard from the lease on).
//! - `waiter`: [`Waiter`], an idle worker blocking until work may be ready.
//! - [`inspect`]: the readers' calls: read-only views for `status`, `audit` and `dlq`.
//! - [`dead`]: the dead letters for operators (`dlq replay`, `dlq purge`) and the worker's bounded trim.
//! - [`rate`]: per-account rate limits shared by every worker.
//! - [`parking`]: setting a whole account's jobs aside until a person resumes it (`accounts resume`).
//! - [`circuit`]: per-account circuit breakers for provider outages.
//! - [`cancel`]: single jobs cancelled before their call (`deleteq cancel`): finding them, ending them.
//! - `open`: [`open`], the one way to connect from a config (target, connection, `PING`).
//! - [`campaign`]: campaigns: their description (the producer's), exact per-outcome counters (the readers'),
//!   cancellation (operators') and retention (the worker's sweep).
//!
//! # Life of a job
//! `enqueue` stores the envelope in the jobs hash and pushes its id to the ready list (or the scheduled set).
//! `lease` pops ids and reserves them in the leased set until a deadline, which the worker pushes forward while the
//! call runs (`hold`, which also records that the call started). `ack` writes the terminal audit records, dead-letters failures and deletes the job, in one
//! script; `reschedule` rewrites the envelope and moves the job to the scheduled set with a retry record;
//! `release` hands a job back untouched; `expand` turns a bulk job into child jobs, a bounded step at a time;
//! `cancel` ends a job whose call has not started `cancelled`, wherever it waits. `promote_due` moves due scheduled jobs to the ready list and
//! `reclaim_expired` does the same for leases whose worker died. Lua does the mechanics; when and whether to retry
//! is decided by the worker. Every stored or compared time is Redis's clock (`TIME` in the scripts): callers pass
//! durations only. A lease has a holder token: only it extends (`hold`), releases or reschedules the job.

pub mod campaign;
pub mod cancel;
pub mod circuit;
pub mod connection;
pub mod dead;
pub mod inspect;
mod job;
pub mod keys;
mod open;
mod options;
pub mod parking;
pub mod queue;
pub mod rate;
mod script;
mod shard;
pub mod stored;
mod waiter;

pub use connection::RedisTarget;
pub use job::{holder_token, Ack, Expand, Lease, LeaseBatch, Leased, NewJob, PaceHints, Reschedule, HOLDER_TOKEN_LEN};
pub use keys::Keys;
pub use open::{open, open_retrying, ConnectError};
pub use options::{Paced, QueueOptions};
pub use queue::Queue;
pub use stored::UNREADABLE;
pub use waiter::Waiter;

/// A failed Redis operation.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Redis could not be reached or answered with an error.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered something the scripts never return.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),
    /// The write is on the primary but fewer replicas than `[redis] wait_replicas` confirmed it in time: a
    /// failover now could lose it.
    #[error("stored on the primary, but only {acked} of {wanted} replicas confirmed it within [redis] wait_timeout")]
    NotReplicated {
        /// Replicas that confirmed.
        acked: u64,
        /// Replicas wanted.
        wanted: u64,
    },
}

impl QueueError {
    /// Whether retrying the same call later may succeed: connection trouble, timeouts, a loading server, and a
    /// Redis Cluster between states (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY` from a demoted master).
    pub fn is_transient(&self) -> bool {
        match self {
            QueueError::Redis(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || matches!(
                        e.kind(),
                        redis::ErrorKind::Server(
                            redis::ServerErrorKind::BusyLoading
                                | redis::ServerErrorKind::TryAgain
                                | redis::ServerErrorKind::ClusterDown
                                | redis::ServerErrorKind::MasterDown
                                | redis::ServerErrorKind::ReadOnly
                        )
                    )
            }
            QueueError::Protocol(_) => false,
            // The replicas may catch up: waiting again may confirm it.
            QueueError::NotReplicated { .. } => true,
        }
    }

    /// Whether the call may have run although it failed: the request may have reached Redis and only the reply
    /// was lost (the connection dropped, or the reply did not come in time). A refused connection, or an error
    /// Redis answered, means the call did not run.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            QueueError::Redis(e) => {
                !e.is_connection_refusal() && (e.is_io_error() || e.is_timeout() || e.is_connection_dropped())
            }
            QueueError::Protocol(_) => false,
            // Whether the write survives a failover is not known.
            QueueError::NotReplicated { .. } => true,
        }
    }
}

/// Result of a queue call.
pub type Result<T> = std::result::Result<T, QueueError>;
