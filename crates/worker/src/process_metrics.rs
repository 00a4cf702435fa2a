//! The standard `process_*` metrics of the Prometheus client libraries (CPU seconds, resident and virtual memory,
//! open and maximum file descriptors, threads, start time), read from `/proc/self` at scrape time so that a
//! dashboard built for any Prometheus-instrumented service works for a worker too. On a system without `/proc`
//! (not Linux) they are left out rather than shown as zeros.
//!
//! Read by hand rather than with a crate: three small files and the same few fields every client library reads.

use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

/// What `/proc/self` says about this process at one scrape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessSample {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    threads: i64,
    start_time_seconds: f64,
    open_fds: Option<i64>,
    max_fds: Option<i64>,
}

/// Clock ticks per second of `/proc`'s times: `sysconf(_SC_CLK_TCK)`, 100 on every Linux architecture that
/// deleteq builds for (reading it would need `libc`, and this crate forbids unsafe code).
const CLOCK_TICKS: f64 = 100.0;

impl ProcessSample {
    /// Reads this process's sample; `None` where `/proc` is missing or unreadable.
    pub(crate) fn read() -> Option<ProcessSample> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| boot_time(&s))?;
        let mut sample = ProcessSample::from_stat(&stat, boot_time)?;
        if let Some(kib) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| resident_kib(&s)) {
            sample.resident_bytes = kib.saturating_mul(1024);
        }
        sample.open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as i64);
        sample.max_fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|s| max_open_files(&s));
        Some(sample)
    }

    /// Parses `/proc/self/stat` (fields from proc(5)); `boot_time` is `/proc/stat`'s `btime`. The resident size
    /// is `rss` in 4 KiB pages until [`ProcessSample::read`] replaces it with `/proc/self/status`'s exact `VmRSS`.
    fn from_stat(stat: &str, boot_time: u64) -> Option<ProcessSample> {
        // The command name (field 2) is in parentheses and may hold spaces or ')': the fields after it start after
        // the last ')'. `fields[0]` is then field 3 (state).
        let after_name = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        let (utime, stime) = (field(14)?, field(15)?);
        let threads = field(20)?;
        let start_ticks = field(22)?;
        let vsize = field(23)?;
        let rss_pages = field(24)?;
        Some(ProcessSample {
            cpu_seconds: (utime + stime) as f64 / CLOCK_TICKS,
            resident_bytes: i64::try_from(rss_pages).unwrap_or(i64::MAX).saturating_mul(4096),
            virtual_bytes: i64::try_from(vsize).unwrap_or(i64::MAX),
            threads: i64::try_from(threads).unwrap_or(i64::MAX),
            start_time_seconds: boot_time as f64 + start_ticks as f64 / CLOCK_TICKS,
            open_fds: None,
            max_fds: None,
        })
    }

    /// Registers the sample's metrics under their standard names.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "process_cpu",
            "Total user and system CPU time spent",
            Unit::Seconds,
            ConstCounter::new(self.cpu_seconds),
        );
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            ConstGauge::new(self.resident_bytes),
        );
        registry.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size",
            Unit::Bytes,
            ConstGauge::new(self.virtual_bytes),
        );
        registry.register("process_threads", "OS threads of the process", ConstGauge::new(self.threads));
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Unit::Seconds,
            ConstGauge::new(self.start_time_seconds),
        );
        if let Some(open) = self.open_fds {
            registry.register("process_open_fds", "Open file descriptors", ConstGauge::new(open));
        }
        if let Some(max) = self.max_fds {
            registry.register("process_max_fds", "Maximum number of open file descriptors", ConstGauge::new(max));
        }
    }
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat.lines().find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

/// `VmRSS` of `/proc/self/status`, in KiB.
fn resident_kib(status: &str) -> Option<i64> {
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.split_whitespace().next()?.parse().ok())
}

/// The soft limit of "Max open files" in `/proc/self/limits` (`None` when unlimited).
fn max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_a_command_name_with_spaces_and_parens() {
        // Fields 3.. of proc(5): state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
        // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
        let stat = "4242 (dele teq) (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 7 0 1000 \
                    123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let sample = ProcessSample::from_stat(stat, 1_700_000_000).expect("parsed");
        assert_eq!(sample.cpu_seconds, 3.0);
        assert_eq!(sample.threads, 7);
        assert_eq!(sample.start_time_seconds, 1_700_000_010.0);
        assert_eq!(sample.virtual_bytes, 123_456_789);
        assert_eq!(sample.resident_bytes, 2048 * 4096);
    }

    #[test]
    fn a_truncated_stat_is_no_sample() {
        assert_eq!(ProcessSample::from_stat("4242 (deleteq) S 1 2 3", 0), None);
        assert_eq!(ProcessSample::from_stat("no parens at all", 0), None);
    }

    #[test]
    fn boot_time_and_fd_limit() {
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"), Some(1_700_000_000));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1048576              1048576              files\n";
        assert_eq!(max_open_files(limits), Some(1_048_576));
        let unlimited = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
        assert_eq!(resident_kib("Name:\tdeleteq\nVmRSS:\t   12345 kB\nThreads: 3\n"), Some(12345));
    }

    #[test]
    fn this_process_has_a_sample_on_linux() {
        if cfg!(target_os = "linux") {
            let sample = ProcessSample::read().expect("a sample from /proc");
            assert!(sample.threads >= 1 && sample.resident_bytes > 0);
            assert!(sample.open_fds.unwrap_or(0) >= 3, "{sample:?}");
            let mut registry = Registry::default();
            sample.register(&mut registry);
            let mut text = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).expect("encodes");
            for name in ["process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_start_time_seconds "]
            {
                assert!(text.lines().any(|l| l.starts_with(name)), "{name}\n{text}");
            }
        }
    }
}
