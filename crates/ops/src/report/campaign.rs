//! A campaign as `deleteq campaign status|cancel|list --json` and `GET /v1/campaigns[/{id}]` show it (DESIGN §4:
//! `id`, `name`, `total`, `pending`, one count per terminal outcome), and what a submission answers.

use deleteq_queue::campaign::{CampaignInfo, CampaignState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Where a campaign stands, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignPhase {
    /// Its jobs are still being stored (or the submission was interrupted: cancel it and submit again).
    Submitting,
    /// Stored, messages still pending.
    Running,
    /// Cancelled, messages still pending (their jobs end `cancelled` as they come up).
    Cancelling,
    /// Nothing pending.
    Done,
}

impl CampaignPhase {
    /// The phase of `state`.
    pub fn of(state: &CampaignState) -> CampaignPhase {
        match (state.info.submitted, state.info.cancelled_ms.is_some(), state.pending()) {
            (false, _, _) => CampaignPhase::Submitting,
            (true, _, 0) => CampaignPhase::Done,
            (true, true, _) => CampaignPhase::Cancelling,
            (true, false, _) => CampaignPhase::Running,
        }
    }

    /// The word, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignPhase::Submitting => "submitting",
            CampaignPhase::Running => "running",
            CampaignPhase::Cancelling => "cancelling",
            CampaignPhase::Done => "done",
        }
    }
}

/// The phase of `state` as a word, for text output.
pub fn campaign_label(state: &CampaignState) -> &'static str {
    CampaignPhase::of(state).as_str()
}

/// One campaign with its exact counters. `total` = `pending` + the seven outcome counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignReport {
    /// Its id (a ULID).
    pub id: String,
    /// The name given at submission.
    pub name: String,
    /// Messages it addresses (a purge counts as one): the terminal records it will have.
    pub total: u64,
    /// Messages without a terminal record yet.
    pub pending: u64,
    /// Jobs it was submitted as.
    pub jobs: u64,
    /// Where it stands.
    pub state: CampaignPhase,
    /// Whether every job was stored.
    pub submitted: bool,
    /// When it was created (ms since the epoch).
    pub created_ms: u64,
    /// When it was cancelled (ms since the epoch), if it was.
    pub cancelled_ms: Option<u64>,
    /// Messages deleted.
    pub deleted: u64,
    /// Messages the provider no longer had.
    pub already_deleted: u64,
    /// Conversations purged.
    pub purged: u64,
    /// Messages past `not_after` or a provider window.
    pub expired: u64,
    /// Messages cancelled with the campaign.
    pub cancelled: u64,
    /// Messages that failed permanently (dead-lettered).
    pub failed: u64,
    /// Messages that outlasted their retries (dead-lettered).
    pub dead: u64,
    /// Its share of each of its accounts' calls lately (`campaign status` and `GET /v1/campaigns/{id}` only;
    /// absent while none of its messages ran lately).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<CampaignShare>,
}

/// A campaign's share of one account's calls over the last [`SHARE_WINDOW`] of audit records (at most the newest
/// 1,000 of them: a busy account's window is sampled by its newest records): lanes and flows
/// share an account's rate (DESIGN §6), and this shows how much of it the campaign gets.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignShare {
    /// The account.
    pub account: String,
    /// Of the account's records in the window, the fraction that are this campaign's (0 to 1).
    pub share: f64,
    /// This campaign's records per second in the window.
    pub per_s: f64,
    /// The account's records in the window, all campaigns and jobs.
    pub account_records: u64,
}

/// The stretch of audit records a campaign's share is measured over, ending at Redis's now.
pub const SHARE_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Audit records read at most (the newest, across shards) to measure shares: a sample, enough for a share to a
/// few percent. Reading 20,000 (17 fields each, about 4 MB) held Redis for some 27 ms on every `campaign status`,
/// so a dashboard or script polling it slowed the drain itself by a fifth.
const SHARE_RECORDS: usize = 1_000;

