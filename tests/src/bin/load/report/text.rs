//! The figures of one run as text, for people.

use std::fmt;

use super::{Report, pids_shown};

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pids = pids_shown(&self.pids).unwrap_or_else(|| "pid unknown".to_owned());
        let copies = match self.servers {
            1 => String::new(),
            n => format!("{n} x "),
        };
        writeln!(
            f,
            "load report: {copies}{} ({pids}) at {} over {}",
            self.server, self.addr, self.transport
        )?;
        if self.servers > 1 {
            let shared = self.redis_url.as_ref().map_or(String::new(), |url| {
                format!(", sharing rooms through {url}")
            });
            writeln!(
                f,
                "  servers     {}, every room's members spread over them{shared}",
                self.servers
            )?;
        }
        let rooms = match self.rooms {
            1 => "1 room".to_owned(),
            n => format!("{n} rooms"),
        };
        if self.idle_only {
            let held = self
                .idle_secs
                .map_or(String::new(), |secs| format!(", kept {secs:.1} s"));
            writeln!(
                f,
                "  plan        {} idle clients in {rooms}{held}",
                self.clients
            )?;
        } else {
            let rate = match self.rate {
                0 => "as fast as possible".to_owned(),
                r => format!("{r}/s each"),
            };
            let senders = match self.senders {
                1 => "1 sender".to_owned(),
                n => format!("{n} senders"),
            };
            writeln!(
                f,
                "  plan        {} clients in {rooms}, {senders} x {} messages, {rate}",
                self.clients, self.messages
            )?;
        }
        if self.registered == 0 {
            writeln!(f, "  connect     0/{} registered", self.clients)?;
        } else {
            writeln!(
                f,
                "  connect     {}/{} registered in {:.3} s, last notice {:.3} s later",
                self.registered, self.clients, self.register_secs, self.settle_secs
            )?;
        }
        for failure in &self.failures {
            writeln!(
                f,
                "  !! FAILED   {} clients ({}): {}",
                failure.count, failure.kind, failure.example
            )?;
        }
        if !self.idle_only {
            self.fmt_messages(f)?;
        }
        self.fmt_server(f)?;
        let u = &self.unexpected;
        writeln!(
            f,
            "  non-load    {} notices (joins, leaves: expected), {} errors, {} other lines",
            u.notices, u.errors, u.others
        )?;
        if let Some(line) = &u.first_error {
            writeln!(f, "              first error: {line:?}")?;
        }
        if let Some(line) = &u.first_other {
            writeln!(f, "              first other: {line:?}")?;
        }
        if self.hung_up > 0 {
            writeln!(
                f,
                "  !! DROPPED  the server disconnected {} registered clients during the run",
                self.hung_up
            )?;
        }
        if let Some(exit) = &self.server_exit {
            writeln!(f, "  !! SERVER   {exit}")?;
        }
        writeln!(f, "  ended       {}", self.ending.describe())
    }
}

impl Report {
    fn fmt_messages(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let send_rate = per_sec(self.sent as f64, self.send_secs);
        writeln!(
            f,
            "  send        {} messages in {:.3} s ({send_rate} messages/s)",
            self.sent, self.send_secs
        )?;
        if let (errors @ 1.., Some(why)) = &self.send_errors {
            writeln!(f, "  !! SEND     {errors} senders failed to write: {why}")?;
        }
        writeln!(
            f,
            "  deliveries  {} expected, {} delivered, {} dropped and told, {} lost silently, \
             {} duplicates",
            self.expected,
            self.delivered,
            self.dropped_and_told(),
            self.missing(),
            self.duplicates
        )?;
        if self.missing() > 0 {
            writeln!(
                f,
                "  !! MISSING  {} deliveries never arrived and were never mentioned: silent loss",
                self.missing()
            )?;
        }
        if self.duplicates > 0 {
            writeln!(
                f,
                "  !! DUPLICATES {} deliveries arrived twice or out of order",
                self.duplicates
            )?;
        }
        writeln!(
            f,
            "  throughput  {} deliveries/s (first send to last delivery: {:.3} s)",
            per_sec(self.delivered as f64, self.delivery_secs),
            self.delivery_secs
        )?;
        match &self.latency.all {
            Some(l) => writeln!(
                f,
                "  latency     p50 {}, p90 {}, p99 {}, p99.9 {}, max {} ({} samples)",
                millis(l.p50),
                millis(l.p90),
                millis(l.p99),
                millis(l.p999),
                millis(l.max),
                l.samples
            )?,
            None => writeln!(f, "  latency     no deliveries, no figures")?,
        }
        if self.servers > 1 {
            self.fmt_by_server(f)?;
        }
        Ok(())
    }

    /// The latencies to members on the sender's server and on the others.
    fn fmt_by_server(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            ("local ", self.latency.same, "to the sender's server"),
            ("remote", self.latency.other, "to another server"),
        ];
        for (label, summary, whom) in parts {
            match summary {
                Some(l) => writeln!(
                    f,
                    "  {label}      p50 {}, p99 {} ({} deliveries {whom})",
                    millis(l.p50),
                    millis(l.p99),
                    l.samples
                )?,
                None => writeln!(f, "  {label}      no deliveries {whom}")?,
            }
        }
        if let Some(hop) = self.latency.hop_p50() {
            writeln!(
                f,
                "  hop         {:+.2} ms: the median remote latency minus the median local one",
                hop as f64 / 1000.0
            )?;
        }
        Ok(())
    }

    fn fmt_server(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pids.is_empty() {
            return writeln!(
                f,
                "  server      memory and CPU not measured: pass --pid, or start it with --server"
            );
        }
        if self.servers > 1 {
            writeln!(
                f,
                "  server      memory and CPU of the {} servers added up",
                self.pids.len()
            )?;
        }
        let m = &self.memory;
        writeln!(
            f,
            "  server RSS  before {}, connected {}, peak {}, after {}",
            mib(m.before),
            mib(m.connected),
            mib(m.peak),
            mib(m.after)
        )?;
        if self.idle_only
            && let Some(kib) = self.kib_per_connection()
        {
            writeln!(
                f,
                "  per client  {kib:.2} KiB of server memory per idle connection"
            )?;
        }
        let cpu = |secs: Option<f64>| secs.map_or("?".to_owned(), |s| format!("{s:.2} s"));
        if let (Some(held), Some(percent)) = (self.idle_secs, self.idle_core_percent()) {
            writeln!(
                f,
                "  server CPU  {} connecting, {} over {held:.1} s idle ({percent:.2}% of one core)",
                cpu(self.cpu_connect_secs),
                cpu(self.cpu_idle_secs)
            )
        } else if self.idle_only {
            writeln!(f, "  server CPU  {} connecting", cpu(self.cpu_connect_secs))
        } else {
            writeln!(
                f,
                "  server CPU  {} connecting, {} sending",
                cpu(self.cpu_connect_secs),
                cpu(self.cpu_send_secs)
            )
        }
    }
}

/// `count` per second over `secs`, rounded; `-` over no time at all.
fn per_sec(count: f64, secs: f64) -> String {
    if secs > 0.0 {
        format!("{:.0}", count / secs)
    } else {
        "-".to_owned()
    }
}

fn millis(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_owned(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    })
}
