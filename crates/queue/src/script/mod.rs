//! The Lua scripts (`lua/*.lua`), one per state change, loaded once and run with `EVALSHA` ([`Eval`] reloads them
//! after `NOSCRIPT`, e.g. when Redis restarted), and their interfaces: one file here per script, holding its source
//! and the one function that builds its KEYS and ARGV in the order the script's header comment lists them (and the
//! one that reads its reply, where there is more to it than a number or flags). Each file's test builds a call and
//! holds it against the header (the highest `KEYS[n]` and `ARGV[n]` it names), so the Lua header and the Rust call
//! cannot drift apart unnoticed.

pub(crate) mod ack;
pub(crate) mod cancel;
pub(crate) mod circuit;
pub(crate) mod enqueue;
pub(crate) mod expand;
pub(crate) mod hold;
pub(crate) mod lease;
pub(crate) mod promote;
pub(crate) mod purge_dead;
pub(crate) mod rate;
pub(crate) mod release;
pub(crate) mod replay;
pub(crate) mod reschedule;

use deleteq_core::audit::{AuditRecord, FIELDS};
use redis::{Script, ToRedisArgs};

/// Jobs per `EVAL` inside an enqueue transaction, and ids per hold and promote call (under Lua's unpack limit).
pub(crate) const CHUNK: usize = 1000;

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
    pub(crate) cancel: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            enqueue: Script::new(&ENQUEUE_SOURCE),
            lease: Script::new(&with_shared(lease::SOURCE)),
            ack: Script::new(&with_shared(ack::SOURCE)),
            reschedule: Script::new(&with_shared(reschedule::SOURCE)),
            release: Script::new(&with_shared(release::SOURCE)),
            hold: Script::new(&with_shared(hold::SOURCE)),
            promote: Script::new(&with_shared(promote::SOURCE)),
            expand: Script::new(&with_shared(expand::SOURCE)),
            replay: Script::new(&with_shared(replay::SOURCE)),
            purge_dead: Script::new(&with_shared(purge_dead::SOURCE)),
            rate: Script::new(&with_shared(rate::SOURCE)),
            circuit: Script::new(&with_shared(circuit::SOURCE)),
            cancel: Script::new(&with_shared(cancel::SOURCE)),
        }
    }

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
            cancel,
        } = self;
        vec![enqueue, lease, ack, reschedule, release, hold, promote, expand, replay, purge_dead, rate, circuit, cancel]
    }
}

/// The helpers every script may call (`lua/shared.lua`), prepended to each script's own text.
const SHARED: &str = include_str!("../../lua/shared.lua");

fn with_shared(body: &str) -> String {
    format!("{SHARED}\n{body}")
}

/// The enqueue script's source: sent with `EVAL` inside `MULTI` so a batch is all or nothing even when the
/// script cache is empty.
pub(crate) static ENQUEUE_SOURCE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| with_shared(enqueue::SOURCE));

/// Where a script call's KEYS and ARGV go, each in order: an [`Eval`] (`EVALSHA`), or a [`Recorded`]
/// call (an `EVAL` in a transaction, and the tests).
pub(crate) trait Call {
    /// Appends to KEYS.
    fn key(&mut self, key: impl ToRedisArgs) -> &mut Self;
    /// Appends to ARGV.
    fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self;
}

/// A script call for `EVALSHA` whose ARGV sit in one buffer: redis-rs's `ScriptInvocation` keeps every argument
/// in a `Vec` of its own and copies them all again into the command, and an ack batch is thousands of arguments
/// (a job's audit record alone is 34). Every script is called through it; like `invoke_async`, it loads the
/// script and repeats the call once after `NOSCRIPT`.
pub(crate) struct Eval<'a> {
    script: &'a Script,
    keys: Vec<Vec<u8>>,
    /// The ARGV only, in order.
    args: redis::Cmd,
}

impl<'a> Eval<'a> {
    pub(crate) fn new(script: &'a Script) -> Self {
        Eval { script, keys: Vec::new(), args: redis::Cmd::new() }
    }

    /// `EVALSHA hash numkeys KEYS… ARGV…`.
    fn command(&self) -> redis::Cmd {
        let bytes: usize =
            self.keys.iter().map(Vec::len).sum::<usize>() + self.args.args_iter().map(arg_len).sum::<usize>();
        let mut cmd = redis::Cmd::with_capacity(3 + self.keys.len() + self.args.args_iter().len(), 64 + bytes);
        cmd.arg("EVALSHA").arg(self.script.get_hash()).arg(self.keys.len());
        for key in &self.keys {
            cmd.arg(key.as_slice());
        }
        for arg in self.args.args_iter() {
            if let redis::Arg::Simple(bytes) = arg {
                cmd.arg(bytes);
            }
        }
        cmd
    }

    /// Runs the call; after `NOSCRIPT` (Redis restarted, or its script cache was flushed) loads the script and
    /// runs it once more.
    pub(crate) async fn invoke_async<T: redis::FromRedisValue>(
        &self,
        con: &mut impl redis::aio::ConnectionLike,
    ) -> redis::RedisResult<T> {
        let cmd = self.command();
        match cmd.query_async(con).await {
            Err(error) if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                self.script.load_async(con).await?;
                cmd.query_async(con).await
            }
            other => other,
        }
    }
}

fn arg_len(arg: redis::Arg<&[u8]>) -> usize {
    if let redis::Arg::Simple(bytes) = arg {
        bytes.len()
    } else {
        0
    }
}

impl Call for Eval<'_> {
    fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.arg(arg);
        self
    }
}

/// A script call's KEYS and ARGV, written down.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl Call for Recorded {
    fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.extend(arg.to_redis_args());
        self
    }
}

