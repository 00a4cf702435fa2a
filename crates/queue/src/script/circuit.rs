//! `lua/circuit.lua`: one account's circuit breaker. Its header comment lists the KEYS and ARGV that [`args`]
//! builds, in the same order; it replies how long (ms) the circuit stays open from now.

use super::Call;
use crate::circuit::CircuitPolicy;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/circuit.lua");

/// The KEYS and ARGV to `"check"` the circuit `key` ([`crate::keys::account_circuit`]) or count a `"failure"`
/// on it, under `policy`.
pub(crate) fn args(call: &mut impl Call, key: &str, mode: &str, policy: &CircuitPolicy) {
    let ms = |d: Duration| d.as_millis() as u64;
    call.key(key)
        .arg(mode)
        .arg(ms(policy.window))
        .arg(policy.threshold)
        .arg(ms(policy.first_open))
        .arg(ms(policy.max_open))
        .arg(ms(policy.calm));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (1, 6));
        let mut call = Recorded::default();
        args(&mut call, "c", "failure", &CircuitPolicy::default());
        assert_eq!(call.counts(), (keys, argv));
        let all: Vec<String> = (1..=argv).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["failure", "10000", "20", "5000", "300000", "600000"]);
    }
}
