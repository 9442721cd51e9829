//! Counters about the running server, and an endpoint that shows them.
//!
//! `--metrics-addr 127.0.0.1:9100` serves them over HTTP in Prometheus's text
//! format, so `curl 127.0.0.1:9100/metrics` shows them, and so does a
//! Prometheus server scraping that address:
//!
//! ```text
//! # HELP chat_connected_clients Connections open now, named or not.
//! # TYPE chat_connected_clients gauge
//! chat_connected_clients 3
//! ...
//! ```

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tracing::debug;

// ANCHOR: metrics
/// The server's counters. Every field is an atomic, so any task updates them
/// without a lock; `Relaxed` ordering is enough, because no other memory is
/// published through them.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connections open now.
    pub connected: AtomicU64,
    /// Rooms that exist now.
    pub rooms: AtomicU64,
    /// Chat messages relayed since the start.
    pub messages: AtomicU64,
    /// Chat messages relayed in the last whole second.
    pub messages_last_second: AtomicU64,
    /// Lines dropped for members that read too slowly (and were told).
    pub dropped: AtomicU64,
    /// Lines refused by the rate limit.
    pub rate_limited: AtomicU64,
}
// ANCHOR_END: metrics

impl Metrics {
    /// Called once a second: turns the message count into a rate.
    pub fn tick(&self, messages_at_last_tick: &mut u64) {
        let now = self.messages.load(Relaxed);
        self.messages_last_second
            .store(now - *messages_at_last_tick, Relaxed);
        *messages_at_last_tick = now;
    }

    /// The counters in Prometheus's text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(text, "# HELP {name} {help}");
            let _ = writeln!(text, "# TYPE {name} {kind}");
            let _ = writeln!(text, "{name} {}", value.load(Relaxed));
        };
        metric(
            "chat_connected_clients",
            "gauge",
            "Connections open now, named or not.",
            &self.connected,
        );
        metric("chat_rooms", "gauge", "Rooms that exist now.", &self.rooms);
        metric(
            "chat_messages_total",
            "counter",
            "Chat messages relayed since the start.",
            &self.messages,
        );
        metric(
            "chat_messages_per_second",
            "gauge",
            "Chat messages relayed in the last whole second.",
            &self.messages_last_second,
        );
        metric(
            "chat_dropped_lines_total",
            "counter",
            "Lines dropped for members reading too slowly, who were told.",
            &self.dropped,
        );
        metric(
            "chat_rate_limited_lines_total",
            "counter",
            "Lines refused by the per-client rate limit.",
            &self.rate_limited,
        );
        text
    }
}

// ANCHOR: serve_metrics
/// Answers every connection to `listener` with the metrics, for as long as
/// the runtime runs.
///
/// Just enough HTTP for `curl` and Prometheus: whatever the request, the
/// answer is the metrics, and the connection closes.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, Arc::clone(&metrics)));
            }
            Err(error) => {
                debug!(%error, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
// ANCHOR_END: serve_metrics

/// Reads the request (a little of it, briefly) and writes the metrics.
async fn answer(mut stream: TcpStream, metrics: Arc<Metrics>) {
    // The request's content does not matter; reading it first lets the
    // client see a clean close rather than a reset.
    let mut request = [0; 1024];
    let _ = timeout(Duration::from_secs(1), stream.read(&mut request)).await;
    let body = metrics.render();
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter_in_prometheus_text() {
        let metrics = Metrics::default();
        metrics.connected.store(3, Relaxed);
        metrics.messages.store(10, Relaxed);
        let mut last = 4;
        metrics.tick(&mut last);
        let text = metrics.render();
        assert!(text.contains("# TYPE chat_connected_clients gauge\nchat_connected_clients 3\n"));
        assert!(text.contains("chat_messages_total 10\n"));
        assert!(text.contains("chat_messages_per_second 6\n"));
        assert_eq!(last, 10);
    }
}
