//! The `deleteq` binary, built by `make test` before the tests run (or named by `DELETEQ_BIN`).

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("DELETEQ_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let bin = target.join("debug").join("deleteq");
    assert!(bin.exists(), "{} is missing: run `cargo build -p deleteq-cli` first (make test does)", bin.display());
    bin
}

/// Runs `deleteq --config CONFIG ARGS…` to completion, with `stdin` piped in.
pub fn deleteq(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    deleteq_with_env(config, args, stdin, &[])
}

/// [`deleteq`] with extra environment variables (e.g. `SSL_CERT_FILE` for a test CA).
pub fn deleteq_with_env(config: &std::path::Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.envs(env.iter().copied());
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DELETEQ_CONFIG")
        .env("NO_COLOR", "1");
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn deleteq");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for deleteq")
}

/// A `deleteq worker` process whose log goes to a file.
pub struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    /// Starts a worker on `config`, logging at `RUST_LOG=level` to `log`.
    pub fn start(config: &std::path::Path, log: PathBuf, level: &str) -> Worker {
        Worker::start_with_env(config, log, level, &[])
    }

    /// [`Worker::start`] with extra environment variables.
    pub fn start_with_env(config: &std::path::Path, log: PathBuf, level: &str, env: &[(&str, &str)]) -> Worker {
        let file = std::fs::File::create(&log).expect("create worker log");
        let child = Command::new(binary())
            .envs(env.iter().copied())
            .arg("--config")
            .arg(config)
            .arg("worker")
            .env_remove("REDIS_URL")
            .env_remove("DELETEQ_CONFIG")
            .env("RUST_LOG", level)
            .env("NO_COLOR", "1")
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .expect("spawn deleteq worker");
        Worker { child, log }
    }

    /// Sends a signal by name (`TERM`, `KILL`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the worker logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `deleteq serve` process on a free loopback port, whose log goes to a file.
pub struct Server {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Server {
    /// Starts `deleteq --config CONFIG serve --addr 127.0.0.1:PORT ARGS…` with `env` added, logging at
    /// `RUST_LOG=level`, and waits until `/healthz` answers (panics with its log if it exits first).
    pub fn start(config: &std::path::Path, log: PathBuf, level: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = crate::free_port();
        let file = std::fs::File::create(&log).expect("create server log");
        let child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .env_remove("REDIS_URL")
            .env_remove("DELETEQ_CONFIG")
            .env("RUST_LOG", level)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .expect("spawn deleteq serve");
        let mut server = Server { child, log, port };
        let up = crate::wait_until(Duration::from_secs(20), || {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("deleteq serve exited ({status}) before answering: {}", server.log());
            }
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && crate::http::get(port, "/healthz", None).status == 200
        });
        assert!(up, "deleteq serve did not answer /healthz: {}", server.log());
        server
    }

    /// The port it serves on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