impl Recorded {
    /// Adds the call to `pipe` as `EVAL source numkeys KEYS… ARGV…`.
    pub(crate) fn eval(&self, pipe: &mut redis::Pipeline, source: &str) {
        pipe.cmd("EVAL").arg(source).arg(self.keys.len());
        for part in self.keys.iter().chain(&self.args) {
            pipe.arg(part.as_slice());
        }
    }
}

/// ARGV: the audit field names, in [`FIELDS`] order (the scripts that write records take them once per call).
pub(crate) fn field_names(call: &mut impl Call) {
    for name in FIELDS {
        call.arg(name);
    }
}

/// ARGV: `R` = how many records, then each record as [`FIELDS`]`.len()` name, value pairs (as `XADD` takes them).
pub(crate) fn records(call: &mut impl Call, records: &[AuditRecord]) {
    call.arg(records.len());
    for record in records {
        for (name, value) in FIELDS.iter().zip(record.values()) {
            call.arg(*name).arg(value);
        }
    }
}

/// A reply of one 1/0 flag per job.
pub(crate) fn flags(reply: Vec<i64>) -> Vec<bool> {
    reply.into_iter().map(|f| f == 1).collect()
}

/// The flags of `n` jobs from a reply that lists only the misses: the 1-based positions of the jobs the script
/// did not change. Most batches have none, so the reply is mostly an empty list rather than `n` numbers to send
/// and parse. A position out of range is a reply the scripts never give.
pub(crate) fn flags_from_misses(n: usize, misses: Vec<i64>) -> Result<Vec<bool>, crate::QueueError> {
    let mut out = vec![true; n];
    for miss in misses {
        let at = usize::try_from(miss).ok().filter(|at| (1..=n).contains(at));
        let at = at.ok_or_else(|| crate::QueueError::Protocol(format!("position {miss} of a batch of {n}")))?;
        out[at - 1] = false;
    }
    Ok(out)
}

#[cfg(test)]
mod eval_tests {
    use super::*;

    #[test]
    fn misses_turn_into_flags_and_a_position_out_of_range_is_refused() {
        assert_eq!(flags_from_misses(3, vec![]).ok(), Some(vec![true, true, true]));
        assert_eq!(flags_from_misses(3, vec![1, 3]).ok(), Some(vec![false, true, false]));
        for wrong in [0, 4, -1] {
            assert!(matches!(flags_from_misses(3, vec![wrong]), Err(crate::QueueError::Protocol(_))), "{wrong}");
        }
    }

    #[test]
    fn an_eval_is_evalsha_with_its_keys_then_its_args_whatever_order_they_came_in() {
        let script = Script::new("return 1");
        let mut eval = Eval::new(&script);
        eval.key("k1").arg("a1").arg(7u64).key("k2").arg(["a3", "a4"].as_slice());
        let mut expected = redis::cmd("EVALSHA");
        expected.arg(script.get_hash()).arg(2).arg("k1").arg("k2").arg("a1").arg(7u64).arg("a3").arg("a4");
        assert_eq!(eval.command().get_packed_command(), expected.get_packed_command());
    }
}

#[cfg(test)]
pub(crate) mod header {
    //! Reading a script's header comment and a recorded call, for the tests of the script files.

    use super::Recorded;

    /// The highest `KEYS[n]` and `ARGV[n]` (a single index, not a range like `ARGV[5 .. 4+F]` or `ARGV[9..]`) that
    /// the script's header comment (its leading `--` lines) names: the fixed KEYS and ARGV every call passes.
    pub(crate) fn fixed(source: &str) -> (usize, usize) {
        let header: Vec<&str> = source.lines().take_while(|l| l.starts_with("--")).collect();
        let highest = |name: &str| {
            let open = format!("{name}[");
            let mut most = 0;
            for line in &header {
                for (at, _) in line.match_indices(&open) {
                    let rest = &line[at + open.len()..];
                    if let Some(index) = rest.split_once(']').and_then(|(index, _)| index.parse::<usize>().ok()) {
                        most = most.max(index);
                    }
                }
            }
            most
        };
        (highest("KEYS"), highest("ARGV"))
    }

    impl Recorded {
        /// How many KEYS and ARGV.
        pub(crate) fn counts(&self) -> (usize, usize) {
            (self.keys.len(), self.args.len())
        }

        /// ARGV[i] (1-based, as Lua counts), as text.
        pub(crate) fn argv(&self, i: usize) -> String {
            String::from_utf8_lossy(&self.args[i - 1]).into_owned()
        }

        /// KEYS[i] (1-based), as text.
        pub(crate) fn key_at(&self, i: usize) -> String {
            String::from_utf8_lossy(&self.keys[i - 1]).into_owned()
        }
    }

    /// An audit record to write.
    pub(crate) fn record() -> deleteq_core::AuditRecord {
        deleteq_core::AuditRecord {
            job: "J1".into(),
            parent: None,
            account: "cc".into(),
            provider: "noop".into(),
            conversation: None,
            message: Some("m1".into()),
            outcome: deleteq_core::Outcome::Deleted,
            http_status: None,
            attempt: 1,
            error: None,
            deleted_count: None,
            delay_ms: None,
            campaign: None,
            reason: None,
            requested_by: None,
            at: "2024-01-01T00:00:00.000Z".into(),
            mode: None,
        }
    }

    #[test]
    fn headers_are_read_without_ranges() {
        let source = "-- KEYS[1] a   KEYS[2] b\n-- ARGV[1] x   ARGV[2 .. 1+F] names   ARGV[9..] more\nlocal KEYS[7]";
        assert_eq!(fixed(source), (2, 1));
    }
}
