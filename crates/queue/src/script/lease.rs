//! `lua/lease.lua`: leasing ready jobs from one shard's lanes. Its header comment lists the KEYS and ARGV that
//! [`args`] builds, in the same order, and the reply that [`reply`] reads.

use super::Call;
use crate::job::{LeaseBatch, Leased, PaceHints};
use crate::keys::Keys;
use crate::options::QueueOptions;
use crate::stored::{split_header, UNREADABLE};
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
pub(crate) fn reply(reply: Vec<String>, shard: usize, holder: &str) -> LeaseBatch {
    let mut it = reply.into_iter();
    let paced_for = it.next().and_then(|ms| ms.parse::<u64>().ok()).map(Duration::from_millis);
    let mut out = Vec::with_capacity(it.len() / 4);
    while let (Some(id), Some(value), Some(reclaims), Some(cancelled)) = (it.next(), it.next(), it.next(), it.next()) {
        // A value that cannot be read is handed on whole: the worker records it `failed` and dead-letters it
        // rather than stalling on it.
        let (rev, account, campaign, envelope) = split_header(&value).unwrap_or((UNREADABLE, "", "", value.as_str()));
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
    LeaseBatch { jobs: out, paced_for }
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
    fn replies_read_unreadable_values_whole() {
        let text = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let batch = reply(text(&["", "J1", "2|cc|C1|high|C1|{}", "1", "0", "J2", "junk", "0", "1"]), 3, "w#1");
        assert_eq!(batch.paced_for, None);
        let j1 = &batch.jobs[0];
        assert_eq!(
            (j1.rev, j1.account.as_str(), j1.campaign.as_deref(), j1.envelope.as_str()),
            (2, "cc", Some("C1"), "{}")
        );
        assert_eq!((j1.reclaims, j1.cancelled, j1.shard, j1.holder.as_str()), (1, false, 3, "w#1"));
        let j2 = &batch.jobs[1];
        assert_eq!((j2.rev, j2.envelope.as_str(), j2.cancelled), (UNREADABLE, "junk", true));
        assert_eq!(reply(text(&["40"]), 0, "w").paced_for, Some(Duration::from_millis(40)));
    }
}
