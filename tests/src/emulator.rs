//! The provider emulator on a free loopback port, served from a runtime of its own so that blocking test code
//! never stalls it.

use deleteq_emulator::{Emulator, EmulatorConfig};

/// A running emulator; stops when dropped.
pub struct TestEmulator {
    /// Direct access to its state (seeding, faults, counters).
    pub state: Emulator,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestEmulator {
    /// Starts one with `config`.
    pub fn start(config: EmulatorConfig) -> TestEmulator {
        let state = Emulator::new(config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let served = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("emulator runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind emulator");
                let addr = listener.local_addr().expect("emulator addr");
                ready_tx.send(addr).expect("report emulator address");
                let _ = deleteq_emulator::serve(listener, served, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        let addr = ready_rx.recv().expect("emulator started");
        TestEmulator { state, url: format!("http://{addr}"), stop: Some(stop), thread: Some(thread) }
    }

    /// Limits `provider` to `per_second` requests in each wall-clock second, with its rate-limit headers.
    pub fn with_plan(self, provider: &str, per_second: u32) -> TestEmulator {
        self.state.set_plan(provider, Some(per_second));
        self
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
