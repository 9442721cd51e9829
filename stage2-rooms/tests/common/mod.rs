//! Helpers shared by stage 2's test files (`conformance.rs`, `rooms.rs`, `raii.rs`).
//!
//! Each file in `tests/` is a crate of its own and uses only some of these.
//! It declares this module `pub mod common;`: public, they are part of what
//! that crate offers, so the compiler does not call the others unused.

use chat_harness::{Client, TestServer};

/// The crate under test, as failure reports name it.
pub const STAGE: &str = "stage2-rooms";

/// Connects `name` and answers the name prompt.
pub fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}
