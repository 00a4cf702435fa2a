//! `lua/expand.lua`: one step of expanding a bulk job into children. Its header comment lists the KEYS and ARGV
//! that [`args`] builds, in the same order; it replies 1 if expanded, 0 if the parent changed.

use super::Call;
use crate::job::Expand;
use crate::keys::Keys;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/expand.lua");

/// The KEYS and ARGV to write `step` in the shard of `k`.
pub(crate) fn args(call: &mut impl Call, k: &Keys, step: &Expand) {
    call.key(k.jobs()).key(k.ready_accounts()).key(k.leased()).key(k.wake()).key(k.pending()).key(k.counts());
    call.key(k.expansion_ids(&step.id));
    call.key(k.holders()).key(k.reclaims());
    call.arg(&step.id).arg(step.rev).arg(step.rest.as_deref().unwrap_or_default());
    call.arg(step.pop).arg(k.ready()).arg(step.push.len());
    for id in &step.push {
        call.arg(id);
    }
    for (id, envelope) in &step.children {
        call.arg(id).arg(envelope);
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
        assert_eq!((keys, argv), (9, 6));
        let k = Keys::new("t");
        let step = Expand {
            id: "P".into(),
            shard: 0,
            rev: 1,
            children: vec![("P:0".into(), "{}".into())],
            rest: None,
            pop: 0,
            push: vec!["m2".into(), "m3".into()],
            account: "cc".into(),
        };
        let mut call = Recorded::default();
        args(&mut call, &k, &step);
        // The P ids pushed, then an id and an envelope per child.
        assert_eq!(call.counts(), (keys, argv + 2 + 2));
        let all: Vec<String> = (1..=argv + 4).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["P", "1", "", "0", "{t}:ready", "2", "m2", "m3", "P:0", "{}"]);
        assert_eq!(call.key_at(7), k.expansion_ids("P"));
    }
}
