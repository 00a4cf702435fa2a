//! Per-account circuit breakers held in Redis: server-side failures (5xx, timeouts, refused connections) counted
//! across every worker; past a threshold within a window the account's calls stop for a while.

use crate::keys::account_circuit;
use crate::queue::Queue;
use crate::script;
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
    async fn circuit(&self, account: &str, mode: &str, policy: &CircuitPolicy) -> Result<Duration> {
        let mut inv = crate::script::Eval::new(&self.scripts().circuit);
        script::circuit::args(&mut inv, &account_circuit(self.prefix(), account), mode, policy);
        let open_for: u64 = inv.invoke_async(&mut self.conn()).await?;
        Ok(Duration::from_millis(open_for))
    }

    /// How long the account's circuit stays open from now (Redis's clock); zero when closed.
    pub async fn circuit_open_for(&self, account: &str, policy: &CircuitPolicy) -> Result<Duration> {
        self.circuit(account, "check", policy).await
    }

    /// Counts a server-side failure; returns how long the circuit stays open after it (zero: closed).
    pub async fn circuit_failure(&self, account: &str, policy: &CircuitPolicy) -> Result<Duration> {
        self.circuit(account, "failure", policy).await
    }
}
