//! `lua/release.lua`: handing leased jobs back, unchanged. Its header comment lists the KEYS and ARGV that
//! [`args`] builds, in the same order; it replies how many were released.

use super::Call;
use crate::job::Lease;
use crate::keys::Keys;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/release.lua");

/// The KEYS and ARGV to release `leases` of the shard of `k` (with `waiting_only`, only those whose call has not
/// started); `paced`: an account and how long from Redis's now until its next rate-limit slot.
pub(crate) fn args(
    call: &mut impl Call,
    k: &Keys,
    waiting_only: bool,
    paced: Option<(&str, Duration)>,
    leases: &[Lease],
) {
    call.key(k.leased()).key(k.ready_accounts()).key(k.wake()).key(k.jobs()).key(k.counts()).key(k.holders());
    call.arg(if waiting_only { "waiting" } else { "any" }).arg(k.ready());
    match paced {
        Some((account, wait)) => call.arg(account).arg(wait.as_millis() as u64),
        None => call.arg("").arg(0),
    };
    for lease in leases {
        call.arg(&lease.id).arg(&lease.holder);
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
        assert_eq!((keys, argv), (6, 4));
        let lease = Lease { id: "A".into(), holder: "w#1".into() };
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), true, Some(("cc", Duration::from_millis(30))), &[lease]);
        assert_eq!(call.counts(), (keys, argv + 2));
        let all: Vec<String> = (1..=argv + 2).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["waiting", "{t}:ready", "cc", "30", "A", "w#1"]);
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), false, None, &[]);
        assert_eq!(
            (call.counts(), call.argv(1), call.argv(3), call.argv(4)),
            ((keys, argv), "any".into(), String::new(), "0".into())
        );
    }
}
