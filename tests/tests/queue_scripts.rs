//! The queue's scripts against a real redis-server: each state change, and the guards that keep outcomes single.

use deleteq_core::audit::AuditRecord;
use deleteq_core::Outcome;
use deleteq_queue::{Ack, Lease, NewJob, Queue, QueueOptions, RedisTarget, Reschedule};
use deleteq_tests::inspect;
use deleteq_tests::RedisServer;
use std::time::Duration;

async fn queue(redis: &RedisServer) -> Queue {
    queue_keeping_dead_letters(redis, Duration::from_secs(3600)).await
}

async fn queue_keeping_dead_letters(redis: &RedisServer, dead_max_age: Duration) -> Queue {
    let target = RedisTarget::new(&redis.url()).expect("url");
    let options = QueueOptions {
        prefix: "deleteq".into(),
        audit_max_len: 1000,
        dead_max_len: 2,
        dead_max_age,
        idempotency_retention: Duration::from_secs(60),
        shards: 1,
    };
    Queue::connect(&target, options).await.expect("connect")
}

/// Waits out short leases and delays (every time is Redis's clock: a test cannot pretend it is later).
async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn starts(leased: &[deleteq_queue::Leased]) -> Vec<(Lease, bool)> {
    leased.iter().map(|l| (l.lease(), true)).collect()
}

/// The inspect helpers block; run them off the async runtime.
async fn audit_len(url: String) -> usize {
    tokio::task::spawn_blocking(move || inspect::audit(&url).len()).await.expect("audit")
}

async fn keys(url: String) -> Vec<String> {
    tokio::task::spawn_blocking(move || inspect::query(&url, redis::cmd("KEYS").arg("*"))).await.expect("keys")
}

fn job(id: &str, due_ms: u64) -> NewJob {
    NewJob {
        id: id.into(),
        due_ms,
        envelope: format!("{{\"id\":\"{id}\"}}"),
        idempotency_key: None,
        account: "cc".into(),
        campaign: None,
    }
}

fn record(job: &str, outcome: Outcome) -> AuditRecord {
    AuditRecord {
        job: job.into(),
        parent: None,
        account: "cc".into(),
        provider: "cometchat".into(),
        conversation: None,
        message: Some(format!("msg-{job}")),
        outcome,
        http_status: Some(200),
        attempt: 1,
        error: None,
        deleted_count: None,
        delay_ms: None,
        campaign: None,
        reason: None,
        requested_by: None,
        at: AuditRecord::now(),
        mode: None,
    }
}

