//! Parking an account: when a provider says the whole account cannot work until a person acts (2Chat credits
//! exhausted, an OFAuth session expired), its jobs are set aside untouched, without spending attempts, until
//! `accounts resume` puts them back in line.

use crate::keys::account_parked;
use crate::queue::Queue;
use crate::script::reschedule;
use crate::Result;
use deleteq_core::audit::AuditRecord;
use serde::{Deserialize, Serialize};

/// A leased job to set aside while its account is parked.
#[derive(Debug, Clone)]
pub struct ParkJob {
    /// The account.
    pub account: String,
    /// The job id.
    pub id: String,
    /// The revision leased.
    pub rev: u64,
    /// Its envelope (the messages still to delete).
    pub envelope: String,
    /// Terminal records of messages resolved before the account stopped.
    pub records: Vec<AuditRecord>,
    /// Its shard ([`crate::Leased::shard`]).
    pub shard: usize,
    /// The lease's token ([`crate::Leased::holder`]).
    pub holder: String,
}

/// Why and since when an account is parked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    /// The provider's reason.
    pub reason: String,
    /// Since when (ms).
    pub since_ms: u64,
}

impl Queue {
    /// Parks `account` (keeping the first reason and time if it is parked already).
    pub async fn park_account(&self, account: &str, reason: &str, now_ms: u64) -> Result<()> {
        let value = serde_json::to_string(&Parked { reason: reason.to_string(), since_ms: now_ms }).unwrap_or_default();
        let _: Option<String> = redis::cmd("SET")
            .arg(account_parked(self.prefix(), account))
            .arg(value)
            .arg("NX")
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Whether `account` is parked, and why.
    pub async fn account_parked(&self, account: &str) -> Result<Option<Parked>> {
        let value: Option<String> =
            redis::cmd("GET").arg(account_parked(self.prefix(), account)).query_async(&mut self.conn()).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Sets a leased job of a parked account aside (with the records of messages it resolved before the account
    /// stopped); false if it changed since it was leased or is no longer held with its token. Its parked-at time
    /// is Redis's clock.
    pub async fn park_job(&self, job: &ParkJob) -> Result<bool> {
        let mut inv = crate::script::Eval::new(&self.scripts().reschedule);
        reschedule::park_args(&mut inv, self.shard_keys(job.shard), self.audit_max_len(), job);
        let moved: Vec<i64> = inv.invoke_async(&mut self.conn()).await?;
        Ok(moved.first() == Some(&1))
    }

    /// Jobs set aside for a parked account.
    pub async fn parked_jobs(&self, account: &str) -> Result<u64> {
        let mut total = 0;
        for (_, k) in self.all_shards() {
            let n: u64 = redis::cmd("ZCARD").arg(k.parked_jobs(account)).query_async(&mut self.conn()).await?;
            total += n;
        }
        Ok(total)
    }

    /// Puts back in line the jobs set aside for accounts not in `configured` (removed from the config since they
    /// were parked): a worker then finds their account unknown and dead-letters them, with that reason, instead of
    /// their waiting forever for a resume nobody can give. Forgets accounts whose sets are empty. Returns
    /// (account, jobs put back) for each account that had any.
    pub async fn release_unconfigured(&self, configured: &[String]) -> Result<Vec<(String, u64)>> {
        let mut out: Vec<(String, u64)> = Vec::new();
        for shard in 0..self.shard_count() {
            let k = self.shard_keys(shard);
            let accounts: Vec<String> =
                redis::cmd("SMEMBERS").arg(k.parked_accounts()).query_async(&mut self.conn()).await?;
            for account in accounts {
                let set = k.parked_jobs(&account);
                let waiting: u64 = redis::cmd("ZCARD").arg(&set).query_async(&mut self.conn()).await?;
                if waiting == 0 {
                    // Racing a park of this account is harmless: the park adds it again.
                    let _: u64 =
                        redis::cmd("SREM").arg(k.parked_accounts()).arg(&account).query_async(&mut self.conn()).await?;
                    continue;
                }
                if configured.contains(&account) {
                    continue;
                }
                let moved = self.promote_all_uncounted(shard, &set, "back").await?;
                match out.iter_mut().find(|(a, _)| *a == account) {
                    Some((_, n)) => *n += moved,
                    None => out.push((account, moved)),
                }
            }
        }
        Ok(out)
    }

    /// Releases a parked account: clears the flag and puts its set-aside jobs back in line; returns how many.
    pub async fn resume_account(&self, account: &str) -> Result<u64> {
        let _: u64 =
            redis::cmd("DEL").arg(account_parked(self.prefix(), account)).query_async(&mut self.conn()).await?;
        let mut total = 0;
        for shard in 0..self.shard_count() {
            let set = self.shard_keys(shard).parked_jobs(account);
            total += self.promote_all_uncounted(shard, &set, "back").await?;
        }
        Ok(total)
    }
}
