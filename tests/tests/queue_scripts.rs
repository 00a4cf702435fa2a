//! The queue's scripts against a real redis-server: each state change, and the guards that keep outcomes single.

use deleteq_core::audit::AuditRecord;
use deleteq_core::Outcome;
use deleteq_queue::{Ack, Lease, NewJob, Queue, QueueOptions, RedisTarget, Reschedule};
use deleteq_tests::inspect;
use deleteq_tests::RedisServer;
use std::time::Duration;

async fn queue(redis: &RedisServer) -> Queue {
    queue_with(redis, 2).await
}

async fn queue_with(redis: &RedisServer, dead_max_len: u64) -> Queue {
    queue_configured(redis, dead_max_len, 0, Duration::from_secs(3600)).await
}

async fn queue_waiting(redis: &RedisServer, dead_max_len: u64, wait_replicas: u32) -> Queue {
    queue_configured(redis, dead_max_len, wait_replicas, Duration::from_secs(3600)).await
}

async fn queue_keeping_dead_letters(redis: &RedisServer, dead_max_age: Duration) -> Queue {
    queue_configured(redis, 2, 0, dead_max_age).await
}

async fn queue_configured(redis: &RedisServer, dead_max_len: u64, wait_replicas: u32, dead_max_age: Duration) -> Queue {
    let target = RedisTarget::new(&redis.url()).expect("url");
    let options = QueueOptions {
        prefix: "deleteq".into(),
        audit_max_len: 1000,
        dead_max_len,
        dead_max_age,
        idempotency_retention: Duration::from_secs(60),
        shards: 1,
        wait_replicas,
        // Generous: under a loaded machine a replica may take a while to acknowledge.
        wait_timeout: Duration::from_secs(2),
        campaign_retention: Duration::from_secs(3600),
        ..QueueOptions::from_config(&deleteq_core::Config::default())
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
        priority: Default::default(),
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

/// Enqueues, leases and acks `ids` in batches of 500, dead-lettering those `dead` picks; every ack must land.
async fn finish_all(q: &Queue, ids: &[String], dead: impl Fn(usize) -> bool) {
    for (b, batch) in ids.chunks(500).enumerate() {
        let jobs: Vec<NewJob> = batch.iter().map(|id| job(id, 0)).collect();
        q.enqueue(&jobs).await.expect("enqueue");
        let leased = q.lease(batch.len(), Duration::from_secs(60), "w#1", false).await.expect("lease");
        assert_eq!(leased.len(), batch.len());
        let acks: Vec<Ack> = leased
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if dead(b * 500 + i) {
                    let mut failed = ack(&l.id, l.rev);
                    failed.records = vec![record(&l.id, Outcome::Failed)];
                    failed.dead_letter = Some(format!("{{\"id\":\"{}\"}}", l.id));
                    failed
                } else {
                    ack(&l.id, l.rev)
                }
            })
            .collect();
        let done = q.ack(&acks).await.expect("every ack lands");
        assert!(done.iter().all(|d| *d), "batch {b}: every job finished");
    }
}

async fn dead_set_len(url: String) -> u64 {
    tokio::task::spawn_blocking(move || inspect::query(&url, redis::cmd("ZCARD").arg("{deleteq}:dead")))
        .await
        .expect("zcard")
}

