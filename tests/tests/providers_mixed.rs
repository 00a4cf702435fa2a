//! A mixed file across the five providers ends with the exact outcome per message, no message deleted twice at the
//! emulator, and requests exactly as each provider's page describes.

use deleteq_emulator::{EmulatorConfig, RecordedRequest};
use deleteq_tests::inspect::terminal;
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::time::Duration;

fn accounts(emulator: &str) -> String {
    format!(
        r#"
[worker]
concurrency = 16
lease = "10s"

[accounts.cc]
provider = "cometchat"
base_url = "{emulator}"
api_key = "cc-key"

[accounts.im]
provider = "room_im"
base_url = "{emulator}"
client_key = "im-client"
token = "im-token"

[accounts.qb]
provider = "quickblox"
base_url = "{emulator}"
api_key = "qb-key"
batch_size = 50

[accounts.wa]
provider = "twochat"
base_url = "{emulator}"
api_key = "wa-key"

[accounts.of]
provider = "ofauth"
base_url = "{emulator}"
api_key = "of-key"
connection_id = "conn_1"
"#
    )
}

fn header<'a>(request: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn a_mixed_file_across_all_five_providers() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let s = |list: &[&str]| list.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    emulator.state.seed("cometchat", None, &s(&["69"]));
    emulator.state.seed("room_im", Some("test-room-123"), &s(&["5f890cf37d980e06f6aaf349"]));
    emulator.state.seed("room_im", Some("purge-room"), &s(&["p1", "p2", "p3"]));
    let qb: Vec<String> = (0..125).map(|i| format!("5d76b949a0eb4721f80b{i:04}")).collect();
    emulator.state.seed("quickblox", None, &qb[..120]);
    emulator.state.seed("twochat", Some("WW-1@c.us"), &s(&["MSG205dec10"]));
    emulator.state.seed("ofauth", Some("12345"), &s(&["67890"]));

    let config = TestConfig::new(&redis.url(), &accounts(emulator.url()));
    let old = "2020-01-01T00:00:00Z";
    let mut lines = vec![
        r#"{"account":"cc","message":"69","permanent":true,"on_behalf_of":"superhero1"}"#.to_string(),
        r#"{"account":"cc","message":"404-cc"}"#.to_string(),
        r#"{"account":"im","conversation":"test-room-123","message":"5f890cf37d980e06f6aaf349"}"#.to_string(),
        r#"{"account":"im","conversation":"test-room-123","message":"missing-im"}"#.to_string(),
        r#"{"account":"im","conversation":"purge-room","purge":true}"#.to_string(),
        r#"{"account":"im","conversation":"no-such-room","message":"x"}"#.to_string(),
        r#"{"account":"wa","conversation":"WW-1@c.us","message":"MSG205dec10"}"#.to_string(),
        format!(r#"{{"account":"wa","conversation":"WW-1@c.us","message":"MSG-old","sent_at":"{old}"}}"#),
        r#"{"account":"of","conversation":"12345","message":"67890"}"#.to_string(),
        r#"{"account":"of","conversation":"12345","message":"gone-of"}"#.to_string(),
    ];
    lines.push(
        serde_json::json!({"account": "qb", "messages": qb, "permanent": true, "on_behalf_of": "123"}).to_string(),
    );
    let file = config.jobs_file("mixed.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let expected_records = 9 + 1 + 125;
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(
        wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() >= expected_records),
        "{}",
        worker.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let records = terminal(&redis.url());
    assert_eq!(records.len(), expected_records);
    let outcome: HashMap<(String, String), String> =
        records.iter().map(|r| ((r["account"].clone(), r["message"].clone()), r["outcome"].clone())).collect();
    let of = |a: &str, m: &str| outcome.get(&(a.to_string(), m.to_string())).map(String::as_str);
    assert_eq!(of("cc", "69"), Some("deleted"));
    assert_eq!(of("cc", "404-cc"), Some("already_deleted"));
    assert_eq!(of("im", "5f890cf37d980e06f6aaf349"), Some("deleted"));
    assert_eq!(of("im", "missing-im"), Some("already_deleted"));
    assert_eq!(of("im", "x"), Some("failed"), "a missing room must surface");
    assert_eq!(of("wa", "MSG205dec10"), Some("deleted"));
    assert_eq!(of("wa", "MSG-old"), Some("expired"));
    assert_eq!(of("of", "67890"), Some("deleted"));
    assert_eq!(of("of", "gone-of"), Some("already_deleted"));
    for id in &qb[..120] {
        assert_eq!(of("qb", id), Some("deleted"), "{id}");
    }
    for id in &qb[120..] {
        assert_eq!(of("qb", id), Some("already_deleted"), "{id}");
    }
    let qb_parents: std::collections::HashSet<&str> =
        records.iter().filter(|r| r["account"] == "qb").map(|r| r["parent"].as_str()).collect();
    assert_eq!(qb_parents.len(), 1, "the 125-id job was expanded into children of one parent");
    let purge = records.iter().find(|r| r["outcome"] == "purged").expect("a purge record");
    assert_eq!((purge["conversation"].as_str(), purge["deleted_count"].as_str()), ("purge-room", "3"));

    // Nothing deleted twice; the expired message never called.
    for id in &qb {
        assert!(emulator.state.deletions("quickblox", None, id) <= 1);
    }
    assert_eq!(emulator.state.calls("twochat", Some("WW-1@c.us"), "MSG-old"), 0);

    // The exact requests.
    let requests = emulator.state.requests();
    let find = |prefix: &str| requests.iter().find(|r| r.path.starts_with(prefix)).expect(prefix);
    let im = find("/rooms/test-room-123/messages/5f890cf37d980e06f6aaf349");
    assert_eq!((header(im, "IM-CLIENT-KEY"), header(im, "IM-Authorization")), (Some("im-client"), Some("im-token")));
    assert_eq!(find("/rooms/purge-room/messages/").path, "/rooms/purge-room/messages/_all");
    let qb_calls: Vec<&RecordedRequest> = requests.iter().filter(|r| r.path.starts_with("/chat/Message/")).collect();
    assert_eq!(qb_calls.len(), 3, "125 ids in batches of 50 = 3 calls");
    let first = qb_calls.iter().find(|r| r.path.contains(&qb[0])).expect("first batch");
    assert_eq!(first.path, format!("/chat/Message/{}.json", qb[..50].join(",")), "literal commas");
    assert_eq!(header(first, "Authorization"), Some("ApiKey qb-key"));
    assert_eq!(header(first, "On-Behalf-Of"), Some("123"));
    assert_eq!(header(first, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(first.body, "force=1");
    let wa = find("/open/whatsapp/message/WW-1@c.us/MSG205dec10");
    assert_eq!(header(wa, "X-User-API-Key"), Some("wa-key"));
    let of_call = find("/v2/access/chats/12345/messages/67890");
    assert_eq!((header(of_call, "apiKey"), header(of_call, "x-connection-id")), (Some("of-key"), Some("conn_1")));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&of_call.body).ok(),
        Some(serde_json::json!({"withUserId": "12345"}))
    );
    drop(worker);
}

#[test]
fn a_quickblox_403_is_bisected_so_the_permitted_ids_are_still_deleted() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let ids: Vec<String> = (0..8).map(|i| format!("q{i}")).collect();
    emulator.state.seed("quickblox", None, &ids);
    emulator.state.inject(deleteq_emulator::Fault::new("quickblox", None, "q3", vec![403; 4]).code("forbid_call"));
    let config = TestConfig::new(&redis.url(), &accounts(emulator.url()));
    let job = serde_json::json!({"account": "qb", "messages": ids, "permanent": true}).to_string();
    let out = deleteq(&config.path, &["enqueue", &job], None);
    assert!(out.status.success());
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() >= 8), "{}", worker.log());
    let records = terminal(&redis.url());
    for r in &records {
        let expected = if r["message"] == "q3" { "failed" } else { "deleted" };
        assert_eq!(r["outcome"], expected, "{r:?}");
    }
    assert_eq!(records.len(), 8);
    // 8 → 4+4 → 2+2 → 1+1: the refused id is found in log2(8) splits.
    let calls = emulator.state.requests().iter().filter(|r| r.path.starts_with("/chat/Message/")).count();
    assert_eq!(calls, 1 + 2 + 2 + 2, "one call, then two per level down to the refused id");
    let out = deleteq(&config.path, &["dlq", "list", "--json"], None);
    let dead: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dlq");
    assert_eq!(dead[0]["job"]["messages"], serde_json::json!(["q3"]), "only the refused id is dead-lettered: {dead}");
    assert_eq!(dead[0]["last_status"], 403);
    drop(worker);
}