/// `campaign`'s shares of its accounts' calls over the last [`SHARE_WINDOW`], from the newest audit records.
pub(crate) async fn campaign_shares(
    queue: &deleteq_queue::Queue,
    campaign: &str,
) -> Result<Vec<CampaignShare>, deleteq_queue::QueueError> {
    let now = queue.redis_time_ms().await?;
    let window = SHARE_WINDOW.as_millis() as u64;
    let since = now.saturating_sub(window);
    // Per account: (the account's records, this campaign's).
    let mut per_account: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let at = |id: &str| -> u64 { id.split_once('-').and_then(|(ms, _)| ms.parse().ok()).unwrap_or(0) };
    let records = queue.audit_last(SHARE_RECORDS).await?;
    // When the sample is full, it covers less than the window: rates are over the stretch it covers.
    let oldest = records.first().map(|(id, _)| at(id)).unwrap_or(since).max(since);
    let span = if records.len() >= SHARE_RECORDS { now.saturating_sub(oldest).max(1) } else { window };
    for (id, fields) in &records {
        if at(id) < since {
            continue;
        }
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
        let counts = per_account.entry(field("account").to_string()).or_default();
        counts.0 += 1;
        if field("campaign") == campaign {
            counts.1 += 1;
        }
    }
    Ok(per_account
        .into_iter()
        .filter(|(_, (_, ours))| *ours > 0)
        .map(|(account, (all, ours))| CampaignShare {
            account,
            share: ours as f64 / all as f64,
            per_s: ours as f64 * 1000.0 / span as f64,
            account_records: all,
        })
        .collect())
}

impl CampaignReport {
    /// The report of `state`.
    pub fn of(state: &CampaignState) -> CampaignReport {
        let i = &state.info;
        let count = |outcome: &str| state.counts.get(outcome).copied().unwrap_or(0);
        CampaignReport {
            id: i.id.clone(),
            name: i.name.clone(),
            total: i.total,
            pending: state.pending(),
            jobs: i.jobs,
            state: CampaignPhase::of(state),
            submitted: i.submitted,
            created_ms: i.created_ms,
            cancelled_ms: i.cancelled_ms,
            deleted: count("deleted"),
            already_deleted: count("already_deleted"),
            purged: count("purged"),
            expired: count("expired"),
            cancelled: count("cancelled"),
            failed: count("failed"),
            dead: count("dead"),
            shares: Vec::new(),
        }
    }
}

/// `campaign status --json` and `GET /v1/campaigns/{id}`: the campaign's report with its shares of its accounts'
/// calls lately.
pub(crate) async fn campaign_status_json(
    queue: &deleteq_queue::Queue,
    state: &CampaignState,
) -> Result<Value, deleteq_queue::QueueError> {
    let mut report = CampaignReport::of(state);
    report.shares = campaign_shares(queue, &state.info.id).await?;
    Ok(super::to_json(&report))
}

/// `campaign status --json`: the campaign's report as JSON.
pub fn campaign_json(state: &CampaignState) -> Value {
    super::to_json(&CampaignReport::of(state))
}

/// What a stored submission answers (`campaign submit --json`, `POST /v1/campaigns`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignSubmitted {
    /// The campaign's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Messages it addresses (repeated idempotency keys not counted).
    pub total: u64,
    /// Jobs it was submitted as.
    pub jobs: u64,
}

/// `campaign submit --json`: the stored campaign as JSON.
pub fn submitted_json(info: &CampaignInfo) -> Value {
    super::to_json(&CampaignSubmitted {
        id: info.id.clone(),
        name: info.name.clone(),
        total: info.total,
        jobs: info.jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_core::Outcome;
    use std::collections::BTreeMap;

    fn state(cancelled: bool, counts: &[(&'static str, u64)]) -> CampaignState {
        let mut all: BTreeMap<&'static str, u64> = Outcome::TERMINAL.iter().map(|o| (o.as_str(), 0)).collect();
        all.extend(counts.iter().copied());
        CampaignState {
            info: CampaignInfo {
                id: "01J0000000000000000000000".into(),
                name: "wave".into(),
                total: 10,
                jobs: 9,
                created_ms: 5,
                submitted: true,
                cancelled_ms: cancelled.then_some(7),
                finished_ms: None,
            },
            counts: all,
        }
    }

    #[test]
    fn every_terminal_outcome_has_its_count() {
        let value = campaign_json(&state(true, &[("deleted", 4), ("cancelled", 2)]));
        for outcome in Outcome::TERMINAL {
            assert!(value[outcome.as_str()].is_u64(), "{} is missing from {value}", outcome.as_str());
        }
        let fields = ["id", "name", "total", "pending", "jobs", "state", "submitted", "created_ms", "cancelled_ms"];
        assert_eq!(value.as_object().map(|m| m.len()), Some(fields.len() + Outcome::TERMINAL.len()), "{value}");
        assert_eq!((value["pending"].as_u64(), value["state"].as_str()), (Some(4), Some("cancelling")), "{value}");
        assert_eq!(value["cancelled_ms"].as_u64(), Some(7));
    }

    #[test]
    fn keys_print_sorted_like_the_json_macro_did() {
        let text = campaign_json(&state(false, &[("deleted", 10)])).to_string();
        assert!(
            text.starts_with(r#"{"already_deleted":0,"cancelled":0,"cancelled_ms":null,"created_ms":5,"#),
            "{text}"
        );
        assert!(text.contains(r#""state":"done","submitted":true,"total":10}"#), "{text}");
    }
}
