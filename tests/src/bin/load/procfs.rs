//! What Linux's `/proc` says about a process: memory, CPU time, file limit.
//!
//! The parsers take the file's text, so that tests can feed them samples.

use std::fs;
use std::process::Command;

/// The server process whose memory and CPU time the report shows.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pid: u32,
    /// Clock ticks per second, the unit of the CPU times in `/proc/PID/stat`.
    ticks_per_sec: u64,
}

impl Process {
    /// Names process `pid`; fails if `/proc` cannot tell its memory.
    pub fn new(pid: u32) -> anyhow::Result<Process> {
        let process = Process {
            pid,
            ticks_per_sec: clock_ticks_per_sec(),
        };
        anyhow::ensure!(
            process.rss_kib().is_some(),
            "cannot read the memory of process {pid} in /proc/{pid}/status: \
             is that the server's process id, on Linux?"
        );
        Ok(process)
    }

    /// The process's command name, e.g. `stage2-rooms`.
    pub fn name(&self) -> Option<String> {
        let comm = fs::read_to_string(format!("/proc/{}/comm", self.pid)).ok()?;
        Some(comm.trim_end().to_owned())
    }

    /// Resident memory in KiB, or `None` once the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        parse_vm_rss_kib(&status)
    }

    /// CPU time used so far, user and system, in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        let ticks = parse_cpu_ticks(&stat)?;
        Some(ticks as f64 / self.ticks_per_sec as f64)
    }
}

/// The server processes a run measures, added up: with several servers,
/// their memory and their CPU time together. Empty when no process id is
/// known, and then every figure is `None`.
#[derive(Debug, Clone, Default)]
pub struct Processes(Vec<Process>);

impl Processes {
    /// Names processes `pids`; fails if `/proc` cannot tell the memory of one.
    pub fn new(pids: &[u32]) -> anyhow::Result<Processes> {
        let processes = pids.iter().map(|&pid| Process::new(pid));
        Ok(Processes(processes.collect::<anyhow::Result<_>>()?))
    }

    /// Whether there is nothing to measure.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first process's command name, e.g. `stage2-rooms`.
    pub fn name(&self) -> Option<String> {
        self.0.first()?.name()
    }

    /// Resident memory of them all in KiB, or `None` once one is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        self.total(Process::rss_kib)
    }

    /// CPU time of them all so far, in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        self.total(Process::cpu_secs)
    }

    fn total<T: std::iter::Sum>(&self, figure: impl Fn(&Process) -> Option<T>) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        self.0.iter().map(figure).sum()
    }
}

/// Clock ticks per second, asked of `getconf CLK_TCK` once.
///
/// Reading it through libc would need `unsafe`; 100, the fallback, is the
/// value on every common Linux.
fn clock_ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// The soft limit on open files of this process, if `/proc` tells it.
pub fn open_files_limit() -> Option<u64> {
    parse_open_files_limit(&fs::read_to_string("/proc/self/limits").ok()?)
}

/// Reads `VmRSS:   1234 kB` from the text of `/proc/PID/status`.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let kib = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib)
}

/// Reads user plus system CPU ticks from the text of `/proc/PID/stat`.
///
/// The second field is the command name in parentheses, which may itself
/// contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state) onwards; utime and stime are
    // fields 14 and 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Reads the soft `Max open files` limit from the text of `/proc/PID/limits`.
pub fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    match line.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        let status =
            "Name:\tstage2-rooms\nVmPeak:\t   10000 kB\nVmRSS:\t    2816 kB\nRssAnon:\t 512 kB\n";
        assert_eq!(parse_vm_rss_kib(status), Some(2816));
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t 12 MB\n"), None);
    }

    #[test]
    fn reads_cpu_ticks_past_a_strange_name() {
        let stat = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 300 0 0 0 \
                    125 37 0 0 20 0 1 0 1000 10000000 700 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(125 + 37));
        assert_eq!(parse_cpu_ticks("4242 (cut) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no name at all"), None);
    }

    #[test]
    fn reads_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             63704                63704                processes\n\
                      Max open files            1024                 20000                files\n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), Some(u64::MAX));
        assert_eq!(parse_open_files_limit(""), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let me = Process::new(std::process::id()).unwrap();
        assert!(me.rss_kib().unwrap() > 0);
        assert!(!me.name().unwrap().is_empty());
        assert!(me.cpu_secs().unwrap() >= 0.0);
        let twice = Processes::new(&[std::process::id(); 2]).unwrap();
        assert!(twice.rss_kib().unwrap() >= me.rss_kib().unwrap() * 3 / 2);
        assert_eq!(Processes::default().cpu_secs(), None);
        assert!(open_files_limit().unwrap() > 0);
    }
}
