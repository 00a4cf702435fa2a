//! `lua/replay.lua`: moving dead letters back into the queue. Its header comment lists the KEYS and ARGV that
//! [`args`] builds, in the same order; it replies how many were replayed.

use super::{field_names, records, Call};
use crate::dead::Replay;
use crate::keys::Keys;
use deleteq_core::audit::FIELDS;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/replay.lua");

/// The KEYS and ARGV to put `items`, dead letters of the shard of `k`, back in line (each at its next revision).
pub(crate) fn args(call: &mut impl Call, k: &Keys, audit_max_len: u64, items: &[&Replay]) {
    call.key(k.dead()).key(k.dead_jobs()).key(k.jobs()).key(k.ready_accounts()).key(k.wake()).key(k.audit());
    call.key(k.pending()).key(k.counts()).key(k.campaign_counts());
    call.arg(audit_max_len).arg(k.ready()).arg(FIELDS.len());
    field_names(call);
    for item in items {
        call.arg(&item.id).arg(item.rev + 1).arg(&item.envelope).arg(item.uncount.0).arg(item.uncount.1);
        records(call, &item.records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::{fixed, record};
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (9, 3));
        let f = FIELDS.len();
        let item = Replay {
            id: "A".into(),
            rev: 3,
            envelope: "{}".into(),
            records: vec![record()],
            account: "cc".into(),
            uncount: (1, 2),
            shard: 0,
        };
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), 100, &[&item]);
        // F names; per job: id, rev, envelope, failed, dead, R, then R * F name, value pairs.
        assert_eq!(call.counts(), (keys, argv + f + 6 + 2 * f));
        let first = argv + f + 1;
        let job: Vec<String> = (first..first + 6).map(|i| call.argv(i)).collect();
        assert_eq!(job, ["A", "4", "{}", "1", "2", "1"]);
    }
}
