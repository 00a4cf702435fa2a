//! A private `redis-server` per test: free loopback port, its own data directory, killed on drop.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running (or killed, restartable) `redis-server`.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    aof: bool,
    /// TLS only (no plain port): the certificate that signs itself, in `dir`.
    tls: bool,
    /// The port of the primary this one replicates, if it is a replica.
    replica_of: Option<u16>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one without persistence.
    pub fn start() -> RedisServer {
        Self::launch(false)
    }

    /// Starts one with AOF (`appendfsync always`), so a kill loses nothing acknowledged.
    pub fn start_with_aof() -> RedisServer {
        Self::launch(true)
    }

    /// Starts one that speaks TLS only, with a certificate for 127.0.0.1 signed by a test CA ([`RedisServer::ca_file`]).
    pub fn start_tls() -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        // A CA, and a server certificate for 127.0.0.1 signed by it (webpki refuses a CA as the server's own).
        std::fs::write(dir.path().join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write ext");
        let openssl = |args: &[&str]| {
            Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl must be installed (make installs it)")
                .success()
        };
        let days = ["-days", "2"];
        let status = openssl(
            &[
                &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=deleteq-test-ca"][..],
                &days,
                &["-keyout", "ca.key", "-out", "ca.pem"],
            ]
            .concat(),
        ) && openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ]) && openssl(
            &[
                &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"][..],
                &days,
                &["-extfile", "san.ext", "-out", "cert.pem"],
            ]
            .concat(),
        );
        assert!(status, "openssl could not make the test certificates");
        let mut server =
            RedisServer { port: crate::free_port(), dir, aof: false, tls: true, replica_of: None, child: None };
        server.spawn();
        server
    }

    fn launch(aof: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = RedisServer { port: crate::free_port(), dir, aof, tls: false, replica_of: None, child: None };
        server.spawn();
        server
    }

    /// Starts a replica of `primary` (no persistence) and waits until its link to the primary is up.
    pub fn start_replica_of(primary: &RedisServer) -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = RedisServer {
            port: crate::free_port(),
            dir,
            aof: false,
            tls: false,
            replica_of: Some(primary.port),
            child: None,
        };
        server.spawn();
        let (url, primary_url) = (server.url(), primary.url());
        // Linked on both sides: the primary counts it for WAIT once it reports it online.
        let linked = || {
            let info = |url: &str| crate::inspect::query::<String>(url, redis::cmd("INFO").arg("replication"));
            info(&url).contains("master_link_status:up") && info(&primary_url).contains("state=online")
        };
        assert!(crate::wait_until(Duration::from_secs(10), linked), "the replica did not link to its primary");
        server
    }

    /// The CA that signed a TLS server's certificate, for `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `rediss://127.0.0.1:PORT` of a TLS server.
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.path().join(name);
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string(), "--tls-auth-clients", "no"]);
            cmd.arg("--tls-cert-file").arg(file("cert.pem")).arg("--tls-key-file").arg(file("key.pem"));
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        cmd.arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .arg("--loglevel")
            .arg("warning")
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"));
        if let Some(primary) = self.replica_of {
            cmd.args(["--replicaof", "127.0.0.1", &primary.to_string(), "--repl-diskless-sync-delay", "0"]);
        }
        if self.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (make installs it)");
        self.child = Some(child);
        let up = || if self.tls { std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() } else { self.ping() };
        assert!(crate::wait_until(Duration::from_secs(10), up), "redis-server did not start");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether it answers PING.
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// SIGKILL: the server dies at once, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
