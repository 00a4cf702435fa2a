//! [`Queue`]: the typed calls that run the scripts. Each call is one round trip for a whole batch.

use crate::connection::RedisTarget;
use crate::keys::Keys;
use crate::scripts::{Scripts, ENQUEUE_SOURCE};
use crate::{QueueError, Result};
use deleteq_core::audit::{AuditRecord, FIELDS};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use std::sync::Arc;
use std::time::Duration;

/// Jobs per `EVAL` inside an enqueue transaction, and ids per promote call (under Lua's unpack limit).
const CHUNK: usize = 1000;

/// Queue-wide settings.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Key prefix (hash tag).
    pub prefix: String,
    /// `XADD MAXLEN ~` bound of the audit stream.
    pub audit_max_len: u64,
    /// How long an idempotency key is remembered.
    pub idempotency_retention: Duration,
    /// Bound of the dead-letter set.
    pub dead_max_len: u64,
    /// Dead letters older than this are dropped.
    pub dead_max_age: Duration,
}

impl QueueOptions {
    /// The options a config asks for.
    pub fn from_config(config: &deleteq_core::Config) -> Self {
        QueueOptions {
            prefix: config.redis.prefix.clone(),
            audit_max_len: config.audit.max_len,
            idempotency_retention: config.producer.idempotency_retention,
            dead_max_len: config.dlq.max_len,
            dead_max_age: config.dlq.max_age,
        }
    }
}

/// A job to store.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id.
    pub id: String,
    /// When it may run (ms); now or earlier means at once.
    pub due_ms: u64,
    /// The envelope JSON.
    pub envelope: String,
    /// A second job with the same key, within the retention, is not stored: it gets the first job's id.
    pub idempotency_key: Option<String>,
    /// Its account, for the per-account counts.
    pub account: String,
    /// Its campaign, for the campaign's counters and cancellation.
    pub campaign: Option<String>,
}

/// A job reserved for this worker.
#[derive(Debug, Clone)]
pub struct Leased {
    /// Its id.
    pub id: String,
    /// The revision of the envelope leased; finishing or rescheduling requires it to be unchanged.
    pub rev: u64,
    /// The envelope JSON, compact or whole: read it with `Envelope::decode_stored`.
    pub envelope: String,
    /// Its account, from the stored header.
    pub account: String,
    /// Its campaign, from the stored header.
    pub campaign: Option<String>,
    /// How many times it was reclaimed from a worker that died holding it.
    pub reclaims: u32,
    /// Its campaign was cancelled: it must end `cancelled` without a provider call.
    pub cancelled: bool,
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct Ack {
    /// Its id.
    pub id: String,
    /// The revision leased.
    pub rev: u64,
    /// Its terminal records, one per message (one for a purge).
    pub records: Vec<AuditRecord>,
    /// The envelope (with its last error) to keep in the dead-letter set, for `failed` and `dead`.
    pub dead_letter: Option<String>,
    /// Its account (for logs and metrics; the scripts read it from the stored header).
    pub account: String,
}

/// A job to run again later.
#[derive(Debug, Clone)]
pub struct Reschedule {
    /// Its id.
    pub id: String,
    /// The revision leased; the stored one becomes `rev + 1`.
    pub rev: u64,
    /// When to run it again (ms).
    pub due_ms: u64,
    /// The rewritten envelope (attempt count, remaining ids, last error).
    pub envelope: String,
    /// Records to write with it: `retry_scheduled`, and terminal records of messages it no longer carries.
    pub records: Vec<AuditRecord>,
}

/// One step of expanding a bulk job into children.
#[derive(Debug, Clone)]
pub struct Expand {
    /// The parent's id.
    pub id: String,
    /// The parent revision leased.
    pub rev: u64,
    /// The children: (id, envelope JSON). Their ids derive from the parent and their position.
    pub children: Vec<(String, String)>,
    /// The parent's envelope for the rest still to expand (stored at `rev + 1`); `None` when this is the last step.
    pub rest: Option<String>,
    /// The account (for logs; the script reads it from the stored header).
    pub account: String,
}

/// One queue in Redis, cheap to clone (one multiplexed, self-reconnecting connection shared by all clones).
#[derive(Clone)]
pub struct Queue {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    scripts: Arc<Scripts>,
    options: Arc<QueueOptions>,
    target: RedisTarget,
}

/// A stored job value: `"<rev>|<account>|<campaign>|<envelope>"`. The header lets the scripts keep per-account
/// and per-campaign counts without decoding JSON (account names and campaign ids never contain `|`).
pub(crate) fn stored(rev: u64, account: &str, campaign: &str, envelope: &str) -> String {
    format!("{rev}|{account}|{campaign}|{envelope}")
}

/// Splits a stored value into its revision and envelope.
pub(crate) fn split_stored(value: &str) -> Option<(u64, &str)> {
    split_header(value).map(|(rev, _, _, envelope)| (rev, envelope))
}

/// Splits a stored value into its revision, account, campaign (`""` for none) and envelope.
pub(crate) fn split_header(value: &str) -> Option<(u64, &str, &str, &str)> {
    let mut parts = value.splitn(4, '|');
    let rev = parts.next()?.parse().ok()?;
    let (account, campaign) = (parts.next()?, parts.next()?);
    Some((rev, account, campaign, parts.next()?))
}

fn flags(reply: Vec<i64>) -> Vec<bool> {
    reply.into_iter().map(|f| f == 1).collect()
}

impl Queue {
    /// Connects (one attempt; callers that must survive an outage retry).
    pub async fn connect(target: &RedisTarget, options: QueueOptions) -> Result<Queue> {
        let conn = target.manager().await?;
        Ok(Queue {
            conn,
            keys: Arc::new(Keys::new(&options.prefix)),
            scripts: Arc::new(Scripts::new()),
            options: Arc::new(options),
            target: target.clone(),
        })
    }

