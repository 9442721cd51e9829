//! The figures of one run, for people (`Display`) and for scripts (`json`).

mod text;

use crate::client::Unexpected;
use crate::json::JsonReport;
use crate::latency::Spread;

/// Why the run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every expected delivery arrived.
    AllDelivered,
    /// Nothing arrived for a while after the last message was sent.
    Stalled,
    /// The global deadline ran out first.
    Deadline,
    /// `--idle-only`: clients connected, memory was measured, nothing was sent.
    IdleMeasured,
    /// No registered client was a sender.
    NothingSent,
}

impl Ending {
    /// The name scripts see, in the JSON's `ended`.
    pub fn key(self) -> &'static str {
        match self {
            Ending::AllDelivered => "all-delivered",
            Ending::Stalled => "stalled",
            Ending::Deadline => "deadline",
            Ending::IdleMeasured => "idle-measured",
            Ending::NothingSent => "nothing-sent",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Ending::AllDelivered => "every expected delivery arrived",
            Ending::Stalled => "no delivery for 2 s after the last send",
            Ending::Deadline => "the deadline ran out (raise --deadline, or lower the load)",
            Ending::IdleMeasured => "idle connections measured",
            Ending::NothingSent => "no sender registered, so nothing was sent",
        }
    }
}

/// Clients that never registered, for one kind of failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    /// The kind, e.g. `connect`.
    pub kind: &'static str,
    /// How many clients failed so.
    pub count: u32,
    /// What the first of them was told.
    pub example: String,
}

/// The server's resident memory at four moments, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Before any client connected.
    pub before: Option<u64>,
    /// With every client registered and the server quiet.
    pub connected: Option<u64>,
    /// The most seen, sampled every 50 ms through the whole run.
    pub peak: Option<u64>,
    /// After every client disconnected.
    pub after: Option<u64>,
}

/// Every figure of one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The server's name, from its first line, or its address.
    pub server: String,
    /// Where the clients connected: each server's address, comma-separated.
    pub addr: String,
    /// How many servers the clients were spread over.
    pub servers: u32,
    /// The Redis the started servers shared their rooms through, if any.
    pub redis_url: Option<String>,
    /// How they connected: `tcp`, `tls` or `websocket`.
    pub transport: &'static str,
    /// The servers' process ids, when known.
    pub pids: Vec<u32>,
    /// Whether only idle connections were measured.
    pub idle_only: bool,
    /// Connections opened.
    pub clients: u32,
    /// Clients meant to send.
    pub senders: u32,
    /// Messages per sender.
    pub messages: u32,
    /// Messages per second per sender; 0 for as fast as possible.
    pub rate: u32,
    /// Rooms the clients were spread over.
    pub rooms: u32,
    /// Clients that registered.
    pub registered: u32,
    /// Clients that did not, by kind.
    pub failures: Vec<FailureCount>,
    /// From the first connection attempt to the last registration.
    pub register_secs: f64,
    /// From then until the last line of the registrations (the notices
    /// announcing arrivals) reached the clients.
    pub settle_secs: f64,
    /// Messages written by all senders.
    pub sent: u64,
    /// From the first send to the last.
    pub send_secs: f64,
    /// Deliveries the sent messages should have produced.
    pub expected: u64,
    /// Deliveries that arrived, each counted once.
    pub delivered: u64,
    /// Deliveries that arrived again.
    pub duplicates: u64,
    /// Deliveries the server said it dropped for clients reading too slowly.
    pub told_missed: u64,
    /// From the first send to the last delivery.
    pub delivery_secs: f64,
    /// Latency percentiles, of all deliveries and apart by whether the
    /// receiver was on the sender's server.
    pub latency: Spread,
    /// Registered clients the server disconnected before the run ended.
    pub hung_up: u32,
    /// Senders whose writes failed, and the first reason.
    pub send_errors: (u32, Option<String>),
    /// Lines that were not load messages.
    pub unexpected: Unexpected,
    /// The server's memory.
    pub memory: Memory,
    /// Server CPU seconds while clients connected and registered.
    pub cpu_connect_secs: Option<f64>,
    /// Server CPU seconds while messages were sent and delivered.
    pub cpu_send_secs: Option<f64>,
    /// `--idle-secs`: how long the silent clients were kept connected.
    pub idle_secs: Option<f64>,
    /// Server CPU seconds meanwhile.
    pub cpu_idle_secs: Option<f64>,
    /// Why the run stopped.
    pub ending: Ending,
    /// How the server ended, if it did so during the run.
    pub server_exit: Option<String>,
}

