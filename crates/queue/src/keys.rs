//! The key schema: every key deleteq uses, with its Redis type. All keys of a queue share the hash tag
//! `{prefix}`, so the whole queue lives in one Redis Cluster slot and every script touches one slot only.

/// HASH limiting one account's calls across every worker (GCRA: `tat`, `factor`, `calm`). Under its own hash tag
/// `{prefix:acct:NAME}`: an account spans shards, so its limiter lives apart from any queue.
pub fn account_rate(prefix: &str, account: &str) -> String {
    format!("{{{prefix}:acct:{account}}}:rate")
}

/// STRING holding why and since when an account is parked (JSON); absent when it is not. Under the account's own
/// hash tag, like its rate limiter.
pub fn account_parked(prefix: &str, account: &str) -> String {
    format!("{{{prefix}:acct:{account}}}:parked")
}

/// HASH of an account's circuit breaker (server-side failures across workers, open until when). Under the
/// account's own hash tag.
pub fn account_circuit(prefix: &str, account: &str) -> String {
    format!("{{{prefix}:acct:{account}}}:circuit")
}

/// The keys of one queue (one shard).
#[derive(Debug, Clone)]
pub struct Keys {
    jobs: String,
    ready: String,
    leased: String,
    scheduled: String,
    dead: String,
    dead_jobs: String,
    audit: String,
    wake: String,
    idempotency: String,
    expansion_prefix: String,
    enqueue_prefix: String,
    parked_prefix: String,
    parked_accounts: String,
    pending: String,
    counts: String,
    reclaims: String,
    holders: String,
    campaigns: String,
    campaign_counts: String,
    cancelled: String,
}

impl Keys {
    /// The keys of a queue with one shard: hash tag `{prefix}`.
    pub fn new(prefix: &str) -> Self {
        Keys::tagged(prefix.to_string())
    }

    /// The keys of shard `shard` of `shards`: hash tag `{prefix:shard}`, or `{prefix}` when there is one shard
    /// (DESIGN §8), so each shard lives in one Redis Cluster slot.
    pub fn shard(prefix: &str, shard: usize, shards: usize) -> Self {
        if shards <= 1 {
            Keys::new(prefix)
        } else {
            Keys::tagged(format!("{prefix}:{shard}"))
        }
    }

    fn tagged(tag: String) -> Self {
        let k = |name: &str| format!("{{{tag}}}:{name}");
        Keys {
            jobs: k("jobs"),
            ready: k("ready"),
            leased: k("leased"),
            scheduled: k("scheduled"),
            dead: k("dead"),
            dead_jobs: k("dead:jobs"),
            audit: k("audit"),
            wake: k("wake"),
            idempotency: k("idem:"),
            expansion_prefix: k("expanding:"),
            enqueue_prefix: k("enqueued:"),
            parked_prefix: k("parked:"),
            parked_accounts: k("parked-accounts"),
            pending: k("pending"),
            counts: k("counts"),
            reclaims: k("reclaims"),
            holders: k("leased:holders"),
            campaigns: k("campaigns"),
            campaign_counts: k("campaign:counts"),
            cancelled: k("campaigns:cancelled"),
        }
    }

    /// HASH job id → its stored value, `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope JSON>"` (the header
    /// the scripts read, then the envelope, compact for a fresh job: [`crate::stored`]): every job not yet
    /// finished. Its presence is the job's terminal marker: once finished, a job is deleted here and nothing can
    /// finish it twice.
    pub fn jobs(&self) -> &str {
        &self.jobs
    }

    /// LIST of job ids queued before lanes (an older version's ready list): leased first, never pushed to. Also
    /// the prefix of the lanes' keys ([`Keys::ready_accounts`], `lua/shared.lua`).
    pub fn ready(&self) -> &str {
        &self.ready
    }

    /// LIST of the accounts with ready jobs, each once, leased from in turn. The root of the lanes: under the
    /// [`Keys::ready`] prefix, `<lane>:<account>` lists the lane's flows and `<lane>:<account>:<flow>` a flow's
    /// job ids (DESIGN §6; kept by the scripts, see `lua/shared.lua`).
    pub fn ready_accounts(&self) -> String {
        format!("{}:accounts", self.ready)
    }

    /// LIST of one lane's flows with ready jobs (a campaign, a bulk job's children, or `""` for the account's
    /// other jobs), each once, taken in turn.
    pub fn ready_flows(&self, lane: deleteq_core::Priority, account: &str) -> String {
        format!("{}:{lane}:{account}", self.ready)
    }

    /// LIST of one flow's ready job ids, in order. May hold ids of jobs already finished; leasing skips them.
    pub fn ready_flow(&self, lane: deleteq_core::Priority, account: &str, flow: &str) -> String {
        format!("{}:{lane}:{account}:{flow}", self.ready)
    }

    /// HASH `"<lane>:<account>"` → ids waiting in that lane (kept by the scripts that push and take).
    pub fn ready_depth(&self) -> String {
        format!("{}:depth", self.ready)
    }

