//! The W3C `traceparent` request header: the request's span continues the caller's trace, and the jobs a request
//! enqueues (`POST /v1/jobs`, `POST /v1/campaigns`) carry it, so the worker's spans join that trace too. A job
//! that sets its own `traceparent` keeps it.
//!
//! A malformed header is ignored with a warning (the request span then starts its own trace and the jobs carry
//! none): a tracing header never makes a deletion fail.

use axum::http::HeaderMap;
use deleteq_core::{Job, Traceparent};

/// The header's name.
pub(crate) const HEADER: &str = "traceparent";

/// The request's `traceparent`: `Ok(None)` without one, `Err` saying why one is malformed (one header, a strict
/// version-`00` value).
pub(crate) fn parse(headers: &HeaderMap) -> Result<Option<Traceparent>, String> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one traceparent header".into());
    }
    let text = value.to_str().map_err(|_| "the header is not ASCII text".to_string())?;
    Traceparent::parse(text.trim()).map(Some).map_err(|e| e.to_string())
}

/// The request's `traceparent` for its jobs: `None` when absent or malformed (the request's span has warned).
pub(crate) fn for_jobs(headers: &HeaderMap) -> Option<Traceparent> {
    parse(headers).ok().flatten()
}

/// Gives `job` the request's `traceparent` unless it has its own.
pub(crate) fn inherit(job: &mut Job, traceparent: Option<Traceparent>) {
    if job.traceparent.is_none() {
        job.traceparent = traceparent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn one_valid_header_is_read_and_anything_else_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(parse(&headers), Ok(None));
        headers.insert(HEADER, HeaderValue::from_static(TP));
        assert_eq!(parse(&headers).expect("valid").map(|t| t.to_string()).as_deref(), Some(TP));
        headers.append(HEADER, HeaderValue::from_static(TP));
        assert!(parse(&headers).expect_err("two").contains("more than one"));
        assert_eq!(for_jobs(&headers), None);
        let mut bad = HeaderMap::new();
        bad.insert(HEADER, HeaderValue::from_static("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
        assert!(parse(&bad).expect_err("zero").contains("all zeros"));
        assert_eq!(for_jobs(&bad), None);
    }

    #[test]
    fn a_job_keeps_its_own_traceparent() {
        let theirs = Traceparent::parse(TP).ok();
        let own = Traceparent::parse("00-11111111111111111111111111111111-2222222222222222-01").ok();
        let mut job = Job::from_json(r#"{"account":"cc","message":"1"}"#).expect("job");
        inherit(&mut job, theirs);
        assert_eq!(job.traceparent, theirs);
        job.traceparent = own;
        inherit(&mut job, theirs);
        assert_eq!(job.traceparent, own);
    }
}
