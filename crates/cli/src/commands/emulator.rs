//! `deleteq emulator [--addr A] [--plan PROVIDER=N]…`: the provider emulator, until SIGINT or SIGTERM.

use crate::args::EmulatorArgs;
use crate::exit::Failure;
use deleteq_emulator::{Emulator, EmulatorConfig};
use std::time::Duration;

pub(crate) async fn run(args: EmulatorArgs) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {}: {e}", args.addr)))?;
    let config =
        EmulatorConfig { accept_unknown: args.accept_unknown, latency: Duration::from_millis(args.latency_ms) };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(args.addr.clone());
    tracing::info!(%addr, accept_unknown = args.accept_unknown, "Emulator listening.");
    let emulator = Emulator::new(config);
    for (provider, per_second) in &args.plan {
        emulator.set_plan(provider, Some(*per_second));
    }
    deleteq_emulator::serve(listener, emulator, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| Failure::Runtime(e.to_string()))
}
