//! The stage 6 conformance cases over TLS: the harness's clients reach the
//! reference server's TLS port through a relay (see `transports`). Run with
//! `cargo test -p stage6-shutdown --test conformance_tls`.

use chat_harness::TestServer;
use stage6_shutdown::ServerConfig;

pub mod common;
pub mod transports;

#[path = "conformance/cases.rs"]
mod cases;

/// TLS carries any bytes, as TCP does.
const ANY_BYTES: bool = true;

/// The reference server with the default configuration, TLS on, behind a
/// relay. It never shuts down: tests/production.rs covers that.
fn start() -> TestServer {
    let running = transports::start(ServerConfig::default(), true, transports::Via::Tls);
    // The server runs until the test process ends: the trigger is kept.
    std::mem::forget(running.shutdown);
    running.server
}
