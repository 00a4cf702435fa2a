//! `lua/hold.lua`: keeping one worker's leases and marking the calls that start. Its header comment lists the
//! KEYS and ARGV that [`args`] builds, in the same order; it replies one flag per lease.

use super::Call;
use crate::job::Lease;
use crate::keys::Keys;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/hold.lua");

/// The KEYS and ARGV to keep `leases` (at most [`super::CHUNK`]) of the shard of `k` for `lease` from Redis's now;
/// those marked `true` have their provider call start now.
pub(crate) fn args(call: &mut impl Call, k: &Keys, lease: Duration, leases: &[(Lease, bool)]) {
    call.key(k.leased()).key(k.holders()).arg(lease.as_millis() as u64);
    for (held, starts) in leases {
        call.arg(&held.id).arg(&held.holder).arg(if *starts { "s" } else { "e" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (2, 1));
        let lease = |id: &str| Lease { id: id.into(), holder: "w#1".into() };
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), Duration::from_secs(2), &[(lease("A"), true), (lease("B"), false)]);
        assert_eq!(call.counts(), (keys, argv + 2 * 3));
        let all: Vec<String> = (1..=argv + 6).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["2000", "A", "w#1", "s", "B", "w#1", "e"]);
    }
}
