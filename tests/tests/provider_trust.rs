//! A misconfigured address never yields a deletion claim: a redirect is not followed (nothing reaches the other
//! host, no credential included) and ends `failed` naming the status and the host; a wrong base path, or a proxy's
//! 404 in front of the provider, is never `already_deleted` or `deleted`.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::{outcome_counts, terminal, Record};
use deleteq_tests::{deleteq, wait_until, RedisServer, StubServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

const KINDS: [&str; 5] = ["cometchat", "room_im", "quickblox", "twochat", "ofauth"];
/// Credentials the configs carry; none may reach a host it was not configured for.
const SECRET: &str = "sekrit-key-4711";

fn account(name: &str, kind: &str, base_url: &str) -> String {
    let credentials = match kind {
        "room_im" => format!("client_key = \"{SECRET}\"\ntoken = \"{SECRET}\""),
        "ofauth" => format!("api_key = \"{SECRET}\"\nconnection_id = \"{SECRET}\""),
        _ => format!("api_key = \"{SECRET}\""),
    };
    format!(
        "[accounts.{name}]\nprovider = \"{kind}\"\nbase_url = \"{base_url}\"\n{credentials}\nrate_limit = \"1000/s\"\n"
    )
}

fn job(name: &str, kind: &str) -> String {
    match kind {
        "cometchat" => format!(r#"{{"account":"{name}","message":"69","permanent":true}}"#),
        "room_im" => format!(r#"{{"account":"{name}","conversation":"room-1","message":"5f890cf37d980e06f6aaf349"}}"#),
        "quickblox" => {
            format!(r#"{{"account":"{name}","messages":["5d76b949a0eb4721f80b72ab","5d76b657a28f9a0cc7cb0f99"]}}"#)
        }
        "twochat" => format!(r#"{{"account":"{name}","conversation":"WW-1@c.us","message":"MSG205dec10"}}"#),
        _ => format!(r#"{{"account":"{name}","conversation":"12345","message":"67890"}}"#),
    }
}

/// Writes a config with `accounts` (name, kind, base_url), enqueues one job per account, and runs a worker until
/// `expected` terminal records are written; returns them.
fn run(redis: &RedisServer, accounts: &[(String, &str, String)], expected: usize) -> Vec<Record> {
    let body: String = accounts.iter().map(|(name, kind, url)| account(name, kind, url)).collect::<Vec<_>>().join("\n");
    let config = TestConfig::new(&redis.url(), &format!("[worker]\nconcurrency = 8\nlease = \"10s\"\n\n{body}"));
    let lines: Vec<String> = accounts.iter().map(|(name, kind, _)| job(name, kind)).collect();
    let file = config.jobs_file("jobs.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "debug");
    assert!(
        wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() >= expected),
        "{:?}\n{}",
        terminal(&redis.url()),
        worker.log()
    );
    assert!(!worker.log().contains(SECRET), "no credential in the worker's log");
    terminal(&redis.url())
}

#[test]
fn a_redirect_is_never_followed_and_hands_no_credential_on() {
    let redis = RedisServer::start();
    // What must receive nothing: the host a redirect points to, answering as a provider would.
    let elsewhere = StubServer::start(
        200,
        &[("content-type", "application/json")],
        r#"{"data":{},"success":true,"RC":0,"SuccessfullyDeleted":{"ids":["5d76b949a0eb4721f80b72ab","5d76b657a28f9a0cc7cb0f99"]}}"#,
    );
    let target = format!("{}/took-it", elsewhere.url());
    let redirector = StubServer::start(307, &[("location", &target)], "");
    let moved = StubServer::start(301, &[("location", "/somewhere-else")], "");
    let mut accounts: Vec<(String, &str, String)> =
        KINDS.iter().map(|kind| (format!("r-{kind}"), *kind, redirector.url().to_string())).collect();
    accounts.push(("m-cometchat".into(), "cometchat", moved.url().to_string()));
    // QuickBlox's job has two messages: one record each.
    let records = run(&redis, &accounts, accounts.len() + 1);

    assert_eq!(elsewhere.requests().len(), 0, "nothing reached the other host: {:?}", elsewhere.requests());
    assert_eq!(redirector.requests().len(), KINDS.len(), "one call per job, none repeated");
    let host = elsewhere.url().trim_start_matches("http://").to_string();
    let moved_host = moved.url().trim_start_matches("http://").to_string();
    for record in &records {
        let field = |name: &str| record.get(name).map(String::as_str).unwrap_or("");
        assert_eq!(field("outcome"), "failed", "{record:?}");
        let error = field("error");
        let (status, host) = if field("account") == "m-cometchat" { ("301", &moved_host) } else { ("307", &host) };
        assert!(error.contains(&format!("HTTP {status}")) && error.contains(host.as_str()), "{error}");
        assert!(!error.contains("took-it") && !error.contains(SECRET), "the host only, no path, no key: {error}");
        assert!(field("mode").is_empty(), "{record:?}");
    }
}

#[test]
fn a_wrong_base_url_or_a_proxys_404_never_claims_a_deletion() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    // What a wrong address answers: the emulator under a path prefix it does not serve (an empty 404), a proxy's
    // HTML page, an Express-style text and JSON naming the path, and JSON errors of the wrong shape.
    let stubs = [
        StubServer::start(404, &[("content-type", "text/html")], "<html><body><h1>404 Not Found</h1></body></html>"),
        StubServer::start(404, &[("content-type", "text/plain")], "Cannot DELETE /open/whatsapp/message/S/x"),
        StubServer::start(
            404,
            &[("content-type", "application/json")],
            r#"{"success":false,"message":"Cannot DELETE /open/whatsapp/message/WW-1@c.us/MSG205dec10"}"#,
        ),
        StubServer::start(
            404,
            &[("content-type", "application/json")],
            r#"{"errors":["Not Found"],"error":{"code":"NOT_FOUND"},"type":"NOT_FOUND"}"#,
        ),
    ];
    let mut bases = vec![format!("{}/wrong-prefix", emulator.url())];
    bases.extend(stubs.iter().map(|s| s.url().to_string()));
    let mut accounts = Vec::new();
    for (b, base) in bases.iter().enumerate() {
        for kind in KINDS {
            accounts.push((format!("b{b}-{kind}"), kind, base.clone()));
        }
    }
    let expected = accounts.len() + bases.len(); // QuickBlox jobs carry two messages.
    let records = run(&redis, &accounts, expected);
    let counts = outcome_counts(&records);
    assert_eq!(counts.get("failed"), Some(&expected), "{counts:?}: {records:?}");
    for record in &records {
        let error = record.get("error").map(String::as_str).unwrap_or("");
        assert!(error.contains("HTTP 404") && error.contains("base_url"), "the reason points at the config: {error}");
    }
    assert_eq!(emulator.state.total_deletions(), 0);
}
