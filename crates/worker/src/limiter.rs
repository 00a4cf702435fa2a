//! The worker's side of the per-account rate limits. Slots are reserved in Redis (so a limit holds across every
//! worker) a few at a time: each refill takes about 50 ms worth of the account's effective rate (at least one, at
//! most 256; Redis sizes it, so a slowed-down or budget-capped account gets fewer), so a generous limit costs a
//! Redis call per hundreds of provider calls and a tight one stays shared fairly. When an account's rate outruns
//! one refill per span (Redis handed out the most a refill may take), the next refill is fetched in the background
//! once the stock runs low ([`PREFETCH_AT`]), so its calls never wait for that round trip; a tighter account
//! refills on demand only, holding no more than one refill's slots. No slot is reserved further
//! ahead than the horizon (`[worker] rate_wait`): a job whose account has no slot that soon is handed back to its
//! lane ([`Slot::Later`]), holding nothing, so a later `high` job takes the next free slot. A slot not used within
//! [`STALE`] of its time is dropped rather than spent late, which would burst. A 429 slows the account down for
//! every worker and drops the local stock. The budget a provider reports on its responses is passed on to the
//! shared limiter ([`RateGate::observe`]); slots already handed out count against it there, and when there are
//! more than it leaves they are revoked: the limiter starts a new generation and stock of an older one is
//! dropped. Each wait, deferral and 429 counts in `deleteq_rate_limited_total` under its `reason`.

use crate::metrics::{Metrics, RateLimited};
use deleteq_core::rate::RateLimit;
use deleteq_providers::RateBudget;
use deleteq_queue::rate::ReportedBudget;
use deleteq_queue::{PaceHints, Queue};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How late a reserved slot may still be used.
const STALE: Duration = Duration::from_millis(50);
/// How much of the rate one refill reserves.
const REFILL_SPAN: Duration = Duration::from_millis(50);
/// Slots one refill may take at most.
const REFILL_MAX: usize = 256;
/// A full refill's stock down to this many slots fetches the next refill in the background. A quarter of a
/// refill lasts longer than a refill's round trip under load (64 calls at 20,000/s are 3 ms).
const PREFETCH_AT: usize = REFILL_MAX / 4;
/// How often one worker refreshes an account's reported budget in Redis at most, while it binds.
///
/// Every response may carry a budget, and a Redis call per provider call would double the cost of a fast account.
/// A report is only worth sending when it binds (the budget cannot last at the configured rate; otherwise it
/// changes nothing), and then the shared limiter counts the budget down by itself as it hands out slots, so a
/// refresh is only needed to catch calls it does not see (other clients of the same provider account) and its
/// own rounding: every 250 ms per worker, plus at once when the window it last reported has reset (the first
/// binding response of a new window). One report per account is in flight at a time. At a 50/s budget and two
/// workers that is about 4 reports per worker per second, one per six provider calls.
const OBSERVE_EVERY: Duration = Duration::from_millis(250);

/// One account's reserved slots (their times, ms), the lock that lets one task refill while others wait, and the
/// last budget report sent.
#[derive(Default)]
struct Stock {
    slots: Mutex<VecDeque<u64>>,
    refill: tokio::sync::Mutex<()>,
    reported: Mutex<Reported>,
    /// The limiter generation last heard of.
    generation: Mutex<Option<u64>>,
    /// The account's 429s this worker saw: each revokes the slots it holds at once, before Redis says so.
    refusals: std::sync::atomic::AtomicU64,
    /// When the account's next free slot is, as its last reservation told (the end of the slots it handed out,
    /// or the first free one beyond the horizon): the lease passes it to every shard's pace.
    next_free: Mutex<Option<Instant>>,
    /// The last refill took [`REFILL_MAX`] slots: the account's rate outruns one refill per span, so the next
    /// one is fetched before the stock runs out.
    full: AtomicBool,
    /// A background refill is under way.
    prefetching: AtomicBool,
}

/// The last budget report sent for an account.
#[derive(Default)]
struct Reported {
    at: Option<Instant>,
    /// When the window it reported resets.
    reset_at: Option<Instant>,
    in_flight: bool,
}

impl Reported {
    /// Whether a binding report is worth a Redis call now; if so, records it as sent.
    fn take_turn(&mut self, now: Instant, reset_after: Duration) -> bool {
        let due = match (self.at, self.reset_at) {
            (Some(at), Some(reset_at)) => now >= at + OBSERVE_EVERY || now >= reset_at,
            _ => true,
        };
        if !due || self.in_flight {
            return false;
        }
        *self = Reported { at: Some(now), reset_at: Some(now + reset_after), in_flight: true };
        true
    }
}

