//! The test harness shared by every stage's tests.
//!
//! A test starts a server on a free port with [`TestServer::start`] (in this
//! process) or [`ChildServer::spawn`] (the stage's real binary), connects
//! [`Client`]s to it, and checks what arrives with the `expect_*` methods.
//! Conformance tests, which look only at the wire, start theirs with
//! [`TestServer::conformance`], which can also check a server written by
//! someone else (`CHAT_SERVER`, `CHAT_SERVER_CMD`).
//!
//! Every read has a timeout, so no test can hang, and every failed expectation
//! panics with a report that names the stage, the client, what it sent, what was
//! expected, what arrived, and where to look:
//!
//! ```text
//! [stage2-rooms] bob expected the line "<alice> hello"
//!   but nothing arrived within 5s
//!   bob sent:     "bob"
//!   bob received: "welcome, bob! you are in #lobby" | "* alice joined #lobby"
//!   hint: a message goes to every member of the sender's room except the sender
//! ```
//!
//! [`redis::RedisServer`] runs a `redis-server` of a test's own, for the
//! tests of stage 6 servers that share their rooms.
//!
//! It needs only the standard library, so a blocking stage's tests compile
//! nothing else. The tokio stages enable the cargo feature `tokio` for
//! `TestServer::start_tokio` and `TestServer::conformance_tokio`.

mod child;
mod client;
mod exercise;
pub mod redis;
mod server;

pub use child::{ChildServer, Ran, run_to_completion, run_within};
pub use client::{Client, Received, Tally};
pub use exercise::{ExerciseRef, exercise_checking, exercises_in};
pub use server::TestServer;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client waits for a line before it reports that nothing arrived.
///
/// Five seconds by default, which is generous on a loaded machine; set
/// `CHAT_TEST_TIMEOUT_MS` to change it.
pub fn read_timeout() -> Duration {
    std::env::var("CHAT_TEST_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

/// The workspace's root directory: this crate lives in `<root>/tests/harness`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the harness lives in the workspace's tests/harness")
        .to_path_buf()
}
