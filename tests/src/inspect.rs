//! Reading Redis for assertions: the audit stream, key counts, and every stored byte.

use std::collections::HashMap;

/// One audit record as a field map.
pub type Record = HashMap<String, String>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Runs one command against `url`.
pub fn query<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> T {
    // The connection's driver lives on the runtime that made it, so both happen inside one block_on.
    runtime().block_on(async {
        let client = redis::Client::open(url).expect("redis url");
        // Reading a whole audit stream can take longer than redis-rs's 500 ms default.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(std::time::Duration::from_secs(30)));
        let mut conn =
            client.get_multiplexed_async_connection_with_config(&config).await.expect("connect to test redis");
        cmd.query_async(&mut conn).await.expect("redis command")
    })
}

/// Every record of the audit stream `{deleteq}:audit`, oldest first.
pub fn audit(url: &str) -> Vec<Record> {
    let entries: Vec<(String, Vec<(String, String)>)> =
        query(url, redis::cmd("XRANGE").arg("{deleteq}:audit").arg("-").arg("+"));
    entries.into_iter().map(|(_, fields)| fields.into_iter().collect()).collect()
}

/// How many records the audit stream holds (cheap: for wait loops).
pub fn audit_len(url: &str) -> usize {
    query(url, redis::cmd("XLEN").arg("{deleteq}:audit"))
}

/// Terminal records only (everything but `retry_scheduled`).
pub fn terminal(url: &str) -> Vec<Record> {
    audit(url)
        .into_iter()
        .filter(|r| !matches!(r.get("outcome").map(String::as_str), Some("retry_scheduled" | "replayed")))
        .collect()
}

/// Counts records per outcome.
pub fn outcome_counts(records: &[Record]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in records {
        *counts.entry(r.get("outcome").cloned().unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}

/// How many keys the database holds.
pub fn dbsize(url: &str) -> u64 {
    query(url, &redis::cmd("DBSIZE"))
}

/// Every byte stored in Redis, as text (each key's `DUMP`, plus key names), for credential-leak checks.
pub fn everything_stored(url: &str) -> String {
    let keys: Vec<String> = query(url, redis::cmd("KEYS").arg("*"));
    let mut text = keys.join("\n");
    for key in keys {
        let dump: Vec<u8> = query(url, redis::cmd("DUMP").arg(&key));
        text.push_str(&String::from_utf8_lossy(&dump));
    }
    text
}
