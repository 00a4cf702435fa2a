//! Per-account rate limits held in Redis, so they hold across every worker: GCRA with reservations (each call is
//! given its slot, so waiting calls never stampede), and a shared slow-down after a 429.

use crate::keys::account_rate;
use crate::queue::Queue;
use crate::Result;
use deleteq_core::rate::RateLimit;
use std::time::Duration;

/// How long an account must be free of 429s before its slow-down halves.
pub const QUIET_PERIOD: Duration = Duration::from_secs(10);

impl Queue {
    /// Reserves `n` call slots for `account` at `limit`; returns how long each must wait, in order.
    pub async fn reserve_calls(
        &self,
        account: &str,
        limit: &RateLimit,
        n: usize,
        now_ms: u64,
    ) -> Result<Vec<Duration>> {
        let interval_ms = limit.interval().as_secs_f64() * 1000.0;
        let waits: Vec<u64> = self
            .scripts()
            .rate
            .key(account_rate(self.prefix(), account))
            .arg(now_ms)
            .arg(interval_ms)
            .arg(limit.burst)
            .arg(n)
            .arg(QUIET_PERIOD.as_millis() as u64)
            .arg("reserve")
            .invoke_async(&mut self.conn())
            .await?;
        Ok(waits.into_iter().map(Duration::from_millis).collect())
    }

    /// Slows `account` down for every worker after a 429 (doubling, at most 64×); returns the new slow-down.
    pub async fn slow_down(&self, account: &str, limit: &RateLimit, now_ms: u64) -> Result<f64> {
        let factor: String = self
            .scripts()
            .rate
            .key(account_rate(self.prefix(), account))
            .arg(now_ms)
            .arg(limit.interval().as_secs_f64() * 1000.0)
            .arg(limit.burst)
            .arg(0)
            .arg(QUIET_PERIOD.as_millis() as u64)
            .arg("penalize")
            .invoke_async(&mut self.conn())
            .await?;
        Ok(factor.parse().unwrap_or(1.0))
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
