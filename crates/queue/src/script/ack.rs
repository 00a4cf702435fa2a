//! `lua/ack.lua`: finishing jobs. Its header comment lists the KEYS and ARGV that [`args`] builds, in the same
//! order; it replies the positions of the jobs it did not finish.

use super::{field_names, records, Call};
use crate::job::Ack;
use crate::keys::Keys;
use crate::options::QueueOptions;
use crate::stored::UNREADABLE;
use deleteq_core::audit::FIELDS;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/ack.lua");

/// The KEYS and ARGV to finish `acks`, all of the shard of `k`, under the audit and dead-letter bounds of
/// `options`.
pub(crate) fn args(call: &mut impl Call, k: &Keys, options: &QueueOptions, acks: &[&Ack]) {
    call.key(k.jobs())
        .key(k.leased())
        .key(k.audit())
        .key(k.dead())
        .key(k.dead_jobs())
        .key(k.pending())
        .key(k.counts())
        .key(k.reclaims())
        .key(k.campaign_counts())
        .key(k.holders());
    call.arg(options.audit_max_len)
        .arg(options.dead_max_len)
        .arg(options.dead_max_age.as_millis() as u64)
        .arg(FIELDS.len());
    field_names(call);
    for ack in acks {
        let dead = ack.dead_letter.as_deref().unwrap_or_default();
        let rev = if ack.rev == UNREADABLE { "any".to_string() } else { ack.rev.to_string() };
        call.arg(&ack.id).arg(rev).arg(dead);
        records(call, &ack.records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::{fixed, record};
    use crate::script::Recorded;

    fn ack(id: &str, rev: u64, dead_letter: Option<&str>, records: usize) -> Ack {
        Ack {
            id: id.into(),
            rev,
            records: vec![record(); records],
            dead_letter: dead_letter.map(str::to_string),
            account: "cc".into(),
            shard: 0,
        }
    }

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (10, 4));
        let f = FIELDS.len();
        let options = crate::QueueOptions::from_config(&deleteq_core::Config::default());
        let mut call = Recorded::default();
        let acks = [ack("A", 2, Some("{}"), 1), ack("B", UNREADABLE, None, 0)];
        args(&mut call, &Keys::new("t"), &options, &acks.iter().collect::<Vec<_>>());
        // F names; per job: id, rev, dead letter, R, then R * F name, value pairs.
        assert_eq!(call.counts(), (keys, argv + f + (4 + 2 * f) + 4));
        assert_eq!((call.argv(4), call.argv(5)), (f.to_string(), FIELDS[0].to_string()));
        let first = argv + f + 1;
        assert_eq!(
            (call.argv(first), call.argv(first + 1), call.argv(first + 2)),
            ("A".into(), "2".into(), "{}".into())
        );
        assert_eq!((call.argv(first + 3), call.argv(first + 4)), ("1".into(), FIELDS[0].to_string()));
        let second = first + 4 + 2 * f;
        assert_eq!(
            (call.argv(second), call.argv(second + 1), call.argv(second + 2)),
            ("B".into(), "any".into(), String::new())
        );
    }
}
