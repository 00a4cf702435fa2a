//! `lua/enqueue.lua`: storing new jobs. Its header comment lists the KEYS and ARGV that [`args`] builds, in the
//! same order.

use super::Call;
use crate::job::NewJob;
use crate::keys::Keys;
use crate::stored::stored;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/enqueue.lua");

/// How long an enqueue call's batch marker is kept ([`crate::Queue::enqueue_marked`]): longer than a producer goes
/// on repeating a batch whose reply was lost (a minute at most), and short enough that markers of many small
/// enqueues cost little memory.
pub const BATCH_MARKER_TTL: Duration = Duration::from_secs(120);

/// KEYS before the batch marker and the idempotency keys.
const FIXED_KEYS: usize = 6;

/// The KEYS and ARGV to store `jobs` (at most [`super::CHUNK`]) in the shard of `k`; `marker` is this call's batch
/// marker key, if any.
pub(crate) fn args(call: &mut impl Call, k: &Keys, jobs: &[NewJob], retention_ms: u64, marker: Option<String>) {
    call.key(k.jobs()).key(k.ready_accounts()).key(k.scheduled()).key(k.wake()).key(k.pending()).key(k.counts());
    let mut next_key = FIXED_KEYS;
    call.arg(retention_ms);
    match marker {
        Some(marker) => {
            call.key(marker);
            next_key += 1;
            call.arg(next_key);
        }
        None => {
            call.arg(0);
        }
    }
    call.arg(BATCH_MARKER_TTL.as_millis() as u64).arg(k.ready());
    for job in jobs {
        let index = match &job.idempotency_key {
            Some(key_text) => {
                call.key(k.idempotency(key_text));
                next_key += 1;
                next_key
            }
            None => 0,
        };
        let value = stored(0, &job.account, job.campaign.as_deref().unwrap_or(""), job.priority, &job.envelope);
        call.arg(&job.id).arg(job.due_ms).arg(value).arg(index).arg(&job.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    fn job(id: &str, key: Option<&str>) -> NewJob {
        NewJob {
            id: id.into(),
            due_ms: 0,
            envelope: "{}".into(),
            idempotency_key: key.map(str::to_string),
            account: "cc".into(),
            campaign: None,
            priority: deleteq_core::Priority::Normal,
        }
    }

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (FIXED_KEYS, 4));
        let k = Keys::new("t");
        let mut call = Recorded::default();
        args(&mut call, &k, &[job("A", Some("ka")), job("B", None)], 1000, Some(k.enqueue_marker("b:0:0")));
        // The marker, then one idempotency key; five ARGV per job.
        assert_eq!(call.counts(), (keys + 2, argv + 2 * 5));
        assert_eq!(call.argv(2), "7", "ARGV[2] is the marker's index in KEYS");
        assert_eq!(call.key_at(7), k.enqueue_marker("b:0:0"));
        assert_eq!(call.argv(4), k.ready());
        assert_eq!((call.argv(5), call.argv(8), call.argv(9)), ("A".into(), "8".into(), "cc".into()));
        assert_eq!(call.key_at(8), k.idempotency("ka"));
        assert_eq!((call.argv(10), call.argv(13)), ("B".into(), "0".into()));
        let mut call = Recorded::default();
        args(&mut call, &k, &[job("A", None)], 1000, None);
        assert_eq!((call.counts(), call.argv(2)), ((keys, argv + 5), "0".into()));
    }
}
