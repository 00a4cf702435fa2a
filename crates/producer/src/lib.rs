//! The library backend apps call to enqueue deletions: validates every job against the configured accounts, then
//! stores them in one transaction, so a batch is all or nothing. Also the writes on single jobs and dead letters
//! that apps and operators share: cancelling jobs before their call, replaying dead letters.
//!
//! # Layout
//! - this file: [`Producer`] (connecting, validating, enqueueing; [`Enqueued`] tells a repeated idempotency key
//!   from a new job) and [`ProducerError`].
//! - `settle`: repeating a batch whose reply was lost until its outcome is known.
//! - `campaign`: submitting a JSON-lines text as one campaign.
//! - `cancel`: [`Producer::cancel`], single jobs not yet called ending `cancelled` ([`JobCancel`]).
//! - `dlq`: replaying dead letters.
//!
//! A job may carry its caller's W3C trace context ([`deleteq_core::Job::traceparent`]): it is stored with the job,
//! and the worker's spans for it continue the caller's trace.

mod campaign;
mod cancel;
mod dlq;
mod settle;

pub use campaign::{CampaignSize, LineError, CAMPAIGN_PRIORITY};
pub use cancel::{CancelState, JobCancel};
/// What is stored about a submitted campaign ([`Producer::submit_campaign`] returns it).
pub use deleteq_queue::campaign::CampaignInfo;
/// The errors of the queue underneath, which [`ProducerError`] carries.
pub use deleteq_queue::{ConnectError, QueueError};

use deleteq_core::validate::validate;
use deleteq_core::{Config, Envelope, Job, JobError, JobId};
use deleteq_queue::{NewJob, Queue};

/// Why an enqueue did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// A job broke a rule; nothing was enqueued.
    #[error("job {index}: {error}")]
    Invalid {
        /// Its position in the batch (0-based).
        index: usize,
        /// What is wrong, naming the field.
        error: JobError,
    },
    /// Redis failed before the batch could run; nothing of this batch is in the queue.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Redis may have stored the batch, but its reply was lost (or fewer replicas than `[redis] wait_replicas`
    /// confirmed it), and repeating it (which would have settled the outcome without storing anything twice)
    /// failed too. The batch is stored whole or not at all on one Redis
    /// node (chunk by chunk on a Redis Cluster); resending it with `idempotency_key`s is safe.
    #[error("the outcome is unknown: Redis may or may not have stored the batch ({0}); resend it with idempotency keys to be sure")]
    Unknown(#[source] QueueError),
    /// [`Producer::connect`] could not connect: the config names no Redis, or Redis does not answer.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

impl ProducerError {
    /// Whether the batch may have been stored ([`ProducerError::Unknown`]).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ProducerError::Unknown(_))
    }
}

/// The queue's form of a job: a fresh id, its due time and its envelope. The job must be valid (see
/// [`Producer::check`]).
fn new_job(job: &Job) -> NewJob {
    stored_job(job, None)
}

/// [`new_job`] for a job of the submitted campaign `campaign` (its id), whose counters the queue keeps. A job's
/// own `campaign` field is only a label for the audit stream; only submitted campaigns are counted.
fn new_campaign_job(job: &Job, campaign: &str) -> NewJob {
    stored_job(job, Some(campaign))
}

/// What enqueueing one job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The id it is known by: its own, or, for a repeated idempotency key, the first job's.
    pub id: JobId,
    /// Its idempotency key was seen within `[producer] idempotency_retention`: nothing was stored, and `id` is the
    /// first job's (a cron tick another worker fired already).
    pub repeated: bool,
}

fn stored_job(job: &Job, campaign: Option<&str>) -> NewJob {
    let id = JobId::new();
    let due_ms = job.run_at.map(|t| u64::try_from(t.timestamp_millis()).unwrap_or(0)).unwrap_or(0);
    let envelope = deleteq_queue::stored::encode_compact(&Envelope::new(id.clone(), job), campaign);
    NewJob {
        id: id.0,
        due_ms,
        envelope,
        idempotency_key: job.idempotency_key.clone(),
        account: job.account.clone(),
        campaign: campaign.map(str::to_string),
        priority: job.priority,
    }
}

/// Enqueues jobs into the queue named by a config.
#[derive(Clone)]
pub struct Producer {
    queue: Queue,
    config: Config,
}

impl Producer {
    /// Connects to the config's Redis ([`deleteq_queue::open`]: the target resolved, connected, `PING`ed).
    pub async fn connect(config: &Config) -> Result<Producer, ProducerError> {
        Ok(Producer::on(deleteq_queue::open(config).await?, config.clone()))
    }

    /// A producer on a queue already connected (the operator layer's, the worker's): one connection shared.
    pub fn on(queue: Queue, config: Config) -> Producer {
        Producer { queue, config }
    }

    /// Checks a job against the config without enqueueing it.
    pub fn check(&self, job: &Job) -> Result<(), JobError> {
        validate(job, &self.config)
    }

    /// Enqueues one job and returns its id.
    pub async fn enqueue(&self, job: Job) -> Result<JobId, ProducerError> {
        let mut ids = self.enqueue_many(std::slice::from_ref(&job)).await?;
        ids.pop().ok_or_else(|| QueueError::Protocol("no id returned".into()).into())
    }

    /// Validates every job, then enqueues them all in one transaction (pipelined); returns their ids in order.
    /// If any job is invalid or Redis fails before the batch runs, none is enqueued. When the reply is lost (the
    /// batch may have run), the very same batch is repeated under its batch token until the outcome is settled:
    /// it stores nothing twice, even for jobs without an idempotency key, and even if they ran meanwhile; if it
    /// cannot be settled, the error is [`ProducerError::Unknown`].
    pub async fn enqueue_many(&self, jobs: &[Job]) -> Result<Vec<JobId>, ProducerError> {
        Ok(self.enqueue_noting_repeats(jobs).await?.into_iter().map(|e| e.id).collect())
    }

    /// [`Producer::enqueue_many`], saying per job whether it was stored or its idempotency key was a repeat (the
    /// first job's id is returned then): the worker's cron scheduler tells a tick it fired from one another worker
    /// fired.
    pub async fn enqueue_noting_repeats(&self, jobs: &[Job]) -> Result<Vec<Enqueued>, ProducerError> {
        for (index, job) in jobs.iter().enumerate() {
            validate(job, &self.config).map_err(|error| ProducerError::Invalid { index, error })?;
        }
        let new: Vec<NewJob> = jobs.iter().map(new_job).collect();
        let ids = settle::enqueue_settled(&self.queue, &new).await?;
        Ok(new.iter().zip(ids).map(|(job, id)| Enqueued { repeated: id != job.id, id: JobId(id) }).collect())
    }

    /// The queue underneath, for this crate's other modules.
    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The config it validates against.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
