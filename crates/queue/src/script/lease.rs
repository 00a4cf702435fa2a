//! `lua/lease.lua`: leasing ready jobs from one shard's lanes. Its header comment lists the KEYS and ARGV that
//! [`args`] builds, in the same order, and the reply that [`reply`] reads.

use super::Call;
use crate::job::{LeaseBatch, Leased, PaceHints};
use crate::keys::Keys;
use crate::options::QueueOptions;
use crate::stored::{split_header, UNREADABLE};
use crate::QueueError;
use redis::Value;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/lease.lua");

/// The KEYS and ARGV to lease up to `max` jobs of the shard of `k` to `holder` for `lease`; a quarantined job
/// only if `may_quarantine`. The paced accounts come from `options`, with the caller's `hints` on their next slot.
pub(crate) fn args(
    call: &mut impl Call,
    k: &Keys,
    options: &QueueOptions,
    (max, lease, holder): (usize, Duration, &str),
    may_quarantine: bool,
    hints: &PaceHints,
) {
    call.key(k.ready())
        .key(k.leased())
        .key(k.jobs())
        .key(k.wake())
        .key(k.counts())
        .key(k.reclaims())
        .key(k.cancelled())
        .key(k.holders())
        .key(k.ready_accounts());
    call.arg(lease.as_millis() as u64)
        .arg(max)
        .arg(holder)
        .arg(if may_quarantine { "one" } else { "none" })
        .arg(k.ready())
        .arg(options.horizon.as_millis() as u64)
        .arg(options.lanes.normal_share)
        .arg(options.lanes.low_share);
    for paced in &options.paced {
        let heard = hints.get(&paced.account).map_or(0, |d| d.as_millis() as u64);
        call.arg(&paced.account).arg(paced.spacing.as_secs_f64() * 1000.0).arg(paced.burst).arg(heard);
    }
}