fn ack(id: &str, rev: u64) -> Ack {
    Ack {
        shard: 0,
        id: id.into(),
        rev,
        records: vec![record(id, Outcome::Deleted)],
        dead_letter: None,
        account: "cc".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enqueue_lease_ack_leaves_only_the_audit_record() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let ids = q.enqueue(&[job("a", 0), job("b", 0), job("a", 0)]).await.expect("enqueue");
    assert_eq!(ids, ["a", "b", "a"], "a duplicate id is stored once");
    assert_eq!(q.depths().await.expect("depths").jobs, 2);
    let leased = q.lease(10, Duration::from_secs(30), "w#1", true).await.expect("lease");
    assert_eq!(leased.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["a", "b"], "FIFO");
    assert_eq!(leased[0].rev, 0);
    assert_eq!(leased[0].envelope, "{\"id\":\"a\"}");
    assert_eq!(q.ack(&[ack("a", 0), ack("b", 0)]).await.expect("ack"), [true, true]);
    assert_eq!(q.ack(&[ack("a", 0)]).await.expect("second ack"), [false], "a job is finished once");
    assert_eq!(q.pending_by_account().await.expect("pending").get("cc"), None, "nothing left, not even a zero");
    assert_eq!(audit_len(redis.url()).await, 2);
    let keys = keys(redis.url()).await;
    assert!(keys.iter().all(|k| k == "{deleteq}:audit" || k == "{deleteq}:wake"), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rescheduled_job_cannot_be_finished_by_a_stale_lease() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    q.enqueue(&[job("a", 0)]).await.expect("enqueue");
    let first = q.lease(1, Duration::from_millis(1), "w#1", true).await.expect("lease").remove(0);
    // The first worker stalls; its lease expires and a second worker takes the job.
    pause(20).await;
    assert_eq!(q.reclaim_expired().await.expect("reclaim"), 1);
    let second = q.lease(1, Duration::from_secs(30), "v#1", true).await.expect("lease again").remove(0);
    assert_eq!(second.rev, first.rev);
    // The first worker's lease token holds nothing any more: it can neither extend, start nor release it.
    assert_eq!(q.hold(0, &starts(std::slice::from_ref(&first)), Duration::from_secs(30)).await.expect("hold"), [false]);
    assert_eq!(q.release(0, &[first.lease()], false).await.expect("release"), 0);
    // The second worker retries it: the stored job moves to revision 1.
    let retry = Reschedule {
        shard: 0,
        id: "a".into(),
        rev: second.rev,
        holder: second.holder.clone(),
        delay: Duration::from_millis(50),
        attempted: true,
        envelope: "{\"id\":\"a\",\"attempt\":1}".into(),
        records: vec![record("a", Outcome::RetryScheduled)],
    };
    assert_eq!(q.reschedule(&[retry]).await.expect("reschedule"), [true]);
    // The stalled first worker now reports success for revision 0: refused, no record written.
    assert_eq!(q.ack(&[ack("a", first.rev)]).await.expect("stale ack"), [false]);
    assert_eq!(audit_len(redis.url()).await, 1, "only the retry record");
    // Promotion brings it back at revision 1, and that lease can finish it.
    assert_eq!(q.promote_due().await.expect("promote early"), 0, "due 50 ms after Redis's now");
    pause(80).await;
    assert_eq!(q.promote_due().await.expect("promote"), 1);
    let third = q.lease(1, Duration::from_secs(30), "v#2", true).await.expect("lease").remove(0);
    assert_eq!((third.rev, third.envelope.as_str()), (1, "{\"id\":\"a\",\"attempt\":1}"));
    assert_eq!(q.ack(&[ack("a", 1)]).await.expect("ack"), [true]);
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_jobs_wait_and_released_jobs_go_first() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    q.enqueue(&[job("later", now + 300), job("x", 0), job("y", 0)]).await.expect("enqueue");
    let leased = q.lease(10, Duration::from_secs(30), "w#1", true).await.expect("lease");
    assert_eq!(leased.len(), 2, "the scheduled job is not ready");
    assert_eq!(q.promote_due().await.expect("promote early"), 0);
    assert_eq!(q.next_due_ms().await.expect("next due"), Some(now + 300));
    let y = leased[1].lease();
    assert_eq!(
        q.release(0, &[Lease { holder: "other#1".into(), ..y.clone() }], false).await.expect("release"),
        0,
        "only the holder releases"
    );
    assert_eq!(q.release(0, std::slice::from_ref(&y), false).await.expect("release"), 1);
    assert_eq!(q.release(0, std::slice::from_ref(&y), false).await.expect("release twice"), 0, "not leased any more");
    pause(400).await;
    assert_eq!(q.promote_due().await.expect("promote"), 1);
    let order: Vec<String> =
        q.lease(10, Duration::from_secs(30), "w#1", true).await.expect("lease").into_iter().map(|l| l.id).collect();
    assert_eq!(order, ["y", "later"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn extended_leases_are_not_reclaimed_and_dead_letters_are_bounded() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    q.enqueue(&[job("a", 0), job("b", 0), job("c", 0)]).await.expect("enqueue");
    let leased = q.lease(3, Duration::from_millis(100), "w#1", true).await.expect("lease");
    let a = [(leased[0].lease(), false)];
    assert_eq!(q.hold(0, &a, Duration::from_secs(60)).await.expect("extend"), [true]);
    pause(150).await;
    assert_eq!(q.reclaim_expired().await.expect("reclaim"), 2, "b and c expired, a was extended");
    let dead = |id: &str| Ack {
        shard: 0,
        id: id.into(),
        rev: 0,
        records: vec![record(id, Outcome::Failed)],
        dead_letter: Some(format!("{{\"id\":\"{id}\"}}")),
        account: "cc".into(),
    };
    assert_eq!(q.ack(&[dead("a"), dead("b"), dead("c")]).await.expect("ack"), [true, true, true]);
    let letters = q.dead_letters(10).await.expect("dlq");
    assert_eq!(letters.len(), 2, "dead_max_len = 2 keeps the newest two");
    let depths = q.depths().await.expect("depths");
    assert_eq!((depths.jobs, depths.leased, depths.dead), (0, 0, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn promotion_moves_more_than_luas_unpack_limit() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    let jobs: Vec<NewJob> = (0..9_000).map(|i| job(&format!("j{i}"), now + 200)).collect();
    q.enqueue(&jobs).await.expect("enqueue");
    pause(300).await;
    assert_eq!(q.promote_due().await.expect("promote"), 9_000);
    assert_eq!(q.depths().await.expect("depths").ready, 9_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_idempotency_key_returns_the_first_id_and_stores_nothing() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let keyed = |id: &str, key: &str| NewJob { idempotency_key: Some(key.into()), ..job(id, 0) };
    let ids = q.enqueue(&[keyed("a", "erase-42"), keyed("b", "erase-42"), keyed("c", "other")]).await.expect("enqueue");
    assert_eq!(ids, ["a", "a", "c"], "within one batch");
    let ids = q.enqueue(&[keyed("d", "erase-42")]).await.expect("enqueue again");
    assert_eq!(ids, ["a"], "across batches");
    // The big-batch path (MULTI of EVALs) keeps the same rule.
    let mut many: Vec<NewJob> = (0..1500).map(|i| job(&format!("j{i}"), 0)).collect();
    many.push(keyed("e", "erase-42"));
    let ids = q.enqueue(&many).await.expect("enqueue many");
    assert_eq!(ids.last().map(String::as_str), Some("a"));
    assert_eq!(q.depths().await.expect("depths").jobs, 2 + 1500);
}

#[tokio::test(flavor = "multi_thread")]
async fn expansion_steps_are_atomic_and_idempotent() {
    use deleteq_queue::Expand;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    q.enqueue(&[job("p", 0)]).await.expect("enqueue");
    let parent = q.lease(1, Duration::from_secs(30), "w#1", true).await.expect("lease").remove(0);
    let child = |n: u32| (format!("p:{n}"), format!("{{\"child\":{n}}}"));
    let first = Expand {
        shard: 0,
        id: "p".into(),
        rev: parent.rev,
        children: vec![child(0), child(1)],
        rest: Some("{\"rest\":true}".into()),
        account: "cc".into(),
    };
    assert!(q.expand(&first).await.expect("expand"));
    assert!(!q.expand(&first).await.expect("again"), "a stale revision expands nothing twice");
    // The parent is back, first in line, at its next revision; the children follow.
    let leased = q.lease(10, Duration::from_secs(30), "w#1", true).await.expect("lease");
    let order: Vec<(&str, u64)> = leased.iter().map(|l| (l.id.as_str(), l.rev)).collect();
    assert_eq!(order, [("p", 1), ("p:0", 0), ("p:1", 0)]);
    // A crash after the last step was written but before the worker knew: the retried step is refused, and
    // re-deriving the same child ids could never add them twice anyway.
    let last = Expand {
        shard: 0,
        id: "p".into(),
        rev: 1,
        children: vec![child(1), child(2)],
        rest: None,
        account: "cc".into(),
    };
    assert!(q.expand(&last).await.expect("last step"));
    assert!(!q.expand(&last).await.expect("replayed last step"));
    let depths = q.depths().await.expect("depths");
    assert_eq!(depths.jobs, 3, "p:0, p:1, p:2 and no parent");
    assert_eq!(q.pending_by_account().await.expect("pending").get("cc"), Some(&3), "the per-account count agrees");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_slots_are_reserved_in_order_and_a_429_slows_everyone_down_until_it_is_quiet() {
    use deleteq_core::rate::RateLimit;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = 1_000_000;
    let limit: RateLimit = "10/s".parse().expect("rate");
    let ms = |waits: Vec<Duration>| waits.into_iter().map(|w| w.as_millis() as u64).collect::<Vec<_>>();
    assert_eq!(ms(q.reserve_calls("acct", &limit, 3, now).await.expect("reserve")), [0, 100, 200]);
    assert_eq!(q.slow_down("acct", &limit, now).await.expect("429"), 2.0);
    assert_eq!(ms(q.reserve_calls("acct", &limit, 2, now).await.expect("reserve")), [300, 500], "half the rate");
    assert_eq!(q.slow_down_factor("acct").await.expect("factor"), 2.0);
    // Ten quiet seconds later the slow-down halves back to the configured rate.
    let later = now + 10_000;
    assert_eq!(ms(q.reserve_calls("acct", &limit, 2, later).await.expect("reserve")), [0, 100]);
    assert_eq!(q.slow_down_factor("acct").await.expect("factor"), 1.0);
    // A burst lets that many calls go back to back.
    let bursty: RateLimit = "60/min burst 3".parse().expect("rate");
    assert_eq!(ms(q.reserve_calls("b", &bursty, 4, now).await.expect("reserve")), [0, 0, 0, 1000]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_past_the_max_age_are_dropped_when_new_ones_arrive() {
    let redis = RedisServer::start();
    let q = queue_keeping_dead_letters(&redis, Duration::from_millis(200)).await;
    let dead = |id: &str| Ack {
        shard: 0,
        id: id.into(),
        rev: 0,
        records: vec![record(id, Outcome::Failed)],
        dead_letter: Some(format!("{{\"id\":\"{id}\"}}")),
        account: "cc".into(),
    };
    q.enqueue(&[job("old", 0), job("new", 0)]).await.expect("enqueue");
    q.lease(2, Duration::from_secs(30), "w#1", true).await.expect("lease");
    assert_eq!(q.ack(&[dead("old")]).await.expect("ack"), [true]);
    // Past the max age (200 ms) a new dead letter pushes the old one out.
    pause(300).await;
    assert_eq!(q.ack(&[dead("new")]).await.expect("ack"), [true]);
    let left: Vec<String> = q.dead_letters(10).await.expect("dlq").into_iter().map(|d| d.id).collect();
    assert_eq!(left, ["new"]);
}

/// Counts per account, as `status` shows them, checked against the sets they summarize.
async fn depths_of(q: &Queue, account: &str) -> (u64, u64, u64, u64) {
    let d = q.account_depths().await.expect("depths").get(account).copied().unwrap_or_default();
    (d.queued(0), d.leased, d.scheduled, d.dead)
}

#[tokio::test(flavor = "multi_thread")]
async fn per_account_counts_follow_every_state_change() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    let other = |id: &str| NewJob { account: "other".into(), ..job(id, 0) };
    q.enqueue(&[job("a", 0), job("b", 0), job("c", 0), job("later", now + 500), other("o")]).await.expect("enqueue");
    assert_eq!(depths_of(&q, "cc").await, (3, 0, 1, 0));
    assert_eq!(depths_of(&q, "other").await, (1, 0, 0, 0));
    let leased = q.lease(3, Duration::from_secs(30), "w#1", true).await.expect("lease");
    assert_eq!(leased.len(), 3);
    assert_eq!(depths_of(&q, "cc").await, (0, 3, 1, 0), "a, b, c leased");
    // a: retried later; b: released; c: dead-lettered.
    let retry = Reschedule {
        shard: 0,
        id: "a".into(),
        rev: 0,
        holder: "w#1".into(),
        delay: Duration::from_millis(100),
        attempted: true,
        envelope: "{\"id\":\"a\"}".into(),
        records: vec![record("a", Outcome::RetryScheduled)],
    };
    assert_eq!(q.reschedule(&[retry]).await.expect("reschedule"), [true]);
    assert_eq!(q.release(0, &[leased[1].lease()], false).await.expect("release"), 1);
    let dead =
        Ack { dead_letter: Some("{\"id\":\"c\"}".into()), records: vec![record("c", Outcome::Failed)], ..ack("c", 0) };
    assert_eq!(q.ack(&[dead]).await.expect("ack"), [true]);
    assert_eq!(depths_of(&q, "cc").await, (1, 0, 2, 1), "b queued; a and later scheduled; c dead");
    // Promotion and a reclaim move the counts too; the stored header survives every rewrite.
    pause(600).await;
    assert_eq!(q.promote_due().await.expect("promote"), 2);
    assert_eq!(depths_of(&q, "cc").await, (3, 0, 0, 1));
    let leased = q.lease(10, Duration::from_millis(100), "w#2", true).await.expect("lease");
    assert_eq!(leased.len(), 4);
    // Three of them had their calls started when their worker died; the fourth waited in its buffer.
    assert_eq!(q.hold(0, &starts(&leased[..3]), Duration::from_millis(100)).await.expect("start"), [true; 3]);
    pause(150).await;
    assert_eq!(q.reclaim_expired().await.expect("reclaim"), 4);
    assert_eq!(depths_of(&q, "cc").await, (3, 0, 0, 1));
    // A worker already running a quarantined job gets none of them: only the bystander, whose call never started.
    let bystander = q.lease(10, Duration::from_secs(30), "w#3", false).await.expect("lease the bystander");
    assert_eq!(bystander.iter().map(|l| l.reclaims).collect::<Vec<_>>(), [0], "only started calls count a reclaim");
    // Jobs with a reclaim counted are leased one at a time (quarantine).
    let mut sizes = Vec::new();
    let mut again = bystander;
    for n in 0..3 {
        let batch = q.lease(10, Duration::from_secs(30), &format!("w#{}", 4 + n), true).await.expect("lease again");
        sizes.push(batch.len());
        again.extend(batch);
    }
    assert_eq!(sizes, [1, 1, 1], "a quarantined job is leased alone");
    assert!(again[1..].iter().all(|l| l.reclaims == 1), "{again:?}");
    let acks: Vec<Ack> = again.iter().map(|l| Ack { account: String::new(), ..ack(&l.id, l.rev) }).collect();
    assert_eq!(q.ack(&acks).await.expect("ack all"), [true, true, true, true]);
    assert_eq!(depths_of(&q, "cc").await, (0, 0, 0, 1));
    assert_eq!(depths_of(&q, "other").await, (0, 0, 0, 0));
    // Purging the dead letter clears the last count; no counter field is left behind.
    assert_eq!(q.purge_dead(u64::MAX).await.expect("purge"), 1);
    assert_eq!(depths_of(&q, "cc").await, (0, 0, 0, 0));
    let keys = keys(redis.url()).await;
    let gone = ["{deleteq}:counts", "{deleteq}:reclaims", "{deleteq}:leased:holders"];
    assert!(!keys.iter().any(|k| gone.contains(&k.as_str())), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_split_the_queue_and_every_reader_merges_them() {
    let redis = RedisServer::start();
    let target = RedisTarget::new(&redis.url()).expect("url");
    let options = QueueOptions {
        prefix: "deleteq".into(),
        audit_max_len: 10_000,
        dead_max_len: 100,
        dead_max_age: Duration::from_secs(3600),
        idempotency_retention: Duration::from_secs(60),
        shards: 4,
    };
    let q = Queue::connect(&target, options).await.expect("connect");
    let jobs: Vec<NewJob> = (0..200).map(|i| job(&format!("j{i}"), 0)).collect();
    q.enqueue(&jobs).await.expect("enqueue");
    // A repeated idempotency key lands in the first one's shard and returns its id, whatever the job id.
    let keyed = |id: &str| NewJob { idempotency_key: Some("same".into()), ..job(id, 0) };
    assert_eq!(q.enqueue(&[keyed("first")]).await.expect("first"), ["first"]);
    assert_eq!(q.enqueue(&[keyed("second")]).await.expect("second"), ["first"]);
    let per_shard: Vec<u64> = {
        let mut v = Vec::new();
        for shard in 0..4 {
            v.push(q.shard_depths(shard).await.expect("depths").jobs);
        }
        v
    };
    assert!(per_shard.iter().all(|n| *n > 20), "jobs spread over the shards: {per_shard:?}");
    assert_eq!(per_shard.iter().sum::<u64>(), 201);
    let mut leased = Vec::new();
    loop {
        let batch = q.lease(64, Duration::from_secs(30), "w#1", true).await.expect("lease");
        if batch.is_empty() {
            break;
        }
        leased.extend(batch);
    }
    assert_eq!(leased.len(), 201, "every job leased once, from every shard");
    let shards_seen: std::collections::HashSet<usize> = leased.iter().map(|l| l.shard).collect();
    assert_eq!(shards_seen.len(), 4);
    let mut acks: Vec<Ack> = leased.iter().map(|l| Ack { shard: l.shard, ..ack(&l.id, l.rev) }).collect();
    acks[0].dead_letter = Some("{}".into());
    assert!(q.ack(&acks).await.expect("ack").into_iter().all(|done| done));
    let depths = q.depths().await.expect("depths");
    assert_eq!((depths.jobs, depths.audit, depths.dead), (0, 201, 1), "{depths:?}");
    assert_eq!(q.audit_last(1_000).await.expect("audit").len(), 201, "the streams of every shard, merged");
    let mut seen = 0;
    let mut after = "-".to_string();
    loop {
        let page = q.audit_after(&after, 50).await.expect("page");
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        seen += page.len();
    }
    assert_eq!(seen, 201, "paging through the merged streams misses nothing");
    assert_eq!(q.dead_letters(10).await.expect("dlq").len(), 1);
    assert_eq!(q.account_depths().await.expect("accounts").get("cc").map(|d| d.dead), Some(1));
}