    /// The key schema in use.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A raw connection for read-only inspection.
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The scripts, for the other modules of this crate.
    pub(crate) fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// The key prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The audit stream bound.
    pub(crate) fn audit_max_len(&self) -> u64 {
        self.options.audit_max_len
    }

    /// Round trip to Redis, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Puts every script into Redis's script cache unless it is there already (one `SCRIPT EXISTS`, then a
    /// `SCRIPT LOAD` per missing one, e.g. after Redis restarted empty), for readiness checks: once this
    /// succeeds, the next `EVALSHA` of any script finds it.
    pub async fn load_scripts(&self) -> Result<()> {
        let scripts = self.scripts.all();
        let mut exists = redis::cmd("SCRIPT");
        exists.arg("EXISTS");
        for script in &scripts {
            exists.arg(script.get_hash());
        }
        let mut conn = self.conn.clone();
        let present: Vec<bool> = exists.query_async(&mut conn).await?;
        for (script, present) in scripts.iter().zip(present) {
            if !present {
                script.load_async(&mut conn).await?;
            }
        }
        Ok(())
    }

    /// Stores `jobs` all or nothing; returns, per job, the id it is known by (the first job's id for a repeated
    /// idempotency key). Up to one chunk is one script call (atomic by itself, `EVALSHA`); more is one
    /// `MULTI`/`EXEC` of `EVAL`s, which cannot half-fail on an empty script cache.
    pub async fn enqueue(&self, jobs: &[NewJob], now_ms: u64) -> Result<Vec<String>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let retention = self.options.idempotency_retention.as_millis().max(1) as u64;
        if jobs.len() <= CHUNK {
            let (mut keys, mut args) = (Vec::new(), Vec::new());
            self.enqueue_args(jobs, now_ms, retention, |k| keys.push(k), |a| args.push(a));
            let mut inv = self.scripts.enqueue.prepare_invoke();
            keys.into_iter().for_each(|k| {
                inv.key(k);
            });
            args.into_iter().for_each(|a| {
                inv.arg(a);
            });
            return Ok(inv.invoke_async(&mut conn).await?);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for chunk in jobs.chunks(CHUNK) {
            let mut keys = Vec::new();
            let mut args = Vec::new();
            self.enqueue_args(chunk, now_ms, retention, |k| keys.push(k), |a| args.push(a));
            pipe.cmd("EVAL").arg(ENQUEUE_SOURCE.as_str()).arg(keys.len()).arg(keys).arg(args);
        }
        let ids: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        Ok(ids.into_iter().flatten().collect())
    }

