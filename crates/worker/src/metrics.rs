//! The worker's Prometheus metrics (DESIGN §8; names and labels are a public contract): the counters and the
//! histogram live for the whole process and are moved where things happen; the queue gauges are read from Redis
//! at scrape time, and left out of that scrape when Redis cannot answer, so `/metrics` never fails for them.
//!
//! `deleteq_outcomes_total` counts the audit records this worker wrote: a record counts only once the script
//! that writes it reported the job as changed, so a stale ack (finished elsewhere meanwhile) counts nothing, and
//! the sum over all workers equals the audit stream's count per outcome. That includes the non-terminal
//! `retry_scheduled` records, under their own outcome. (If a script's reply is lost after it ran, the retry finds
//! the job changed and nothing is counted: the counters may fall short by such a batch, never count twice.)

use crate::process_metrics::ProcessSample;
use deleteq_core::{AuditRecord, ProviderKind};
use deleteq_providers::Response;
use deleteq_queue::inspect::Depths;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// The `Content-Type` of what [`Metrics::render`] writes: Prometheus text format 0.0.4.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Label of an account that is not in this worker's config (a job naming an unknown account): account names
/// come from jobs, and a label per bogus name would grow without bound.
const UNKNOWN_ACCOUNT: &str = "(unknown)";

/// Upper bounds (seconds) of the provider-latency buckets: 5 ms to 10 s, the default provider timeout.
const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    account: String,
    provider: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    account: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabel {
    account: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitedLabels {
    account: String,
    reason: &'static str,
}

/// Why a call was held back by its account's rate: `deleteq_rate_limited_total`'s `reason`, so a provider's 429s
/// can be told from deleteq's own pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateLimited {
    /// The call slept in its call slot until its reserved slot.
    Waited,
    /// The job went back to its lane: no slot within the horizon.
    Deferred,
    /// The provider answered 429.
    Provider429,
}

