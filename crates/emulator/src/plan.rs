//! Plan limits: a provider may be given a number of requests per second, enforced as a **fixed window** per
//! wall-clock second (the epoch second; a fixed window because the reset headers name one instant when the whole
//! budget returns). Every request counts, whatever it is answered, except the 429s the limit itself answers; once
//! the window is spent the provider's own 429 is answered until the next second. Each response carries the
//! provider's rate-limit headers, as `research/providers.md` documents them:
//!
//! - CometChat: "every response carries `X-Rate-Limit` / `X-Rate-Limit-Remaining`" and a 429 "adds `Retry-After`
//!   and `X-Rate-Limit-Reset`" (documented); sending `X-Rate-Limit-Reset` on every response is invented, as the
//!   newer REST page's `X-RateLimit-*` triple suggests. 429 body `ERR_TOO_MANY_REQUESTS` (documented).
//! - OFAuth: "`X-RateLimit-*` headers incl. `X-RateLimit-Reset`" (documented, names partially: `-Limit` and
//!   `-Remaining` are inferred); 429 `RATE_LIMIT_EXCEEDED` (documented); its `Retry-After` is invented.
//! - IMKIT: "No rate-limit headers documented"; 429 body `{"error":"RATE_LIMIT_EXCEEDED",…,"retryAfter":…}`
//!   (documented); its `Retry-After` header is invented.
//! - QuickBlox: "No rate-limit headers documented; no Retry-After documented"; 429 `{"errors":["Too Many
//!   Requests"]}` (the body is invented in QuickBlox's error shape, as is the `Retry-After`).
//! - 2Chat: "No rate-limit headers documented"; 429 "too many requests — make sure to retry automatically"
//!   (documented), `Retry-After` invented.
//!
//! Limited requests are not counted against a message (they never reached it): the request log has them.

use crate::respond::Answer;
use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};

/// The rate-limit headers a provider documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Headers {
    /// `X-Rate-Limit`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset` (epoch seconds).
    CometChat,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds).
    Common,
    /// None.
    Undocumented,
}

/// The provider a request path belongs to, as the router places them.
pub(crate) fn provider_of(path: &str) -> Option<&'static str> {
    [
        ("/v3/messages/", "cometchat"),
        ("/rooms/", "room_im"),
        ("/chat/Message/", "quickblox"),
        ("/open/whatsapp/", "twochat"),
        ("/v2/", "ofauth"),
    ]
    .into_iter()
    .find(|(prefix, _)| path.starts_with(prefix))
    .map(|(_, provider)| provider)
}

fn headers_of(provider: &str) -> Headers {
    match provider {
        "cometchat" => Headers::CometChat,
        "ofauth" => Headers::Common,
        _ => Headers::Undocumented,
    }
}

/// How one request fares against its provider's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// No plan limit for this provider.
    Unlimited,
    /// Counted; `remaining` are left in the window that resets at `reset_s` (epoch seconds).
    Admitted { limit: u32, remaining: u32, reset_s: u64 },
    /// The window is spent until `reset_s`.
    Refused { limit: u32, reset_s: u64 },
}

/// One provider's current window.
#[derive(Default)]
struct Window {
    second: u64,
    used: u32,
}

/// The plan limits and their windows.
#[derive(Default)]
pub(crate) struct Plans {
    limits: RwLock<HashMap<String, u32>>,
    windows: Mutex<HashMap<String, Window>>,
}

impl Plans {
    /// Sets (or with `None` removes) a provider's requests per second.
    pub(crate) fn set(&self, provider: &str, per_second: Option<u32>) {
        let mut limits = self.limits.write().unwrap_or_else(PoisonError::into_inner);
        match per_second {
            Some(n) => limits.insert(provider.to_string(), n),
            None => limits.remove(provider),
        };
    }

    /// A provider's requests per second, if limited.
    pub(crate) fn get(&self, provider: &str) -> Option<u32> {
        self.limits.read().unwrap_or_else(PoisonError::into_inner).get(provider).copied()
    }

