//! [`Queue`]: the typed calls that run the scripts. Each call is one round trip for a whole batch.

use crate::connection::{Conn, RedisTarget};
use crate::keys::Keys;
use crate::scripts::{Scripts, ENQUEUE_SOURCE};
use crate::Result;
use deleteq_core::audit::{AuditRecord, FIELDS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Jobs per `EVAL` inside an enqueue transaction, and ids per promote call (under Lua's unpack limit).
const CHUNK: usize = 1000;

/// How long an enqueue call's batch marker is kept ([`Queue::enqueue_marked`]): longer than a producer goes on
/// repeating a batch whose reply was lost (a minute at most), and short enough that markers of many small enqueues
/// cost little memory.
pub const BATCH_MARKER_TTL: Duration = Duration::from_secs(120);

/// The revision of a leased value that cannot be read (corrupted, or written by something else): its ack matches
/// whatever is stored, so the worker can record it `failed` and move it to the dead letters.
pub const UNREADABLE: u64 = u64::MAX;

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
    /// Independent shards the queue is split into (DESIGN §8); 1 = one `{prefix}` slot.
    pub shards: usize,
    /// Replicas an enqueue and an ack wait for (`WAIT`), and for how long at most; 0 = none.
    pub wait_replicas: u32,
    /// How long to wait for them.
    pub wait_timeout: Duration,
    /// How long a finished campaign is kept (`[campaigns] retention`).
    pub campaign_retention: Duration,
    /// How an account's jobs are shared between its lanes.
    pub lanes: deleteq_core::config::LanesConfig,
    /// How far ahead of its account's rate a paced job is leased at most (half of `[worker] rate_wait`, the
    /// furthest a slot is reserved ahead, which leaves room for several workers' and shards' leases to overlap):
    /// the jobs beyond wait in their lanes, holding no rate-limit slot, so a later `high` job is next.
    pub horizon: Duration,
    /// The accounts with a rate limit: their name, the spacing of their calls and their burst.
    pub paced: Vec<Paced>,
}

/// An account whose calls are spaced (it has a rate limit): its jobs are leased only as their calls fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Paced {
    /// The account.
    pub account: String,
    /// The spacing of its calls at its configured rate.
    pub spacing: Duration,
    /// Calls it may make back to back.
    pub burst: u64,
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
            shards: config.redis.shards.max(1) as usize,
            wait_replicas: config.redis.wait_replicas,
            wait_timeout: config.redis.wait_timeout,
            campaign_retention: config.campaigns.retention,
            lanes: config.lanes,
            horizon: config.worker.rate_wait / 2,
            paced: config
                .accounts
                .iter()
                .filter_map(|(name, account)| {
                    let limit = account.effective_rate_limit()?;
                    Some(Paced { account: name.clone(), spacing: limit.interval(), burst: limit.burst.max(1) })
                })
                .collect(),
        }
    }
}

/// A job to store.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id.
    pub id: String,
    /// When it may run (ms since the epoch, compared with Redis's clock); 0, or any time already past, means at once.
    pub due_ms: u64,
    /// The envelope JSON.
    pub envelope: String,
    /// A second job with the same key, within the retention, is not stored: it gets the first job's id.
    pub idempotency_key: Option<String>,
    /// Its account, for the per-account counts.
    pub account: String,
    /// Its campaign, for the campaign's counters and cancellation.
    pub campaign: Option<String>,
    /// Its lane (DESIGN §6).
    pub priority: deleteq_core::Priority,
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
    /// The shard it lives in; everything done with it goes there.
    pub shard: usize,
    /// The token of this lease (`"<worker id>#<n>"`): it alone extends, releases or reschedules the job.
    pub holder: String,
}

impl Leased {
    /// The lease itself: the job and its holder token.
    pub fn lease(&self) -> Lease {
        Lease { id: self.id.clone(), holder: self.holder.clone() }
    }
}

/// Per paced account, how far from now its next free rate-limit slot is, as a worker last heard.
pub type PaceHints = std::collections::HashMap<String, Duration>;

/// What one lease call got.
#[derive(Debug, Clone, Default)]
pub struct LeaseBatch {
    /// The jobs leased.
    pub jobs: Vec<Leased>,
    /// When jobs held back because their account's calls did not fit the horizon may be leased (from now); `None`
    /// when none was held back.
    pub paced_for: Option<Duration>,
}

