//! Campaigns: a named batch of jobs submitted together, counted as one. The description is written once at
//! submission; the per-outcome counters are moved only by the scripts that write terminal records (ack,
//! reschedule, park, replay), so they are exact under at-least-once. Cancelling adds the campaign to a set that
//! leasing checks, so each of its jobs ends `cancelled` before its next provider call.

use crate::queue::Queue;
use crate::Result;
use deleteq_core::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What is stored about a campaign when it is submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignInfo {
    /// Its id (a ULID).
    pub id: String,
    /// The name given at submission, or the file name.
    pub name: String,
    /// Messages it addresses (a purge counts as one): the number of terminal records it will have.
    pub total: u64,
    /// Jobs it was submitted as.
    pub jobs: u64,
    /// When it was created (ms).
    pub created_ms: u64,
    /// Whether every job was stored (false while submitting, or if the submission was interrupted).
    #[serde(default)]
    pub submitted: bool,
    /// When it was cancelled (ms), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_ms: Option<u64>,
    /// When maintenance first saw it finished (every message terminal), ms; it is deleted `[campaigns] retention`
    /// later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
}

/// A campaign with its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignState {
    /// What was stored at submission.
    pub info: CampaignInfo,
    /// Messages per terminal outcome so far (every terminal outcome present, zero or not).
    pub counts: BTreeMap<&'static str, u64>,
}

impl CampaignState {
    /// Messages without a terminal record yet.
    pub fn pending(&self) -> u64 {
        self.info.total.saturating_sub(self.finished())
    }

    /// Messages with a terminal record.
    pub fn finished(&self) -> u64 {
        self.counts.values().sum()
    }
}

fn counts_from(mut raw: impl FnMut(&str) -> i64) -> BTreeMap<&'static str, u64> {
    Outcome::TERMINAL.iter().map(|o| (o.as_str(), raw(o.as_str()).max(0) as u64)).collect()
}

impl Queue {
    /// Stores a new campaign's description; false if the id exists already.
    pub async fn create_campaign(&self, info: &CampaignInfo) -> Result<bool> {
        let value = serde_json::to_string(info).unwrap_or_default();
        let created: bool = redis::cmd("HSETNX")
            .arg(self.keys().campaigns())
            .arg(&info.id)
            .arg(value)
            .query_async(&mut self.conn())
            .await?;
        Ok(created)
    }

    /// Rewrites a campaign's description at the end of its submission (submitted, its final total).
    pub async fn finish_campaign_submission(&self, info: &CampaignInfo) -> Result<()> {
        // Keep a cancellation that arrived while submitting.
        let mut info = info.clone();
        if let Some(current) = self.campaign_info(&info.id).await? {
            info.cancelled_ms = current.cancelled_ms;
        }
        self.update_campaign(&info).await
    }