    /// The enqueue script's KEYS and ARGV for `jobs`, handed to `key` and `arg` in order.
    fn enqueue_args(
        &self,
        jobs: &[NewJob],
        now_ms: u64,
        retention_ms: u64,
        mut key: impl FnMut(String),
        mut arg: impl FnMut(String),
    ) {
        let k = &self.keys;
        let fixed = [k.jobs(), k.ready(), k.scheduled(), k.wake(), k.pending(), k.counts()];
        fixed.into_iter().for_each(|k| key(k.to_string()));
        arg(now_ms.to_string());
        arg(retention_ms.to_string());
        let mut next_key = fixed.len();
        for job in jobs {
            let index = match &job.idempotency_key {
                Some(k) => {
                    key(self.keys.idempotency(k));
                    next_key += 1;
                    next_key
                }
                None => 0,
            };
            arg(job.id.clone());
            arg(job.due_ms.to_string());
            arg(stored(0, &job.account, job.campaign.as_deref().unwrap_or(""), &job.envelope));
            arg(index.to_string());
            arg(job.account.clone());
        }
    }

    /// Leases up to `max` ready jobs until `now + lease`.
    pub async fn lease(&self, max: usize, lease: Duration, now_ms: u64) -> Result<Vec<Leased>> {
        let expiry = now_ms + lease.as_millis() as u64;
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .scripts
            .lease
            .key(self.keys.ready())
            .key(self.keys.leased())
            .key(self.keys.jobs())
            .key(self.keys.wake())
            .key(self.keys.counts())
            .key(self.keys.reclaims())
            .key(self.keys.cancelled())
            .arg(expiry)
            .arg(max)
            .invoke_async(&mut conn)
            .await?;
        let mut out = Vec::with_capacity(reply.len() / 4);
        let mut it = reply.into_iter();
        while let (Some(id), Some(value), Some(reclaims), Some(cancelled)) =
            (it.next(), it.next(), it.next(), it.next())
        {
            let (rev, account, campaign, envelope) = split_header(&value)
                .ok_or_else(|| QueueError::Protocol(format!("job {id} has a malformed stored value")))?;
            out.push(Leased {
                envelope: envelope.to_string(),
                account: account.to_string(),
                campaign: (!campaign.is_empty()).then(|| campaign.to_string()),
                id,
                rev,
                reclaims: reclaims.parse().unwrap_or(0),
                cancelled: cancelled == "1",
            });
        }
        Ok(out)
    }

    /// Finishes jobs; per job, whether this call finished it (false: finished already or rewritten since).
    pub async fn ack(&self, acks: &[Ack], now_ms: u64) -> Result<Vec<bool>> {
        if acks.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = self.scripts.ack.prepare_invoke();
        inv.key(self.keys.jobs())
            .key(self.keys.leased())
            .key(self.keys.scheduled())
            .key(self.keys.audit())
            .key(self.keys.dead())
            .key(self.keys.dead_jobs())
            .key(self.keys.pending())
            .key(self.keys.counts())
            .key(self.keys.reclaims())
            .key(self.keys.campaign_counts());
        inv.arg(now_ms)
            .arg(self.options.audit_max_len)
            .arg(self.options.dead_max_len)
            .arg(self.options.dead_max_age.as_millis() as u64)
            .arg(FIELDS.len());
        for name in FIELDS {
            inv.arg(name);
        }
        for ack in acks {
            let dead = ack.dead_letter.as_deref().unwrap_or_default();
            inv.arg(&ack.id).arg(ack.rev).arg(dead).arg(ack.records.len());
            for record in &ack.records {
                for value in record.values() {
                    inv.arg(value);
                }
            }
        }
        let mut conn = self.conn.clone();
        Ok(flags(inv.invoke_async(&mut conn).await?))
    }

    /// Moves leased jobs to the scheduled set with their rewritten envelopes; per job, whether it was moved.
    pub async fn reschedule(&self, items: &[Reschedule]) -> Result<Vec<bool>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = self.scripts.reschedule.prepare_invoke();
        let k = &self.keys;
        inv.key(k.jobs()).key(k.leased()).key(k.scheduled()).key(k.audit()).key(k.counts()).key(k.campaign_counts());
        inv.arg(self.options.audit_max_len).arg(FIELDS.len()).arg("scheduled");
        for name in FIELDS {
            inv.arg(name);
        }
        for item in items {
            inv.arg(&item.id).arg(item.rev).arg(item.due_ms).arg(&item.envelope).arg(item.records.len());
            for record in &item.records {
                for value in record.values() {
                    inv.arg(value);
                }
            }
        }
        let mut conn = self.conn.clone();
        Ok(flags(inv.invoke_async(&mut conn).await?))
    }

