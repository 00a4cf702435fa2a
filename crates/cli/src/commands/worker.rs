//! `deleteq worker`: runs until SIGINT or SIGTERM, then shuts down gracefully and exits 0.

use crate::exit::Failure;
use deleteq_core::Config;
use deleteq_worker::{BuildInfo, WorkerError};

pub(crate) async fn run(config: Config) -> Result<(), Failure> {
    let build =
        BuildInfo { version: env!("CARGO_PKG_VERSION").to_string(), commit: env!("DELETEQ_COMMIT").to_string() };
    deleteq_worker::run(config, build, signal()).await.map_err(|e| match e {
        WorkerError::RedisUrl(_) => Failure::Invalid(e.to_string()),
        // The config is valid; this host cannot give the worker its address (taken, or not local).
        WorkerError::MetricsBind { .. } | WorkerError::HttpClient(_) => Failure::Runtime(e.to_string()),
    })
}

/// Resolves on the first SIGINT or SIGTERM (what Kubernetes and systemd send).
pub(crate) async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