    /// Rewrites a campaign's description.
    async fn update_campaign(&self, info: &CampaignInfo) -> Result<()> {
        let value = serde_json::to_string(info).unwrap_or_default();
        let () = redis::cmd("HSET")
            .arg(self.keys().campaigns())
            .arg(&info.id)
            .arg(value)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    async fn campaign_info(&self, id: &str) -> Result<Option<CampaignInfo>> {
        let value: Option<String> =
            redis::cmd("HGET").arg(self.keys().campaigns()).arg(id).query_async(&mut self.conn()).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// One campaign with its counters; `None` if there is no such campaign.
    pub async fn campaign(&self, id: &str) -> Result<Option<CampaignState>> {
        let Some(info) = self.campaign_info(id).await? else { return Ok(None) };
        let fields: Vec<String> = Outcome::TERMINAL.iter().map(|o| format!("{id}:{}", o.as_str())).collect();
        let mut by_outcome: HashMap<&str, i64> = HashMap::new();
        for (_, k) in self.all_shards() {
            let values: Vec<Option<i64>> =
                redis::cmd("HMGET").arg(k.campaign_counts()).arg(&fields).query_async(&mut self.conn()).await?;
            for (o, v) in Outcome::TERMINAL.iter().zip(values) {
                *by_outcome.entry(o.as_str()).or_default() += v.unwrap_or(0);
            }
        }
        let counts = counts_from(|o| by_outcome.get(o).copied().unwrap_or(0));
        Ok(Some(CampaignState { info, counts }))
    }

    /// Every campaign with its counters, oldest first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignState>> {
        let infos: HashMap<String, String> =
            redis::cmd("HGETALL").arg(self.keys().campaigns()).query_async(&mut self.conn()).await?;
        let mut counts: HashMap<String, i64> = HashMap::new();
        for (_, k) in self.all_shards() {
            let shard: HashMap<String, i64> =
                redis::cmd("HGETALL").arg(k.campaign_counts()).query_async(&mut self.conn()).await?;
            for (field, n) in shard {
                *counts.entry(field).or_default() += n;
            }
        }
        let mut out: Vec<CampaignState> = infos
            .values()
            .filter_map(|v| serde_json::from_str::<CampaignInfo>(v).ok())
            .map(|info| {
                let counts = counts_from(|o| counts.get(&format!("{}:{o}", info.id)).copied().unwrap_or(0));
                CampaignState { info, counts }
            })
            .collect();
        out.sort_by(|a, b| a.info.id.cmp(&b.info.id));
        Ok(out)
    }

    /// Cancels a campaign: its jobs not yet called end `cancelled` when next leased. Returns the campaign as it
    /// stands, `None` if there is no such campaign. Cancelling twice keeps the first time.
    pub async fn cancel_campaign(&self, id: &str, now_ms: u64) -> Result<Option<CampaignState>> {
        let Some(mut info) = self.campaign_info(id).await? else { return Ok(None) };
        // Every shard's lease script checks its own shard's set.
        for (_, k) in self.all_shards() {
            let () = redis::cmd("SADD").arg(k.cancelled()).arg(id).query_async(&mut self.conn()).await?;
        }
        if info.cancelled_ms.is_none() {
            info.cancelled_ms = Some(now_ms);
            self.update_campaign(&info).await?;
        }
        self.campaign(id).await
    }

    /// One sweep of the finished campaigns: a finished one (submitted, nothing pending) is stamped with the time it
    /// was first seen finished, and deleted once that is `retention` ago (description, counters in every shard,
    /// cancellation mark); returns how many were deleted. Every worker's maintenance runs it now and then; runs at
    /// once are harmless (each step is idempotent).
    pub async fn sweep_campaigns(&self, now_ms: u64, retention_ms: u64) -> Result<u64> {
        let mut deleted = 0;
        for state in self.campaigns().await? {
            if !state.info.submitted || state.pending() > 0 {
                continue;
            }
            match state.info.finished_ms {
                None => {
                    let mut info = state.info.clone();
                    info.finished_ms = Some(now_ms);
                    self.update_campaign(&info).await?;
                }
                Some(at) if now_ms.saturating_sub(at) >= retention_ms => {
                    self.delete_campaign(&state.info.id).await?;
                    deleted += 1;
                }
                Some(_) => {}
            }
        }
        Ok(deleted)
    }

    /// Deletes campaign `id`: its counters and cancellation mark in every shard first, its description last (so an
    /// interrupted delete is found and finished by the next sweep).
    async fn delete_campaign(&self, id: &str) -> Result<()> {
        let fields: Vec<String> = Outcome::TERMINAL.iter().map(|o| format!("{id}:{}", o.as_str())).collect();
        for (_, k) in self.all_shards() {
            let () = redis::pipe()
                .cmd("HDEL")
                .arg(k.campaign_counts())
                .arg(&fields)
                .ignore()
                .cmd("SREM")
                .arg(k.cancelled())
                .arg(id)
                .ignore()
                .query_async(&mut self.conn())
                .await?;
        }
        let () = redis::cmd("HDEL").arg(self.keys().campaigns()).arg(id).query_async(&mut self.conn()).await?;
        Ok(())
    }
}