/// A lease held: a job id and the token it was leased with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The job's id.
    pub id: String,
    /// The lease's token ([`Leased::holder`]).
    pub holder: String,
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
    /// Its shard ([`Leased::shard`]).
    pub shard: usize,
}

/// A job to run again later.
#[derive(Debug, Clone)]
pub struct Reschedule {
    /// Its id.
    pub id: String,
    /// Its shard ([`Leased::shard`]).
    pub shard: usize,
    /// The revision leased; the stored one becomes `rev + 1`.
    pub rev: u64,
    /// The lease's token ([`Leased::holder`]): a job no longer held with it is not rescheduled.
    pub holder: String,
    /// How long from now (Redis's clock) until it runs again.
    pub delay: Duration,
    /// Its provider call returned (a real attempt): its reclaim count starts over. False for a job handed back
    /// without a call (a deferral).
    pub attempted: bool,
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
    /// Its shard ([`Leased::shard`]); the children stay in it.
    pub shard: usize,
    /// The parent revision leased.
    pub rev: u64,
    /// The children: (id, envelope JSON). Their ids derive from the parent and their position.
    pub children: Vec<(String, String)>,
    /// The parent's envelope for the rest still to expand (stored at `rev + 1`); `None` when this is the last step.
    pub rest: Option<String>,
    /// Ids this step took from the head of the parent's id list ([`Keys::expansion_ids`]).
    pub pop: u64,
    /// Ids to store in the parent's id list for the later steps (the first step of an inline list only).
    pub push: Vec<String>,
    /// The account (for logs; the script reads it from the stored header).
    pub account: String,
}

/// One queue in Redis, split into `shards` independent shards; cheap to clone (one multiplexed,
/// self-reconnecting connection shared by all clones).
#[derive(Clone)]
pub struct Queue {
    conn: Conn,
    shards: Arc<Vec<Keys>>,
    scripts: Arc<Scripts>,
    options: Arc<QueueOptions>,
    target: RedisTarget,
    /// The shard the next lease starts at (round robin).
    next_shard: Arc<AtomicUsize>,
}

/// FNV-1a, 64 bits: a stable hash (the same in every version and process) for placing jobs in shards.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The positions of `items` grouped by shard, in order within each shard.
pub(crate) fn by_shard<T>(items: &[T], shard: impl Fn(&T) -> usize) -> Vec<(usize, Vec<usize>)> {
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let s = shard(item);
        match groups.iter_mut().find(|(g, _)| *g == s) {
            Some((_, members)) => members.push(i),
            None => groups.push((s, vec![i])),
        }
    }
    groups
}

/// A stored job value: `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>"`. The header lets the scripts keep
/// per-account and per-campaign counts and place a ready job in its lane and flow without decoding JSON (account
/// names, campaign and job ids never contain `|` or `{`). A new job's flow is its campaign (`""` for none).
pub(crate) fn stored(rev: u64, account: &str, campaign: &str, lane: deleteq_core::Priority, envelope: &str) -> String {
    format!("{rev}|{account}|{campaign}|{lane}|{campaign}|{envelope}")
}

/// Splits a stored value into its revision and envelope.
pub(crate) fn split_stored(value: &str) -> Option<(u64, &str)> {
    split_header(value).map(|(rev, _, _, envelope)| (rev, envelope))
}

/// Splits a stored value into its revision, account, campaign (`""` for none) and envelope. Older forms read too:
/// `"<rev>|<account>|<campaign>|<envelope>"`, and `"<rev>|<envelope>"` (its envelope starts with `{`, which no
/// header part contains), which reads with an empty account and campaign: its envelope is whole.
pub(crate) fn split_header(value: &str) -> Option<(u64, &str, &str, &str)> {
    let (rev, rest) = value.split_once('|')?;
    let rev = rev.parse().ok()?;
    if rest.starts_with('{') {
        return Some((rev, "", "", rest));
    }
    let mut parts = rest.splitn(3, '|');
    let (account, campaign, rest) = (parts.next()?, parts.next()?, parts.next()?);
    if rest.starts_with('{') {
        return Some((rev, account, campaign, rest));
    }
    // The lane and flow, then the envelope.
    let mut parts = rest.splitn(3, '|');
    let (_lane, _flow, envelope) = (parts.next()?, parts.next()?, parts.next()?);
    Some((rev, account, campaign, envelope))
}

fn flags(reply: Vec<i64>) -> Vec<bool> {
    reply.into_iter().map(|f| f == 1).collect()
}