impl Report {
    /// Expected deliveries that never arrived and that the server never
    /// mentioned: lost silently.
    pub fn missing(&self) -> u64 {
        self.expected
            .saturating_sub(self.delivered)
            .saturating_sub(self.told_missed)
    }

    /// Deliveries the server announced as dropped, but no more than were
    /// actually missing: a server cannot excuse lines by over-announcing.
    pub fn dropped_and_told(&self) -> u64 {
        self.told_missed
            .min(self.expected.saturating_sub(self.delivered))
    }

    /// Deliveries per second, from the first send to the last delivery.
    pub fn deliveries_per_sec(&self) -> Option<f64> {
        (self.delivery_secs > 0.0).then(|| self.delivered as f64 / self.delivery_secs)
    }

    /// Server memory per idle connection, in KiB.
    pub fn kib_per_connection(&self) -> Option<f64> {
        let grown = self.memory.connected? as f64 - self.memory.before? as f64;
        (self.registered > 0).then(|| grown / f64::from(self.registered))
    }

    /// The server's CPU time while the clients sat idle, as a percentage of
    /// one core over that span.
    pub fn idle_core_percent(&self) -> Option<f64> {
        let held = self.idle_secs.filter(|&secs| secs > 0.0)?;
        Some(self.cpu_idle_secs? / held * 100.0)
    }

    /// Whether the run went as planned: every client in, every message
    /// delivered (none dropped, even with a notice), no error or stray line,
    /// nobody disconnected, the server alive.
    pub fn clean(&self) -> bool {
        self.failures.is_empty()
            && self.missing() == 0
            && self.told_missed == 0
            && self.unexpected.errors == 0
            && self.unexpected.others == 0
            && self.duplicates == 0
            && self.hung_up == 0
            && self.send_errors.0 == 0
            && self.server_exit.is_none()
            && self.ending != Ending::Deadline
    }

    /// Every figure as one line of JSON; `null` for what was not measured.
    pub fn json(&self) -> String {
        serde_json::to_string(&JsonReport::from(self))
            .expect("plain numbers, strings and options always serialize")
    }
}

