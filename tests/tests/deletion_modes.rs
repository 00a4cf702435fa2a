//! A job's `permanent` and `on_behalf_of` reach the provider as the provider's own fields (DESIGN §2): CometChat
//! `{"permanent": true}` and `onBehalfOf`, QuickBlox `force=1` and `On-Behalf-Of`. The emulator records, per deleted
//! message, what the call that deleted it asked for.

use deleteq_emulator::{DeletedAs, EmulatorConfig};
use deleteq_tests::inspect::terminal;
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

#[test]
fn permanent_and_on_behalf_of_arrive_as_each_provider_spells_them() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("cometchat", None, &["69".into(), "70".into()]);
    emulator.state.seed("quickblox", None, &["q1".into(), "q2".into(), "q3".into()]);
    let url = emulator.url();
    let body = format!(
        "[worker]\nconcurrency = 4\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{url}\"\napi_key = \"k\"\n\
         rate_limit = \"100000/s\"\n[accounts.qb]\nprovider = \"quickblox\"\nbase_url = \"{url}\"\napi_key = \"k\"\n\
         rate_limit = \"100000/s\"\n"
    );
    let config = TestConfig::new(&redis.url(), &body);
    let jobs = [
        r#"{"account":"cc","message":"69","permanent":true,"on_behalf_of":"superhero1"}"#,
        r#"{"account":"cc","message":"70"}"#,
        r#"{"account":"qb","messages":["q1","q2"],"permanent":true,"on_behalf_of":"123"}"#,
        r#"{"account":"qb","messages":["q3"]}"#,
    ];
    let out = deleteq(&config.path, &["enqueue", jobs[0], jobs[1], jobs[2], jobs[3]], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 5), "{}", worker.log());
    drop(worker);
    assert!(terminal(&redis.url()).iter().all(|r| r["outcome"] == "deleted"));

    let state = &emulator.state;
    let hard = |user: &str| Some(DeletedAs { permanent: true, on_behalf_of: Some(user.into()) });
    assert_eq!(state.deleted_as("cometchat", None, "69"), hard("superhero1"));
    assert_eq!(state.deleted_as("cometchat", None, "70"), Some(DeletedAs::default()), "soft, as nobody in particular");
    assert_eq!(state.deleted_as("quickblox", None, "q1"), hard("123"));
    assert_eq!(state.deleted_as("quickblox", None, "q2"), hard("123"));
    assert_eq!(state.deleted_as("quickblox", None, "q3"), Some(DeletedAs::default()), "for the caller only");
}