#[tokio::test(flavor = "multi_thread")]
async fn lowering_the_dead_letter_bound_shrinks_the_set_in_bounded_steps() {
    let redis = RedisServer::start();
    // 9,000 dead letters under the default bound of 10,000.
    let roomy = queue_with(&redis, 10_000).await;
    let old: Vec<String> = (0..9_000).map(|i| format!("old{i}")).collect();
    finish_all(&roomy, &old, |_| true).await;
    assert_eq!(dead_set_len(redis.url()).await, 9_000);
    assert_eq!(depths_of(&roomy, "cc").await.3, 9_000);
    // The bound is lowered to 100: later jobs, half of them failing, all finish, each ack trimming one bounded step
    // (the whole excess of 8,900 at once used to exceed Lua's unpack limit and fail every batch).
    let tight = queue_with(&redis, 100).await;
    let new: Vec<String> = (0..2_000).map(|i| format!("new{i}")).collect();
    finish_all(&tight, &new, |i| i % 2 == 0).await;
    let left = dead_set_len(redis.url()).await;
    // Four batches: each added 250 and forgot 1,000.
    assert_eq!(left, 9_000 + 1_000 - 4 * 1_000);
    assert_eq!(depths_of(&tight, "cc").await, (0, 0, 0, left), "the counts stay exact");
    // Maintenance's steps catch up the rest: at most 1,000 each, down to the bound and no further.
    assert_eq!(tight.trim_dead_letters(0).await.expect("trim"), 1_000);
    let mut steps = 1;
    while tight.trim_dead_letters(0).await.expect("trim") > 0 {
        steps += 1;
    }
    assert_eq!(steps, 6, "5,900 over the bound: six steps");
    assert_eq!(dead_set_len(redis.url()).await, 100);
    assert_eq!(depths_of(&tight, "cc").await, (0, 0, 0, 100));
    let newest: Vec<String> = tight.dead_letters(100).await.expect("dlq").into_iter().map(|d| d.id).collect();
    assert!(newest.iter().all(|id| id.starts_with("new")), "the oldest went first");
    assert_eq!(tight.pending_by_account().await.expect("pending").get("cc"), Some(&0), "nothing unfinished");
}

#[tokio::test(flavor = "multi_thread")]
async fn promotion_moves_more_than_luas_unpack_limit() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    // Due far enough ahead that none is due yet when the enqueue ends, on a loaded machine too.
    let jobs: Vec<NewJob> = (0..9_000).map(|i| job(&format!("j{i}"), now + 3_000)).collect();
    q.enqueue(&jobs).await.expect("enqueue");
    assert_eq!(q.depths().await.expect("depths").scheduled, 9_000);
    pause((now + 3_100).saturating_sub(deleteq_core::now_ms())).await;
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
async fn a_repeated_batch_stores_nothing_twice_even_after_its_jobs_ran() {
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    let keyed = NewJob { idempotency_key: Some("k1".into()), ..job("b", 0) };
    assert_eq!(q.enqueue(&[job("x", 0)]).await.expect("enqueue"), ["x"]);
    let batch = [job("a", 0), keyed, job("c", now + 60_000)];
    assert_eq!(q.enqueue_marked(&batch, Some("T1")).await.expect("enqueue"), ["a", "b", "c"]);
    // The jobs run and are deleted; then the repeat of the same call (its reply had been lost) arrives.
    let leased = q.lease(10, Duration::from_secs(30), "w#1", false).await.expect("lease");
    let acks: Vec<Ack> = leased.iter().map(|l| ack(&l.id, l.rev)).collect();
    assert_eq!(q.ack(&acks).await.expect("ack").len(), 3, "x, a and b ran");
    assert_eq!(q.enqueue_marked(&batch, Some("T1")).await.expect("repeat"), ["a", "b", "c"]);
    let depths = q.depths().await.expect("depths");
    assert_eq!(
        (depths.jobs, depths.ready, depths.scheduled),
        (1, 0, 1),
        "only c, still scheduled: nothing stored again"
    );
    // Another token is another batch.
    assert_eq!(q.enqueue_marked(&[job("a", 0)], Some("T2")).await.expect("new batch"), ["a"]);
    assert_eq!(q.depths().await.expect("depths").jobs, 2);
}