    /// HASH account → Redis ms when its next call may go, as this shard knows it: a paced account's jobs are
    /// leased only as far as their calls fit within the horizon ahead of it.
    pub fn ready_pace(&self) -> String {
        format!("{}:pace", self.ready)
    }

    /// ZSET job id → lease expiry (ms, Redis's clock). Expired entries are reclaimed by any live worker.
    pub fn leased(&self) -> &str {
        &self.leased
    }

    /// ZSET job id → due time (ms, Redis's clock): `run_at` jobs and retries.
    pub fn scheduled(&self) -> &str {
        &self.scheduled
    }

    /// ZSET job id → dead-lettered at (ms), bounded by `[dlq] max_len`.
    pub fn dead(&self) -> &str {
        &self.dead
    }

    /// HASH job id → the stored value of a dead-lettered job (the form of [`Keys::jobs`], [`crate::stored`]): its
    /// header, then its envelope whole with its last error (the raw text of a value that could not be read).
    pub fn dead_jobs(&self) -> &str {
        &self.dead_jobs
    }

    /// STREAM of audit records, trimmed with `MAXLEN ~`.
    pub fn audit(&self) -> &str {
        &self.audit
    }

    /// STRING per idempotency key → the id of the first job enqueued with it; expires after the retention.
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}{key}", self.idempotency)
    }

    /// STRING per enqueue script call made under a producer's batch token → `1`, expiring after the idempotency
    /// retention: a repeat of the same call (its reply was lost) finds it and stores nothing twice.
    pub fn enqueue_marker(&self, call: &str) -> String {
        format!("{}{call}", self.enqueue_prefix)
    }

    /// LIST of the message ids a bulk job being expanded has not yet given to children, in order: stored once at
    /// its first expansion step and consumed from the head by the later ones, so each step moves only the ids it
    /// expands (the job's own envelope then carries none, see `Envelope::listed`). Deleted with the last step.
    pub fn expansion_ids(&self, parent: &str) -> String {
        format!("{}{parent}", self.expansion_prefix)
    }

    /// ZSET job id → parked at (ms): the jobs of a parked account, waiting untouched for `accounts resume`.
    pub fn parked_jobs(&self, account: &str) -> String {
        format!("{}{account}", self.parked_prefix)
    }

    /// SET of the accounts that have (or had) jobs set aside in this shard's parked sets, so jobs of an account
    /// removed from the config can be found and dead-lettered. A member goes when its set is found empty.
    pub fn parked_accounts(&self) -> &str {
        &self.parked_accounts
    }

    /// HASH account → its unfinished jobs in this queue (queued, leased, scheduled or parked); a field goes when it
    /// reaches zero.
    pub fn pending(&self) -> &str {
        &self.pending
    }

    /// HASH `"<state>:<account>"` → jobs of that account leased, scheduled (run_at and retries) or dead-lettered.
    /// Kept by the scripts that move jobs, so `status` reads per-account depths in one call, without a scan.
    pub fn counts(&self) -> &str {
        &self.counts
    }

    /// HASH job id → how many times its worker died during its provider call (its lease expired after the call
    /// had started, and it was reclaimed). A job that keeps killing workers is stopped after
    /// `[worker] max_reclaims`; a job with a count is leased alone. Deleted with the job, and when it is
    /// rescheduled after a call that returned.
    pub fn reclaims(&self) -> &str {
        &self.reclaims
    }

    /// HASH job id → the token of the lease holding it (`"<worker id>#<n>"`), with `*` appended once its provider
    /// call started. Present exactly while the job is in the leased set: only that token extends, releases or
    /// reschedules it, and a reclaim counts only when the call had started. `lua/cancel.lua` ends a lease whose
    /// call has not started (no `*`) with its job, so the holder's start is refused and the job never called.
    pub fn holders(&self) -> &str {
        &self.holders
    }

    /// HASH campaign id → its description (JSON: name, total, created, cancelled).
    pub fn campaigns(&self) -> &str {
        &self.campaigns
    }

    /// HASH `"<campaign>:<outcome>"` → messages of the campaign with that terminal outcome; moved only by the
    /// scripts that write terminal records, so the counts are exact under at-least-once.
    pub fn campaign_counts(&self) -> &str {
        &self.campaign_counts
    }

    /// SET of cancelled campaign ids; leasing marks their jobs so they end `cancelled` without a call.
    pub fn cancelled(&self) -> &str {
        &self.cancelled
    }

    /// LIST holding at most one token: idle workers block on it and are woken when work arrives.
    pub fn wake(&self) -> &str {
        &self.wake
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_carries_the_hash_tag() {
        let k = super::Keys::new("deleteq");
        for key in [k.jobs(), k.ready(), k.leased(), k.scheduled(), k.dead(), k.dead_jobs(), k.audit(), k.wake()] {
            assert!(key.starts_with("{deleteq}:"), "{key}");
        }
        assert_eq!(k.audit(), "{deleteq}:audit");
        assert_eq!(super::Keys::shard("deleteq", 0, 1).audit(), "{deleteq}:audit");
        assert_eq!(super::Keys::shard("deleteq", 3, 4).ready(), "{deleteq:3}:ready");
    }
}
