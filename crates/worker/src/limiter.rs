//! The worker's side of the per-account rate limits. Slots are reserved in Redis (so a limit holds across every
//! worker) a few at a time: each refill takes about 50 ms worth of the account's rate (at least one, at most 256),
//! so a generous limit costs a Redis call per hundreds of provider calls and a tight one stays shared fairly.
//! A slot not used within [`STALE`] of its time is dropped rather than spent late, which would burst. A 429 slows
//! the account down for every worker and drops the local stock. Each wait and each 429 counts in
//! `deleteq_rate_limited_total`.

use crate::metrics::Metrics;
use deleteq_core::rate::RateLimit;
use deleteq_queue::Queue;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How late a reserved slot may still be used.
const STALE: Duration = Duration::from_millis(50);
/// How much of the rate one refill reserves.
const REFILL_SPAN: Duration = Duration::from_millis(50);

/// One account's reserved slots (their times, ms), and the lock that lets one task refill while others wait.
#[derive(Default)]
struct Stock {
    slots: Mutex<VecDeque<u64>>,
    refill: tokio::sync::Mutex<()>,
}

impl Stock {
    fn slots(&self) -> MutexGuard<'_, VecDeque<u64>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next usable slot's wait, dropping stale ones.
    fn take(&self, now_ms: u64) -> Option<Duration> {
        let mut slots = self.slots();
        while let Some(at) = slots.pop_front() {
            if at + STALE.as_millis() as u64 >= now_ms {
                return Some(Duration::from_millis(at.saturating_sub(now_ms)));
            }
        }
        None
    }
}

/// Hands out call slots; cheap to clone.
#[derive(Clone)]
pub(crate) struct RateGate {
    queue: Queue,
    stocks: Arc<Mutex<HashMap<String, Arc<Stock>>>>,
    metrics: Metrics,
}

impl RateGate {
    pub(crate) fn new(queue: Queue, metrics: Metrics) -> RateGate {
        RateGate { queue, stocks: Arc::default(), metrics }
    }

    fn stock(&self, account: &str) -> Arc<Stock> {
        let mut stocks = self.stocks.lock().unwrap_or_else(PoisonError::into_inner);
        stocks.entry(account.to_string()).or_default().clone()
    }

    /// How long this call must wait for its slot. If Redis cannot be asked, the call goes at once: the limit is a
    /// courtesy to the provider, whose 429s are handled anyway.
    pub(crate) async fn slot(&self, account: &str, limit: RateLimit) -> Duration {
        let stock = self.stock(account);
        loop {
            if let Some(wait) = stock.take(deleteq_core::now_ms()) {
                if !wait.is_zero() {
                    self.metrics.rate_limited(account);
                }
                return wait;
            }
            let _refilling = stock.refill.lock().await;
            if !stock.slots().is_empty() {
                continue;
            }
            let n = (limit.per_second() * REFILL_SPAN.as_secs_f64()).clamp(1.0, 256.0) as usize;
            let now = deleteq_core::now_ms();
            match self.queue.reserve_calls(account, &limit, n, now).await {
                Ok(waits) => stock.slots().extend(waits.iter().map(|w| now + w.as_millis() as u64)),
                Err(error) => {
                    tracing::warn!(%error, %account, "Could not reserve rate-limit slots; calling without.");
                    return Duration::ZERO;
                }
            }
        }
    }

    /// Reports a 429: the account slows down for every worker, and slots reserved at the old rate are dropped.
    pub(crate) fn slow_down(&self, account: &str, limit: RateLimit) {
        self.metrics.rate_limited(account);
        self.stock(account).slots().clear();
        let (queue, account) = (self.queue.clone(), account.to_string());
        tokio::spawn(async move {
            match queue.slow_down(&account, &limit, deleteq_core::now_ms()).await {
                Ok(factor) => {
                    tracing::warn!(%account, factor, "429 from the provider: slowing the account down for every worker.")
                }
                Err(error) => tracing::warn!(%error, %account, "Could not record a 429 slow-down."),
            }
        });
    }
}
