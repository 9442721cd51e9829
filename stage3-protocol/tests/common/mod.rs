//! Helpers shared by stage 3's test files (`conformance.rs`, `protocol.rs`, `raii.rs`).
//!
//! Each file in `tests/` is a crate of its own and uses only some of these.
//! It declares this module `pub mod common;`: public, they are part of what
//! that crate offers, so the compiler does not call the others unused.

use chat_harness::{Client, TestServer};

/// The crate under test, as failure reports name it.
pub const STAGE: &str = "stage3-protocol";

/// Connects `name` and registers it with a NICK frame.
pub fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("OK:welcome! send NICK:<name> to begin");
    client.send(&format!("NICK:{name}"));
    client.expect(&format!("OK:welcome {name}, you are in lobby"));
    client
}
