//! What the running server counts, in the text format Prometheus reads.
//!
//! The metrics live in a [`Registry`] of `prometheus-client` (the Prometheus
//! project's own client) that belongs to one server, not in a global one, so
//! that two servers in one process, as in the tests, never add to each
//! other's counts. `--metrics-addr 127.0.0.1:9100` serves [`Metrics::render`]
//! at `/metrics`, so `curl 127.0.0.1:9100/metrics` shows them, and so does a
//! Prometheus server scraping that address:
//!
//! ```text
//! # HELP chat_connections Connections accepted, by transport.
//! # TYPE chat_connections counter
//! chat_connections_total{transport="tcp"} 3
//! ...
//! ```
//!
//! Counters only ever go up; Prometheus turns them into rates
//! (`rate(chat_messages_received_total[1m])`), over whatever window the reader
//! chooses, so the server keeps no per-second gauge of its own.

use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::transport::Transport;

/// The `Content-Type` of [`Metrics::render`]'s text: OpenMetrics, which
/// Prometheus reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every transport, in the order of the per-transport arrays below.
const TRANSPORTS: [Transport; 3] = [Transport::Tcp, Transport::Tls, Transport::WebSocket];

/// The server's metrics. Each field is a handle on an atomic in the registry
/// (a counter's `Arc`), so any task updates it through `&self`, without a lock.
/// The histogram is the exception: it takes a short lock, which is why it is
/// observed once per batch of lines written, not once per line.
#[derive(Debug)]
// ANCHOR: metrics
pub struct Metrics {
    /// Every metric below, registered under its name, for [`Metrics::render`].
    registry: Registry,
    /// Connections accepted, per transport (as `TRANSPORTS`), outside a lock.
    connections: [Counter; 3],
    /// Connections open now, per transport.
    connected: [Gauge; 3],
    /// Chat messages accepted into a room.
    received: Counter,
    /// Chat messages written to a member: about `received` times room size.
    delivered: Counter,
    /// Lines a slow reader missed (the ring moved past it), and was told so.
    missed_told: Counter,
    /// Lines refused by the rate limit.
    rate_limited: Counter,
    /// History records and reads that failed or were dropped.
    history_failures: Counter,
    /// Rooms that exist now.
    rooms: Gauge,
    /// Lines and updates not sent to other servers: Redis was away or slow.
    backend_dropped: Counter,
    /// 1 while the other servers can be reached through Redis, else 0.
    backend_reachable: Gauge,
    /// Seconds from a line entering its room to a member's write of it ending.
    latency: Histogram,
}
// ANCHOR_END: metrics

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, all zero, in a registry of their own.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chat");
        let connections = per_transport::<Counter>(
            &mut registry,
            "connections",
            "Connections accepted, by transport",
        );
        let connected = per_transport::<Gauge>(
            &mut registry,
            "connected",
            "Connections open now, by transport",
        );
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let received = counter("messages_received", "Chat messages accepted into a room");
        let delivered = counter("messages_delivered", "Chat messages written to members");
        let missed_told = counter(
            "missed_told",
            "Lines dropped for members reading too slowly, who were told",
        );
        let rate_limited = counter("rate_limited", "Lines refused by the per-client rate limit");
        let history_failures = counter(
            "history_failures",
            "History records or reads that failed or were dropped",
        );
        let backend_dropped = counter(
            "backend_dropped",
            "Lines and updates not exchanged with other servers (Redis out of reach or slow)",
        );
        let rooms = Gauge::default();
        registry.register("rooms", "Rooms that exist now", rooms.clone());
        let backend_reachable = Gauge::default();
        registry.register(
            "backend_reachable",
            "1 while other servers can be reached through Redis",
            backend_reachable.clone(),
        );
        // 100 µs to about 3 s, each bucket twice the one before.
        let latency = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "delivery_latency_seconds",
            "From a line entering its room to a member's write of it ending",
            latency.clone(),
        );
        Metrics {
            registry,
            connections,
            connected,
            received,
            delivered,
            missed_told,
            rate_limited,
            history_failures,
            rooms,
            backend_dropped,
            backend_reachable,
            latency,
        }
    }

    // ANCHOR: connection_opened
    /// Counts a new connection through `transport`; it counts as open until
    /// the returned guard is dropped (RAII), however its task ends.
    pub fn connection_opened(&self, transport: Transport) -> ConnectionMetric {
        let index = transport as usize;
        self.connections[index].inc();
        let connected = self.connected[index].clone();
        connected.inc();
        ConnectionMetric { connected }
    }
    // ANCHOR_END: connection_opened

    /// Counts a chat message accepted into a room.
    pub fn message_received(&self) {
        self.received.inc();
    }

    /// Counts one batch written to a member: `messages` chat messages, the
    /// oldest line of which entered its room at `oldest`. Called once per
    /// write, not per line, so a busy member costs one update per batch.
    pub fn delivered(&self, messages: u64, oldest: Instant) {
        self.delivered.inc_by(messages);
        self.latency.observe(oldest.elapsed().as_secs_f64());
    }

    /// Counts `lines` a slow member missed, and was told it missed.
    pub fn missed_told(&self, lines: u64) {
        self.missed_told.inc_by(lines);
    }

    /// Counts a line refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Counts a history record or read that failed or was dropped.
    pub fn history_failed(&self) {
        self.history_failures.inc();
    }

    /// Counts a line or update not exchanged with the other servers.
    pub fn backend_dropped(&self) {
        self.backend_dropped.inc();
    }

    /// Records whether the other servers can be reached.
    pub fn backend_reachable(&self, reachable: bool) {
        self.backend_reachable.set(i64::from(reachable));
    }

    /// Counts a room created.
    pub fn room_opened(&self) {
        self.rooms.inc();
    }

    /// Counts a room removed.
    pub fn room_closed(&self) {
        self.rooms.dec();
    }

    /// Every metric in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Registers a family `name` with one metric per transport, each created now
