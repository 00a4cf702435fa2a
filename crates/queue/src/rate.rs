//! Per-account rate limits held in Redis, so they hold across every worker: GCRA with reservations (each call is
//! given its slot, so waiting calls never stampede), a shared slow-down after a 429, and the budget the provider
//! reports on its responses, which caps the account's rate so that the budget lasts until the provider's reset.
//! Every time is Redis's clock; callers pass durations only.

use crate::keys::account_rate;
use crate::queue::Queue;
use crate::script::rate as script;
use crate::Result;
use deleteq_core::rate::RateLimit;
use std::time::Duration;

/// How long an account must be free of 429s before its slow-down halves.
pub const QUIET_PERIOD: Duration = Duration::from_secs(10);

/// How late a slot's call may reach the provider after the slot's time: a job waits for its slot in its call slot
/// (at most `[worker] rate_wait`) and its request takes a while to arrive. A reported budget counts the slots of
/// this last stretch as not yet reported, so a report cannot make the limiter forget calls still on their way.
pub const LATE_ARRIVAL: Duration = Duration::from_millis(250);

/// Call slots handed out by one reservation, all of limiter generation `gen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The limiter generation: a provider budget that cannot cover the slots already out revokes them by
    /// starting a new one, and a worker drops the slots of an older generation it holds.
    pub gen: u64,
    /// How long each slot must wait, in order.
    pub waits: Vec<Duration>,
    /// When no slot was handed out because the first free one is beyond the horizon: how long until it.
    pub later: Option<Duration>,
}

/// What a provider reported about an account's budget on one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedBudget {
    /// Calls per window, when reported.
    pub limit: Option<u64>,
    /// Calls left in the window.
    pub remaining: u64,
    /// How long until the window resets, measured when the response arrived.
    pub reset_after: Duration,
}

/// The provider's latest report as the limiter holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredBudget {
    /// Calls per window, when reported.
    pub limit: Option<u64>,
    /// Calls left, as reported.
    pub remaining: u64,
    /// Calls of it the limiter has not handed out yet.
    pub left: u64,
    /// Until the reset, from now; zero once it has passed (the cap no longer applies).
    pub reset_in: Duration,
    /// When it was reported (Redis time, ms since the epoch).
    pub observed_at_ms: u64,
    /// The provider's window length, once learnt from two reset instants: with the limit, calls are spaced at
    /// least window / limit apart.
    pub window: Option<Duration>,
}

/// An account's limiter at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterState {
    /// The slow-down after 429s, with the quiet periods since applied (1 = none).
    pub slow_down: f64,
    /// The provider's latest reported budget, if any was.
    pub budget: Option<StoredBudget>,
    /// The generation of the slots handed out now.
    pub gen: u64,
}

impl LimiterState {
    /// Calls per second `limit` allows now: the configured rate over the slow-down, capped while the provider's
    /// budget applies by what is left of it until the reset, and by the provider's plan (limit per window).
    pub fn effective_per_second(&self, limit: &RateLimit) -> f64 {
        let mut rate = limit.per_second() / self.slow_down;
        if let Some(b) = self.budget.filter(|b| !b.reset_in.is_zero()) {
            rate = rate.min(b.left as f64 / b.reset_in.as_secs_f64());
            if let (Some(plan), Some(window)) = (b.limit, b.window.filter(|w| !w.is_zero())) {
                rate = rate.min(plan as f64 / window.as_secs_f64());
            }
        }
        rate
    }
}

