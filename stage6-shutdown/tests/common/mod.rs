//! Helpers shared by stage 6's test files (`conformance.rs`, `commands.rs`,
//! `production.rs`, `raii.rs`).
//!
//! Each file in `tests/` is a crate of its own and uses only some of these.
//! It declares this module `pub mod common;`: public, they are part of what
//! that crate offers, so the compiler does not call the others unused.

use chat_harness::{Client, TestServer};
use stage6_shutdown::Settings;

/// The crate under test, as failure reports name it.
pub const STAGE: &str = "stage6-shutdown";

/// The default configuration, but with a rate limit no test reaches unless it
/// sets its own: several tests send floods on purpose. (The rate limit has
/// its own tests.)
pub fn relaxed() -> Settings {
    Settings {
        message_rate: 1_000_000,
        message_burst: 1_000_000,
        ..Settings::default()
    }
}

/// Connects `name` and answers the name prompt, skipping history replays.
///
/// Only production.rs's tests are about the history, and it joins without
/// skipping. A used server's lobby replays earlier tests' messages to each
/// newcomer: skip them. On a fresh server, a message sent just as a newcomer
/// joins may reach it in a replay rather than live (the server records a
/// message before it sends it, and the newcomer skips the live copy): skip
/// the header only. The lines arrive in the same order either way.
pub fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    match server.is_shared() {
        true => client.skip_blocks(history_header),
        false => client.skip_blocks(|line| history_header(line).map(|_| 0)),
    };
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

/// The N of `* the last N messages in #room:` (1 for `* the last message in
/// #room:`), the line before the N messages that a room replays to a newcomer.
pub fn history_header(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("* the last ")?;
    let (count, room) = match rest.strip_prefix("message in #") {
        Some(room) => (1, room),
        None => {
            let (count, room) = rest.split_once(" messages in #")?;
            (count.parse().ok()?, room)
        }
    };
    room.ends_with(':').then_some(count)
}

/// Moves `client` to `room` with `/join`, skipping notices still unread.
pub fn move_to(client: &mut Client, room: &str) {
    client.send(&format!("/join {room}"));
    client.expect_eventually(&format!("* you are now in #{room}"));
}
