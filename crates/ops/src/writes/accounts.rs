//! Resuming a parked account: its set-aside jobs go back in line and its calls start again.

use crate::{Ops, QueueError};
use serde::Serialize;
use utoipa::ToSchema;

/// What resuming an account did (`accounts resume NAME --json`, `POST /v1/accounts/{name}/resume`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Resumed {
    /// The account.
    pub account: String,
    /// Whether it was parked.
    pub was_parked: bool,
    /// Why it was parked (the provider's refusal), if it was.
    pub reason: Option<String>,
    /// Jobs set aside while it was parked, now back in their lanes.
    pub jobs_back: u64,
}

impl Resumed {
    /// Whether there was anything to resume (it was parked, or jobs of it were set aside).
    pub fn resumed_anything(&self) -> bool {
        self.was_parked || self.jobs_back > 0
    }
}

impl Ops {
    /// Resumes account `name` (the caller checks it is configured): unparks it and puts its set-aside jobs back.
    pub async fn resume_account(&self, name: &str) -> Result<Resumed, QueueError> {
        let was = self.queue().account_parked(name).await?;
        let jobs_back = self.queue().resume_account(name).await?;
        let (was_parked, reason) = (was.is_some(), was.map(|p| p.reason));
        Ok(Resumed { account: name.to_string(), was_parked, reason, jobs_back })
    }
}

#[cfg(test)]
mod tests {
    use super::Resumed;

    #[test]
    fn nothing_resumed_only_when_not_parked_and_nothing_set_aside() {
        let resumed = |was_parked, jobs_back| Resumed { account: "a".into(), was_parked, reason: None, jobs_back };
        assert!(!resumed(false, 0).resumed_anything());
        assert!(resumed(false, 3).resumed_anything());
        assert!(resumed(true, 0).resumed_anything());
        let json = serde_json::to_value(resumed(true, 2)).expect("json");
        assert_eq!(json, serde_json::json!({"account": "a", "was_parked": true, "reason": null, "jobs_back": 2}));
    }
}
