//! The producer's calls: storing new jobs (`lua/enqueue.lua`), all or nothing per batch, under a batch token when
//! the producer may have to repeat a batch whose reply was lost.

use super::Queue;
use crate::job::NewJob;
use crate::script::enqueue;
use crate::script::{Recorded, CHUNK, ENQUEUE_SOURCE};
use crate::shard::by_shard;
use crate::Result;

impl Queue {
    /// Stores `jobs`; returns, per job, the id it is known by (the first job's id for a repeated idempotency key).
    /// On one Redis node the batch is all or nothing: up to one chunk of one shard is one script call (atomic by
    /// itself, `EVALSHA`); more is one `MULTI`/`EXEC` of `EVAL`s over every shard's chunks, which cannot
    /// half-fail on an empty script cache. On a Redis Cluster, where a transaction is confined to one slot, each
    /// chunk of 1,000 is its own atomic call.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<String>> {
        self.enqueue_marked(jobs, None).await
    }

    /// [`Queue::enqueue`] under a batch token: each script call of the batch leaves a marker (kept for
    /// [`BATCH_MARKER_TTL`](crate::queue::BATCH_MARKER_TTL)), so repeating the very same call with the same token, after an error that left its
    /// outcome unknown ([`crate::QueueError::outcome_unknown`]), stores nothing twice and returns what the first
    /// run returned, even if its jobs have run and been deleted since. The jobs and their order must be the same.
    pub async fn enqueue_marked(&self, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        let ids = self.enqueue_unconfirmed(jobs, batch).await?;
        // With `wait_replicas`, stored counts only once the replicas have it: on every shard written (the node of
        // each on a cluster; one node has them all otherwise).
        let written: Vec<usize> = if self.is_cluster() {
            by_shard(jobs, |j| self.shard_of(j)).into_iter().map(|(shard, _)| shard).collect()
        } else {
            vec![0]
        };
        for shard in written {
            let (acked, wanted) = self.wait_for_replicas(shard).await?;
            if acked < wanted {
                return Err(crate::QueueError::NotReplicated { acked, wanted });
            }
        }
        Ok(ids)
    }

    async fn enqueue_unconfirmed(&self, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        if self.shards.len() == 1 {
            return self.enqueue_in(0, jobs, batch).await;
        }
        let groups = by_shard(jobs, |j| self.shard_of(j));
        let mut out = vec![String::new(); jobs.len()];
        if !self.is_cluster() {
            // One node: one transaction over every shard's part keeps the whole batch all or nothing.
            let retention = self.options.idempotency_retention.as_millis().max(1) as u64;
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut order: Vec<&[usize]> = Vec::new();
            for (shard, members) in &groups {
                for (c, chunk) in members.chunks(CHUNK).enumerate() {
                    let part: Vec<NewJob> = chunk.iter().map(|&i| jobs[i].clone()).collect();
                    let k = self.shard_keys(*shard);
                    let marker = batch.map(|t| k.enqueue_marker(&format!("{t}:{shard}:{c}")));
                    let mut call = Recorded::default();
                    enqueue::args(&mut call, k, &part, retention, marker);
                    call.eval(&mut pipe, &ENQUEUE_SOURCE);
                    order.push(chunk);
                }
            }
            let replies: Vec<Vec<String>> = pipe.query_async(&mut self.conn.clone()).await?;
            for (chunk, ids) in order.into_iter().zip(replies) {
                for (&i, id) in chunk.iter().zip(ids) {
                    out[i] = id;
                }
            }
            return Ok(out);
        }
        for (shard, members) in groups {
            let part: Vec<NewJob> = members.iter().map(|&i| jobs[i].clone()).collect();
            let ids = self.enqueue_in(shard, &part, batch).await?;
            for (&i, id) in members.iter().zip(ids) {
                out[i] = id;
            }
        }
        Ok(out)
    }

    async fn enqueue_in(&self, shard: usize, jobs: &[NewJob], batch: Option<&str>) -> Result<Vec<String>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let keys_of = self.shard_keys(shard);
        let mut conn = self.conn.clone();
        let retention = self.options.idempotency_retention.as_millis().max(1) as u64;
        let marker = |c: usize| batch.map(|t| keys_of.enqueue_marker(&format!("{t}:{shard}:{c}")));
        if jobs.len() <= CHUNK || self.is_cluster() {
            // One atomic script call per chunk.
            let mut out = Vec::with_capacity(jobs.len());
            for (c, chunk) in jobs.chunks(CHUNK).enumerate() {
                let mut inv = crate::script::Eval::new(&self.scripts.enqueue);
                enqueue::args(&mut inv, keys_of, chunk, retention, marker(c));
                let ids: Vec<String> = inv.invoke_async(&mut conn).await?;
                out.extend(ids);
            }
            return Ok(out);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (c, chunk) in jobs.chunks(CHUNK).enumerate() {
            let mut call = Recorded::default();
            enqueue::args(&mut call, keys_of, chunk, retention, marker(c));
            call.eval(&mut pipe, &ENQUEUE_SOURCE);
        }
        let ids: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        Ok(ids.into_iter().flatten().collect())
    }
}
