//! TLS (`rediss://`, certificate verified) and ACL users (`redis://user:password@…`): jobs flow through both, a
//! wrong credential fails clearly with exit 1, and the password appears in no output or log.

use deleteq_tests::inspect::query;
use deleteq_tests::{deleteq_with_env, wait_until, RedisServer, TestConfig, Worker};
use std::time::Duration;

const NOOP: &str = "[worker]\nconcurrency = 4\n\n[accounts.nop]\nprovider = \"noop\"\n";

fn config_for(url: &str) -> TestConfig {
    TestConfig::new(url, NOOP)
}

#[test]
fn jobs_flow_over_tls_with_the_certificate_verified() {
    let redis = RedisServer::start_tls();
    let ca = redis.ca_file();
    let env = [("SSL_CERT_FILE", ca.to_str().expect("path"))];
    let config = config_for(&redis.tls_url());
    let job = r#"{"account":"nop","message":"over-tls"}"#;

    // Without the CA the server's self-signed certificate is refused: TLS really is verified.
    let refused = deleteq_with_env(&config.path, &["enqueue", job], None, &[("SSL_CERT_FILE", "/nonexistent")]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));

    let out = deleteq_with_env(&config.path, &["enqueue", job], None, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start_with_env(&config.path, config.dir.path().join("worker.log"), "info", &env);
    let done = || {
        let out = deleteq_with_env(&config.path, &["audit", "export"], None, &env);
        String::from_utf8_lossy(&out.stdout).contains("\"over-tls\"")
    };
    assert!(wait_until(Duration::from_secs(20), done), "{}", worker.log());
}

#[test]
fn an_acl_user_works_and_its_password_is_never_printed() {
    let redis = RedisServer::start();
    let password = "s3cret-acl-pass";
    let (): () = query(
        &redis.url(),
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("deleteq")
            .arg("on")
            .arg(format!(">{password}"))
            .arg("~*")
            .arg("&*")
            .arg("+@all"),
    );
    let port = redis.url().rsplit(':').next().expect("port").to_string();
    let good = config_for(&format!("redis://deleteq:{password}@127.0.0.1:{port}"));
    let out = deleteq_with_env(&good.path, &["enqueue", r#"{"account":"nop","message":"acl"}"#], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&good.path, good.dir.path().join("worker.log"), "debug");
    let done = || query::<u64>(&redis.url(), redis::cmd("XLEN").arg("{deleteq}:audit")) == 1;
    assert!(wait_until(Duration::from_secs(20), done), "{}", worker.log());
    drop(worker);

    let bad = config_for(&format!("redis://deleteq:wrong-{password}@127.0.0.1:{port}"));
    let out = deleteq_with_env(&bad.path, &["status"], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(password), "the password leaked: {text}");
    assert!(!std::fs::read_to_string(good.dir.path().join("worker.log")).unwrap_or_default().contains(password));
}