/// The jobs of a reply (of shard `shard`, leased to `holder`), and when a paced account held back may be leased.
/// The reply is `[wait, marked, id, value, id, value, ...]`: `marked` lists (position, reclaims, cancelled) for
/// the few jobs with a reclaim counted or a cancelled campaign, so a batch of plain jobs costs two values per job.
pub(crate) fn reply(reply: Value, shard: usize, holder: &str) -> Result<LeaseBatch, QueueError> {
    let Value::Array(items) = reply else { return Err(unexpected("not a list", &reply)) };
    let mut it = items.into_iter();
    let paced_for = match it.next() {
        Some(wait) => text(wait)?.parse::<u64>().ok().map(Duration::from_millis),
        None => None,
    };
    let marked = match it.next() {
        Some(Value::Array(marked)) => marked.into_iter().map(number).collect::<Result<Vec<i64>, _>>()?,
        Some(other) => return Err(unexpected("marks are not a list", &other)),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(it.len() / 2);
    while let (Some(id), Some(value)) = (it.next(), it.next()) {
        let (id, value) = (text(id)?, text(value)?);
        // A value that cannot be read is handed on whole: the worker records it `failed` and dead-letters it
        // rather than stalling on it.
        let (rev, account, campaign, envelope) = split_header(&value).unwrap_or((UNREADABLE, "", "", value.as_str()));
        out.push(Leased {
            envelope: envelope.to_string(),
            account: account.to_string(),
            campaign: (!campaign.is_empty()).then(|| campaign.to_string()),
            id,
            rev,
            reclaims: 0,
            cancelled: false,
            shard,
            holder: holder.to_string(),
        });
    }
    let jobs = out.len();
    for mark in marked.chunks(3) {
        let &[at, reclaims, cancelled] = mark else { return Err(QueueError::Protocol("a short lease mark".into())) };
        let job = usize::try_from(at).ok().and_then(|at| at.checked_sub(1)).and_then(|at| out.get_mut(at));
        let job = job.ok_or_else(|| QueueError::Protocol(format!("lease mark for job {at} of {jobs}")))?;
        job.reclaims = u32::try_from(reclaims).unwrap_or(0);
        job.cancelled = cancelled == 1;
    }
    Ok(LeaseBatch { jobs: out, paced_for })
}

fn text(value: Value) -> Result<String, QueueError> {
    match value {
        Value::BulkString(bytes) => {
            String::from_utf8(bytes).map_err(|_| QueueError::Protocol("a lease reply that is not UTF-8".into()))
        }
        Value::SimpleString(text) => Ok(text),
        other => Err(unexpected("a text expected", &other)),
    }
}

fn number(value: Value) -> Result<i64, QueueError> {
    match value {
        Value::Int(n) => Ok(n),
        other => Err(unexpected("a number expected", &other)),
    }
}

fn unexpected(what: &str, value: &Value) -> QueueError {
    QueueError::Protocol(format!("lease reply: {what}: {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Paced;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (9, 8));
        let mut options = QueueOptions::from_config(&deleteq_core::Config::default());
        let paced = |account: &str| Paced { account: account.into(), spacing: Duration::from_millis(10), burst: 2 };
        options.paced = vec![paced("a"), paced("b")];
        let hints = PaceHints::from([("b".to_string(), Duration::from_millis(7))]);
        let k = Keys::new("t");
        let mut call = Recorded::default();
        args(&mut call, &k, &options, (5, Duration::from_secs(3), "w#1"), true, &hints);
        // Four ARGV per paced account.
        assert_eq!(call.counts(), (keys, argv + 2 * 4));
        assert_eq!(
            (call.argv(1), call.argv(2), call.argv(3), call.argv(4)),
            ("3000".into(), "5".into(), "w#1".into(), "one".into())
        );
        assert_eq!((call.key_at(9), call.argv(5)), (k.ready_accounts(), k.ready().to_string()));
        assert_eq!(
            (call.argv(9), call.argv(10), call.argv(11), call.argv(12)),
            ("a".into(), "10.0".into(), "2".into(), "0".into())
        );
        assert_eq!((call.argv(13), call.argv(16)), ("b".into(), "7".into()));
    }

    #[test]
    fn replies_read_unreadable_values_whole_and_marks_apply_to_their_jobs() {
        let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let marks = Value::Array(vec![
            Value::Int(1),
            Value::Int(1),
            Value::Int(0),
            Value::Int(2),
            Value::Int(0),
            Value::Int(1),
        ]);
        let items = vec![
            text(""),
            marks,
            text("J1"),
            text("2|cc|C1|high|C1|{}"),
            text("J2"),
            text("junk"),
            text("J3"),
            text("4|cc||normal||{}"),
        ];
        let batch = reply(Value::Array(items), 3, "w#1").expect("a reply of the script's form");
        assert_eq!(batch.paced_for, None);
        let j1 = &batch.jobs[0];
        assert_eq!(
            (j1.rev, j1.account.as_str(), j1.campaign.as_deref(), j1.envelope.as_str()),
            (2, "cc", Some("C1"), "{}")
        );
        assert_eq!((j1.reclaims, j1.cancelled, j1.shard, j1.holder.as_str()), (1, false, 3, "w#1"));
        let j2 = &batch.jobs[1];
        assert_eq!((j2.rev, j2.envelope.as_str(), j2.reclaims, j2.cancelled), (UNREADABLE, "junk", 0, true));
        let j3 = &batch.jobs[2];
        assert_eq!((j3.rev, j3.campaign.as_deref(), j3.reclaims, j3.cancelled), (4, None, 0, false));
        let waiting = reply(Value::Array(vec![text("40"), Value::Array(vec![])]), 0, "w").expect("a wait");
        assert_eq!((waiting.paced_for, waiting.jobs.len()), (Some(Duration::from_millis(40)), 0));
    }

    #[test]
    fn a_reply_the_script_never_gives_is_refused() {
        let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let mark = |at| Value::Array(vec![Value::Int(at), Value::Int(1), Value::Int(0)]);
        for wrong in [
            Value::Int(1),
            Value::Array(vec![text(""), text("not marks")]),
            Value::Array(vec![text(""), mark(2), text("J1"), text("1|cc||normal||{}")]),
            Value::Array(vec![text(""), mark(0), text("J1"), text("1|cc||normal||{}")]),
            Value::Array(vec![text(""), Value::Array(vec![Value::Int(1)]), text("J1"), text("1|cc||normal||{}")]),
        ] {
            assert!(matches!(reply(wrong.clone(), 0, "w"), Err(QueueError::Protocol(_))), "{wrong:?}");
        }
    }
}
