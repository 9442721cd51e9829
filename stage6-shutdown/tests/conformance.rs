//! Conformance tests for stage 6: what any stage 6 server must do on the
//! wire with the default configuration (a rate limit of 5 lines a second
//! after a burst of 10, history on), whoever wrote it and in whatever
//! language. Each test starts the reference server in the test process,
//! unless the environment names another server:
//!
//! ```sh
//! cargo test -p stage6-shutdown --test conformance           # the reference
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' \
//!     cargo conformance stage6                               # yours, fresh for each test
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage6        # yours, already running
//! ```
//!
//! The book's appendix "Testing your own server" says more. The cases are in
//! `conformance/cases.rs`, which `conformance_tls.rs` and
//! `conformance_websocket.rs` run over the server's other doors.

use chat_harness::TestServer;
use stage6_shutdown::{ServerConfig, Services, run};

pub mod common;
use self::common::STAGE;

#[path = "conformance/cases.rs"]
mod cases;

/// TCP carries any bytes, so the cases send a line that is not UTF-8 too.
const ANY_BYTES: bool = true;

/// The reference server with the default configuration and no filters, or
/// the server that `CHAT_SERVER` or `CHAT_SERVER_CMD` names. (The binary's
/// default filters, a length limit and a flood guard, never block a line of
/// these tests.) It never shuts down: tests/production.rs covers that.
fn start() -> TestServer {
    TestServer::conformance_tokio(STAGE, |listener| {
        let config = ServerConfig::default();
        let services = Services::new(&config);
        run(listener, config, services, std::future::pending())
    })
}
