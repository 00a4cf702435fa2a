//! Composes the worker and owns its shutdown protocol.
//!
//! Start: connect (retrying until Redis answers or shutdown is asked), then run the fetcher, the acker, the lease
//! keeper, maintenance and the cron scheduler side by side.
//!
//! Shutdown, in this order:
//! 1. stop leasing;
//! 2. release at once the leases of jobs whose provider call has not started (leased but waiting in the buffer,
//!    or before their call), so they run elsewhere now; a call that starts after this finds its lease gone and
//!    does not start;
//! 3. let in-flight calls finish, for at most `shutdown_grace`, while the keeper goes on extending their leases
//!    (no other worker can take them meanwhile); abort the rest;
//! 4. write every outcome already known (the acker drains its channel), then stop the keeper;
//! 5. release the leases still held, so those jobs run again at once elsewhere;
//! 6. stop the metrics server (it answers throughout, `/readyz` with 503 from step 1).

use crate::acker::run_acker;
use crate::apalis_worker::{ApalisWorker, JobContext};
use crate::circuit::Circuits;
use crate::execute::Executor;
use crate::health_server::HealthServer;
use crate::inflight::InFlight;
use crate::keeper::keeper;
use crate::limiter::RateGate;
use crate::maintenance::run_maintenance;
use crate::metrics::{BuildInfo, Metrics};
use crate::parking::Parking;
use crate::scheduler::run_scheduler;
use deleteq_core::Config;
use deleteq_providers::Providers;
use deleteq_queue::circuit::CircuitPolicy;
use deleteq_queue::{ConnectError, Lease, Queue};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Why a worker could not run at all. Transient trouble (Redis down) is never an error: it is waited out.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The Redis URL cannot be used.
    #[error("invalid redis url: {0}")]
    RedisUrl(String),
    /// The metrics server cannot listen on `[metrics] addr` (taken, or not this host's).
    #[error("cannot serve metrics on metrics.addr {addr}: {source}")]
    MetricsBind {
        /// The configured address.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The HTTP client for the providers cannot be built (its TLS backend did not start).
    #[error("cannot build the providers' HTTP client: {0}")]
    HttpClient(String),
}