impl RateLimited {
    fn as_str(self) -> &'static str {
        match self {
            RateLimited::Waited => "waited",
            RateLimited::Deferred => "deferred",
            RateLimited::Provider429 => "provider_429",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

/// What the running binary was built from: `deleteq_build_info{version,commit} 1`, so a dashboard can tell which
/// build each worker runs (a rollout half done, a worker left behind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The release, `CARGO_PKG_VERSION` of the binary.
    pub version: String,
    /// The commit it was built from (short hash), or "unknown".
    pub commit: String,
}

impl BuildInfo {
    /// This library's version with an unknown commit: for embedders that do not say which build they are.
    pub fn unknown() -> BuildInfo {
        BuildInfo { version: env!("CARGO_PKG_VERSION").to_string(), commit: "unknown".to_string() }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLaneLabel {
    shard: String,
    lane: &'static str,
}

/// The queue as Redis shows it at one scrape.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueGauges {
    /// Ready list length, leased, scheduled and dead counts, summed over the shards.
    pub(crate) depths: Depths,
    /// Each shard's ready jobs per lane, by shard index.
    pub(crate) ready_per_shard: Vec<BTreeMap<deleteq_core::Priority, u64>>,
    /// Every configured account, parked or not.
    pub(crate) parked: BTreeMap<String, bool>,
}

/// The process-lifetime metrics; cheap to clone (one shared registry).
#[derive(Clone)]
pub(crate) struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    outcomes: Family<OutcomeLabels, Counter>,
    call_seconds: Family<CallLabels, Histogram>,
    in_flight: Gauge,
    rate_limited: Family<RateLimitedLabels, Counter>,
    accounts: HashSet<String>,
}

impl Metrics {
    /// Registers every process-lifetime metric; `accounts` are the configured account names (the only account
    /// labels used), `build` what the binary was built from.
    pub(crate) fn new(accounts: impl IntoIterator<Item = String>, build: &BuildInfo) -> Metrics {
        let mut registry = Registry::default();
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info.get_or_create(&BuildLabels { version: build.version.clone(), commit: build.commit.clone() }).set(1);
        registry.register("deleteq_build_info", "Always 1; its labels name the build this worker runs", build_info);
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "deleteq_outcomes",
            "Audit records written by this worker, per account, provider and outcome",
            outcomes.clone(),
        );
        let call_seconds = Family::<CallLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "deleteq_provider_request_duration_seconds",
            "Duration of provider calls, per account and status class (1xx to 5xx; error: no response, or a status outside 100-599)",
            call_seconds.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "deleteq_jobs_in_flight",
            "Jobs this worker holds leases on (buffered or being called)",
            in_flight.clone(),
        );
        let rate_limited = Family::<RateLimitedLabels, Counter>::default();
        registry.register(
            "deleteq_rate_limited",
            "Rate-limit events per account: waited (a call slept for its slot), deferred (a job went back to its lane \
             without a slot within the horizon), provider_429 (the provider refused a call with 429)",
            rate_limited.clone(),
        );
        let accounts = accounts.into_iter().collect();
        Metrics(Arc::new(Inner { registry, outcomes, call_seconds, in_flight, rate_limited, accounts }))
    }

    /// `account` if configured, else the one label for unknown accounts.
    fn account<'a>(&self, account: &'a str) -> &'a str {
        if self.0.accounts.contains(account) {
            account
        } else {
            UNKNOWN_ACCOUNT
        }
    }

    /// Counts the records of the jobs a script call changed: `flags[i]` says whether `jobs[i]` was written (a
    /// stale job's records were not, and do not count).
    pub(crate) fn count_written<'a>(&self, jobs: impl IntoIterator<Item = &'a [AuditRecord]>, flags: &[bool]) {
        for (records, _) in jobs.into_iter().zip(flags).filter(|(_, written)| **written) {
            self.count_records(records);
        }
    }

    /// Counts records that were written.
    pub(crate) fn count_records(&self, records: &[AuditRecord]) {
        for record in records {
            let labels = OutcomeLabels {
                account: self.account(&record.account).to_string(),
                provider: record.provider.clone(),
                outcome: record.outcome.as_str(),
            };
            self.0.outcomes.get_or_create(&labels).inc();
        }
    }

    /// Runs one provider call and records how long it took, by its status class. `noop` accounts make no call
    /// and are not timed; a QuickBlox call bisected after a 403 is one observation covering its sub-calls.
    pub(crate) async fn timed_call(
        &self,
        account: &str,
        kind: ProviderKind,
        call: impl Future<Output = Response>,
    ) -> Response {
        let started = Instant::now();
        let response = call.await;
        if kind != ProviderKind::Noop {
            let labels =
                CallLabels { account: self.account(account).to_string(), status: status_class(response.http_status) };
            self.0.call_seconds.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
        }
        response
    }

    /// Counts one rate-limit event of `account`: a wait, a deferral or a provider's 429.
    pub(crate) fn rate_limited(&self, account: &str, reason: RateLimited) {
        let labels = RateLimitedLabels { account: self.account(account).to_string(), reason: reason.as_str() };
        self.0.rate_limited.get_or_create(&labels).inc();
    }

    /// Sets the in-flight gauge (read at scrape time).
    pub(crate) fn set_in_flight(&self, jobs: usize) {
        self.0.in_flight.set(i64::try_from(jobs).unwrap_or(i64::MAX));
    }

    /// The text exposition of every metric; the queue gauges only when `queue` is known.
    pub(crate) fn render(&self, queue: Option<&QueueGauges>) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; the encoder's only errors are the writer's.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry);
        if let Some(queue) = queue {
            let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &queue_registry(queue));
        }
        if let Some(process) = ProcessSample::read() {
            let mut registry = Registry::default();
            process.register(&mut registry);
            let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
        }
        text
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// A registry of one scrape's queue gauges, built fresh so that nothing stale is ever shown.
fn queue_registry(queue: &QueueGauges) -> Registry {
    let gauge = |n: u64| {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(n).unwrap_or(i64::MAX));
        g
    };
    let mut registry = Registry::default();
    let depth = Family::<ShardLaneLabel, Gauge>::default();
    for (shard, lanes) in queue.ready_per_shard.iter().enumerate() {
        for (lane, ready) in lanes {
            let labels = ShardLaneLabel { shard: shard.to_string(), lane: lane.as_str() };
            depth.get_or_create(&labels).set(i64::try_from(*ready).unwrap_or(i64::MAX));
        }
    }
    registry.register("deleteq_queue_depth", "Jobs ready to run, per shard and lane", depth);
    registry.register(
        "deleteq_scheduled",
        "Jobs waiting for their time (run_at or a retry)",
        gauge(queue.depths.scheduled),
    );
    registry.register("deleteq_dead", "Dead letters kept for replay", gauge(queue.depths.dead));
    let parked = Family::<AccountLabel, Gauge>::default();
    for (account, is_parked) in &queue.parked {
        parked.get_or_create(&AccountLabel { account: account.clone() }).set(i64::from(*is_parked));
    }
    registry.register("deleteq_account_parked", "1 while the account is parked (its jobs wait for a person)", parked);
    registry
}

