//! Reading a bulk job's id list: the ids its next expansion step gives to children.

use crate::queue::Queue;
use crate::Result;

impl Queue {
    /// The first `count` ids of the id list of bulk job `parent` in shard `shard` ([`crate::Keys::expansion_ids`]),
    /// read by the worker holding its lease; the expansion step that uses them removes them (only if the parent is
    /// still at the revision leased, so a stale read expands nothing).
    pub async fn expansion_ids(&self, shard: usize, parent: &str, count: u64) -> Result<Vec<String>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let key = self.shard_keys(shard).expansion_ids(parent);
        let mut conn = self.conn();
        Ok(redis::cmd("LRANGE").arg(key).arg(0).arg(count - 1).query_async(&mut conn).await?)
    }
}