impl Queue {
    /// A call of the rate script, its KEYS and ARGV written by `build` (`script/rate.rs`) for the account's limiter.
    async fn rate_script<T: redis::FromRedisValue>(
        &self,
        account: &str,
        build: impl FnOnce(&mut crate::script::Eval<'_>, &str),
    ) -> Result<T> {
        let mut inv = crate::script::Eval::new(&self.scripts().rate);
        build(&mut inv, &account_rate(self.prefix(), account));
        Ok(inv.invoke_async(&mut self.conn()).await?)
    }

    /// Reserves up to `most` call slots for `account` at `limit` (at least one, and no more than start within
    /// `span` from now at the account's effective rate), none further ahead than `horizon`: how long each must
    /// wait, in order, and their generation; or, when the first free slot is beyond the horizon, none and how
    /// long until it.
    pub async fn reserve_calls(
        &self,
        account: &str,
        limit: &RateLimit,
        most: usize,
        span: Duration,
        horizon: Duration,
    ) -> Result<Reservation> {
        let reply: Vec<u64> =
            self.rate_script(account, |call, key| script::reserve(call, key, limit, most, span, horizon)).await?;
        let gen = reply.first().copied().unwrap_or(0);
        let later = reply.get(1).copied().filter(|ms| *ms > 0).map(Duration::from_millis);
        Ok(Reservation { gen, waits: reply.into_iter().skip(2).map(Duration::from_millis).collect(), later })
    }

    /// Slows `account` down for every worker after a 429 (doubling, at most 64×); returns the new slow-down. While
    /// the provider's reported window lasts, the 429 spends that window instead (no slot before its reset).
    pub async fn slow_down(&self, account: &str, limit: &RateLimit) -> Result<f64> {
        let factor: String = self.rate_script(account, |call, key| script::penalize(call, key, limit)).await?;
        Ok(factor.parse().unwrap_or(1.0))
    }

    /// Records the budget the provider reported for `account`: until its reset, every worker's slots are spaced
    /// so that what is left lasts (slots already handed out count against it, or are revoked when there are more
    /// than it leaves). Returns the spacing the next slot gets and the generation of the slots handed out now.
    pub async fn observe_budget(
        &self,
        account: &str,
        limit: &RateLimit,
        budget: &ReportedBudget,
    ) -> Result<(Duration, u64)> {
        let (step, gen): (String, u64) =
            self.rate_script(account, |call, key| script::observe(call, key, limit, budget)).await?;
        let ms = step.parse::<f64>().ok().filter(|ms| ms.is_finite() && *ms >= 0.0).unwrap_or(0.0);
        Ok((Duration::from_secs_f64(ms / 1000.0), gen))
    }

    /// The account's limiter now: its slow-down and the provider's latest reported budget. Reads only.
    pub async fn limiter_state(&self, account: &str, limit: &RateLimit) -> Result<LimiterState> {
        let fields: Vec<String> = self.rate_script(account, |call, key| script::peek(call, key, limit)).await?;
        let field = |i: usize| fields.get(i).map(String::as_str).unwrap_or("");
        let number = |i: usize| field(i).parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
        let budget = match (number(2), number(3), number(4), number(5)) {
            (Some(remaining), Some(left), Some(reset_in), Some(seen)) => Some(StoredBudget {
                limit: number(1).map(|l| l as u64),
                remaining: remaining as u64,
                left: left as u64,
                reset_in: Duration::from_millis(reset_in as u64),
                observed_at_ms: seen as u64,
                window: number(8).map(|w| Duration::from_millis(w as u64)),
            }),
            _ => None,
        };
        let gen = number(7).map_or(0, |g| g as u64);
        Ok(LimiterState { slow_down: number(0).filter(|f| *f >= 1.0).unwrap_or(1.0), budget, gen })
    }

    /// The generation of the account's slots handed out now (0 before any was revoked).
    pub async fn rate_generation(&self, account: &str) -> Result<u64> {
        let gen: Option<u64> = redis::cmd("HGET")
            .arg(account_rate(self.prefix(), account))
            .arg("gen")
            .query_async(&mut self.conn())
            .await?;
        Ok(gen.unwrap_or(0))
    }

    /// The account's current slow-down (1 = its configured rate), as last written.
    pub async fn slow_down_factor(&self, account: &str) -> Result<f64> {
        let factor: Option<String> = redis::cmd("HGET")
            .arg(account_rate(self.prefix(), account))
            .arg("factor")
            .query_async(&mut self.conn())
            .await?;
        Ok(factor.and_then(|f| f.parse().ok()).unwrap_or(1.0))
    }
}