/// The `status` label of a call: its HTTP status class, or `error` when no response arrived (a transport error
/// or timeout).
fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(100..=199) => "1xx",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) | None => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_core::Outcome;
    use deleteq_providers::Disposition;

    fn record(account: &str, outcome: Outcome) -> AuditRecord {
        AuditRecord {
            job: "j".into(),
            parent: None,
            account: account.into(),
            provider: "cometchat".into(),
            conversation: None,
            message: Some("m".into()),
            outcome,
            http_status: Some(200),
            attempt: 1,
            error: None,
            deleted_count: None,
            delay_ms: None,
            campaign: None,
            reason: None,
            requested_by: None,
            at: String::new(),
            mode: None,
        }
    }

    fn lines(text: &str, prefix: &str) -> Vec<String> {
        text.lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
    }

    #[test]
    fn only_written_records_count_and_unknown_accounts_share_one_label() {
        let metrics = Metrics::new(["cc".to_string()], &BuildInfo::unknown());
        let written = vec![record("cc", Outcome::Deleted), record("cc", Outcome::RetryScheduled)];
        let stale = vec![record("cc", Outcome::Deleted)];
        metrics.count_written([written.as_slice(), stale.as_slice()], &[true, false]);
        metrics.count_records(&[record("nope-1", Outcome::Failed), record("nope-2", Outcome::Failed)]);
        let text = metrics.render(None);
        for line in [
            r#"deleteq_outcomes_total{account="cc",provider="cometchat",outcome="deleted"} 1"#,
            r#"deleteq_outcomes_total{account="cc",provider="cometchat",outcome="retry_scheduled"} 1"#,
            r#"deleteq_outcomes_total{account="(unknown)",provider="cometchat",outcome="failed"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        assert_eq!(lines(&text, "deleteq_outcomes_total{").len(), 3, "{text}");
        assert!(text.contains("# TYPE deleteq_outcomes_total counter"), "{text}");
    }

    #[tokio::test]
    async fn calls_are_timed_by_status_class_and_noop_is_not() {
        let metrics = Metrics::new(["cc".to_string(), "nop".to_string()], &BuildInfo::unknown());
        let answer = |status| async move { Response::new(status, Disposition::Failed { reason: String::new() }) };
        metrics.timed_call("cc", ProviderKind::CometChat, answer(Some(200))).await;
        metrics.timed_call("cc", ProviderKind::CometChat, answer(Some(404))).await;
        metrics.timed_call("cc", ProviderKind::CometChat, answer(None)).await;
        metrics.timed_call("nop", ProviderKind::Noop, answer(None)).await;
        let text = metrics.render(None);
        let counts = lines(&text, "deleteq_provider_request_duration_seconds_count{");
        assert_eq!(counts.len(), 3, "{text}");
        for status in ["2xx", "4xx", "error"] {
            let line =
                format!(r#"deleteq_provider_request_duration_seconds_count{{account="cc",status="{status}"}} 1"#);
            assert!(counts.contains(&line), "{line}\n{text}");
        }
        let inf = r#"deleteq_provider_request_duration_seconds_bucket{account="cc",status="2xx",le="+Inf"} 1"#;
        assert!(text.lines().any(|l| l == inf), "{text}");
        assert!(!text.contains("nop"), "noop makes no call: {text}");
    }

    #[test]
    fn queue_gauges_appear_only_when_redis_answered() {
        let metrics = Metrics::new(["cc".to_string()], &BuildInfo::unknown());
        metrics.rate_limited("cc", RateLimited::Provider429);
        metrics.rate_limited("cc", RateLimited::Waited);
        metrics.rate_limited("cc", RateLimited::Waited);
        metrics.set_in_flight(3);
        let without = metrics.render(None);
        assert!(without.contains(r#"deleteq_rate_limited_total{account="cc",reason="provider_429"} 1"#), "{without}");
        assert!(without.contains(r#"deleteq_rate_limited_total{account="cc",reason="waited"} 2"#), "{without}");
        assert!(without.contains("deleteq_jobs_in_flight 3"), "{without}");
        assert!(!without.contains("deleteq_queue_depth"), "{without}");
        let gauges = QueueGauges {
            depths: Depths { ready: 7, scheduled: 2, dead: 1, ..Depths::default() },
            ready_per_shard: vec![BTreeMap::from([
                (deleteq_core::Priority::High, 1),
                (deleteq_core::Priority::Normal, 0),
                (deleteq_core::Priority::Low, 6),
            ])],
            parked: BTreeMap::from([("cc".to_string(), true), ("of".to_string(), false)]),
        };
        let with = metrics.render(Some(&gauges));
        for line in [
            r#"deleteq_queue_depth{shard="0",lane="high"} 1"#,
            r#"deleteq_queue_depth{shard="0",lane="normal"} 0"#,
            r#"deleteq_queue_depth{shard="0",lane="low"} 6"#,
            "deleteq_scheduled 2",
            "deleteq_dead 1",
            r#"deleteq_account_parked{account="cc"} 1"#,
            r#"deleteq_account_parked{account="of"} 0"#,
        ] {
            assert!(with.lines().any(|l| l == line), "{line}\n{with}");
        }
    }

    #[test]
    fn status_classes() {
        let classes: Vec<_> = [Some(200), Some(204), Some(302), Some(429), Some(503), None, Some(999)]
            .into_iter()
            .map(status_class)
            .collect();
        assert_eq!(classes, ["2xx", "2xx", "3xx", "4xx", "5xx", "error", "error"]);
    }
}