    /// Forgets every limit and window.
    pub(crate) fn clear(&self) {
        self.limits.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.windows.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Counts one request for `provider` arriving at `now_ms`, if the window has room.
    pub(crate) fn admit(&self, provider: &str, now_ms: u64) -> Admission {
        let Some(limit) = self.get(provider) else { return Admission::Unlimited };
        let second = now_ms / 1000;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(provider.to_string()).or_default();
        if window.second != second {
            *window = Window { second, used: 0 };
        }
        let reset_s = second + 1;
        if window.used >= limit {
            return Admission::Refused { limit, reset_s };
        }
        window.used += 1;
        Admission::Admitted { limit, remaining: limit - window.used, reset_s }
    }
}

/// The provider's 429 for a spent window, `retry_after` seconds until the next.
pub(crate) fn too_many(provider: &str, retry_after: u64) -> Answer {
    let after = Some(retry_after.to_string());
    match provider {
        "cometchat" => {
            Answer::json(429, crate::cometchat::error("ERR_TOO_MANY_REQUESTS", "Too many requests.")).retry_after(after)
        }
        "room_im" => crate::room_im::fault_answer(429, None, after),
        "quickblox" => Answer::json(429, crate::quickblox::error_body(429, None)).retry_after(after),
        "twochat" => {
            crate::twochat::failure(429, "Too many requests, make sure to retry automatically").retry_after(after)
        }
        _ => crate::ofauth::error(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded").retry_after(after),
    }
}

/// Adds the provider's documented rate-limit headers for `admission` to a response.
pub(crate) fn add_headers(provider: &str, admission: Admission, headers: &mut HeaderMap) {
    let (limit, remaining, reset_s) = match admission {
        Admission::Unlimited => return,
        Admission::Admitted { limit, remaining, reset_s } => (limit, remaining, reset_s),
        Admission::Refused { limit, reset_s } => (limit, 0, reset_s),
    };
    let names = match headers_of(provider) {
        Headers::CometChat => ["x-rate-limit", "x-rate-limit-remaining", "x-rate-limit-reset"],
        Headers::Common => ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"],
        Headers::Undocumented => return,
    };
    for (name, value) in names.into_iter().zip([u64::from(limit), u64::from(remaining), reset_s]) {
        headers.insert(name, HeaderValue::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_window_per_second() {
        let plans = Plans::default();
        assert_eq!(plans.admit("cometchat", 1_000_500), Admission::Unlimited);
        plans.set("cometchat", Some(2));
        let at = 1_700_000_000_100;
        let reset_s = 1_700_000_001;
        assert_eq!(plans.admit("cometchat", at), Admission::Admitted { limit: 2, remaining: 1, reset_s });
        assert_eq!(plans.admit("cometchat", at + 10), Admission::Admitted { limit: 2, remaining: 0, reset_s });
        assert_eq!(plans.admit("cometchat", at + 899), Admission::Refused { limit: 2, reset_s });
        assert_eq!(plans.admit("ofauth", at), Admission::Unlimited, "per provider");
        let next = Admission::Admitted { limit: 2, remaining: 1, reset_s: reset_s + 1 };
        assert_eq!(plans.admit("cometchat", at + 900), next, "the next second");
        plans.clear();
        assert_eq!(plans.admit("cometchat", at + 900), Admission::Unlimited);
    }

    #[test]
    fn headers_as_each_provider_documents_them() {
        let admitted = Admission::Admitted { limit: 50, remaining: 7, reset_s: 1_700_000_001 };
        let mut cometchat = HeaderMap::new();
        add_headers("cometchat", admitted, &mut cometchat);
        assert_eq!(cometchat.get("x-rate-limit-remaining").map(|v| v.as_bytes()), Some(&b"7"[..]));
        assert_eq!(cometchat.get("x-rate-limit-reset").map(|v| v.as_bytes()), Some(&b"1700000001"[..]));
        let mut ofauth = HeaderMap::new();
        add_headers("ofauth", Admission::Refused { limit: 50, reset_s: 9 }, &mut ofauth);
        assert_eq!(ofauth.get("x-ratelimit-remaining").map(|v| v.as_bytes()), Some(&b"0"[..]));
        for provider in ["quickblox", "twochat", "room_im"] {
            let mut none = HeaderMap::new();
            add_headers(provider, admitted, &mut none);
            assert!(none.is_empty(), "{provider}");
        }
        assert_eq!(provider_of("/chat/Message/a,b.json"), Some("quickblox"));
        assert_eq!(provider_of("/_emulator/stats"), None);
    }
}
