//! Placing jobs in shards: a stable hash of a new job's idempotency key or id, and grouping a batch by shard so
//! each shard gets one script call.

use crate::job::NewJob;
use crate::Result;

/// FNV-1a, 64 bits: a stable hash (the same in every version and process) for placing jobs in shards.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The shard of `shards` a new job goes to: a stable hash of its idempotency key if it has one (so a repeated key
/// meets the first one's marker), else of its id.
pub(crate) fn shard_of(job: &NewJob, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let basis = job.idempotency_key.as_deref().unwrap_or(&job.id);
    (stable_hash(basis) % shards as u64) as usize
}

/// The positions of `items` grouped by shard, in order within each shard.
pub(crate) fn by_shard<T>(items: &[T], shard: impl Fn(&T) -> usize) -> Vec<(usize, Vec<usize>)> {
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let s = shard(item);
        match groups.iter_mut().find(|(g, _)| *g == s) {
            Some((_, members)) => members.push(i),
            None => groups.push((s, vec![i])),
        }
    }
    groups
}

/// Runs `call` once per shard, in turn, on the items of `items` in that shard (in order), and returns the flag it
/// answered for each item, in the order of `items`.
pub(crate) async fn flags_by_shard<'a, T, Fut>(
    items: &'a [T],
    shard: impl Fn(&T) -> usize,
    mut call: impl FnMut(usize, Vec<&'a T>) -> Fut,
) -> Result<Vec<bool>>
where
    Fut: std::future::Future<Output = Result<Vec<bool>>>,
{
    let mut out = vec![false; items.len()];
    for (s, members) in by_shard(items, shard) {
        let part = members.iter().map(|&i| &items[i]).collect();
        for (&i, done) in members.iter().zip(call(s, part).await?) {
            out[i] = done;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn batches_group_by_shard_in_order() {
        assert_eq!(by_shard(&[1, 0, 1, 2], |&s| s), vec![(1, vec![0, 2]), (0, vec![1]), (2, vec![3])]);
    }
}
