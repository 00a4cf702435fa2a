//! Provider answers as responses, and the middleware that counts and logs every provider request.

use crate::state::{Emulator, RecordedRequest};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// A provider's answer before it becomes a response.
pub(crate) struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Answer { status, body, retry_after: None }
    }

    pub(crate) fn retry_after(mut self, value: Option<String>) -> Self {
        self.retry_after = value;
        self
    }

    /// Adds a top-level field to a JSON object body.
    pub(crate) fn with_field(mut self, name: &str, value: &str) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            map.insert(name.to_string(), Value::String(value.to_string()));
        }
        self
    }
}

/// Sleeps for the emulated latency, if any.
pub(crate) async fn wait(latency: std::time::Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// Now as an ISO 8601 UTC time with milliseconds (IMKIT's `deletedAt`).
pub(crate) fn now_iso() -> String {
    let ms = now_ms();
    let (secs, millis) = (ms / 1000, ms % 1000);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.body)).into_response();
        if let Some(value) = self.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}

/// Middleware on the provider routes, inside [`log_request`]: holds each request to its provider's plan limit,
/// answering the provider's 429 once the second's requests are spent, and adds the provider's rate-limit headers.
pub(crate) async fn plan_limit(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    let Some(provider) = crate::plan::provider_of(request.uri().path()) else { return next.run(request).await };
    let now = now_ms();
    let admission = emu.plans().admit(provider, now);
    let mut response = match admission {
        crate::plan::Admission::Refused { reset_s, .. } => {
            let retry_after = (reset_s * 1000).saturating_sub(now).div_ceil(1000).max(1);
            crate::plan::too_many(provider, retry_after).into_response()
        }
        _ => next.run(request).await,
    };
    crate::plan::add_headers(provider, admission, response.headers_mut());
    response
}

/// Middleware on the provider routes: counts each request as it arrives and logs it, raw path, headers and body,
/// with the status it got.
pub(crate) async fn log_request(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    emu.request_arrived();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let mut recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        status: 0,
        at_ms: now_ms(),
    };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    recorded.status = response.status().as_u16();
    emu.record(recorded);
    response
}