    /// Writes one expansion step atomically; false when the parent changed since it was leased.
    pub async fn expand(&self, step: &Expand) -> Result<bool> {
        let mut inv = self.scripts.expand.prepare_invoke();
        inv.key(self.keys.jobs())
            .key(self.keys.ready())
            .key(self.keys.leased())
            .key(self.keys.wake())
            .key(self.keys.pending())
            .key(self.keys.counts());
        inv.arg(&step.id).arg(step.rev).arg(step.rest.as_deref().unwrap_or_default());
        for (id, envelope) in &step.children {
            inv.arg(id).arg(envelope);
        }
        let mut conn = self.conn.clone();
        let done: i64 = inv.invoke_async(&mut conn).await?;
        Ok(done == 1)
    }

    /// Hands leased jobs back to the front of the ready list, unchanged; returns how many.
    pub async fn release(&self, ids: &[String]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut inv = self.scripts.release.prepare_invoke();
        inv.key(self.keys.leased()).key(self.keys.ready()).key(self.keys.wake()).key(self.keys.jobs());
        inv.key(self.keys.counts());
        for id in ids {
            inv.arg(id);
        }
        let mut conn = self.conn.clone();
        Ok(inv.invoke_async(&mut conn).await?)
    }

    /// Pushes the leases of jobs still running forward to `now + lease`. Leases that expired and were reclaimed
    /// meanwhile are not recreated.
    pub async fn extend(&self, ids: &[String], lease: Duration, now_ms: u64) -> Result<()> {
        let expiry = now_ms + lease.as_millis() as u64;
        let mut pipe = redis::pipe();
        for chunk in ids.chunks(CHUNK) {
            let cmd = pipe.cmd("ZADD").arg(self.keys.leased()).arg("XX");
            for id in chunk {
                cmd.arg(expiry).arg(id);
            }
            cmd.ignore();
        }
        let mut conn = self.conn.clone();
        let () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    /// Moves every scheduled job due by `now` to the back of the ready list; returns how many.
    pub async fn promote_due(&self, now_ms: u64) -> Result<u64> {
        self.promote(self.keys.scheduled(), now_ms, "back", "scheduled").await
    }

    /// Moves every job whose lease expired by `now` (its worker died or stalled) to the front of the ready list.
    pub async fn reclaim_expired(&self, now_ms: u64) -> Result<u64> {
        self.promote(self.keys.leased(), now_ms, "front", "leased").await
    }

    /// Moves due jobs of a set whose members are not counted per state (a parked account's jobs).
    pub(crate) async fn promote_uncounted(&self, from: &str, now_ms: u64, end: &str) -> Result<u64> {
        self.promote(from, now_ms, end, "").await
    }

    async fn promote(&self, from: &str, now_ms: u64, end: &str, state: &str) -> Result<u64> {
        let mut total = 0;
        let mut conn = self.conn.clone();
        loop {
            let moved: u64 = self
                .scripts
                .promote
                .key(from)
                .key(self.keys.ready())
                .key(self.keys.wake())
                .key(self.keys.jobs())
                .key(self.keys.counts())
                .key(self.keys.reclaims())
                .arg(now_ms)
                .arg(CHUNK)
                .arg(end)
                .arg(state)
                .invoke_async(&mut conn)
                .await?;
            total += moved;
            if moved < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// The earliest due time in the scheduled set, to sleep until it.
    pub async fn next_due_ms(&self) -> Result<Option<u64>> {
        let mut conn = self.conn.clone();
        let first: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.keys.scheduled())
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        Ok(first.first().map(|(_, score)| *score as u64))
    }

    /// A waiter that blocks until work may be ready.
    pub fn waiter(&self) -> Waiter {
        Waiter { target: self.target.clone(), key: self.keys.wake().to_string(), conn: None }
    }
}

/// Blocks an idle worker on the wake list, on a connection of its own.
pub struct Waiter {
    target: RedisTarget,
    key: String,
    conn: Option<MultiplexedConnection>,
}

impl Waiter {
    /// Waits up to `block` for a wake token; `Ok(true)` when woken.
    pub async fn wait(&mut self, block: Duration) -> Result<bool> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.target.blocking(Duration::from_secs(5)).await?),
        };
        let reply: redis::RedisResult<Option<(String, String)>> =
            redis::cmd("BLPOP").arg(&self.key).arg(block.as_secs_f64()).query_async(conn).await;
        match reply {
            Ok(token) => Ok(token.is_some()),
            Err(e) => {
                self.conn = None;
                Err(e.into())
            }
        }
    }
}
