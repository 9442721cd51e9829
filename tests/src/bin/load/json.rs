//! The figures of one run for scripts: one flat JSON object, `null` for what
//! was not measured.

use serde::Serialize;

use crate::report::Report;

/// Every figure of a [`Report`], flat, under the names scripts read
/// (`measurements/summarize.py` among them). Times are in seconds, rounded to
/// the millisecond; latencies in microseconds; memory in KiB.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// The server's name, from its first line, or its address.
    server: &'a str,
    /// Where the clients connected: each server's address, comma-separated.
    addr: &'a str,
    /// How many servers the clients were spread over.
    servers: u32,
    /// The Redis the started servers shared their rooms through.
    redis_url: Option<&'a str>,
    /// How: `tcp`, `tls` or `websocket`.
    transport: &'a str,
    /// The servers' process ids, when known.
    pids: &'a [u32],
    /// Whether only idle connections were measured.
    idle_only: bool,
    /// Connections opened.
    clients: u32,
    /// Clients meant to send.
    senders: u32,
    /// Messages per sender.
    messages: u32,
    /// Messages per second per sender; 0 for as fast as possible.
    rate: u32,
    /// Rooms the clients were spread over.
    rooms: u32,
    /// Clients that registered.
    registered: u32,
    /// Clients that did not, of every kind.
    failed: u32,
    /// From the first connection attempt to the last registration.
    register_secs: f64,
    /// From then until the notices of the registrations stopped arriving.
    settle_secs: f64,
    /// Messages written by all senders.
    sent: u64,
    /// From the first send to the last.
    send_secs: f64,
    /// Deliveries the sent messages should have produced.
    expected: u64,
    /// Deliveries that arrived, each counted once.
    delivered: u64,
    /// Deliveries the server said it dropped (no more than were missing).
    told_missed: u64,
    /// Deliveries lost silently.
    missing: u64,
    /// Deliveries that arrived again.
    duplicates: u64,
    /// From the first send to the last delivery.
    delivery_secs: f64,
    /// Deliveries per second over that span.
    deliveries_per_sec: Option<u64>,
    /// Latencies counted: one per delivery.
    latency_samples: Option<u64>,
    /// Median latency.
    latency_p50_us: Option<u64>,
    /// 90th percentile latency.
    latency_p90_us: Option<u64>,
    /// 99th percentile latency.
    latency_p99_us: Option<u64>,
    /// 99.9th percentile latency.
    latency_p999_us: Option<u64>,
    /// Largest latency.
    latency_max_us: Option<u64>,
    /// Deliveries to members on the sender's server.
    delivered_same_server: u64,
    /// Deliveries to members on another server.
    delivered_other_server: u64,
    /// Median latency to members on the sender's server.
    latency_same_server_p50_us: Option<u64>,
    /// 99th percentile latency to members on the sender's server.
    latency_same_server_p99_us: Option<u64>,
    /// Median latency to members on another server.
    latency_other_server_p50_us: Option<u64>,
    /// 99th percentile latency to members on another server.
    latency_other_server_p99_us: Option<u64>,
    /// What crossing servers adds: the median to another server minus the
    /// median to the sender's.
    hop_p50_us: Option<i64>,
    /// Registered clients the server disconnected during the run.
    hung_up: u32,
    /// Senders whose writes failed.
    send_errors: u32,
    /// Notice lines (`* ...`) received.
    notices: u64,
    /// `error:` lines received.
    errors: u64,
    /// Other lines that were not load messages for their reader.
    others: u64,
    /// The server's memory before any client connected.
    rss_before_kib: Option<u64>,
    /// With every client registered and the server quiet.
    rss_connected_kib: Option<u64>,
    /// The most seen during the run.
    rss_peak_kib: Option<u64>,
    /// After every client disconnected.
    rss_after_kib: Option<u64>,
    /// Server memory per idle connection, to 0.01 KiB.
    kib_per_connection: Option<f64>,
    /// Server CPU seconds while clients connected and registered.
    cpu_connect_secs: Option<f64>,
    /// Server CPU seconds while messages were sent and delivered.
    cpu_send_secs: Option<f64>,
    /// How long silent clients were kept connected (`--idle-secs`).
    idle_secs: Option<f64>,
    /// Server CPU seconds meanwhile.
    cpu_idle_secs: Option<f64>,
    /// That CPU time as a percentage of one core, to 0.01%.
    cpu_idle_percent: Option<f64>,
    /// Why the run stopped, e.g. `all-delivered`.
    ended: &'static str,
    /// Whether the run went as planned: exit status 0.
    clean: bool,
}

impl<'a> From<&'a Report> for JsonReport<'a> {
    fn from(report: &'a Report) -> Self {
        let latency = report.latency.all;
        let (same, other) = (report.latency.same, report.latency.other);
        let secs = |secs: f64| round(secs, 3);
        JsonReport {
            server: &report.server,
            addr: &report.addr,
            servers: report.servers,
            redis_url: report.redis_url.as_deref(),
            transport: report.transport,
            pids: &report.pids,
            idle_only: report.idle_only,
            clients: report.clients,
            senders: report.senders,
            messages: report.messages,
            rate: report.rate,
            rooms: report.rooms,
            registered: report.registered,
            failed: report.failures.iter().map(|f| f.count).sum(),
            register_secs: secs(report.register_secs),
            settle_secs: secs(report.settle_secs),
            sent: report.sent,
            send_secs: secs(report.send_secs),
            expected: report.expected,
            delivered: report.delivered,
            told_missed: report.dropped_and_told(),
            missing: report.missing(),
            duplicates: report.duplicates,
            delivery_secs: secs(report.delivery_secs),
            deliveries_per_sec: report.deliveries_per_sec().map(|rate| rate.round() as u64),
            latency_samples: latency.map(|l| l.samples),
            latency_p50_us: latency.map(|l| l.p50),
            latency_p90_us: latency.map(|l| l.p90),
            latency_p99_us: latency.map(|l| l.p99),
            latency_p999_us: latency.map(|l| l.p999),
            latency_max_us: latency.map(|l| l.max),
            delivered_same_server: same.map_or(0, |l| l.samples),
            delivered_other_server: other.map_or(0, |l| l.samples),
            latency_same_server_p50_us: same.map(|l| l.p50),
            latency_same_server_p99_us: same.map(|l| l.p99),
            latency_other_server_p50_us: other.map(|l| l.p50),
            latency_other_server_p99_us: other.map(|l| l.p99),
            hop_p50_us: report.latency.hop_p50(),
            hung_up: report.hung_up,
            send_errors: report.send_errors.0,
            notices: report.unexpected.notices,
            errors: report.unexpected.errors,
            others: report.unexpected.others,
            rss_before_kib: report.memory.before,
            rss_connected_kib: report.memory.connected,
            rss_peak_kib: report.memory.peak,
            rss_after_kib: report.memory.after,
            kib_per_connection: report.kib_per_connection().map(|kib| round(kib, 2)),
            cpu_connect_secs: report.cpu_connect_secs.map(secs),
            cpu_send_secs: report.cpu_send_secs.map(secs),
            idle_secs: report.idle_secs.map(secs),
            cpu_idle_secs: report.cpu_idle_secs.map(secs),
            cpu_idle_percent: report.idle_core_percent().map(|p| round(p, 2)),
            ended: report.ending.key(),
            clean: report.clean(),
        }
    }
}

/// `value` to `decimals` places, so that the JSON says `0.3`, not the
/// `0.30000000000000004` a difference of CPU times can come to.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
