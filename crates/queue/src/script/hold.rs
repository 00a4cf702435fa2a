//! `lua/hold.lua`: keeping one worker's leases and marking the calls that start. Its header comment lists the
//! KEYS and ARGV that [`args`] builds, in the same order; it replies the positions of the leases not held.

use super::Call;
use crate::job::Lease;
use crate::keys::Keys;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/hold.lua");

/// The KEYS and ARGV to keep `leases` (at most [`super::CHUNK`]) of the shard of `k` for `lease` from Redis's now;
/// those marked `true` have their provider call start now.
/// Consecutive leases with the same token and kind go as one run (token, kind, count, ids), as the header says.
pub(crate) fn args(call: &mut impl Call, k: &Keys, lease: Duration, leases: &[(Lease, bool)]) {
    call.key(k.leased()).key(k.holders()).arg(lease.as_millis() as u64);
    let same_run = |a: &(Lease, bool), b: &(Lease, bool)| a.0.holder == b.0.holder && a.1 == b.1;
    for run in leases.chunk_by(same_run) {
        let (first, starts) = &run[0];
        call.arg(&first.holder).arg(if *starts { "s" } else { "e" }).arg(run.len());
        for (held, _) in run {
            call.arg(&held.id);
        }
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
        let lease = |id: &str, holder: &str| Lease { id: id.into(), holder: holder.into() };
        let mut call = Recorded::default();
        let leases = [
            (lease("A", "w#1"), true),
            (lease("B", "w#1"), true),
            (lease("C", "w#1"), false),
            (lease("D", "w#2"), false),
        ];
        args(&mut call, &Keys::new("t"), Duration::from_secs(2), &leases);
        // Three runs: A and B start under w#1, C extends under w#1, D extends under w#2.
        assert_eq!(call.counts(), (keys, argv + 3 * 3 + 4));
        let all: Vec<String> = (1..=argv + 13).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["2000", "w#1", "s", "2", "A", "B", "w#1", "e", "1", "C", "w#2", "e", "1", "D"]);
    }
}
