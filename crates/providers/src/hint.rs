//! The one parser of "wait before retrying" hints, in every form providers send them: `Retry-After` (seconds or
//! an HTTP date), `X-RateLimit-Reset` / `X-Rate-Limit-Reset` (epoch seconds or milliseconds), and body fields
//! `retryAfter` / `retry_after` (seconds) at the top level or under `error` / `parameters`.
//!
//! A reset epoch says when the rate-limit window resets, which is a reason to wait only when the call was refused
//! for the rate limit: it counts for a 429 alone. Every response may carry one (CometChat's do), and a 503 must
//! not be held until the window resets. `Retry-After` and the body fields count for any retryable status.

use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest hint honoured; anything longer is taken as this (a broken header must not park a job for a year).
pub const MAX_HINT: Duration = Duration::from_secs(3600);

/// The longest wait any of the hints of a response with `status` asks for, measured from `now`; the reset epochs
/// count only for a 429.
pub fn retry_hint(status: u16, headers: &HeaderMap, body: Option<&Value>, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let reset = |name: &str| if status == 429 { header(name).and_then(|v| parse_epoch(v, now)) } else { None };
    let candidates = [
        header("retry-after").and_then(|v| parse_retry_after(v, now)),
        reset("x-ratelimit-reset"),
        reset("x-rate-limit-reset"),
        body.and_then(body_hint),
    ];
    candidates.into_iter().flatten().max().map(|d| d.min(MAX_HINT))
}

/// `Retry-After`: delta seconds (possibly fractional) or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(MAX_HINT.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A reset epoch in seconds or milliseconds (values past the year 33658 in seconds are taken as ms), possibly
/// fractional; values below 10^9 (before 2001 as an epoch) are seconds until the reset, as some providers send.
pub fn parse_epoch(value: &str, now: SystemTime) -> Option<Duration> {
    let n: f64 = value.parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    // Some providers send seconds-until-reset rather than an epoch; small values are read that way.
    if n < 1e9 {
        return Some(Duration::from_secs_f64(n.min(MAX_HINT.as_secs_f64())));
    }
    let at = if n > 1e12 { Duration::from_secs_f64(n / 1000.0) } else { Duration::from_secs_f64(n) };
    let now = now.duration_since(UNIX_EPOCH).ok()?;
    Some(at.saturating_sub(now))
}

fn body_hint(body: &Value) -> Option<Duration> {
    let places = [Some(body), body.get("error"), body.get("parameters")];
    places
        .into_iter()
        .flatten()
        .flat_map(|v| [v.get("retryAfter"), v.get("retry_after")])
        .flatten()
        .filter_map(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_HINT.as_secs_f64())))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(parse_retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5", now()), Some(Duration::from_millis(500)));
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now()), Some(Duration::from_secs(30)));
        assert_eq!(parse_epoch("1700000015", now()), Some(Duration::from_secs(15)));
        assert_eq!(parse_epoch("1700000015000", now()), Some(Duration::from_secs(15)));
        assert_eq!(parse_epoch("1699999990", now()), Some(Duration::ZERO));
        assert_eq!(parse_epoch("1700000000.5", now()), Some(Duration::from_millis(500)));
        assert_eq!(parse_epoch("12", now()), Some(Duration::from_secs(12)), "seconds until the reset");
        assert_eq!(parse_epoch("-3", now()), None);
        assert_eq!(parse_epoch("NaN", now()), None);
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn takes_the_longest_hint_headers_or_body() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1700000005"));
        assert_eq!(retry_hint(429, &headers, None, now()), Some(Duration::from_secs(5)));
        let body = serde_json::json!({"error": "RATE_LIMIT_EXCEEDED", "retryAfter": 60});
        assert_eq!(retry_hint(429, &HeaderMap::new(), Some(&body), now()), Some(Duration::from_secs(60)));
        let body = serde_json::json!({"parameters": {"retry_after": 7}});
        assert_eq!(retry_hint(503, &HeaderMap::new(), Some(&body), now()), Some(Duration::from_secs(7)));
        assert_eq!(retry_hint(429, &HeaderMap::new(), None, now()), None);
        let mut huge = HeaderMap::new();
        huge.insert("retry-after", HeaderValue::from_static("99999999"));
        assert_eq!(retry_hint(503, &huge, None, now()), Some(MAX_HINT));
    }

    #[test]
    fn a_reset_epoch_counts_for_a_429_only() {
        for name in ["x-ratelimit-reset", "x-rate-limit-reset"] {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static("1700000030"));
            assert_eq!(retry_hint(429, &headers, None, now()), Some(Duration::from_secs(30)), "{name}");
            for status in [500, 502, 503, 408] {
                assert_eq!(retry_hint(status, &headers, None, now()), None, "{name} on {status}");
            }
            headers.insert("retry-after", HeaderValue::from_static("3"));
            assert_eq!(
                retry_hint(503, &headers, None, now()),
                Some(Duration::from_secs(3)),
                "Retry-After still counts"
            );
            let body = serde_json::json!({"retryAfter": 4});
            assert_eq!(retry_hint(503, &headers, Some(&body), now()), Some(Duration::from_secs(4)), "so does the body");
        }
    }
}