#[test]
fn with_wait_replicas_an_enqueue_counts_only_once_a_replica_has_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let redis = RedisServer::start();
    let q = rt.block_on(queue_waiting(&redis, 100, 1));
    // No replica: the batch is on the primary, but not confirmed, and the error says so.
    match rt.block_on(q.enqueue_marked(&[job("a", 0)], Some("T1"))) {
        Err(deleteq_queue::QueueError::NotReplicated { acked: 0, wanted: 1 }) => {}
        other => panic!("expected NotReplicated, got {other:?}"),
    }
    let replica = RedisServer::start_replica_of(&redis);
    // With a replica linked: the repeat of the same batch settles it (stored once), and new writes are confirmed.
    assert_eq!(rt.block_on(q.enqueue_marked(&[job("a", 0)], Some("T1"))).expect("confirmed"), ["a"]);
    assert_eq!(rt.block_on(q.enqueue(&[job("b", 0)])).expect("confirmed"), ["b"]);
    let leased = rt.block_on(q.lease(2, Duration::from_secs(30), "w#1", false)).expect("lease");
    let acks: Vec<Ack> = leased.iter().map(|l| ack(&l.id, l.rev)).collect();
    assert_eq!(rt.block_on(q.ack(&acks)).expect("ack"), [true, true]);
    let left: usize = inspect::query(&replica.url(), redis::cmd("HLEN").arg("{deleteq}:jobs"));
    assert_eq!(left, 0, "the replica has the acks too: WAIT returned after they reached it");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_cursor_follows_each_shard_by_its_own_id() {
    let redis = RedisServer::start();
    let target = RedisTarget::new(&redis.url()).expect("url");
    let options = QueueOptions { shards: 2, ..QueueOptions::from_config(&deleteq_core::Config::default()) };
    let q = Queue::connect(&target, options).await.expect("connect");
    let url = redis.url();
    let add = move |shard: usize, id: &'static str| {
        let url = url.clone();
        async move {
            let key = format!("{{deleteq:{shard}}}:audit");
            tokio::task::spawn_blocking(move || {
                let _: String = inspect::query(&url, redis::cmd("XADD").arg(key).arg(id).arg("outcome").arg(id));
            })
            .await
            .expect("xadd");
        }
    };
    add(0, "100-5").await;
    add(1, "100-1").await;
    let mut cursor = q.audit_cursor("-");
    let first: Vec<String> = q.audit_next(&mut cursor, 10).await.expect("read").into_iter().map(|e| e.0).collect();
    assert_eq!(first, ["100-1", "100-5"]);
    // Shard 1 writes an entry whose id is below shard 0's last one (the same millisecond; or another node's clock):
    // one cursor at 100-5 would skip it for good.
    add(1, "100-2").await;
    add(0, "101-0").await;
    let next: Vec<String> = q.audit_next(&mut cursor, 10).await.expect("read").into_iter().map(|e| e.0).collect();
    assert_eq!(next, ["100-2", "101-0"]);
    assert!(q.audit_next(&mut cursor, 10).await.expect("read").is_empty());
    // Tail's cursor starts at each shard's newest entry.
    let (last, mut tail) = q.audit_last_and_cursor(2).await.expect("tail");
    assert_eq!(last.into_iter().map(|e| e.0).collect::<Vec<_>>(), ["100-5", "101-0"]);
    add(1, "100-3").await;
    let more: Vec<String> = q.audit_next(&mut tail, 10).await.expect("read").into_iter().map(|e| e.0).collect();
    assert_eq!(more, ["100-3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_campaigns_are_deleted_after_their_retention() {
    use deleteq_queue::campaign::CampaignInfo;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let now = deleteq_core::now_ms();
    let info = |id: &str| CampaignInfo {
        id: id.into(),
        name: id.into(),
        total: 1,
        jobs: 1,
        created_ms: now,
        submitted: true,
        cancelled_ms: None,
        finished_ms: None,
    };
    // "done" finishes; "open" still has its job queued.
    for id in ["done", "open"] {
        assert!(q.create_campaign(&info(id)).await.expect("create"));
        let job = NewJob { campaign: Some(id.into()), ..job(&format!("j-{id}"), 0) };
        q.enqueue(&[job]).await.expect("enqueue");
    }
    let leased = q.lease(1, Duration::from_secs(30), "w#1", false).await.expect("lease").remove(0);
    assert_eq!(leased.id, "j-done");
    let mut record = record(&leased.id, Outcome::Deleted);
    record.campaign = Some("done".into());
    let mut finished = ack(&leased.id, leased.rev);
    finished.records = vec![record];
    assert_eq!(q.ack(&[finished]).await.expect("ack"), [true]);
    q.cancel_campaign("done", now).await.expect("cancel");
    let day = 86_400_000;
    // The first sweep stamps when it was seen finished; it goes a retention later, and the open one stays.
    assert_eq!(q.sweep_campaigns(now, day).await.expect("sweep"), 0);
    assert_eq!(q.sweep_campaigns(now + day - 1, day).await.expect("sweep"), 0);
    assert!(q.campaign("done").await.expect("read").is_some());
    assert_eq!(q.sweep_campaigns(now + day, day).await.expect("sweep"), 1);
    assert!(q.campaign("done").await.expect("read").is_none());
    assert!(q.campaign("open").await.expect("read").is_some(), "an unfinished campaign is kept");
    let url = redis.url();
    let left: Vec<String> = tokio::task::spawn_blocking(move || {
        let counts: Vec<String> = inspect::query(&url, redis::cmd("HKEYS").arg("{deleteq}:campaign:counts"));
        let cancelled: Vec<String> = inspect::query(&url, redis::cmd("SMEMBERS").arg("{deleteq}:campaigns:cancelled"));
        counts.into_iter().chain(cancelled).collect()
    })
    .await
    .expect("keys");
    assert!(left.is_empty(), "its counters and cancellation mark went too: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn parked_jobs_of_an_account_no_longer_configured_are_put_back_to_be_dead_lettered() {
    use deleteq_queue::parking::ParkJob;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let gone = |id: &str| NewJob { account: "gone".into(), ..job(id, 0) };
    q.enqueue(&[gone("g1"), job("c1", 0)]).await.expect("enqueue");
    for leased in q.lease(2, Duration::from_secs(30), "w#1", false).await.expect("lease") {
        let park = ParkJob {
            account: leased.account.clone(),
            id: leased.id.clone(),
            rev: leased.rev,
            envelope: leased.envelope.clone(),
            records: Vec::new(),
            shard: 0,
            holder: leased.holder.clone(),
        };
        assert!(q.park_job(&park).await.expect("park"));
    }
    // "cc" is still configured: its job waits for a resume; "gone" is not: its job goes back in line.
    let released = q.release_unconfigured(&["cc".to_string()]).await.expect("release");
    assert_eq!(released, [("gone".to_string(), 1)]);
    assert_eq!(q.parked_jobs("cc").await.expect("parked"), 1);
    let leased = q.lease(10, Duration::from_secs(30), "w#1", false).await.expect("lease");
    assert_eq!(leased.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["g1"]);
    assert!(q.release_unconfigured(&["cc".to_string()]).await.expect("again").is_empty());
    let url = redis.url();
    let members: Vec<String> = tokio::task::spawn_blocking(move || {
        inspect::query(&url, redis::cmd("SMEMBERS").arg("{deleteq}:parked-accounts"))
    })
    .await
    .expect("members");
    assert_eq!(members, ["cc"], "an account whose set is empty is forgotten");
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
        pop: 0,
        push: vec!["m2".into(), "m3".into()],
        account: "cc".into(),
    };
    assert!(q.expand(&first).await.expect("expand"));
    // The ids not yet expanded are kept once, in the parent's id list.
    assert_eq!(q.expansion_ids(0, "p", 10).await.expect("ids"), ["m2", "m3"]);
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
        pop: 2,
        push: Vec::new(),
        account: "cc".into(),
    };
    assert!(q.expand(&last).await.expect("last step"));
    assert!(!q.expand(&last).await.expect("replayed last step"));
    assert!(q.expansion_ids(0, "p", 10).await.expect("ids").is_empty(), "the id list goes with the last step");
    let depths = q.depths().await.expect("depths");
    assert_eq!(depths.jobs, 3, "p:0, p:1, p:2 and no parent");
    assert_eq!(q.pending_by_account().await.expect("pending").get("cc"), Some(&3), "the per-account count agrees");
}

