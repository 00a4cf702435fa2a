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
    cmd.arg("--config").arg(config).args(args).env_remove("REDIS_URL").env_remove("DELETEQ_CONFIG");
    run(cmd.envs(env.iter().copied()), stdin)
}

/// Runs `deleteq ARGS…` without `--config`, in the directory `dir`, with neither `DELETEQ_CONFIG` nor `REDIS_URL`
/// set unless `env` sets them: how the binary finds (or does not find) its config by itself.
pub fn deleteq_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.current_dir(dir).args(args).env_remove("REDIS_URL").env_remove("DELETEQ_CONFIG");
    run(cmd.envs(env.iter().copied()), None)
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.env("NO_COLOR", "1");
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

/// A long-running `deleteq` process (a worker or a server) whose output goes to a log file; killed on drop.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `deleteq --config CONFIG ARGS…` with `env` added, logging at `RUST_LOG=level` to `log`.
    fn spawn(config: &std::path::Path, args: &[&str], log: PathBuf, level: &str, env: &[(&str, &str)]) -> Process {
        let file = std::fs::File::create(&log).expect("create process log");
        let child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("REDIS_URL")
            .env_remove("DELETEQ_CONFIG")
            .env("RUST_LOG", level)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .expect("spawn deleteq");
        Process { child, log }
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

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `deleteq worker` process.
pub type Worker = Process;

impl Process {
    /// Starts a worker on `config`, logging at `RUST_LOG=level` to `log`.
    pub fn start(config: &std::path::Path, log: PathBuf, level: &str) -> Worker {
        Process::start_with_env(config, log, level, &[])
    }

    /// [`Process::start`] with extra environment variables.
    pub fn start_with_env(config: &std::path::Path, log: PathBuf, level: &str, env: &[(&str, &str)]) -> Worker {
        Process::spawn(config, &["worker"], log, level, env)
    }
}

/// A `deleteq serve` process on a free loopback port.
pub struct Server {
    process: Process,
    port: u16,
}

impl std::ops::Deref for Server {
    type Target = Process;

    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

impl Server {
    /// Starts `deleteq --config CONFIG serve --addr 127.0.0.1:PORT ARGS…` with `env` added, logging at
    /// `RUST_LOG=level`, and waits until `/healthz` answers (panics with its log if it exits first).
    pub fn start(config: &std::path::Path, log: PathBuf, level: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = crate::free_port();
        let addr = format!("127.0.0.1:{port}");
        let all: Vec<&str> = ["serve", "--addr", addr.as_str()].into_iter().chain(args.iter().copied()).collect();
        let mut server = Server { process: Process::spawn(config, &all, log, level, env), port };
        let up = crate::wait_until(Duration::from_secs(20), || {
            if let Ok(Some(status)) = server.process.child.try_wait() {
                panic!("deleteq serve exited ({status}) before answering: {}", server.log());
            }
            // A refused or reset connection is "not yet" (a probe must not fail the wait it is part of).
            crate::http::try_status(port, "/healthz") == Some(200)
        });
        assert!(up, "deleteq serve did not answer /healthz: {}", server.log());
        server
    }

    /// The port it serves on.
    pub fn port(&self) -> u16 {
        self.port
    }
}
