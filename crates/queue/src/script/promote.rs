//! `lua/promote.lua`: moving due (or all) members of a time-ordered set to the ready lanes: scheduled jobs,
//! expired leases, a resumed account's parked jobs. Its header comment lists the KEYS and ARGV that [`args`]
//! builds, in the same order; it replies how many moved (the caller repeats while it gets [`super::CHUNK`]).

use super::{Call, CHUNK};
use crate::keys::Keys;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/promote.lua");

/// The KEYS and ARGV to move up to [`CHUNK`] members of `from`, a set of the shard of `k`: `cutoff` is `"now"`
/// (members due by Redis's clock) or `"all"`, `end` `"front"` or `"back"`, `state` the state counted for `from`
/// (`"scheduled"`, `"leased"` or `""`).
pub(crate) fn args(call: &mut impl Call, k: &Keys, from: &str, cutoff: &str, end: &str, state: &str) {
    call.key(from).key(k.ready_accounts()).key(k.wake()).key(k.jobs()).key(k.counts()).key(k.reclaims());
    call.key(k.holders());
    call.arg(cutoff).arg(CHUNK).arg(end).arg(state).arg(k.ready());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (7, 5));
        let k = Keys::new("t");
        let mut call = Recorded::default();
        args(&mut call, &k, k.leased(), "now", "front", "leased");
        assert_eq!(call.counts(), (keys, argv));
        let all: Vec<String> = (1..=argv).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["now", "1000", "front", "leased", "{t}:ready"]);
        assert_eq!((call.key_at(1), call.key_at(7)), (k.leased().to_string(), k.holders().to_string()));
    }
}
