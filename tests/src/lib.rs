//! The end-to-end test harness: each test owns a `redis-server` on a free loopback port with its own data
//! directory (so tests run in parallel and may kill or restart it), the provider emulator on a free port, and
//! `deleteq` processes it can signal. Nothing here mocks Redis.
//!
//! # Layout
//! - [`redis_server`]: start, kill and restart a private `redis-server`.
//! - [`redis_cluster`]: a private Redis Cluster (masters and replicas) for failover tests.
//! - [`emulator`]: the provider emulator in a background runtime.
//! - [`process`]: the `deleteq` binary: one-shot commands, worker and server processes.
//! - [`http`]: a minimal HTTP/1.1 client for `deleteq serve`.
//! - [`inspect`]: reading Redis state and the audit stream for assertions.
//! - [`browser`]: a headless Chromium over WebDriver, for the dashboard.
//! - [`stub`]: a listener that answers every request alike and records what reached it.
//! - [`otlp`]: an OTLP/HTTP receiver that keeps the spans exported to it.

#![allow(clippy::unwrap_used)]

pub mod browser;
pub mod emulator;
pub mod http;
pub mod inspect;
pub mod otlp;
pub mod process;
pub mod redis_cluster;
pub mod redis_server;
pub mod reply_cutter;
pub mod stub;

pub use emulator::TestEmulator;
pub use process::{deleteq, deleteq_in, deleteq_with_env, Process, Server, Worker};
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;
pub use reply_cutter::ReplyCutter;
pub use stub::StubServer;

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// Polls `check` every 50 ms until it is true or `timeout` passes; returns whether it became true.
pub fn wait_until(timeout: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A config file for a test: Redis, worker settings, and accounts pointing at the emulator.
pub struct TestConfig {
    /// The directory holding the file (and anything else the test writes).
    pub dir: tempfile::TempDir,
    /// The file.
    pub path: std::path::PathBuf,
}

impl TestConfig {
    /// Writes `body` after a `[redis]` section for `redis_url`.
    pub fn new(redis_url: &str, body: &str) -> TestConfig {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deleteq.toml");
        let text = format!("[redis]\nurl = \"{redis_url}\"\nprefix = \"deleteq\"\n\n{body}\n");
        std::fs::write(&path, text).expect("write config");
        TestConfig { dir, path }
    }

    /// A config with one CometChat account `cc` on the emulator at `emulator_url`, and `worker` as the body of
    /// its `[worker]` section.
    pub fn cometchat(redis_url: &str, emulator_url: &str, worker: &str) -> TestConfig {
        let body = format!(
            "[worker]\n{worker}\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{emulator_url}\"\napi_key = \"k\"\nrate_limit = \"100000/s\"\n"
        );
        TestConfig::new(redis_url, &body)
    }

    /// Enqueues `n` CometChat jobs, messages `m0`…, through `deleteq enqueue --file`.
    pub fn enqueue_messages(&self, n: usize) {
        let lines: Vec<String> = (0..n).map(|i| format!(r#"{{"account":"cc","message":"m{i}"}}"#)).collect();
        let file = self.jobs_file("jobs.jsonl", &lines);
        let out = crate::deleteq(&self.path, &["enqueue", "--file", &file.to_string_lossy()], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Writes JSON lines to a file next to the config and returns its path.
    pub fn jobs_file(&self, name: &str, lines: &[String]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").expect("write jobs");
        path
    }
}