/// Waits in ms; the scripts read Redis's clock, so consecutive calls are a little apart: compare with a tolerance.
fn ms(waits: Vec<Duration>) -> Vec<u64> {
    waits.into_iter().map(|w| w.as_millis() as u64).collect()
}

/// Whether `actual` waits are `expected` within 5 ms each, allowing that time passed since the expected ones were
/// computed: waits count from Redis's now at the call, so on a loaded machine they may all come up to 100 ms shorter
/// (but never longer, and never shifted apart).
fn near(actual: &[u64], expected: &[u64]) -> bool {
    if actual.len() != expected.len() {
        return false;
    }
    let Some((a, e)) = actual.first().zip(expected.first()) else { return true };
    // A wait of 0 cannot shrink: a shift shows in the later ones only.
    let shift = if *e == 0 { 0 } else { (*e as i64 - *a as i64).clamp(0, 100) };
    actual.iter().zip(expected).all(|(a, e)| {
        let shifted = (*e as i64 - shift).max(0);
        (*a as i64 - shifted).abs() <= 5
    })
}

const LONG: Duration = Duration::from_secs(3600);

/// The stored value of job `id` (its header names its lane and flow).
async fn stored_value(redis: &RedisServer, id: &str) -> String {
    let (url, id) = (redis.url(), id.to_string());
    tokio::task::spawn_blocking(move || inspect::query(&url, redis::cmd("HGET").arg("{deleteq}:jobs").arg(id)))
        .await
        .expect("query")
}

