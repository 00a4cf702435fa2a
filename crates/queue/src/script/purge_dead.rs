//! `lua/purge_dead.lua`: one bounded trim step of the dead letters. Its header comment lists the KEYS and ARGV
//! that [`args`] builds, in the same order; it replies how many were removed (the caller repeats while it gets
//! [`crate::dead::TRIM_STEP`]).

use super::Call;
use crate::dead::TRIM_STEP;
use crate::keys::Keys;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/purge_dead.lua");

/// The KEYS and ARGV to trim the dead letters of the shard of `k`: those dead-lettered at least `age_ms` ago, and
/// the oldest over `max_len` (`None`: no such bound).
pub(crate) fn args(call: &mut impl Call, k: &Keys, age_ms: Option<u64>, max_len: Option<u64>) {
    let text = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    call.key(k.dead()).key(k.dead_jobs()).key(k.counts());
    call.arg(text(age_ms)).arg(TRIM_STEP).arg(text(max_len));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (3, 3));
        let mut call = Recorded::default();
        args(&mut call, &Keys::new("t"), Some(60_000), None);
        assert_eq!(call.counts(), (keys, argv));
        assert_eq!((call.argv(1), call.argv(2), call.argv(3)), ("60000".into(), "1000".into(), String::new()));
    }
}
