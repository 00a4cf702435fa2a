//! `lua/rate.lua`: one account's rate limiter, in four modes, one function each ([`reserve`], [`penalize`],
//! [`observe`], [`peek`]). Its header comment lists the KEYS and the ARGV of every mode that these build, in the
//! same order, and each mode's reply.

use super::Call;
use crate::rate::{ReportedBudget, LATE_ARRIVAL, QUIET_PERIOD};
use deleteq_core::rate::RateLimit;
use std::time::Duration;

/// The script (without `lua/shared.lua`).
pub(crate) const SOURCE: &str = include_str!("../../lua/rate.lua");

/// The KEYS and ARGV to reserve up to `most` call slots (at least one) starting within `span`, none further ahead
/// than `horizon`, on the limiter `key` ([`crate::keys::account_rate`]).
pub(crate) fn reserve(
    call: &mut impl Call,
    key: &str,
    limit: &RateLimit,
    most: usize,
    span: Duration,
    horizon: Duration,
) {
    common(call, key, "reserve", limit);
    call.arg(most.max(1)).arg(span.as_millis() as u64).arg(horizon.as_millis() as u64);
}

/// The KEYS and ARGV to slow the limiter `key` down after a 429.
pub(crate) fn penalize(call: &mut impl Call, key: &str, limit: &RateLimit) {
    common(call, key, "penalize", limit);
}

/// The KEYS and ARGV to record the budget a provider reported on the limiter `key`.
pub(crate) fn observe(call: &mut impl Call, key: &str, limit: &RateLimit, budget: &ReportedBudget) {
    common(call, key, "observe", limit);
    call.arg(budget.remaining)
        .arg(budget.reset_after.as_millis() as u64)
        .arg(budget.limit.map(|l| l.to_string()).unwrap_or_default())
        .arg(LATE_ARRIVAL.as_millis() as u64);
}

/// The KEYS and ARGV to read the limiter `key` without changing it.
pub(crate) fn peek(call: &mut impl Call, key: &str, limit: &RateLimit) {
    common(call, key, "peek", limit);
}

/// KEYS[1] and ARGV[1..4], which every mode takes.
fn common(call: &mut impl Call, key: &str, mode: &str, limit: &RateLimit) {
    let interval_ms = limit.interval().as_secs_f64() * 1000.0;
    call.key(key).arg(mode).arg(interval_ms).arg(limit.burst).arg(QUIET_PERIOD.as_millis() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::header::fixed;
    use crate::script::Recorded;

    #[test]
    fn builds_what_the_header_lists() {
        // ARGV[8] is observe's last; reserve takes 7, penalize and peek 4.
        let (keys, argv) = fixed(SOURCE);
        assert_eq!((keys, argv), (1, 8));
        let limit = RateLimit { count: 10, per: Duration::from_secs(1), burst: 3 };
        let mut call = Recorded::default();
        reserve(&mut call, "r", &limit, 0, Duration::from_millis(50), Duration::from_secs(1));
        assert_eq!(call.counts(), (keys, 7));
        let all: Vec<String> = (1..=7).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["reserve", "100.0", "3", "10000", "1", "50", "1000"]);
        let budget = ReportedBudget { limit: None, remaining: 5, reset_after: Duration::from_secs(2) };
        let mut call = Recorded::default();
        observe(&mut call, "r", &limit, &budget);
        assert_eq!(call.counts(), (keys, argv));
        let all: Vec<String> = (5..=8).map(|i| call.argv(i)).collect();
        assert_eq!(all, ["5", "2000", "", "250"]);
        for (build, mode) in [(penalize as fn(&mut Recorded, &str, &RateLimit), "penalize"), (peek, "peek")] {
            let mut call = Recorded::default();
            build(&mut call, "r", &limit);
            assert_eq!((call.counts(), call.argv(1), call.key_at(1)), ((keys, 4), mode.into(), "r".into()));
        }
    }
}
