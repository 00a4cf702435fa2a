//! Building responses and logging each provider request with the status it got.

use crate::state::{Emulator, RecordedRequest};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
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
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Logs the request and turns the answer into a response.
pub(crate) fn finish(
    emu: &Emulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: String,
    answer: Answer,
) -> Response {
    emu.record(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
        status: answer.status,
        at_ms: now_ms(),
    });
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(answer.body)).into_response();
    if let Some(value) = answer.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}