/// Runs a worker until `shutdown` resolves, then shuts down gracefully; `build` names the binary in its metrics.
pub async fn run(config: Config, build: BuildInfo, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
    let worker_id = format!("{}-{}", std::process::id(), ulid::Ulid::new());
    let (stop_tx, stop) = watch::channel(false);
    let metrics = Metrics::new(config.accounts.keys().cloned(), &build);
    let inflight = InFlight::default();
    // Bound before Redis is awaited: a taken address fails at once, and /healthz answers while Redis is awaited.
    let health = match &config.metrics {
        Some(m) => {
            let accounts = config.accounts.keys().cloned().collect();
            let started = HealthServer::start(m.addr, metrics.clone(), inflight.clone(), accounts, stop.clone()).await;
            Some(started.map_err(|source| WorkerError::MetricsBind { addr: m.addr, source })?)
        }
        None => None,
    };
    tokio::pin!(shutdown);
    let connected = tokio::select! {
        connected = connect(&config) => Some(connected),
        _ = &mut shutdown => None,
    };
    let queue = match connected {
        Some(Ok(queue)) => queue,
        stopped_or_failed => {
            if let Some(health) = health {
                health.stop().await;
            }
            return stopped_or_failed.transpose().map(|_| ());
        }
    };
    if let Some(health) = &health {
        health.connected(queue.clone());
    }
    let concurrency = config.worker.concurrency;
    tracing::info!(worker = %worker_id, redis = %queue.redacted_target(), concurrency, accounts = config.accounts.len(), "Worker started.");

    let (finish_tx, finish_rx) = mpsc::channel(concurrency * 4);
    let limits = config
        .accounts
        .iter()
        .filter_map(|(name, account)| account.effective_rate_limit().map(|limit| (name.clone(), limit)))
        .collect();
    let (starter, keeper) = keeper(queue.clone(), inflight.clone(), config.worker.lease);
    let executor = Executor {
        providers: Providers::new(&config, concurrency).map_err(|e| WorkerError::HttpClient(e.to_string()))?,
        retry: config.retry.clone(),
        limits,
        gate: RateGate::new(queue.clone(), metrics.clone(), config.worker.rate_wait),
        parking: Parking::new(queue.clone()),
        circuits: Circuits::new(queue.clone(), CircuitPolicy::from_config(&config.circuit)),
        rate_wait: config.worker.rate_wait,
        max_reclaims: config.worker.max_reclaims,
        metrics: metrics.clone(),
        queue: queue.clone(),
        starter,
    };
    let (abandon_tx, abandon) = watch::channel(false);
    let context = Arc::new(JobContext { executor, finishes: finish_tx, inflight: inflight.clone(), abandon });
    let worker = ApalisWorker {
        name: worker_id.clone(),
        queue: queue.clone(),
        context,
        concurrency,
        lease: config.worker.lease,
    };
    let limits = (Duration::from_secs(5), config.worker.lease);
    let acker = tokio::spawn(run_acker(queue.clone(), finish_rx, inflight.clone(), stop.clone(), limits, metrics));
    // The keeper outlives the calls: it stops only after the grace period (step 4 of shutdown).
    let (keeper_stop_tx, keeper_stop) = watch::channel(false);
    let keeper = tokio::spawn(keeper.run(keeper_stop));
    let accounts = config.accounts.keys().cloned().collect();
    let maintenance = tokio::spawn(run_maintenance(queue.clone(), accounts, stop.clone()));
    let producer = deleteq_producer::Producer::on(queue.clone(), config.clone());
    let scheduler = tokio::spawn(run_scheduler(producer, stop.clone()));
    let mut running = tokio::spawn(worker.run(stop.clone()));

    tokio::select! {
        _ = &mut shutdown => {}
        result = &mut running => {
            // The apalis worker only ends on its own if something is badly wrong; say so and shut down cleanly.
            tracing::error!(?result, "The worker runtime stopped unexpectedly; shutting down.");
        }
    }
    tracing::info!(worker = %worker_id, in_flight = inflight.len(), "Shutting down: no new jobs; finishing calls in flight.");
    let _ = stop_tx.send(true);
    let handed_back = release(&queue, inflight.waiting(), true, &inflight).await;
    tracing::info!(
        released = handed_back,
        in_flight = inflight.len(),
        "Released the jobs whose calls had not started."
    );
    let grace = config.worker.shutdown_grace;
    if !running.is_finished() && tokio::time::timeout(grace, &mut running).await.is_err() {
        tracing::warn!(?grace, in_flight = inflight.len(), "Grace period over; abandoning calls still running.");
        let _ = abandon_tx.send(true);
        if tokio::time::timeout(Duration::from_secs(2), &mut running).await.is_err() {
            running.abort();
            let _ = running.await;
        }
    }
    let stats = acker.await.unwrap_or_default();
    let _ = keeper_stop_tx.send(true);
    let _ = keeper.await;
    let _ = maintenance.await;
    let _ = scheduler.await;
    let released = handed_back + release(&queue, inflight.snapshot(), false, &inflight).await;
    tracing::info!(
        worker = %worker_id,
        acked = stats.acked,
        rescheduled = stats.rescheduled,
        expanded = stats.expanded,
        stale = stats.stale,
        given_up = stats.given_up,
        handed_back = stats.handed_back,
        released,
        "Worker stopped."
    );
    if let Some(health) = health {
        health.stop().await;
    }
    Ok(())
}

/// Releases `leases` (grouped by shard): with `waiting_only`, only those whose call has not started, which are
/// then forgotten here unless their call began meanwhile. Returns how many Redis released.
async fn release(queue: &Queue, leases: Vec<(usize, Vec<Lease>)>, waiting_only: bool, inflight: &InFlight) -> u64 {
    let mut released = 0;
    for (shard, leases) in leases {
        match queue.release(shard, &leases, waiting_only).await {
            Ok(n) => released += n,
            Err(error) => {
                tracing::warn!(%error, shard, jobs = leases.len(), "Could not release leases; they will expire instead.");
            }
        }
        if waiting_only {
            inflight.forget_waiting(&leases);
        }
    }
    released
}

/// Connects ([`deleteq_queue::open`]), retrying with backoff for as long as it takes: a worker started before
/// Redis waits for it. Only a Redis URL that cannot be used is an error.
async fn connect(config: &Config) -> Result<Queue, WorkerError> {
    let notice = |_: u32, error: &ConnectError| tracing::warn!(%error, "Redis is not reachable yet; retrying.");
    deleteq_queue::open_retrying(config, std::time::Duration::from_secs(2), notice)
        .await
        .map_err(|error| WorkerError::RedisUrl(error.into_source().to_string()))
}
