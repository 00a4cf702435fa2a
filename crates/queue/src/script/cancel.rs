//! `lua/cancel.lua`: ending single jobs whose call has not started `cancelled`. Its header comment lists the KEYS
//! and ARGV that [`args`] builds, in the same order; it replies one code per job ([`reply`]).

use super::{field_names, Call};
use crate::cancel::{CancelJob, CancelReply};
use crate::keys::Keys;
use deleteq_core::audit::FIELDS;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/cancel.lua");

/// The KEYS and ARGV to cancel `jobs`, all of the shard of `k`, each at the revision its canceller read.
pub(crate) fn args(call: &mut impl Call, k: &Keys, audit_max_len: u64, jobs: &[&CancelJob]) {
    call.key(k.jobs())
        .key(k.leased())
        .key(k.holders())
        .key(k.scheduled())
        .key(k.audit())
        .key(k.pending())
        .key(k.counts())
        .key(k.campaign_counts())
        .key(k.reclaims())
        .key(k.ready())
        .key(k.ready_accounts());
    call.arg(audit_max_len).arg(k.ready()).arg(k.parked_jobs("")).arg(k.expansion_ids("")).arg(FIELDS.len());
    field_names(call);
    for job in jobs {
        call.arg(&job.id).arg(job.rev).arg(if job.listed { "1" } else { "0" }).arg(job.messages.len());
        for message in &job.messages {
            call.arg(message);
        }
        for value in job.record.values() {
            call.arg(value);
        }
    }
}

/// Reads the script's per-job codes.
pub(crate) fn reply(codes: Vec<i64>) -> Vec<CancelReply> {
    codes
        .into_iter()
        .map(|code| match code {
            1 => CancelReply::Cancelled,
            2 => CancelReply::Running,
            _ => CancelReply::Changed,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::{fixed, record};
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (11, 5));
        let f = FIELDS.len();
        let job = CancelJob {
            id: "A".into(),
            shard: 0,
            rev: 3,
            listed: true,
            messages: vec!["m1".into(), "m2".into()],
            record: record(),
        };
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), 100, &[&job]);
        // F names; per job: id, rev, L, M, M messages, F values.
        assert_eq!(call.counts(), (keys, argv + f + 4 + 2 + f));
        assert_eq!((call.key_at(10), call.key_at(11)), ("{t}:ready".to_string(), "{t}:ready:accounts".to_string()));
        assert_eq!((call.argv(3), call.argv(4)), ("{t}:parked:".to_string(), "{t}:expanding:".to_string()));
        let first = argv + f + 1;
        let job: Vec<String> = (first..first + 6).map(|i| call.argv(i)).collect();
        assert_eq!(job, ["A", "3", "1", "2", "m1", "m2"]);
        assert_eq!(call.argv(first + 6), "J1");
        assert_eq!(reply(vec![1, 2, 0]), [CancelReply::Cancelled, CancelReply::Running, CancelReply::Changed]);
    }
}
