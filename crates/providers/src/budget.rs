//! The rate-limit budget a provider reports on its responses (how many calls are left until when), so the
//! account's shared limiter can slow down before the provider answers 429.
//!
//! Spellings read, first complete one wins (they are never mixed, so an unrelated limit cannot pair with another
//! family's remaining count):
//! - IETF draft combined field `RateLimit: limit=100, remaining=40, reset=12` (also its later form's `r=` and `t=`
//!   parameters, `RateLimit: "default";r=40;t=12`);
//! - IETF draft `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`;
//! - the common `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset` (OFAuth, CometChat's newer pages);
//! - CometChat's `X-Rate-Limit` / `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset`.
//!
//! The reset is ambiguous across providers: seconds until the reset (the IETF drafts), an epoch in seconds
//! (CometChat, GitHub) or in milliseconds. It is read by [`crate::hint::parse_epoch`] for every spelling: below
//! 10^9 it is seconds from now, up to 10^12 epoch seconds, above that epoch milliseconds. An epoch is compared with
//! this host's clock, so a skewed host misjudges it; the limiter only ever uses it to go slower.
//!
//! A budget needs a remaining count and a reset; the limit is optional. Anything unparseable, negative, or a
//! remaining count above the limit makes the whole family ignored, never trusted.

use crate::hint::{parse_epoch, MAX_HINT};
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// What the provider says is left of the account's current rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    /// Calls per window, when reported.
    pub limit: Option<u64>,
    /// Calls left in the window.
    pub remaining: u64,
    /// How long until the window resets (at most [`MAX_HINT`]).
    pub reset_after: Duration,
}

impl RateBudget {
    /// Whether this budget is tighter than `per_second`: spending `remaining` calls evenly until the reset is
    /// slower than that rate. Only a binding budget is worth telling the shared limiter about.
    pub fn binds_below(&self, per_second: f64) -> bool {
        (self.remaining as f64) < per_second * self.reset_after.as_secs_f64()
    }
}

/// The budget `headers` report, measured from `now`; `None` when no spelling is complete and valid.
pub fn rate_budget(headers: &HeaderMap, now: SystemTime) -> Option<RateBudget> {
    // Most responses carry none of these: one pass over the names settles that before ten lookups by name.
    let spelled = |name: &str| ["ratelimit", "x-ratelimit", "x-rate-limit"].iter().any(|p| name.starts_with(p));
    if !headers.keys().any(|name| spelled(name.as_str())) {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    combined(header("ratelimit"), now)
        .or_else(|| family(header("ratelimit-limit"), header("ratelimit-remaining"), header("ratelimit-reset"), now))
        .or_else(|| {
            family(header("x-ratelimit-limit"), header("x-ratelimit-remaining"), header("x-ratelimit-reset"), now)
        })
        .or_else(|| family(header("x-rate-limit"), header("x-rate-limit-remaining"), header("x-rate-limit-reset"), now))
}

/// One family of three headers. A limit may carry a policy after it (`100, 100;w=60`): its first number counts.
fn family(limit: Option<&str>, remaining: Option<&str>, reset: Option<&str>, now: SystemTime) -> Option<RateBudget> {
    let limit = match limit {
        Some(text) => Some(count(text.split([',', ';']).next().unwrap_or(""))?),
        None => None,
    };
    budget(limit, count(remaining?)?, reset?, now)
}

/// The combined field: `limit=…, remaining=…, reset=…` or `"policy";r=…;t=…`, separators `,` or `;`.
fn combined(value: Option<&str>, now: SystemTime) -> Option<RateBudget> {
    let (mut limit, mut remaining, mut reset) = (None, None, None);
    for part in value?.split([',', ';']) {
        let Some((key, text)) = part.split_once('=') else { continue };
        let text = text.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "limit" => limit = Some(count(text)?),
            "remaining" | "r" => remaining = Some(count(text)?),
            "reset" | "t" => reset = Some(text),
            _ => {}
        }
    }
    budget(limit, remaining?, reset?, now)
}

