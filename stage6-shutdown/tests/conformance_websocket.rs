//! The stage 6 conformance cases over WebSocket: the harness's clients reach
//! the reference server's `/ws` through a relay that sends each line as one
//! text message (see `transports`). Run with
//! `cargo test -p stage6-shutdown --test conformance_websocket`.

use chat_harness::TestServer;
use stage6_shutdown::ServerConfig;

pub mod common;
pub mod transports;

#[path = "conformance/cases.rs"]
mod cases;

/// A text message is UTF-8 by construction: a line that is not cannot be
/// sent (the server's close code for one is tested in websocket.rs).
const ANY_BYTES: bool = false;

/// The reference server with the default configuration, reached over
/// WebSocket through a relay. It never shuts down: tests/production.rs
/// covers that.
fn start() -> TestServer {
    let running = transports::start(ServerConfig::default(), false, transports::Via::WebSocket);
    // The server runs until the test process ends: the trigger is kept.
    std::mem::forget(running.shutdown);
    running.server
}
