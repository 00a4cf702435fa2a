//! The Redis Cluster harness itself: a 3-master, 1-replica-each cluster serves keys through redis-rs's cluster
//! client, a replica takes over when its master is SIGKILLed, and every write acknowledged by a replica survives.

use std::time::{Duration, Instant};

use deleteq_tests::redis_cluster::{cluster_query, ClusterConnection};
use deleteq_tests::RedisCluster;

/// Key `i`: six hash tags, so the keys spread over all three masters.
fn key(i: usize) -> String {
    format!("{{deleteq:{}}}:x{i}", i % 6)
}

#[test]
fn replica_takes_over_and_keeps_replicated_writes() {
    let started = Instant::now();
    let mut cluster = RedisCluster::start(3, 1);
    eprintln!("cluster of {} nodes ready in {:?}", cluster.node_count(), started.elapsed());

    let seeds = cluster.seed_urls();
    assert_eq!(seeds.len(), 3);
    assert_eq!(cluster.seed_list(), format!("[\"{}\", \"{}\", \"{}\"]", seeds[0], seeds[1], seeds[2]));
    let masters: std::collections::HashSet<usize> = (0..6).map(|i| cluster.master_for_key(&key(i))).collect();
    assert!(masters.len() > 1, "the hash tags should land on several masters");

    // Each write is followed by WAIT on the same connection to its master, so it has reached the replica.
    let mut conn = ClusterConnection::open(&seeds);
    for i in 0..1000 {
        let (acked,): (i64,) =
            conn.query_pipe(redis::pipe().set(key(i), format!("v{i}")).ignore().cmd("WAIT").arg(1).arg(1000));
        assert_eq!(acked, 1, "write {i} did not reach its replica");
    }
    for i in 0..1000 {
        let value: String = conn.query(redis::cmd("GET").arg(key(i)));
        assert_eq!(value, format!("v{i}"));
    }

    let victim = cluster.master_for_key("{deleteq:0}");
    let killed = Instant::now();
    cluster.kill_master(victim);
    assert!(cluster.wait_for_failover(Duration::from_secs(10)), "no failover within 10 s");
    eprintln!("failover done {:?} after the kill", killed.elapsed());
    let promoted = cluster.master_for_key("{deleteq:0}");
    assert_ne!(promoted, victim);

    // Both a fresh client (one seed is dead) and the old one (it must re-read the slot map) see every write.
    let value: String = cluster_query(&seeds, redis::cmd("GET").arg(key(0)));
    assert_eq!(value, "v0");
    for (name, mut conn) in [("fresh", ClusterConnection::open(&seeds)), ("old", conn)] {
        for i in 0..1000 {
            let value: Option<String> = conn.query(redis::cmd("GET").arg(key(i)));
            assert_eq!(value.as_deref(), Some(format!("v{i}").as_str()), "{name} client, key {}", key(i));
        }
    }

    // The old master comes back as a replica of the one that took over.
    cluster.restart_node(victim);
    assert_eq!(cluster.master_for_key("{deleteq:0}"), promoted);
    let value: String = cluster_query(&seeds, redis::cmd("GET").arg(key(6)));
    assert_eq!(value, "v6");
}
