//! The worker's HTTP endpoints (DESIGN §8), served only when `[metrics]` is configured: `/metrics` (Prometheus
//! text), `/healthz` (the process answers: 200) and `/readyz` (200 only while Redis answers `PING` and holds the
//! queue's scripts, else 503 with a short JSON reason).
//!
//! The listener is bound before Redis is connected, so a taken address fails the worker at once and `/healthz`
//! answers while the worker still waits for Redis. Nothing here can fail a scrape: Redis trouble only leaves the
//! queue gauges out (and makes `/readyz` say so).

use crate::inflight::InFlight;
use crate::metrics::{Metrics, QueueGauges, CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use deleteq_queue::Queue;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long one scrape or readiness check may wait for Redis.
const REDIS_WAIT: Duration = Duration::from_secs(2);
/// How long open connections may take to finish once the server is stopped.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// What the handlers read.
struct Sources {
    metrics: Metrics,
    inflight: InFlight,
    /// Set once the worker has connected.
    queue: OnceLock<Queue>,
    /// The configured accounts, whose parked state is read at scrape time.
    accounts: Vec<String>,
    /// True once the worker is shutting down: it is no longer ready.
    stopping: watch::Receiver<bool>,
}

/// A running metrics and health server.
pub(crate) struct HealthServer {
    sources: Arc<Sources>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl HealthServer {
    /// Binds `addr` and starts serving. A bind failure is returned (the worker cannot start as configured).
    pub(crate) async fn start(
        addr: SocketAddr,
        metrics: Metrics,
        inflight: InFlight,
        accounts: Vec<String>,
        stopping: watch::Receiver<bool>,
    ) -> std::io::Result<HealthServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let sources = Arc::new(Sources { metrics, inflight, queue: OnceLock::new(), accounts, stopping });
        let router = Router::new()
            .route("/metrics", get(serve_metrics))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(sources.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = served.await {
                tracing::error!(%error, addr = %bound, "The metrics server stopped.");
            }
        });
        tracing::info!(addr = %bound, "Serving /metrics, /healthz and /readyz.");
        Ok(HealthServer { sources, stop, task })
    }

    /// Hands the connected queue to the handlers.
    pub(crate) fn connected(&self, queue: Queue) {
        let _ = self.sources.queue.set(queue);
    }

    /// Stops serving: open requests get [`STOP_WAIT`] to finish.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(STOP_WAIT, &mut task).await.is_err() {
            task.abort();
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(sources): State<Arc<Sources>>) -> impl IntoResponse {
    let not_ready = |reason: &str| {
        let body = format!("{{\"ready\":false,\"reason\":\"{reason}\"}}\n");
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "application/json")], body)
    };
    if *sources.stopping.borrow() {
        return not_ready("shutting down");
    }
    let Some(queue) = sources.queue.get() else {
        return not_ready("redis not connected yet");
    };
    match tokio::time::timeout(REDIS_WAIT, queue.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "Not ready: Redis does not answer PING.");
            return not_ready("redis unreachable");
        }
        Err(_) => return not_ready("redis unreachable"),
    }
    match tokio::time::timeout(REDIS_WAIT, queue.load_scripts()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "Not ready: the queue's scripts cannot be loaded.");
            return not_ready("scripts not loaded");
        }
        Err(_) => return not_ready("scripts not loaded"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"ready\":true}\n".to_string())
}

async fn serve_metrics(State(sources): State<Arc<Sources>>) -> impl IntoResponse {
    sources.metrics.set_in_flight(sources.inflight.len());
    let gauges = match sources.queue.get() {
        Some(queue) => match tokio::time::timeout(REDIS_WAIT, queue_gauges(queue, &sources.accounts)).await {
            Ok(Ok(gauges)) => Some(gauges),
            Ok(Err(error)) => {
                tracing::debug!(%error, "Scrape without queue gauges: Redis did not answer.");
                None
            }
            Err(_) => {
                tracing::debug!("Scrape without queue gauges: Redis took too long.");
                None
            }
        },
        None => None,
    };
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], sources.metrics.render(gauges.as_ref()))
}

/// Depths and every configured account's parked state, read now.
async fn queue_gauges(queue: &Queue, accounts: &[String]) -> deleteq_queue::Result<QueueGauges> {
    let mut depths = deleteq_queue::inspect::Depths::default();
    let mut ready_per_shard = Vec::with_capacity(queue.shard_count());
    for shard in 0..queue.shard_count() {
        let d = queue.shard_depths(shard).await?;
        // Per lane, summed over the accounts; ids queued before lanes count as `normal`.
        let mut lanes: std::collections::BTreeMap<deleteq_core::Priority, u64> =
            deleteq_core::Priority::ALL.into_iter().map(|lane| (lane, 0)).collect();
        let mut in_lanes = 0;
        for ((_, lane), n) in queue.shard_lane_depths(shard).await? {
            *lanes.entry(lane).or_insert(0) += n;
            in_lanes += n;
        }
        *lanes.entry(deleteq_core::Priority::Normal).or_insert(0) += d.ready.saturating_sub(in_lanes);
        ready_per_shard.push(lanes);
        depths += d;
    }
    let mut parked = std::collections::BTreeMap::new();
    for account in accounts {
        parked.insert(account.clone(), queue.account_parked(account).await?.is_some());
    }
    Ok(QueueGauges { depths, ready_per_shard, parked })
}
