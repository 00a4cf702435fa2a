//! Enqueue tells the truth: when Redis runs a batch but its reply is lost, the producer settles the outcome by
//! repeating the same batch under its batch token, which stores nothing twice; nothing is lost, nothing doubled.

use deleteq_core::{Config, Job};
use deleteq_producer::Producer;
use deleteq_tests::inspect::query;
use deleteq_tests::{RedisServer, ReplyCutter, TestConfig};

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

fn jobs(prefix: &str, n: usize) -> Vec<Job> {
    (0..n).map(|i| Job::from_json(&format!(r#"{{"account":"nop","message":"{prefix}{i}"}}"#)).expect("job")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_enqueue_reply_is_settled_without_duplicates_or_loss() {
    let redis = RedisServer::start();
    let cutter = ReplyCutter::start(port_of(&redis.url()));
    let config = TestConfig::new(&cutter.url(), "[accounts.nop]\nprovider = \"noop\"\n");
    let text = std::fs::read_to_string(&config.path).expect("config");
    let config = Config::from_toml(&text, |_| None).expect("config");
    let queue = deleteq_queue::open(&config).await.expect("queue");
    // The scripts are loaded, so the batch is one EVALSHA that runs.
    queue.load_scripts().await.expect("load scripts");
    let producer = Producer::on(queue, config);
    let url = redis.url();
    let stored = move || -> (usize, usize) {
        let jobs: usize = query(&url, redis::cmd("HLEN").arg("{deleteq}:jobs"));
        let ready: usize = query(&url, redis::cmd("HGET").arg("{deleteq}:ready:depth").arg("normal:nop"));
        (jobs, ready)
    };

    // One script call: it runs, its reply is cut, and the producer's repeat finds the batch's marker.
    cutter.arm();
    let ids = producer.enqueue_many(&jobs("a", 10)).await.expect("settled, not an error");
    assert_eq!(cutter.cuts(), 1, "the reply was really lost");
    assert_eq!(ids.len(), 10);
    let check = stored.clone();
    assert_eq!(tokio::task::spawn_blocking(check).await.expect("query"), (10, 10), "stored once");

    // A transaction (1,500 jobs: two chunks in one MULTI/EXEC) whose reply is cut, the same way.
    cutter.arm();
    let more = producer.enqueue_many(&jobs("b", 1_500)).await.expect("settled, not an error");
    assert_eq!(cutter.cuts(), 2);
    assert_eq!(more.len(), 1_500);
    let distinct: std::collections::HashSet<&str> = ids.iter().chain(&more).map(|id| id.as_str()).collect();
    assert_eq!(distinct.len(), 1_510, "every job has its own id");
    let check = stored.clone();
    assert_eq!(tokio::task::spawn_blocking(check).await.expect("query"), (1_510, 1_510), "no duplicate, no loss");
}
