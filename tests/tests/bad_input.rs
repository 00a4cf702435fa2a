//! Every bad-input rule of DESIGN §2: exit 2, the line and the field named, and Redis untouched.

use deleteq_tests::inspect::dbsize;
use deleteq_tests::{deleteq, RedisServer, TestConfig};

const ACCOUNTS: &str = r#"
[accounts.cc]
provider = "cometchat"
base_url = "http://127.0.0.1:9"
api_key = "k"
[accounts.qb]
provider = "quickblox"
base_url = "http://127.0.0.1:9"
api_key = "k"
[accounts.im]
provider = "room_im"
base_url = "http://127.0.0.1:9"
client_key = "c"
token = "t"
[accounts.wa]
provider = "twochat"
base_url = "http://127.0.0.1:9"
api_key = "k"
[accounts.of]
provider = "ofauth"
base_url = "http://127.0.0.1:9"
api_key = "k"
connection_id = "conn"
"#;

/// (bad line, field the error must name)
fn cases() -> Vec<(String, &'static str)> {
    let long = "x".repeat(300);
    vec![
        (r#"{"account":"cc","message":"1","colour":"red"}"#.into(), "colour"),
        (r#"{"message":"1"}"#.into(), "account"),
        (r#"{"account":"nope","message":"1"}"#.into(), "account"),
        (r#"{"account":"cc"}"#.into(), "message"),
        (r#"{"account":"cc","message":"1","messages":["2"]}"#.into(), "messages"),
        (r#"{"account":"cc","messages":[]}"#.into(), "messages"),
        (r#"{"account":"im","conversation":"r","message":"1","purge":true}"#.into(), "purge"),
        (r#"{"account":"cc","purge":true}"#.into(), "purge"),
        (r#"{"account":"cc","conversation":"r","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"qb","conversation":"r","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"im","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"wa","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"of","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"cc","message":""}"#.into(), "message"),
        (format!(r#"{{"account":"cc","message":"{long}"}}"#), "message"),
        (r#"{"account":"cc","message":"a/b"}"#.into(), "message"),
        (r#"{"account":"cc","message":"a?b"}"#.into(), "message"),
        (r#"{"account":"cc","message":"a#b"}"#.into(), "message"),
        (r#"{"account":"cc","message":"a%b"}"#.into(), "message"),
        (r#"{"account":"cc","message":"a\tb"}"#.into(), "message"),
        (r#"{"account":"qb","messages":["a,b"]}"#.into(), "messages"),
        (r#"{"account":"im","conversation":"r/../x","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"im","conversation":"..","message":"1"}"#.into(), "conversation"),
        (r#"{"account":"im","conversation":"r","message":"."}"#.into(), "message"),
        (r#"{"account":"im","conversation":"r","message":"_all"}"#.into(), "message"),
        (r#"{"account":"qb","messages":["a",".."]}"#.into(), "messages"),
        (r#"{"account":"cc","message":"1","run_at":"tomorrow"}"#.into(), "run_at"),
        (r#"{"account":"cc","message":"1","not_after":"2026-13-01T00:00:00Z"}"#.into(), "not_after"),
        (r#"{"account":"cc","message":"1","sent_at":12}"#.into(), "sent_at"),
        (r#"{"account":"cc","message":"1","permanent":"yes"}"#.into(), "permanent"),
        (r#"{"account":"cc","message":1.5e400}"#.into(), "job"),
        ("not json at all".into(), "job"),
    ]
}

#[test]
fn a_file_with_bad_lines_enqueues_nothing_and_names_every_line_and_field() {
    let redis = RedisServer::start();
    let config = TestConfig::new(&redis.url(), ACCOUNTS);
    let good = r#"{"account":"cc","message":"ok"}"#.to_string();
    let cases = cases();
    let mut lines = vec![good.clone()];
    lines.extend(cases.iter().map(|(l, _)| l.clone()));
    lines.push(good);
    let file = config.jobs_file("bad.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", file.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (line, field)) in cases.iter().enumerate() {
        let expected = format!("line {}: field \"{field}\"", i + 2);
        assert!(stderr.contains(&expected), "missing {expected:?} for {line}\n{stderr}");
    }
    assert!(out.stdout.is_empty(), "no ids printed");
    assert_eq!(dbsize(&redis.url()), 0, "Redis untouched");
}

#[test]
fn each_bad_argument_alone_exits_2_and_enqueues_nothing() {
    let redis = RedisServer::start();
    let config = TestConfig::new(&redis.url(), ACCOUNTS);
    for (line, field) in cases() {
        let out = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"fine"}"#, &line], None);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("argument 2: field \"{field}\"")), "{line}: {stderr}");
    }
    assert_eq!(dbsize(&redis.url()), 0);
}

#[test]
fn stdin_and_skip_invalid() {
    let redis = RedisServer::start();
    let config = TestConfig::new(&redis.url(), ACCOUNTS);
    let input = "{\"account\":\"cc\",\"message\":\"1\"}\n\n{\"account\":\"cc\",\"message\":\"a/b\"}\n{\"account\":\"cc\",\"message\":\"2\"}\n";
    let out = deleteq(&config.path, &["enqueue", "-"], Some(input));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: field \"message\""));
    assert_eq!(dbsize(&redis.url()), 0);
    let out = deleteq(&config.path, &["enqueue", "--skip-invalid", "--json", "-"], Some(input));
    assert!(out.status.success(), "{out:?}");
    let ids: Vec<String> = serde_json::from_slice(&out.stdout).expect("json ids");
    assert_eq!(ids.len(), 2);
}

#[test]
fn a_bad_config_exits_2_naming_the_key() {
    let redis = RedisServer::start();
    // An unset variable in a field the producer uses (a provider secret it may lack: see cli_config.rs).
    let config = TestConfig::new(
        &redis.url(),
        "[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"${DELETEQ_TEST_UNSET_VAR}\"\napi_key = \"k\"\n",
    );
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"1"}"#], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DELETEQ_TEST_UNSET_VAR") && stderr.contains("accounts.cc.base_url"), "{stderr}");
    assert_eq!(dbsize(&redis.url()), 0);
}

#[test]
fn redis_unreachable_is_a_runtime_failure() {
    let port = deleteq_tests::free_port();
    let config = TestConfig::new(&format!("redis://127.0.0.1:{port}"), ACCOUNTS);
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"1"}"#], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
