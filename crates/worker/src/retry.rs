//! The retry policy, in one place: after a retryable failure, either run again after a delay or give up (`dead`).
//!
//! The delay is exponential with full jitter, from the `backoff` crate's `ExponentialBackoff` (behind
//! [`backoff_step`], so replacing that unmaintained crate touches this file only), capped by `max_backoff`; the
//! provider's hint (`Retry-After` and friends) is a floor.

use deleteq_core::config::RetryConfig;
use rand::Rng;
use std::time::Duration;

/// What to do after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Run again after this long.
    RetryAfter(Duration),
    /// The budget is spent: the job is `dead`.
    GiveUp,
}

/// Decides for a job that has now failed retryably on call number `attempt` (1-based).
pub fn decide(attempt: u32, hint: Option<Duration>, config: &RetryConfig, rng: &mut impl Rng) -> RetryDecision {
    if attempt >= config.max_attempts {
        return RetryDecision::GiveUp;
    }
    let step = backoff_step(attempt, config);
    let jittered = Duration::from_millis(rng.gen_range(0..=step.as_millis() as u64));
    RetryDecision::RetryAfter(jittered.max(hint.unwrap_or(Duration::ZERO)))
}

/// The un-jittered, capped exponential step after `attempt` failures: `initial * 2^(attempt-1)`, at most
/// `max_backoff`.
pub fn backoff_step(attempt: u32, config: &RetryConfig) -> Duration {
    use backoff::backoff::Backoff;
    let mut policy = backoff::ExponentialBackoff {
        current_interval: config.initial_backoff,
        initial_interval: config.initial_backoff,
        randomization_factor: 0.0,
        multiplier: 2.0,
        max_interval: config.max_backoff,
        max_elapsed_time: None,
        ..backoff::ExponentialBackoff::default()
    };
    let mut step = config.initial_backoff;
    for _ in 0..attempt.max(1) {
        step = policy.next_backoff().unwrap_or(config.max_backoff);
    }
    step.min(config.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn config() -> RetryConfig {
        RetryConfig { max_attempts: 8, initial_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(10) }
    }

    #[test]
    fn steps_double_and_cap() {
        let steps: Vec<u64> = (1..=6).map(|a| backoff_step(a, &config()).as_secs()).collect();
        assert_eq!(steps, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_stays_within_the_step_and_the_hint_is_a_floor() {
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..8 {
            for _ in 0..200 {
                match decide(attempt, None, &config(), &mut rng) {
                    RetryDecision::RetryAfter(d) => assert!(d <= backoff_step(attempt, &config())),
                    RetryDecision::GiveUp => panic!("gave up early at {attempt}"),
                }
                let hinted = decide(attempt, Some(Duration::from_secs(30)), &config(), &mut rng);
                assert_eq!(hinted, RetryDecision::RetryAfter(Duration::from_secs(30)));
            }
        }
    }

    #[test]
    fn gives_up_after_max_attempts_calls() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!(matches!(decide(7, None, &config(), &mut rng), RetryDecision::RetryAfter(_)));
        assert_eq!(decide(8, None, &config(), &mut rng), RetryDecision::GiveUp);
    }
}