/// `pid 42`, or `pids 41, 42` for several servers; `None` for none.
pub fn pids_shown(pids: &[u32]) -> Option<String> {
    let shown: Vec<String> = pids.iter().map(u32::to_string).collect();
    match shown.as_slice() {
        [] => None,
        [pid] => Some(format!("pid {pid}")),
        _ => Some(format!("pids {}", shown.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Summary;

    /// A run of 2 clients, 1 sender, 3 messages, of which one delivery is missing.
    fn lossy_run() -> Report {
        Report {
            server: "stage2-rooms".to_owned(),
            addr: "127.0.0.1:1".to_owned(),
            servers: 1,
            redis_url: None,
            transport: "tcp",
            pids: Vec::new(),
            idle_only: false,
            clients: 2,
            senders: 1,
            messages: 3,
            rate: 0,
            rooms: 1,
            registered: 2,
            failures: Vec::new(),
            register_secs: 0.01,
            settle_secs: 0.25,
            sent: 3,
            send_secs: 0.001,
            expected: 3,
            delivered: 2,
            duplicates: 0,
            told_missed: 0,
            delivery_secs: 0.5,
            latency: Spread::default(),
            hung_up: 0,
            send_errors: (0, None),
            unexpected: Unexpected::default(),
            memory: Memory::default(),
            cpu_connect_secs: None,
            cpu_send_secs: None,
            idle_secs: None,
            cpu_idle_secs: None,
            ending: Ending::Stalled,
            server_exit: None,
        }
    }

    #[test]
    fn json_has_every_figure_and_nulls() {
        let report = lossy_run();
        let json = report.json();
        assert!(json.starts_with("{\"server\":\"stage2-rooms\",\"addr\":"));
        assert!(json.contains(",\"transport\":\"tcp\","), "{json}");
        assert!(json.contains(",\"missing\":1,"), "{json}");
        assert!(json.contains(",\"deliveries_per_sec\":4,"), "{json}");
        assert!(json.contains(",\"latency_p99_us\":null,"), "{json}");
        assert!(
            json.ends_with(",\"ended\":\"stalled\",\"clean\":false}"),
            "{json}"
        );
        assert!(!report.clean());
        assert!(report.to_string().contains("!! MISSING  1 deliveries"));
    }

    #[test]
    fn json_quotes_names_and_shows_every_percentile() {
        let report = Report {
            server: "a\"b\\c\nd".to_owned(),
            latency: Spread {
                all: Some(Summary {
                    samples: 2,
                    p50: 1500,
                    p90: 2000,
                    p99: 2500,
                    p999: 41_620,
                    max: 3_674_210,
                }),
                ..Spread::default()
            },
            ..lossy_run()
        };
        let json = report.json();
        let parsed: serde_json::Value = serde_json::from_str(&json).expect(&json);
        assert_eq!(parsed["server"], "a\"b\\c\nd", "{json}");
        assert!(
            json.contains(
                ",\"latency_p99_us\":2500,\"latency_p999_us\":41620,\"latency_max_us\":3674210,"
            ),
            "{json}"
        );
        let shown = report.to_string();
        assert!(
            shown.contains(
                "latency     p50 1.50 ms, p90 2.00 ms, p99 2.50 ms, p99.9 41.62 ms, max 3674.21 ms (2 samples)"
            ),
            "{shown}"
        );
    }

    #[test]
    fn several_servers_show_local_and_remote_latencies_and_the_hop() {
        let summary = |samples, p50, p99| Summary {
            samples,
            p50,
            p90: p99,
            p99,
            p999: p99,
            max: p99,
        };
        let report = Report {
            servers: 2,
            addr: "127.0.0.1:1, 127.0.0.1:2".to_owned(),
            redis_url: Some("redis://127.0.0.1:3".to_owned()),
            pids: vec![41, 42],
            latency: Spread {
                all: Some(summary(3, 1000, 2500)),
                same: Some(summary(1, 1000, 1000)),
                other: Some(summary(2, 1750, 2500)),
            },
            ..lossy_run()
        };
        let shown = report.to_string();
        for line in [
            "load report: 2 x stage2-rooms (pids 41, 42) at 127.0.0.1:1, 127.0.0.1:2 over tcp",
            "servers     2, every room's members spread over them, sharing rooms through \
             redis://127.0.0.1:3",
            "local       p50 1.00 ms, p99 1.00 ms (1 deliveries to the sender's server)",
            "remote      p50 1.75 ms, p99 2.50 ms (2 deliveries to another server)",
            "hop         +0.75 ms: the median remote latency minus the median local one",
            "memory and CPU of the 2 servers added up",
        ] {
            assert!(shown.contains(line), "expected {line:?} in:\n{shown}");
        }
        let json = report.json();
        assert!(
            json.contains(
                ",\"delivered_same_server\":1,\"delivered_other_server\":2,\
                 \"latency_same_server_p50_us\":1000,\"latency_same_server_p99_us\":1000,\
                 \"latency_other_server_p50_us\":1750,\"latency_other_server_p99_us\":2500,\
                 \"hop_p50_us\":750,"
            ) && json.contains(",\"servers\":2,\"redis_url\":\"redis://127.0.0.1:3\",")
                && json.contains(",\"pids\":[41,42],"),
            "{json}"
        );
        // One server: nothing to tell apart.
        let one = lossy_run().to_string();
        assert!(
            !one.contains("remote") && !one.contains("servers "),
            "{one}"
        );
    }

    #[test]
    fn idle_cpu_is_shown_as_a_share_of_one_core() {
        let report = Report {
            pids: vec![42],
            idle_only: true,
            idle_secs: Some(10.0),
            cpu_connect_secs: Some(0.04),
            // A difference of CPU times read in steps of 0.01 s: 0.5 and float noise.
            cpu_idle_secs: Some(0.7 - 0.2),
            ending: Ending::IdleMeasured,
            ..lossy_run()
        };
        assert_eq!(report.idle_core_percent(), Some(5.0));
        let json = report.json();
        assert!(
            json.contains(",\"idle_secs\":10.0,\"cpu_idle_secs\":0.5,\"cpu_idle_percent\":5.0,"),
            "{json}"
        );
        let shown = report.to_string();
        assert!(
            shown.contains("plan        2 idle clients in 1 room, kept 10.0 s"),
            "{shown}"
        );
        assert!(
            shown.contains(
                "server CPU  0.04 s connecting, 0.50 s over 10.0 s idle (5.00% of one core)"
            ),
            "{shown}"
        );
        // Without --idle-secs there is no span to divide by.
        let not_held = Report {
            idle_secs: None,
            cpu_idle_secs: None,
            ..report
        };
        assert_eq!(not_held.idle_core_percent(), None);
        assert!(not_held.json().contains(",\"cpu_idle_percent\":null,"));
    }
}