impl Stock {
    fn slots(&self) -> MutexGuard<'_, VecDeque<u64>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reported(&self) -> MutexGuard<'_, Reported> {
        self.reported.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn generation(&self) -> MutexGuard<'_, Option<u64>> {
        self.generation.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the limiter's generation; slots of an older one are revoked and dropped.
    fn heard(&self, gen: u64) {
        let mut known = self.generation();
        if known.is_some_and(|old| old != gen) {
            self.slots().clear();
        }
        *known = Some(gen);
    }

    fn next_free(&self) -> MutexGuard<'_, Option<Instant>> {
        self.next_free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The mark of the slots handed out now.
    fn mark(&self) -> SlotMark {
        SlotMark { gen: self.generation().unwrap_or(0), refusals: self.refusals.load(Ordering::Relaxed) }
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

/// A call's turn, as the account's limiter gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Its slot comes after this wait (within the horizon); the slot's mark says whether a 429 revoked it meanwhile
    /// ([`RateGate::revoked`]).
    After(Duration, SlotMark),
    /// The account has no slot within the horizon: the first free one is this far away. Nothing was reserved.
    Later(Duration),
}

/// What a slot was handed out under: the limiter generation and this worker's count of the account's 429s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotMark {
    gen: u64,
    refusals: u64,
}

/// Hands out call slots; cheap to clone.
#[derive(Clone)]
pub(crate) struct RateGate {
    queue: Queue,
    stocks: Arc<Mutex<HashMap<String, Arc<Stock>>>>,
    metrics: Metrics,
    /// No slot is reserved further ahead than this.
    horizon: Duration,
}

impl RateGate {
    pub(crate) fn new(queue: Queue, metrics: Metrics, horizon: Duration) -> RateGate {
        RateGate { queue, stocks: Arc::default(), metrics, horizon }
    }

    fn stock(&self, account: &str) -> Arc<Stock> {
        let mut stocks = self.stocks.lock().unwrap_or_else(PoisonError::into_inner);
        stocks.entry(account.to_string()).or_default().clone()
    }

    /// This call's slot. If Redis cannot be asked, the call goes at once: the limit is a courtesy to the
    /// provider, whose 429s are handled anyway.
    pub(crate) async fn slot(&self, account: &str, limit: RateLimit) -> Slot {
        let stock = self.stock(account);
        loop {
            if let Some(wait) = stock.take(deleteq_core::now_ms()) {
                if !wait.is_zero() {
                    self.metrics.rate_limited(account, RateLimited::Waited);
                }
                let mark = stock.mark();
                self.prefetch_if_low(account, limit, &stock);
                return Slot::After(wait, mark);
            }
            let _refilling = stock.refill.lock().await;
            if !stock.slots().is_empty() {
                continue;
            }
            match self.refill(account, &limit, &stock).await {
                Ok(None) => {}
                Ok(Some(later)) => {
                    self.metrics.rate_limited(account, RateLimited::Deferred);
                    return Slot::Later(later);
                }
                Err(error) => {
                    tracing::warn!(%error, %account, "Could not reserve rate-limit slots; calling without.");
                    return Slot::After(Duration::ZERO, stock.mark());
                }
            }
        }
    }

    /// Reserves the account's next slots in Redis and adds them to its stock (the caller holds the refill lock).
    /// `Some(wait)` when none is free within the horizon: the first free one is that far away.
    async fn refill(
        &self,
        account: &str,
        limit: &RateLimit,
        stock: &Stock,
    ) -> Result<Option<Duration>, deleteq_queue::QueueError> {
        let reservation = self.queue.reserve_calls(account, limit, REFILL_MAX, REFILL_SPAN, self.horizon).await?;
        stock.heard(reservation.gen);
        if let Some(later) = reservation.later {
            *stock.next_free() = Some(Instant::now() + later);
            stock.full.store(false, Ordering::Relaxed);
            return Ok(Some(later));
        }
        stock.full.store(reservation.waits.len() >= REFILL_MAX, Ordering::Relaxed);
        let spacing = limit.interval();
        let last = reservation.waits.last().copied().unwrap_or_default();
        *stock.next_free() = Some(Instant::now() + last + spacing);
        // The waits are from Redis's now; this clock only places them (a round trip late, never early).
        let now = deleteq_core::now_ms();
        stock.slots().extend(reservation.waits.iter().map(|w| now + w.as_millis() as u64));
        Ok(None)
    }

    /// Fetches the account's next refill in the background when its last one was full and the stock is down to
    /// [`PREFETCH_AT`]: a busy account's calls then never wait for a refill's round trip. One at a time per
    /// account; a failure is left to the next call that finds the stock empty.
    fn prefetch_if_low(&self, account: &str, limit: RateLimit, stock: &Arc<Stock>) {
        if !stock.full.load(Ordering::Relaxed) || stock.slots().len() > PREFETCH_AT {
            return;
        }
        if stock.prefetching.swap(true, Ordering::AcqRel) {
            return;
        }
        let (gate, account, stock) = (self.clone(), account.to_string(), stock.clone());
        tokio::spawn(async move {
            {
                let _refilling = stock.refill.lock().await;
                if stock.slots().len() <= PREFETCH_AT {
                    if let Err(error) = gate.refill(&account, &limit, &stock).await {
                        tracing::debug!(%error, %account, "Could not reserve rate-limit slots ahead.");
                    }
                }
            }
            stock.prefetching.store(false, Ordering::Release);
        });
    }

