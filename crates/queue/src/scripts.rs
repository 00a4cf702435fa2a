//! The Lua scripts, one per state change, loaded once and run with `EVALSHA` (redis-rs reloads them after
//! `NOSCRIPT`, e.g. when Redis restarted).

use redis::Script;

/// All scripts, compiled into the binary.
pub(crate) struct Scripts {
    pub(crate) enqueue: Script,
    pub(crate) lease: Script,
    pub(crate) ack: Script,
    pub(crate) reschedule: Script,
    pub(crate) release: Script,
    pub(crate) promote: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            enqueue: Script::new(ENQUEUE),
            lease: Script::new(include_str!("../lua/lease.lua")),
            ack: Script::new(include_str!("../lua/ack.lua")),
            reschedule: Script::new(include_str!("../lua/reschedule.lua")),
            release: Script::new(include_str!("../lua/release.lua")),
            promote: Script::new(include_str!("../lua/promote.lua")),
        }
    }
}

/// The enqueue script's source: sent with `EVAL` inside `MULTI` so a batch is all or nothing even when the
/// script cache is empty.
pub(crate) const ENQUEUE: &str = include_str!("../lua/enqueue.lua");