impl Queue {
    /// Connects (one attempt; callers that must survive an outage retry).
    pub async fn connect(target: &RedisTarget, options: QueueOptions) -> Result<Queue> {
        let conn = target.manager().await?;
        let count = options.shards.max(1);
        let shards = (0..count).map(|i| Keys::shard(&options.prefix, i, count)).collect();
        Ok(Queue {
            conn,
            shards: Arc::new(shards),
            scripts: Arc::new(Scripts::new()),
            options: Arc::new(options),
            target: target.clone(),
            next_shard: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The key schema of the first shard (the only one with `shards = 1`); campaign descriptions live there.
    pub fn keys(&self) -> &Keys {
        &self.shards[0]
    }

    /// The key schema of shard `i` (clamped to the shards there are).
    pub fn shard_keys(&self, i: usize) -> &Keys {
        &self.shards[i.min(self.shards.len() - 1)]
    }

    /// How many shards the queue has.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Every shard's keys, with its index.
    pub(crate) fn all_shards(&self) -> impl Iterator<Item = (usize, &Keys)> {
        self.shards.iter().enumerate()
    }

    /// The shard a new job goes to: a stable hash of its idempotency key if it has one (so a repeated key meets
    /// the first one's marker), else of its id.
    pub fn shard_of(&self, job: &NewJob) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        let basis = job.idempotency_key.as_deref().unwrap_or(&job.id);
        (stable_hash(basis) % self.shards.len() as u64) as usize
    }

    /// Whether the queue runs on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.target.is_cluster()
    }

    /// A raw connection for read-only inspection.
    pub(crate) fn conn(&self) -> Conn {
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

    /// How long a finished campaign is kept.
    pub fn campaign_retention(&self) -> Duration {
        self.options.campaign_retention
    }

    /// The dead-letter set's bounds: its max len and max age.
    pub(crate) fn dead_bounds(&self) -> (u64, Duration) {
        (self.options.dead_max_len, self.options.dead_max_age)
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

    /// Stores `jobs`; returns, per job, the id it is known by (the first job's id for a repeated idempotency key).
    /// On one Redis node the batch is all or nothing: up to one chunk of one shard is one script call (atomic by
    /// itself, `EVALSHA`); more is one `MULTI`/`EXEC` of `EVAL`s over every shard's chunks, which cannot
    /// half-fail on an empty script cache. On a Redis Cluster, where a transaction is confined to one slot, each
    /// chunk of 1,000 is its own atomic call.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<String>> {
        self.enqueue_marked(jobs, None).await
    }

    /// [`Queue::enqueue`] under a batch token: each script call of the batch leaves a marker (kept for
    /// [`BATCH_MARKER_TTL`]), so repeating the very same call with the same token, after an error that left its
    /// outcome unknown ([`crate::QueueError::outcome_unknown`]), stores nothing twice and returns what the first
    /// run returned, even if its jobs have run and been deleted since. The jobs and their order must be the same.
    pub async fn enqueue_marked(&self, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        let ids = self.enqueue_unconfirmed(jobs, batch).await?;
        // With `wait_replicas`, stored counts only once the replicas have it: on every shard written (the node of
        // each on a cluster; one node has them all otherwise).
        let written: Vec<usize> = if self.is_cluster() {
            by_shard(jobs, |j| self.shard_of(j)).into_iter().map(|(shard, _)| shard).collect()
        } else {
            vec![0]
        };
        for shard in written {
            let (acked, wanted) = self.wait_for_replicas(shard).await?;
            if acked < wanted {
                return Err(crate::QueueError::NotReplicated { acked, wanted });
            }
        }
        Ok(ids)
    }

    async fn enqueue_unconfirmed(&self, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        if self.shards.len() == 1 {
            return self.enqueue_in(0, jobs, batch).await;
        }
        let groups = by_shard(jobs, |j| self.shard_of(j));
        let mut out = vec![String::new(); jobs.len()];
        if !self.is_cluster() {
            // One node: one transaction over every shard's part keeps the whole batch all or nothing.
            let retention = self.options.idempotency_retention.as_millis().max(1) as u64;
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut order: Vec<&[usize]> = Vec::new();
            for (shard, members) in &groups {
                for (c, chunk) in members.chunks(CHUNK).enumerate() {
                    let part: Vec<NewJob> = chunk.iter().map(|&i| jobs[i].clone()).collect();
                    let (mut keys, mut args) = (Vec::new(), Vec::new());
                    let k = self.shard_keys(*shard);
                    let marker = batch.map(|t| k.enqueue_marker(&format!("{t}:{shard}:{c}")));
                    enqueue_args(k, &part, retention, marker, |k| keys.push(k), |a| args.push(a));
                    pipe.cmd("EVAL").arg(ENQUEUE_SOURCE.as_str()).arg(keys.len()).arg(keys).arg(args);
                    order.push(chunk);
                }
            }
            let replies: Vec<Vec<String>> = pipe.query_async(&mut self.conn.clone()).await?;
            for (chunk, ids) in order.into_iter().zip(replies) {
                for (&i, id) in chunk.iter().zip(ids) {
                    out[i] = id;
                }
            }
            return Ok(out);
        }
        for (shard, members) in groups {
            let part: Vec<NewJob> = members.iter().map(|&i| jobs[i].clone()).collect();
            let ids = self.enqueue_in(shard, &part, batch).await?;
            for (&i, id) in members.iter().zip(ids) {
                out[i] = id;
            }
        }
        Ok(out)
    }

    async fn enqueue_in(&self, shard: usize, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let keys_of = self.shard_keys(shard);
        let mut conn = self.conn.clone();
        let retention = self.options.idempotency_retention.as_millis().max(1) as u64;
        let marker = |c: usize| batch.map(|t| keys_of.enqueue_marker(&format!("{t}:{shard}:{c}")));
        if jobs.len() <= CHUNK || self.is_cluster() {
            // One atomic script call per chunk.
            let mut out = Vec::with_capacity(jobs.len());
            for (c, chunk) in jobs.chunks(CHUNK).enumerate() {
                let (mut keys, mut args) = (Vec::new(), Vec::new());
                enqueue_args(keys_of, chunk, retention, marker(c), |k| keys.push(k), |a| args.push(a));
                let mut inv = self.scripts.enqueue.prepare_invoke();
                keys.into_iter().for_each(|k| {
                    inv.key(k);
                });
                args.into_iter().for_each(|a| {
                    inv.arg(a);
                });
                let ids: Vec<String> = inv.invoke_async(&mut conn).await?;
                out.extend(ids);
            }
            return Ok(out);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (c, chunk) in jobs.chunks(CHUNK).enumerate() {
            let mut keys = Vec::new();
            let mut args = Vec::new();
            enqueue_args(keys_of, chunk, retention, marker(c), |k| keys.push(k), |a| args.push(a));
            pipe.cmd("EVAL").arg(ENQUEUE_SOURCE.as_str()).arg(keys.len()).arg(keys).arg(args);
        }
        let ids: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        Ok(ids.into_iter().flatten().collect())
    }

    /// Leases up to `max` ready jobs to `holder` (a token unique to this call, e.g. `"<worker id>#<n>"`) until
    /// Redis's now + `lease`, from the shards in turn: it starts at the shard after the one the last call started
    /// at and moves on until it has `max` (a shard whose accounts are held back by their pace gives less, and
    /// another shard may hold an idle account's job). A job with a reclaim counted (quarantined) comes alone,
    /// and only if `may_quarantine` (the caller runs none already).
    pub async fn lease(&self, max: usize, lease: Duration, holder: &str, may_quarantine: bool) -> Result<Vec<Leased>> {
        Ok(self.lease_batch(max, lease, holder, may_quarantine, &PaceHints::new()).await?.jobs)
    }

    /// [`Queue::lease`], also saying when jobs held back by their account's pace may be leased. `hints`: per
    /// paced account, how far from now its next free rate-limit slot is as the caller last heard (every shard's
    /// pace takes it, so what one shard's jobs found out holds back the others' too).
    pub async fn lease_batch(
        &self,
        max: usize,
        lease: Duration,
        holder: &str,
        may_quarantine: bool,
        hints: &PaceHints,
    ) -> Result<LeaseBatch> {
        let count = self.shards.len();
        let start = self.next_shard.fetch_add(1, Ordering::Relaxed) % count;
        let mut out = LeaseBatch::default();
        for step in 0..count {
            let want = max - out.jobs.len();
            // A quarantined job comes alone: only a call that has nothing yet may take one.
            let quarantine = may_quarantine && out.jobs.is_empty();
            let batch = self.lease_from((start + step) % count, want, lease, holder, quarantine, hints).await?;
            out.paced_for = match (out.paced_for, batch.paced_for) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.jobs.extend(batch.jobs);
            // A shard whose accounts are held back by their pace gave less than asked, and the next shards may
            // have other accounts' work.
            if out.jobs.len() >= max || out.jobs.iter().any(|j| j.reclaims > 0) {
                break;
            }
        }
        Ok(out)
    }

    /// Leases up to `max` ready jobs of one shard, by lane, flow and pace (`lua/lease.lua`).
    pub async fn lease_from(
        &self,
        shard: usize,
        max: usize,
        lease: Duration,
        holder: &str,
        may_quarantine: bool,
        hints: &PaceHints,
    ) -> Result<LeaseBatch> {
        let k = self.shard_keys(shard);
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.lease.prepare_invoke();
        inv.key(k.ready())
            .key(k.leased())
            .key(k.jobs())
            .key(k.wake())
            .key(k.counts())
            .key(k.reclaims())
            .key(k.cancelled())
            .key(k.holders())
            .key(k.ready_accounts());
        inv.arg(lease.as_millis() as u64)
            .arg(max)
            .arg(holder)
            .arg(if may_quarantine { "one" } else { "none" })
            .arg(k.ready())
            .arg(self.options.horizon.as_millis() as u64)
            .arg(self.options.lanes.normal_share)
            .arg(self.options.lanes.low_share);
        for paced in &self.options.paced {
            let heard = hints.get(&paced.account).map_or(0, |d| d.as_millis() as u64);
            inv.arg(&paced.account).arg(paced.spacing.as_secs_f64() * 1000.0).arg(paced.burst).arg(heard);
        }
        let reply: Vec<String> = inv.invoke_async(&mut conn).await?;
        let mut it = reply.into_iter();
        let paced_for = it.next().and_then(|ms| ms.parse::<u64>().ok()).map(Duration::from_millis);
        let mut out = Vec::with_capacity(it.len() / 4);
        while let (Some(id), Some(value), Some(reclaims), Some(cancelled)) =
            (it.next(), it.next(), it.next(), it.next())
        {
            // A value that cannot be read is handed on whole: the worker records it `failed` and dead-letters it
            // rather than stalling on it.
            let (rev, account, campaign, envelope) =
                split_header(&value).unwrap_or((UNREADABLE, "", "", value.as_str()));
            out.push(Leased {
                envelope: envelope.to_string(),
                account: account.to_string(),
                campaign: (!campaign.is_empty()).then(|| campaign.to_string()),
                id,
                rev,
                reclaims: reclaims.parse().unwrap_or(0),
                cancelled: cancelled == "1",
                shard,
                holder: holder.to_string(),
            });
        }
        Ok(LeaseBatch { jobs: out, paced_for })
    }

    /// Finishes jobs; per job, whether this call finished it (false: finished already or rewritten since). One
    /// script call per shard involved.
    /// A job still at the revision leased is finished whoever holds its lease now (its call was made; see
    /// `ack.lua`), and the lease ends with it.
    pub async fn ack(&self, acks: &[Ack]) -> Result<Vec<bool>> {
        let mut out = vec![false; acks.len()];
        for (shard, members) in by_shard(acks, |a| a.shard) {
            let part: Vec<&Ack> = members.iter().map(|&i| &acks[i]).collect();
            for (&i, done) in members.iter().zip(self.ack_in(shard, &part).await?) {
                out[i] = done;
            }
        }
        Ok(out)
    }

    /// Waits (`WAIT`) for the configured replicas to have every write made so far on the connection to shard
    /// `shard`'s node; returns how many confirmed and how many were wanted (`(0, 0)` without `wait_replicas`).
    pub(crate) async fn wait_for_replicas(&self, shard: usize) -> Result<(u64, u64)> {
        let wanted = u64::from(self.options.wait_replicas);
        if wanted == 0 {
            return Ok((0, 0));
        }
        // A read of a shard key first routes the pipeline, WAIT with it, to the node holding the shard's slot.
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.shard_keys(shard).jobs()).ignore();
        pipe.cmd("WAIT").arg(wanted).arg(self.options.wait_timeout.as_millis().max(1) as u64);
        let (acked,): (u64,) = pipe.query_async(&mut self.conn.clone()).await?;
        Ok((acked, wanted))
    }

    async fn ack_in(&self, shard: usize, acks: &[&Ack]) -> Result<Vec<bool>> {
        let k = self.shard_keys(shard);
        let mut inv = self.scripts.ack.prepare_invoke();
        inv.key(k.jobs())
            .key(k.leased())
            .key(k.audit())
            .key(k.dead())
            .key(k.dead_jobs())
            .key(k.pending())
            .key(k.counts())
            .key(k.reclaims())
            .key(k.campaign_counts())
            .key(k.holders());
        inv.arg(self.options.audit_max_len)
            .arg(self.options.dead_max_len)
            .arg(self.options.dead_max_age.as_millis() as u64)
            .arg(FIELDS.len());
        for name in FIELDS {
            inv.arg(name);
        }
        for ack in acks {
            let dead = ack.dead_letter.as_deref().unwrap_or_default();
            let rev = if ack.rev == UNREADABLE { "any".to_string() } else { ack.rev.to_string() };
            inv.arg(&ack.id).arg(rev).arg(dead).arg(ack.records.len());
            for record in &ack.records {
                for (name, value) in FIELDS.iter().zip(record.values()) {
                    inv.arg(*name).arg(value);
                }
            }
        }
        let mut conn = self.conn.clone();
        let done = flags(inv.invoke_async(&mut conn).await?);
        // The ack stands whatever the replicas say (its calls were made); a shortfall is only logged.
        let (acked, wanted) = self.wait_for_replicas(shard).await?;
        if acked < wanted {
            tracing::warn!(shard, acked, wanted, "An ack was not confirmed by the replicas in time.");
        }
        Ok(done)
    }

    /// Moves leased jobs to the scheduled set with their rewritten envelopes; per job, whether it was moved.
    pub async fn reschedule(&self, items: &[Reschedule]) -> Result<Vec<bool>> {
        let mut out = vec![false; items.len()];
        for (shard, members) in by_shard(items, |r| r.shard) {
            let part: Vec<&Reschedule> = members.iter().map(|&i| &items[i]).collect();
            for (&i, done) in members.iter().zip(self.reschedule_in(shard, &part).await?) {
                out[i] = done;
            }
        }
        Ok(out)
    }

    async fn reschedule_in(&self, shard: usize, items: &[&Reschedule]) -> Result<Vec<bool>> {
        let mut inv = self.scripts.reschedule.prepare_invoke();
        let k = self.shard_keys(shard);
        inv.key(k.jobs()).key(k.leased()).key(k.scheduled()).key(k.audit()).key(k.counts()).key(k.campaign_counts());
        inv.key(k.holders()).key(k.reclaims());
        inv.arg(self.options.audit_max_len).arg(FIELDS.len()).arg("scheduled");
        for name in FIELDS {
            inv.arg(name);
        }
        for item in items {
            inv.arg(&item.id)
                .arg(item.rev)
                .arg(&item.holder)
                .arg(item.delay.as_millis() as u64)
                .arg(u8::from(item.attempted))
                .arg(&item.envelope)
                .arg(item.records.len());
            for record in &item.records {
                for (name, value) in FIELDS.iter().zip(record.values()) {
                    inv.arg(*name).arg(value);
                }
            }
        }
        let mut conn = self.conn.clone();
        Ok(flags(inv.invoke_async(&mut conn).await?))
    }

    /// Writes one expansion step atomically; false when the parent changed since it was leased.
    pub async fn expand(&self, step: &Expand) -> Result<bool> {
        let mut inv = self.scripts.expand.prepare_invoke();
        let k = self.shard_keys(step.shard);
        inv.key(k.jobs()).key(k.ready_accounts()).key(k.leased()).key(k.wake()).key(k.pending()).key(k.counts());
        inv.key(k.expansion_ids(&step.id));
        inv.key(k.holders()).key(k.reclaims());
        inv.arg(&step.id).arg(step.rev).arg(step.rest.as_deref().unwrap_or_default());
        inv.arg(step.pop).arg(k.ready()).arg(step.push.len());
        for id in &step.push {
            inv.arg(id);
        }
        for (id, envelope) in &step.children {
            inv.arg(id).arg(envelope);
        }
        let mut conn = self.conn.clone();
        let done: i64 = inv.invoke_async(&mut conn).await?;
        Ok(done == 1)
    }

    /// Hands leased jobs of one shard back to the front of their lanes, unchanged; returns how many. Only
    /// leases still held with their token are released (another worker's lease is never touched); with
    /// `waiting_only`, only those whose provider call has not started (a call in flight keeps its lease).
    pub async fn release(&self, shard: usize, leases: &[Lease], waiting_only: bool) -> Result<u64> {
        self.release_paced(shard, leases, waiting_only, None).await
    }

    /// [`Queue::release`] of jobs whose account has no rate-limit slot for them within the horizon: `paced` is
    /// the account and how long from Redis's now until its next slot, where the shard's pace for it moves, so
    /// its jobs wait in their lanes until then (holding no slot).
    pub async fn release_paced(
        &self,
        shard: usize,
        leases: &[Lease],
        waiting_only: bool,
        paced: Option<(&str, Duration)>,
    ) -> Result<u64> {
        if leases.is_empty() {
            return Ok(0);
        }
        let k = self.shard_keys(shard);
        let mut inv = self.scripts.release.prepare_invoke();
        inv.key(k.leased()).key(k.ready_accounts()).key(k.wake()).key(k.jobs()).key(k.counts()).key(k.holders());
        inv.arg(if waiting_only { "waiting" } else { "any" }).arg(k.ready());
        match paced {
            Some((account, wait)) => inv.arg(account).arg(wait.as_millis() as u64),
            None => inv.arg("").arg(0),
        };
        for lease in leases {
            inv.arg(&lease.id).arg(&lease.holder);
        }
        let mut conn = self.conn.clone();
        Ok(inv.invoke_async(&mut conn).await?)
    }

    /// Keeps leases of one shard: each still held with its token ends `lease` after Redis's now; those marked
    /// `true` are recorded as having their provider call start now (a reclaim then counts toward the job's
    /// poison limit). Per lease, whether it is still held: a job whose lease was lost (reclaimed after it expired,
    /// or finished) must not be called. One script call per chunk of 1,000.
    pub async fn hold(&self, shard: usize, leases: &[(Lease, bool)], lease: Duration) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(leases.len());
        let mut conn = self.conn.clone();
        let k = self.shard_keys(shard);
        for chunk in leases.chunks(CHUNK) {
            let mut inv = self.scripts.hold.prepare_invoke();
            inv.key(k.leased()).key(k.holders()).arg(lease.as_millis() as u64);
            for (held, starts) in chunk {
                inv.arg(&held.id).arg(&held.holder).arg(if *starts { "s" } else { "e" });
            }
            let flags_of_chunk: Vec<i64> = inv.invoke_async(&mut conn).await?;
            out.extend(flags(flags_of_chunk));
        }
        Ok(out)
    }

    /// Moves every scheduled job due by Redis's now to the back of its shard's ready list; returns how many.
    pub async fn promote_due(&self) -> Result<u64> {
        let mut total = 0;
        for (shard, k) in self.all_shards() {
            total += self.promote(shard, k.scheduled(), "now", "back", "scheduled").await?;
        }
        Ok(total)
    }

    /// Moves every job whose lease expired by Redis's now (its worker died or stalled) to the front of its
    /// shard's ready list; a job whose call had started counts a reclaim.
    pub async fn reclaim_expired(&self) -> Result<u64> {
        let mut total = 0;
        for (shard, k) in self.all_shards() {
            total += self.promote(shard, k.leased(), "now", "front", "leased").await?;
        }
        Ok(total)
    }

    /// Moves every job of one shard's set whose members are not counted per state (a parked account's jobs).
    pub(crate) async fn promote_all_uncounted(&self, shard: usize, from: &str, end: &str) -> Result<u64> {
        self.promote(shard, from, "all", end, "").await
    }

    /// `cutoff`: `"now"` (members due by Redis's clock) or `"all"`.
    async fn promote(&self, shard: usize, from: &str, cutoff: &str, end: &str, state: &str) -> Result<u64> {
        let mut total = 0;
        let mut conn = self.conn.clone();
        let k = self.shard_keys(shard);
        loop {
            let moved: u64 = self
                .scripts
                .promote
                .key(from)
                .key(k.ready_accounts())
                .key(k.wake())
                .key(k.jobs())
                .key(k.counts())
                .key(k.reclaims())
                .key(k.holders())
                .arg(cutoff)
                .arg(CHUNK)
                .arg(end)
                .arg(state)
                .arg(k.ready())
                .invoke_async(&mut conn)
                .await?;
            total += moved;
            if moved < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// The earliest due time in any shard's scheduled set, to sleep until it.
    pub async fn next_due_ms(&self) -> Result<Option<u64>> {
        let mut conn = self.conn.clone();
        let mut earliest: Option<u64> = None;
        for (_, k) in self.all_shards() {
            let first: Vec<(String, f64)> =
                redis::cmd("ZRANGE").arg(k.scheduled()).arg(0).arg(0).arg("WITHSCORES").query_async(&mut conn).await?;
            if let Some((_, score)) = first.first() {
                earliest = Some(earliest.map_or(*score as u64, |e| e.min(*score as u64)));
            }
        }
        Ok(earliest)
    }

    /// A waiter that blocks until work may be ready in any shard.
    pub fn waiter(&self) -> Waiter {
        let keys = self.shards.iter().map(|k| k.wake().to_string()).collect();
        Waiter { target: self.target.clone(), keys, conns: Vec::new() }
    }
}

/// Blocks an idle worker on the wake lists, on connections of its own: one `BLPOP` over every shard's list on a
/// single node; on a Redis Cluster, where one command cannot span slots, one `BLPOP` per shard at once.
pub struct Waiter {
    target: RedisTarget,
    keys: Vec<String>,
    conns: Vec<Conn>,
}

impl Waiter {
    /// Waits up to `block` for a wake token; `Ok(true)` when woken.
    pub async fn wait(&mut self, block: Duration) -> Result<bool> {
        let needed = if self.target.is_cluster() { self.keys.len() } else { 1 };
        while self.conns.len() < needed {
            let conn = self.target.blocking(Duration::from_secs(5)).await?;
            self.conns.push(conn);
        }
        let reply = if self.target.is_cluster() {
            let waits = self.conns.iter_mut().zip(&self.keys).map(|(conn, key)| {
                Box::pin(async move {
                    redis::cmd("BLPOP")
                        .arg(key)
                        .arg(block.as_secs_f64())
                        .query_async::<Option<(String, String)>>(conn)
                        .await
                })
            });
            futures_util::future::select_all(waits).await.0
        } else {
            redis::cmd("BLPOP").arg(&self.keys).arg(block.as_secs_f64()).query_async(&mut self.conns[0]).await
        };
        match reply {
            Ok(token) => Ok(token.is_some()),
            Err(e) => {
                self.conns.clear();
                Err(e.into())
            }
        }
    }
}

/// The enqueue script's KEYS and ARGV for `jobs` in the shard of `k`, handed to `key` and `arg` in order; `marker`
/// is this call's batch marker key, if any.
fn enqueue_args(
    k: &Keys,
    jobs: &[NewJob],
    retention_ms: u64,
    marker: Option<String>,
    mut key: impl FnMut(String),
    mut arg: impl FnMut(String),
) {
    let accounts = k.ready_accounts();
    let fixed = [k.jobs(), accounts.as_str(), k.scheduled(), k.wake(), k.pending(), k.counts()];
    fixed.into_iter().for_each(|k| key(k.to_string()));
    let mut next_key = fixed.len();
    arg(retention_ms.to_string());
    match marker {
        Some(marker) => {
            key(marker);
            next_key += 1;
            arg(next_key.to_string());
        }
        None => arg("0".to_string()),
    }
    arg(BATCH_MARKER_TTL.as_millis().to_string());
    arg(k.ready().to_string());
    for job in jobs {
        let index = match &job.idempotency_key {
            Some(key_text) => {
                key(k.idempotency(key_text));
                next_key += 1;
                next_key
            }
            None => 0,
        };
        arg(job.id.clone());
        arg(job.due_ms.to_string());
        arg(stored(0, &job.account, job.campaign.as_deref().unwrap_or(""), job.priority, &job.envelope));
        arg(index.to_string());
        arg(job.account.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_split_in_both_forms() {
        let value = stored(3, "cc", "C1", deleteq_core::Priority::Low, r#"{"v":1,"job":{"reason":"a|b"}}"#);
        assert!(value.starts_with("3|cc|C1|low|C1|{"), "{value}");
        assert_eq!(split_header(&value), Some((3, "cc", "C1", r#"{"v":1,"job":{"reason":"a|b"}}"#)));
        assert_eq!(
            split_header(r#"4|cc|C1|{"v":1,"job":{"reason":"a|b"}}"#),
            Some((4, "cc", "C1", r#"{"v":1,"job":{"reason":"a|b"}}"#)),
            "the form before lanes"
        );
        assert_eq!(
            split_header(r#"2|{"v":1,"job":{"reason":"a|b|c"}}"#),
            Some((2, "", "", r#"{"v":1,"job":{"reason":"a|b|c"}}"#))
        );
        assert_eq!(split_header("junk"), None);
    }

    #[test]
    fn shards_are_stable() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
