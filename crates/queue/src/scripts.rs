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
    pub(crate) hold: Script,
    pub(crate) promote: Script,
    pub(crate) expand: Script,
    pub(crate) replay: Script,
    pub(crate) purge_dead: Script,
    pub(crate) rate: Script,
    pub(crate) circuit: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            enqueue: Script::new(&ENQUEUE_SOURCE),
            lease: Script::new(&with_shared(include_str!("../lua/lease.lua"))),
            ack: Script::new(&with_shared(include_str!("../lua/ack.lua"))),
            reschedule: Script::new(&with_shared(include_str!("../lua/reschedule.lua"))),
            release: Script::new(&with_shared(include_str!("../lua/release.lua"))),
            hold: Script::new(&with_shared(include_str!("../lua/hold.lua"))),
            promote: Script::new(&with_shared(include_str!("../lua/promote.lua"))),
            expand: Script::new(&with_shared(include_str!("../lua/expand.lua"))),
            replay: Script::new(&with_shared(include_str!("../lua/replay.lua"))),
            purge_dead: Script::new(&with_shared(include_str!("../lua/purge_dead.lua"))),
            rate: Script::new(&with_shared(include_str!("../lua/rate.lua"))),
            circuit: Script::new(&with_shared(include_str!("../lua/circuit.lua"))),
        }
    }
}

impl Scripts {
    /// Every script, for loading them all ahead of use (readiness checks). Destructured so that a new script
    /// cannot be forgotten here.
    pub(crate) fn all(&self) -> Vec<&Script> {
        let Scripts {
            enqueue,
            lease,
            ack,
            reschedule,
            release,
            hold,
            promote,
            expand,
            replay,
            purge_dead,
            rate,
            circuit,
        } = self;
        vec![enqueue, lease, ack, reschedule, release, hold, promote, expand, replay, purge_dead, rate, circuit]
    }
}

/// The helpers every script may call (`lua/shared.lua`), prepended to each script's own text.
const SHARED: &str = include_str!("../lua/shared.lua");

fn with_shared(body: &str) -> String {
    format!("{SHARED}\n{body}")
}

/// The enqueue script's source: sent with `EVAL` inside `MULTI` so a batch is all or nothing even when the
/// script cache is empty.
pub(crate) static ENQUEUE_SOURCE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| with_shared(include_str!("../lua/enqueue.lua")));