    /// Per account, how far from now its next free slot is, as this worker last heard (accounts whose next slot
    /// is free already are left out): the lease hands it to every shard's pace, so jobs of an account saturated
    /// through one shard are not leased from the others only to be handed back.
    pub(crate) fn pace_hints(&self) -> PaceHints {
        let now = Instant::now();
        let stocks = self.stocks.lock().unwrap_or_else(PoisonError::into_inner);
        stocks
            .iter()
            .filter_map(|(account, stock)| {
                let at = (*stock.next_free())?;
                (at > now).then(|| (account.clone(), at - now))
            })
            .collect()
    }

    /// The accounts this worker holds no slot for and whose next free one is further than `beyond`: their jobs
    /// would wait in their call slots.
    pub(crate) fn saturated(&self, beyond: Duration) -> Vec<String> {
        let now = Instant::now();
        let stocks = self.stocks.lock().unwrap_or_else(PoisonError::into_inner);
        stocks
            .iter()
            .filter(|(_, stock)| stock.slots().is_empty() && (*stock.next_free()).is_some_and(|at| at > now + beyond))
            .map(|(account, _)| account.clone())
            .collect()
    }

    /// Whether the slot handed out under `mark` was revoked since: a 429 (seen here, or reported to the limiter by
    /// another worker and heard of at this worker's latest refill) or a provider budget that could not cover it.
    /// A job that waited for such a slot reserves again.
    pub(crate) fn revoked(&self, account: &str, mark: SlotMark) -> bool {
        self.stock(account).mark() != mark
    }

    /// Reports a 429: the account slows down for every worker, and slots handed out at the old rate are revoked
    /// (at once in this worker; the others hear of it at their next refill).
    pub(crate) fn slow_down(&self, account: &str, limit: RateLimit) {
        self.metrics.rate_limited(account, RateLimited::Provider429);
        let stock = self.stock(account);
        stock.refusals.fetch_add(1, Ordering::Relaxed);
        stock.full.store(false, Ordering::Relaxed);
        stock.slots().clear();
        let (queue, account) = (self.queue.clone(), account.to_string());
        tokio::spawn(async move {
            match queue.slow_down(&account, &limit).await {
                Ok(factor) => {
                    tracing::warn!(%account, factor, "429 from the provider: slowing the account down for every worker.");
                    if let Ok(gen) = queue.rate_generation(&account).await {
                        stock.heard(gen);
                    }
                }
                Err(error) => tracing::warn!(%error, %account, "Could not record a 429 slow-down."),
            }
        });
    }

    /// Passes the budget the provider reported on a response to the account's shared limiter, when it binds and
    /// no report was sent lately (see [`OBSERVE_EVERY`]). Never waits: the report is sent in the background.
    pub(crate) fn observe(&self, account: &str, limit: RateLimit, budget: &RateBudget) {
        if !budget.binds_below(limit.per_second()) {
            return;
        }
        let stock = self.stock(account);
        if !stock.reported().take_turn(Instant::now(), budget.reset_after) {
            return;
        }
        let (queue, account) = (self.queue.clone(), account.to_string());
        let reported =
            ReportedBudget { limit: budget.limit, remaining: budget.remaining, reset_after: budget.reset_after };
        tokio::spawn(async move {
            match queue.observe_budget(&account, &limit, &reported).await {
                Ok((step, gen)) => {
                    stock.heard(gen);
                    tracing::debug!(%account, remaining = reported.remaining, ?step, gen, "Provider budget recorded.")
                }
                Err(error) => tracing::warn!(%error, %account, "Could not record the provider's rate-limit budget."),
            }
            stock.reported().in_flight = false;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_reports_go_out_every_so_often_and_when_the_window_resets() {
        let mut reported = Reported::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert!(reported.take_turn(t0, Duration::from_secs(1)), "the first one goes");
        reported.in_flight = false;
        assert!(!reported.take_turn(t0 + ms(100), Duration::from_secs(1)), "too soon, same window");
        assert!(reported.take_turn(t0 + OBSERVE_EVERY, ms(20)), "a refresh; this window resets 20 ms later");
        assert!(!reported.take_turn(t0 + OBSERVE_EVERY, ms(20)), "one in flight at a time");
        reported.in_flight = false;
        assert!(!reported.take_turn(t0 + OBSERVE_EVERY + ms(10), ms(10)), "too soon, same window");
        assert!(reported.take_turn(t0 + OBSERVE_EVERY + ms(30), Duration::from_secs(1)), "a new window goes at once");
    }
}
