//! Per-account circuit breakers held in Redis: server-side failures (5xx, timeouts, refused connections) counted
//! across every worker; past a threshold within a window the account's calls stop for a while.

use crate::keys::account_circuit;
use crate::queue::Queue;
use crate::Result;
use std::time::Duration;

/// When a circuit opens and for how long.
#[derive(Debug, Clone, Copy)]
pub struct CircuitPolicy {
    /// The window failures are counted in.
    pub window: Duration,
    /// Failures within the window that open the circuit.
    pub threshold: u32,
    /// The first opening; each next one lasts twice as long.
    pub first_open: Duration,
    /// The longest opening.
    pub max_open: Duration,
    /// Quiet time after which openings start short again.
    pub calm: Duration,
}

impl Default for CircuitPolicy {
    fn default() -> Self {
        CircuitPolicy {
            window: Duration::from_secs(10),
            threshold: 20,
            first_open: Duration::from_secs(5),
            max_open: Duration::from_secs(300),
            calm: Duration::from_secs(600),
        }
    }
}

impl CircuitPolicy {
    /// The policy `[circuit]` asks for.
    pub fn from_config(c: &deleteq_core::config::CircuitConfig) -> Self {
        CircuitPolicy {
            window: c.window,
            threshold: c.failures,
            first_open: c.open_for,
            max_open: c.max_open_for,
            calm: c.calm,
        }
    }
}

impl Queue {
    async fn circuit(&self, account: &str, mode: &str, policy: &CircuitPolicy, now_ms: u64) -> Result<u64> {
        let ms = |d: Duration| d.as_millis() as u64;
        Ok(self
            .scripts()
            .circuit
            .key(account_circuit(self.prefix(), account))
            .arg(now_ms)
            .arg(mode)
            .arg(ms(policy.window))
            .arg(policy.threshold)
            .arg(ms(policy.first_open))
            .arg(ms(policy.max_open))
            .arg(ms(policy.calm))
            .invoke_async(&mut self.conn())
            .await?)
    }

    /// Until when (ms) the account's circuit is open; 0 or a past time when closed.
    pub async fn circuit_open_until(&self, account: &str, policy: &CircuitPolicy, now_ms: u64) -> Result<u64> {
        self.circuit(account, "check", policy, now_ms).await
    }

    /// Counts a server-side failure; returns until when the circuit is open after it.
    pub async fn circuit_failure(&self, account: &str, policy: &CircuitPolicy, now_ms: u64) -> Result<u64> {
        self.circuit(account, "failure", policy, now_ms).await
    }
}
