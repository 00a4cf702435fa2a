//! The operator layer: what the command line, the HTTP API (`deleteq serve`) and its dashboard share, so each
//! report and each operator write has one owner and the three cannot drift apart.
//!
//! # Layout
//! - this file: [`Ops`], a connected queue with its config and producer, made by [`Ops::connect`] (the one way to
//!   connect: [`deleteq_queue::open`], which the producer library and the worker use too).
//! - [`report`]: the JSON reports (status, campaigns, dead letters, schedules, audit), typed, so the OpenAPI
//!   schemas come from the types that produce them; `reads.rs`: the [`Ops`] methods that read them from Redis, and
//!   the audit stream's cursors for `audit tail` and `audit export`.
//! - `writes/`: the operator writes, one file each: dead letters (`dlq.rs`: replay, [`ReplayReport`], purge), campaigns
//!   (`campaigns.rs`: cancel), single jobs (`jobs.rs`: cancel, [`CancelReport`]), accounts (`accounts.rs`:
//!   resume, [`Resumed`]).
//!
//! Nothing here speaks Redis itself: every call goes through `deleteq-queue` or `deleteq-producer`. The types the
//! callers need from underneath are re-exported where they are part of this layer's answers.

mod reads;
pub mod report;
mod writes;

pub use deleteq_producer::{CancelState, ConnectError, JobCancel, Producer, ProducerError, QueueError};
/// A campaign with its counters, as the reads answer it.
pub use deleteq_queue::campaign::CampaignState;
/// One audit record (its stream id and fields) and a cursor over the shards' streams, for `audit tail/export`.
pub use deleteq_queue::inspect::{AuditCursor, AuditEntry};
/// Where Redis is (`config check` shows it redacted without connecting).
pub use deleteq_queue::RedisTarget;
pub use writes::{CancelReport, CancelledJob, JobCancelState, ReplayReport, ReplayedAll, ReplayedIds, Resumed};

use deleteq_core::Config;
use deleteq_queue::Queue;

/// A connected queue with the config it was opened with, and a producer on the same connection; cheap to clone.
#[derive(Clone)]
pub struct Ops {
    queue: Queue,
    producer: Producer,
    config: Config,
}

impl Ops {
    /// Connects to the queue `config` names and checks that Redis answers (one attempt; errors name the target,
    /// redacted).
    pub async fn connect(config: &Config) -> Result<Ops, ConnectError> {
        Ok(Ops::on(deleteq_queue::open(config).await?, config.clone()))
    }

    /// [`Ops::connect`], retrying while Redis does not answer (see `deleteq_queue::open_retrying`): `failed` hears
    /// of each failure, the wait between tries doubles from 100 ms up to `max_delay`. A `[redis] url` that names no
    /// Redis is returned at once.
    pub async fn connect_retrying(
        config: &Config,
        max_delay: std::time::Duration,
        failed: impl FnMut(u32, &ConnectError),
    ) -> Result<Ops, ConnectError> {
        Ok(Ops::on(deleteq_queue::open_retrying(config, max_delay, failed).await?, config.clone()))
    }

    /// The operator layer on a queue already connected.
    pub fn on(queue: Queue, config: Config) -> Ops {
        Ops { producer: Producer::on(queue.clone(), config.clone()), queue, config }
    }

    /// The producer on the same connection: enqueueing, campaigns, cancelling, replaying.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The config it was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where Redis is: host and port, never the password.
    pub fn redacted_target(&self) -> &str {
        self.queue.redacted_target()
    }

    /// One round trip to Redis, for readiness probes.
    pub async fn ping(&self) -> Result<(), QueueError> {
        self.queue.ping().await
    }

    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }
}