/// so that every transport shows up (at 0) before its first connection.
fn per_transport<M>(registry: &mut Registry, name: &str, help: &str) -> [M; 3]
where
    M: prometheus_client::registry::Metric + Clone + Default,
    Family<[(&'static str, &'static str); 1], M>: prometheus_client::registry::Metric,
{
    let family = Family::<[(&'static str, &'static str); 1], M>::default();
    let metrics = TRANSPORTS.map(|transport| {
        family
            .get_or_create(&[("transport", transport.as_str())])
            .clone()
    });
    registry.register(name, help, family);
    metrics
}

/// One open connection, counted in `chat_connected` until dropped.
#[derive(Debug)]
#[must_use = "the connection counts as open only while the guard lives"]
pub struct ConnectionMetric {
    /// The transport's gauge, shared with the registry.
    connected: Gauge,
}

impl Drop for ConnectionMetric {
    fn drop(&mut self) {
        self.connected.dec();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The value of the sample `series` (name and labels) in `text`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn renders_every_metric_with_help_and_type() {
        let text = Metrics::new().render();
        for (name, kind) in [
            ("chat_connections", "counter"),
            ("chat_connected", "gauge"),
            ("chat_messages_received", "counter"),
            ("chat_messages_delivered", "counter"),
            ("chat_missed_told", "counter"),
            ("chat_rate_limited", "counter"),
            ("chat_history_failures", "counter"),
            ("chat_rooms", "gauge"),
            ("chat_delivery_latency_seconds", "histogram"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n"))
                    && text.contains(&format!("# HELP {name} ")),
                "expected {name} as a {kind} with a help line; got:\n{text}"
            );
        }
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics ends with # EOF:\n{text}"
        );
    }

    #[test]
    fn connections_are_counted_per_transport_and_close_on_drop() {
        let metrics = Metrics::new();
        let first = metrics.connection_opened(Transport::Tcp);
        let _second = metrics.connection_opened(Transport::Tcp);
        let _browser = metrics.connection_opened(Transport::WebSocket);
        drop(first);
        let text = metrics.render();
        for (series, expected) in [
            (r#"chat_connections_total{transport="tcp"}"#, 2.0),
            (r#"chat_connected{transport="tcp"}"#, 1.0),
            (r#"chat_connections_total{transport="websocket"}"#, 1.0),
            (r#"chat_connected{transport="websocket"}"#, 1.0),
            // Shown before its first connection, so a dashboard has a line.
            (r#"chat_connections_total{transport="tls"}"#, 0.0),
        ] {
            assert_eq!(
                sample(&text, series),
                Some(expected),
                "{series} in:\n{text}"
            );
        }
    }

    #[test]
    fn counters_add_up_and_one_batch_is_one_latency_observation() {
        let metrics = Metrics::new();
        metrics.message_received();
        metrics.delivered(3, Instant::now() - Duration::from_millis(2));
        metrics.missed_told(7);
        metrics.rate_limited();
        metrics.history_failed();
        metrics.room_opened();
        metrics.room_opened();
        metrics.room_closed();
        let text = metrics.render();
        for (series, expected) in [
            ("chat_messages_received_total", 1.0),
            ("chat_messages_delivered_total", 3.0),
            ("chat_missed_told_total", 7.0),
            ("chat_rate_limited_total", 1.0),
            ("chat_history_failures_total", 1.0),
            ("chat_rooms", 1.0),
            ("chat_delivery_latency_seconds_count", 1.0),
            // 2 ms is above the 1.6 ms bucket, within the 3.2 ms one.
            (r#"chat_delivery_latency_seconds_bucket{le="0.0016"}"#, 0.0),
            (r#"chat_delivery_latency_seconds_bucket{le="0.0032"}"#, 1.0),
        ] {
            assert_eq!(
                sample(&text, series),
                Some(expected),
                "{series} in:\n{text}"
            );
        }
    }

    #[test]
    fn two_servers_metrics_never_mix() {
        let one = Metrics::new();
        let other = Metrics::new();
        one.message_received();
        assert_eq!(
            sample(&other.render(), "chat_messages_received_total"),
            Some(0.0)
        );
    }
}
