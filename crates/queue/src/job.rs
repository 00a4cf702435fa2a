//! The jobs as the queue's calls take and give them: [`NewJob`] (enqueue), [`Leased`], [`Lease`], [`LeaseBatch`]
//! and [`PaceHints`] (lease, hold, release), [`Ack`], [`Reschedule`] and [`Expand`] (what a worker writes back).

use deleteq_core::audit::AuditRecord;
use std::time::Duration;

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
    /// The envelope JSON, compact or whole: read it with [`crate::stored::decode_stored`].
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
    /// Ids this step took from the head of the parent's id list ([`crate::Keys::expansion_ids`]).
    pub pop: u64,
    /// Ids to store in the parent's id list for the later steps (the first step of an inline list only).
    pub push: Vec<String>,
    /// The account (for logs; the script reads it from the stored header).
    pub account: String,
}

/// The holder token of a worker's `seq`-th lease call: `<worker>#<seq>`, padded with `.` to
/// [`HOLDER_TOKEN_LEN`] bytes.
///
/// Why padded: Redis keeps a hash whose values are all short (`hash-max-listpack-value`, 64 bytes by default) and
/// that has few fields (`hash-max-listpack-entries`, 128 to 512) as a listpack, which every HGET, HSET and HDEL
/// searches field by field. The holders hash has about as many fields as jobs in flight, which is just that size,
/// and it is read or written four times per job; as a listpack that cost a third of the noop drain's rate. A value
/// longer than 64 bytes makes Redis keep it as a real hash table for as long as it exists.
pub fn holder_token(worker: &str, seq: u64) -> String {
    let mut token = format!("{worker}#{seq}");
    while token.len() < HOLDER_TOKEN_LEN {
        token.push('.');
    }
    token
}

/// The least length of a holder token (see [`holder_token`]): over Redis's default `hash-max-listpack-value`.
pub const HOLDER_TOKEN_LEN: usize = 72;

#[cfg(test)]
mod holder_token_tests {
    #[test]
    fn tokens_are_long_enough_for_a_hash_table_and_stay_unique() {
        let a = super::holder_token("4242-01JDX7Q0000000000000000000", 1);
        let b = super::holder_token("4242-01JDX7Q0000000000000000000", 11);
        assert_eq!(a.len(), super::HOLDER_TOKEN_LEN);
        assert!(
            a.starts_with("4242-01JDX7Q0000000000000000000#1.") && b.starts_with("4242-01JDX7Q0000000000000000000#11.")
        );
        assert_ne!(a, b);
        let long = super::holder_token(&"w".repeat(100), 7);
        assert!(long.ends_with("#7"), "{long}");
    }
}
