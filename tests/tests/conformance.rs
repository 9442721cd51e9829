//! Every stage's conformance tests, to run against a server of your own:
//!
//! ```sh
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage4
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' cargo conformance stage4
//! ```
//!
//! Each module is a stage's own `tests/conformance.rs`, so these are the very
//! tests that `cargo test -p stageN-…` runs against the reference. The
//! environment names one server: filter by stage, as above. Without either
//! variable, every stage's tests check its reference server. See the book's
//! appendix "Testing your own server".
//!
//! The modules are public, like each stage's `common` module, so that a
//! shared helper that these suites do not call is not reported as unused.

#[path = "../../stage1-echo/tests/conformance.rs"]
pub mod stage1;
#[path = "../../stage2-rooms/tests/conformance.rs"]
pub mod stage2;
#[path = "../../stage3-protocol/tests/conformance.rs"]
pub mod stage3;
#[path = "../../stage4-commands/tests/conformance.rs"]
pub mod stage4;
#[path = "../../stage5-async/tests/conformance.rs"]
pub mod stage5;
#[path = "../../stage6-shutdown/tests/conformance.rs"]
pub mod stage6;
