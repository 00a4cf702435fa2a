//! `lua/reschedule.lua`: putting leased jobs back for a later attempt ([`args`]), or setting a parked account's
//! jobs aside ([`park_args`]; the same script with the account's parked set as its target). Its header comment
//! lists the KEYS and ARGV both build, in the same order; it replies one flag per job.

use super::{field_names, records, Call};
use crate::job::Reschedule;
use crate::keys::Keys;
use crate::parking::ParkJob;
use deleteq_core::audit::{AuditRecord, FIELDS};

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/reschedule.lua");

/// The KEYS and ARGV to move `items`, all of the shard of `k`, to its scheduled set.
pub(crate) fn args(call: &mut impl Call, k: &Keys, audit_max_len: u64, items: &[&Reschedule]) {
    fixed(call, k, k.scheduled(), audit_max_len, "scheduled");
    for item in items {
        let delay = item.delay.as_millis() as u64;
        job(call, (&item.id, item.rev, &item.holder), delay, item.attempted, &item.envelope, &item.records);
    }
}

/// The KEYS and ARGV to set `job` aside in its account's parked set: parked at Redis's now (delay 0), not counted
/// per state, and not an attempt (its reclaim count stays); its account joins the shard's parked accounts.
pub(crate) fn park_args(call: &mut impl Call, k: &Keys, audit_max_len: u64, job: &ParkJob) {
    fixed(call, k, &k.parked_jobs(&job.account), audit_max_len, "");
    call.key(k.parked_accounts());
    self::job(call, (&job.id, job.rev, &job.holder), 0, false, &job.envelope, &job.records);
}

/// KEYS[1..8] and the fixed ARGV, with the field names.
fn fixed(call: &mut impl Call, k: &Keys, target: &str, audit_max_len: u64, state: &str) {
    call.key(k.jobs()).key(k.leased()).key(target).key(k.audit()).key(k.counts()).key(k.campaign_counts());
    call.key(k.holders()).key(k.reclaims());
    call.arg(audit_max_len).arg(FIELDS.len()).arg(state);
    field_names(call);
}

/// One job's ARGV: id, rev, holder token, delay (ms), attempted, envelope, then its records.
fn job(
    call: &mut impl Call,
    (id, rev, holder): (&str, u64, &str),
    delay_ms: u64,
    attempted: bool,
    envelope: &str,
    job_records: &[AuditRecord],
) {
    call.arg(id).arg(rev).arg(holder).arg(delay_ms).arg(u8::from(attempted)).arg(envelope);
    records(call, job_records);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::{fixed as header, record};
    use crate::script::Recorded;
    use std::time::Duration;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = header(SOURCE);
        assert_eq!((keys, argv), (9, 3), "KEYS[9] is for parking only");
        let f = FIELDS.len();
        let k = Keys::new("t");
        let item = Reschedule {
            id: "A".into(),
            shard: 0,
            rev: 4,
            holder: "w#1".into(),
            delay: Duration::from_millis(1500),
            attempted: true,
            envelope: "{}".into(),
            records: vec![record()],
        };
        let mut call = Recorded::default();
        args(&mut call, &k, 100, &[&item]);
        // F names; per job: id, rev, holder, delay, attempted, envelope, R, then R * F name, value pairs.
        assert_eq!(call.counts(), (keys - 1, argv + f + 7 + 2 * f));
        assert_eq!(
            (call.key_at(3), call.argv(2), call.argv(3)),
            (k.scheduled().to_string(), f.to_string(), "scheduled".into())
        );
        let first = argv + f + 1;
        let job: Vec<String> = (first..first + 7).map(|i| call.argv(i)).collect();
        assert_eq!(job, ["A", "4", "w#1", "1500", "1", "{}", "1"]);

        let park = ParkJob {
            account: "cc".into(),
            id: "B".into(),
            rev: 2,
            envelope: "{}".into(),
            records: Vec::new(),
            shard: 0,
            holder: "w#2".into(),
        };
        let mut call = Recorded::default();
        park_args(&mut call, &k, 100, &park);
        assert_eq!(call.counts(), (keys, argv + f + 7));
        assert_eq!(
            (call.key_at(3), call.key_at(9), call.argv(3)),
            (k.parked_jobs("cc"), k.parked_accounts().to_string(), String::new())
        );
        let job: Vec<String> = (first..first + 7).map(|i| call.argv(i)).collect();
        assert_eq!(job, ["B", "2", "w#2", "0", "0", "{}", "0"]);
    }
}
