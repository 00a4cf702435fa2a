//! `[redis] wait_replicas` on a Redis Cluster: each shard's WAIT goes to the master holding its slot, so an
//! enqueue is confirmed exactly where its shard's replica is up.

use deleteq_queue::{NewJob, Queue, QueueError, QueueOptions, RedisTarget};
use deleteq_tests::RedisCluster;
use std::time::Duration;

fn job(id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        due_ms: 0,
        envelope: "{}".into(),
        idempotency_key: None,
        account: "cc".into(),
        campaign: None,
        priority: Default::default(),
    }
}

#[test]
fn each_shards_wait_goes_to_the_master_of_its_slot() {
    let mut cluster = RedisCluster::start(3, 1);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = RedisTarget::cluster(&cluster.seed_urls()).expect("seeds");
    let options = QueueOptions {
        shards: 6,
        wait_replicas: 1,
        wait_timeout: Duration::from_millis(300),
        ..QueueOptions::from_config(&deleteq_core::Config::default())
    };
    let q = rt.block_on(Queue::connect(&target, options)).expect("connect");
    let jobs: Vec<NewJob> = (0..600).map(|i| job(&format!("j{i}"))).collect();
    assert_eq!(rt.block_on(q.enqueue(&jobs)).expect("every replica up: confirmed").len(), 600);

    // The replica of the master holding shard 0 goes away: only enqueues into shards of that master fail.
    let master = cluster.master_for_key(q.shard_keys(0).jobs());
    for replica in cluster.replicas_of(master) {
        cluster.kill_node(replica);
    }
    std::thread::sleep(Duration::from_millis(500));
    let (mut refused, mut confirmed) = (0, 0);
    for i in 0..60 {
        let one = job(&format!("k{i}"));
        let shard = q.shard_of(&one);
        let on_victim = cluster.master_for_key(q.shard_keys(shard).jobs()) == master;
        match rt.block_on(q.enqueue(&[one])) {
            Err(QueueError::NotReplicated { acked: 0, wanted: 1 }) => {
                assert!(on_victim, "shard {shard} is not on the master without a replica");
                refused += 1;
            }
            Ok(_) => {
                assert!(!on_victim, "shard {shard}'s master has no replica, yet the write was confirmed");
                confirmed += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    eprintln!("{refused} not confirmed (their master lost its replica), {confirmed} confirmed");
    assert!(refused > 0 && confirmed > 0, "{refused} refused, {confirmed} confirmed");
}