fn budget(limit: Option<u64>, remaining: u64, reset: &str, now: SystemTime) -> Option<RateBudget> {
    if limit.is_some_and(|limit| remaining > limit) {
        return None;
    }
    let reset_after = parse_epoch(reset, now)?.min(MAX_HINT);
    Some(RateBudget { limit, remaining, reset_after })
}

fn count(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn read(pairs: &[(&'static str, &'static str)]) -> Option<RateBudget> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        rate_budget(&headers, now())
    }

    fn b(limit: Option<u64>, remaining: u64, reset_ms: u64) -> Option<RateBudget> {
        Some(RateBudget { limit, remaining, reset_after: Duration::from_millis(reset_ms) })
    }

    #[test]
    fn reads_every_spelling() {
        let cometchat =
            [("x-rate-limit", "500"), ("x-rate-limit-remaining", "40"), ("x-rate-limit-reset", "1700000012")];
        assert_eq!(read(&cometchat), b(Some(500), 40, 12_000));
        let common =
            [("X-RateLimit-Limit", "60"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1700000001500")];
        assert_eq!(read(&common), b(Some(60), 0, 1_500));
        let ietf = [("RateLimit-Limit", "100"), ("RateLimit-Remaining", "7"), ("RateLimit-Reset", "30")];
        assert_eq!(read(&ietf), b(Some(100), 7, 30_000));
        assert_eq!(read(&[("RateLimit", "limit=100, remaining=50, reset=5")]), b(Some(100), 50, 5_000));
        assert_eq!(read(&[("RateLimit", "\"default\";r=3;t=2")]), b(None, 3, 2_000));
        // The limit may carry its policy; the limit header is optional.
        let policy =
            [("x-ratelimit-limit", "100, 100;w=60"), ("x-ratelimit-remaining", "9"), ("x-ratelimit-reset", "4")];
        assert_eq!(read(&policy), b(Some(100), 9, 4_000));
        assert_eq!(read(&[("x-rate-limit-remaining", "9"), ("x-rate-limit-reset", "4")]), b(None, 9, 4_000));
        // Fractional epoch seconds (Discord's style); a past reset is now.
        assert_eq!(read(&[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset", "1700000000.250")]), b(None, 1, 250));
        assert_eq!(read(&[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset", "1699999000")]), b(None, 1, 0));
    }

    #[test]
    fn incomplete_or_unparseable_budgets_are_ignored() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[("x-rate-limit", "500"), ("x-rate-limit-remaining", "40")]), None, "no reset");
        assert_eq!(read(&[("x-rate-limit-remaining", "-1"), ("x-rate-limit-reset", "4")]), None);
        assert_eq!(read(&[("x-rate-limit-remaining", "many"), ("x-rate-limit-reset", "4")]), None);
        assert_eq!(read(&[("x-rate-limit-remaining", "4"), ("x-rate-limit-reset", "soon")]), None);
        let over = [("x-rate-limit", "5"), ("x-rate-limit-remaining", "40"), ("x-rate-limit-reset", "4")];
        assert_eq!(read(&over), None, "remaining above the limit");
        let bad_limit = [("x-rate-limit", "lots"), ("x-rate-limit-remaining", "4"), ("x-rate-limit-reset", "4")];
        assert_eq!(read(&bad_limit), None);
        assert_eq!(read(&[("RateLimit", "limit=x, remaining=1, reset=1")]), None);
        // Families are never mixed: one's remaining does not pair with another's reset.
        assert_eq!(read(&[("x-rate-limit-remaining", "4"), ("x-ratelimit-reset", "4")]), None);
        // A broken reset is capped like any hint.
        assert_eq!(
            read(&[("ratelimit-remaining", "1"), ("ratelimit-reset", "99999999")]),
            b(None, 1, MAX_HINT.as_millis() as u64)
        );
    }

    #[test]
    fn a_budget_binds_when_it_cannot_last_at_the_configured_rate() {
        let budget = RateBudget { limit: Some(50), remaining: 40, reset_after: Duration::from_millis(500) };
        assert!(budget.binds_below(100.0), "40 calls in 0.5 s is 80/s");
        assert!(!budget.binds_below(50.0));
        assert!(!RateBudget { reset_after: Duration::ZERO, ..budget }.binds_below(1000.0));
    }
}
