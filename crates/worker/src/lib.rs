//! The worker runtime: leases jobs from the queue, calls providers, records every outcome, reschedules retries.
//!
//! # Layout
//! - [`run`] (in `runtime`): composes the parts below and owns the shutdown protocol.
//! - `apalis_worker`: the queue as an apalis 1.0 custom backend; apalis runs the handlers (concurrency, tower
//!   service stack, draining on stop).
//! - `lease_stream`: the backend's fetcher: leases batches of ready jobs, hands them out one per free slot, and
//!   blocks on the wake list when idle.
//! - `execute`: one job, start to finish: checks, provider calls, and the `Finish` that records it.
//! - `acker`: writes finishes to Redis in batches (ack with audit, or reschedule), retrying through outages;
//!   `write_retry`: how long it retries one write (transient errors, stuck writes, shutdown).
//! - `limiter`: per-account rate limits, slots reserved in Redis a few at a time; a 429 slows the account for all.
//! - `circuit`: per-account circuit breakers: repeated server-side failures pause an account's calls briefly.
//! - `parking`: parked accounts (checked before calls, cached briefly; set on a provider's account-wide stop).
//! - `retry`: the retry policy, the only place that decides "again, and when" or "dead".
//! - `keeper`: extends the leases of jobs still in flight.
//! - `maintenance`: promotes due scheduled jobs and reclaims the expired leases of dead workers.
//! - `scheduler`: fires the `[[schedules]]` cron ticks, once per tick across all workers.
//! - `inflight`: the ids this process holds leases on.
//! - `records`: audit records for a job's messages.
//! - `spans`: the worker's tracing spans (lease batch; per job lease, call, ack), continuing a job's trace.
//! - `metrics`: the Prometheus metrics (DESIGN §8), and `health_server`: `/metrics`, `/healthz`, `/readyz` when
//!   `[metrics]` is configured.
//!
//! # Guarantees
//! A job is acknowledged only in the script that writes its terminal record. A killed worker's jobs are reclaimed
//! by any live worker once their lease expires. Retries wait in Redis, never in a call slot.

mod acker;
mod apalis_worker;
mod circuit;
mod execute;
mod health_server;
mod inflight;
mod keeper;
mod lease_stream;
mod limiter;
mod maintenance;
mod metrics;
mod parking;
mod process_metrics;
mod records;
pub mod retry;
mod runtime;
mod scheduler;
mod spans;
mod write_retry;

pub use metrics::BuildInfo;
pub use runtime::{run, WorkerError};

/// Backoff for the worker's own Redis retries: 100 ms doubling to 2 s, so a restarted Redis is back in use within
/// about two seconds.
pub(crate) fn redis_backoff(failures: u32) -> std::time::Duration {
    let ms = 100u64.saturating_mul(1 << failures.min(6));
    std::time::Duration::from_millis(ms.min(2_000))
}