#[tokio::test(flavor = "multi_thread")]
async fn lanes_order_an_accounts_jobs_and_bulk_children_keep_their_parents_lane() {
    use deleteq_core::Priority;
    use deleteq_queue::Expand;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let with = |id: &str, priority: Priority, campaign: Option<&str>| NewJob {
        priority,
        campaign: campaign.map(str::to_string),
        ..job(id, 0)
    };
    // A campaign's low jobs first in line, then a normal one, then two high ones.
    let mut jobs: Vec<NewJob> = (0..20).map(|i| with(&format!("c{i}"), Priority::Low, Some("C"))).collect();
    jobs.push(with("n", Priority::Normal, None));
    jobs.push(with("h1", Priority::High, None));
    jobs.push(with("h2", Priority::High, None));
    q.enqueue(&jobs).await.expect("enqueue");
    let lanes = q.lane_depths().await.expect("lanes");
    assert_eq!(lanes.get(&("cc".to_string(), Priority::Low)), Some(&20));
    assert_eq!(lanes.get(&("cc".to_string(), Priority::High)), Some(&2));
    // One at a time: high before normal before low, except that low is owed its eighth.
    let mut order = Vec::new();
    for n in 0..8 {
        let leased = q.lease(1, LONG, &format!("w#{n}"), true).await.expect("lease");
        order.extend(leased.into_iter().map(|l| l.id));
    }
    assert_eq!(order[..3], ["h1", "h2", "n"], "{order:?}");
    assert!(order[3..].iter().all(|id| id.starts_with('c')), "then the campaign: {order:?}");

    // A high bulk job's children are high, in a flow of their own (the parent, having no campaign).
    q.enqueue(&[with("bulk", Priority::High, None)]).await.expect("enqueue");
    let parent = q.lease(1, LONG, "w#b", true).await.expect("lease").remove(0);
    assert_eq!(parent.id, "bulk");
    let step = Expand {
        shard: 0,
        id: "bulk".into(),
        rev: parent.rev,
        children: vec![("bulk:0".into(), "{}".into()), ("bulk:1".into(), "{}".into())],
        rest: None,
        pop: 0,
        push: Vec::new(),
        account: "cc".into(),
    };
    assert!(q.expand(&step).await.expect("expand"));
    assert!(stored_value(&redis, "bulk:0").await.starts_with("0|cc||high|bulk|"), "inherits the lane");
    let next = q.lease(1, LONG, "w#c", true).await.expect("lease").remove(0);
    assert_eq!(next.id, "bulk:0", "high children go before the campaign's low jobs");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expansion_step_after_a_reclaim_leaves_the_parent_in_line_once() {
    use deleteq_queue::Expand;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    q.enqueue(&[job("p", 0)]).await.expect("enqueue");
    let parent = q.lease(1, Duration::from_millis(1), "w#1", false).await.expect("lease").remove(0);
    // The worker stalls past its lease; the parent is reclaimed to the ready list, then the step lands.
    pause(10).await;
    assert_eq!(q.reclaim_expired().await.expect("reclaim"), 1);
    let step = Expand {
        shard: 0,
        id: "p".into(),
        rev: parent.rev,
        children: vec![("p:0".into(), "{}".into())],
        rest: Some("{\"rest\":true}".into()),
        pop: 0,
        push: vec!["m1".into()],
        account: "cc".into(),
    };
    assert!(q.expand(&step).await.expect("expand"));
    assert_eq!(q.depths().await.expect("depths").ready, 2, "the parent once, and its child");
    assert_eq!(depths_of(&q, "cc").await, (2, 0, 0, 0), "nothing counted leased");
    let mut ready: Vec<(String, u64)> =
        q.lease(10, LONG, "w#2", true).await.expect("lease").into_iter().map(|l| (l.id, l.rev)).collect();
    ready.sort();
    assert_eq!(ready, [("p".to_string(), parent.rev + 1), ("p:0".to_string(), 0)], "the parent at its next revision");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_slots_are_reserved_in_order_and_a_429_slows_everyone_down_until_it_is_quiet() {
    use deleteq_core::rate::RateLimit;
    let redis = RedisServer::start();
    let q = queue(&redis).await;
    let limit: RateLimit = "10/s".parse().expect("rate");
    let handed_out = q.reserve_calls("acct", &limit, 3, LONG, LONG).await.expect("reserve");
    assert!(near(&ms(handed_out.waits), &[0, 100, 200]));
    assert_eq!(q.slow_down("acct", &limit).await.expect("429"), 2.0);
    // The 429 revokes the slots handed out at the old rate: their jobs reserve again (and those slots stay spent).
    assert_eq!(q.rate_generation("acct").await.expect("gen"), handed_out.gen + 1, "slots revoked at once");
    let waits = ms(q.reserve_calls("acct", &limit, 2, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[300, 500]), "half the rate: {waits:?}");
    assert_eq!(q.slow_down_factor("acct").await.expect("factor"), 2.0);
    // Ten quiet seconds later (Redis's clock decides: move the last 429 and the slots back) the slow-down halves
    // back to the configured rate.
    let url = redis.url();
    tokio::task::spawn_blocking(move || {
        let key = "{deleteq:acct:acct}:rate";
        let back = |field: &str| {
            let v: f64 = inspect::query(&url, redis::cmd("HGET").arg(key).arg(field));
            let _: () = inspect::query(&url, redis::cmd("HSET").arg(key).arg(field).arg(v - 11_000.0));
        };
        back("calm");
        back("tat");
    })
    .await
    .expect("rewind");
    let waits = ms(q.reserve_calls("acct", &limit, 2, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[0, 100]), "{waits:?}");
    assert_eq!(q.slow_down_factor("acct").await.expect("factor"), 1.0);
    // A burst lets that many calls go back to back.
    let bursty: RateLimit = "60/min burst 3".parse().expect("rate");
    let waits = ms(q.reserve_calls("b", &bursty, 4, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[0, 0, 0, 1000]), "{waits:?}");
    // A refill takes what starts within its span: 50 ms at 100/s is five slots.
    let fast: RateLimit = "100/s".parse().expect("rate");
    assert_eq!(
        q.reserve_calls("c", &fast, 256, Duration::from_millis(50), LONG).await.expect("reserve").waits.len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reported_budget_caps_every_workers_rate_until_its_reset() {
    use deleteq_core::rate::RateLimit;
    use deleteq_queue::rate::ReportedBudget;
    let redis = RedisServer::start();
    // Two workers: one sees the provider's budget, the other reserves.
    let (seer, other) = (queue(&redis).await, queue(&redis).await);
    let limit: RateLimit = "100/s".parse().expect("rate");
    let waits = ms(other.reserve_calls("acct", &limit, 3, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[0, 10, 20]), "the configured rate: {waits:?}");
    // 5 calls left for a second, 3 of them already handed out: 2 to spread over the second, then the reset.
    let budget = ReportedBudget { limit: Some(50), remaining: 5, reset_after: Duration::from_millis(1000) };
    let (step, gen) = seer.observe_budget("acct", &limit, &budget).await.expect("observe");
    assert_eq!(gen, 0, "the 3 slots out fit in the budget: none is revoked");
    // (reset - the 3 slots' end) / 2 = 485 ms, and half of any time that passed since they were reserved.
    assert!((480..=535).contains(&step.as_millis()), "the next slot's spacing: {step:?}");
    let waits = ms(other.reserve_calls("acct", &limit, 4, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[30, 515, 1000, 1010]), "two slots spread out, then the reset, then 100/s: {waits:?}");
    let state = other.limiter_state("acct", &limit).await.expect("state");
    let stored = state.budget.expect("a budget");
    assert_eq!((stored.limit, stored.remaining, stored.left), (Some(50), 5, 0));
    assert!((900..=1000).contains(&stored.reset_in.as_millis()), "the reset, a second after the report: {stored:?}");
    assert_eq!(state.effective_per_second(&limit), 0.0, "nothing left until the reset");
    // A capped account's refill is short: one slot, not 50 ms at the configured rate.
    let tight = ReportedBudget { limit: None, remaining: 2, reset_after: Duration::from_millis(1000) };
    seer.observe_budget("b", &limit, &tight).await.expect("observe");
    let waits =
        ms(other.reserve_calls("b", &limit, 256, Duration::from_millis(50), LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[0]), "{waits:?}");
    // The cap expires at the reset: a spent budget holds the next slot until then, and no longer.
    let spent = ReportedBudget { limit: Some(50), remaining: 0, reset_after: Duration::from_millis(300) };
    seer.observe_budget("c", &limit, &spent).await.expect("observe");
    let waits = ms(other.reserve_calls("c", &limit, 1, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[300]), "{waits:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let waits = ms(other.reserve_calls("c", &limit, 3, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[0, 10, 20]), "the configured rate after the reset: {waits:?}");
    let state = other.limiter_state("c", &limit).await.expect("state");
    assert_eq!(state.budget.map(|b| b.reset_in), Some(Duration::ZERO), "kept for status, no longer applied");
    assert_eq!(state.effective_per_second(&limit), 100.0);
    // Slots handed out beyond what the budget leaves (jobs deferred to them) are revoked: a new generation, and
    // the next slots are spread over the budget from now.
    let far = other.reserve_calls("d", &limit, 30, LONG, LONG).await.expect("reserve");
    assert_eq!((far.gen, far.waits.len()), (0, 30));
    let few = ReportedBudget { limit: Some(50), remaining: 4, reset_after: Duration::from_millis(800) };
    let (_, gen) = seer.observe_budget("d", &limit, &few).await.expect("observe");
    assert_eq!(gen, 1, "30 slots out, 4 calls left: revoked");
    let next = other.reserve_calls("d", &limit, 5, LONG, LONG).await.expect("reserve");
    assert_eq!(next.gen, 1);
    assert!(near(&ms(next.waits.clone()), &[0, 200, 400, 600, 800]), "{:?}", next.waits);
    assert_eq!(other.rate_generation("d").await.expect("gen"), 1);
    // While the provider's window is known, a 429 spends it instead of slowing the account down.
    let plenty = ReportedBudget { limit: Some(50), remaining: 10, reset_after: Duration::from_millis(500) };
    seer.observe_budget("e", &limit, &plenty).await.expect("observe");
    assert_eq!(other.slow_down("e", &limit).await.expect("429"), 1.0);
    let waits = ms(other.reserve_calls("e", &limit, 1, LONG, LONG).await.expect("reserve").waits);
    assert!(near(&waits, &[500]), "nothing before the reset: {waits:?}");
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
    q.enqueue(&[job("a", 0), job("b", 0), job("c", 0), job("later", now + 500)]).await.expect("enqueue");
    assert_eq!(depths_of(&q, "cc").await, (3, 0, 1, 0));
    let leased = q.lease(3, Duration::from_secs(30), "w#1", true).await.expect("lease");
    assert_eq!(leased.len(), 3);
    assert_eq!(depths_of(&q, "cc").await, (0, 3, 1, 0), "a, b, c leased");
    q.enqueue(&[other("o")]).await.expect("enqueue");
    assert_eq!(depths_of(&q, "other").await, (1, 0, 0, 0));
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
    assert_eq!(q.purge_dead(Duration::ZERO).await.expect("purge"), 1);
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
        wait_replicas: 0,
        wait_timeout: Duration::from_secs(1),
        campaign_retention: Duration::from_secs(3600),
        ..QueueOptions::from_config(&deleteq_core::Config::default())
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
    let mut cursor = q.audit_cursor("-");
    loop {
        let page = q.audit_next(&mut cursor, 50).await.expect("page");
        if page.is_empty() {
            break;
        }
        seen += page.len();
    }
    assert_eq!(seen, 201, "paging through the merged streams misses nothing");
    assert_eq!(q.dead_letters(10).await.expect("dlq").len(), 1);
    assert_eq!(q.account_depths().await.expect("accounts").get("cc").map(|d| d.dead), Some(1));
}
