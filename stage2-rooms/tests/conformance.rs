//! Conformance tests for stage 2: what any stage 2 server must do on the
//! wire, whoever wrote it and in whatever language. Each test starts the
//! reference server in the test process, unless the environment names
//! another server:
//!
//! ```sh
//! cargo test -p stage2-rooms --test conformance              # the reference
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' \
//!     cargo conformance stage2                               # yours, fresh for each test
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage2        # yours, already running
//! ```
//!
//! The book's appendix "Testing your own server" says more.

use chat_harness::{Client, TestServer};
use stage2_rooms::{Limits, Server};

pub mod common;
use self::common::{STAGE, join};

/// The reference server with its default limits, or the server that
/// `CHAT_SERVER` or `CHAT_SERVER_CMD` names.
fn start() -> TestServer {
    TestServer::conformance(STAGE, |listener| {
        Server::new(listener, Limits::default())
            .expect("a fresh listener can be made non-blocking")
            .run()
    })
}

#[test]
fn two_clients_connected_at_once_can_chat() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.hint("everyone already in the room hears about a newcomer");
    alice.expect("* bob joined #lobby");

    alice.send("hello bob");
    bob.hint("a message goes to every member of the sender's room except the sender");
    bob.expect("<alice> hello bob");
    bob.send("hi alice");
    alice.expect("<bob> hi alice");

    drop(bob);
    alice.hint("when a client disconnects, the room is told");
    alice.expect("* bob left #lobby");
}

#[test]
fn a_message_reaches_every_other_member_and_not_the_sender() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    alice.expect("* bob joined #lobby");
    alice.expect("* carol joined #lobby");
    bob.expect("* carol joined #lobby");

    carol.send("hi all");
    alice.expect("<carol> hi all");
    bob.expect("<carol> hi all");
    carol.hint("the sender sees its own text in its terminal already: no echo");
    bob.send("marker");
    carol.expect("<bob> marker");
}

#[test]
fn names_are_checked_and_a_refused_client_may_try_again() {
    let server = start();
    let _alice = join(&server, "alice");
    let mut newcomer = server.connect("newcomer");
    newcomer.expect("welcome! what is your name?");
    newcomer.hint("see validate_name in src/message.rs and register in src/server.rs");
    newcomer.send("");
    newcomer.expect("error: the name is empty. what is your name?");
    newcomer.send("bad name");
    newcomer
        .expect("error: a name may contain only letters, digits, '_' and '-'. what is your name?");
    newcomer.send(&"n".repeat(33));
    newcomer.expect("error: a name is at most 32 bytes long. what is your name?");
    newcomer.hint("names are compared ignoring case, so nobody can pose as someone else");
    newcomer.send("ALICE");
    newcomer.expect("error: the name ALICE is taken. what is your name?");
    newcomer.send("bob");
    newcomer.expect("welcome, bob! you are in #lobby");
}

#[test]
fn a_name_is_free_again_once_its_owner_has_left() {
    let server = start();
    let alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    drop(alice);
    bob.expect_eventually("* alice left #lobby");
    let _second_alice = join(&server, "alice");
}

#[test]
fn telnet_line_endings_and_invalid_utf8_are_handled() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = server.connect("bob");
    bob.expect("welcome! what is your name?");
    bob.hint("strip a trailing \\r as well as the \\n");
    bob.send_bytes(b"bob\r\n").unwrap();
    bob.expect("welcome, bob! you are in #lobby");
    alice.expect("* bob joined #lobby");
    bob.send_bytes(b"hi\r\n").unwrap();
    alice.expect("<bob> hi");
    bob.send_bytes(b"\xff\xfe\n").unwrap();
    bob.expect("error: the line is not valid UTF-8");
    bob.send("still here");
    alice.expect("<bob> still here");
}

#[test]
fn blank_lines_are_ignored() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    bob.send("");
    bob.send("   ");
    bob.send("after the blanks");
    alice.hint("a blank chat line is neither relayed nor answered");
    alice.expect("<bob> after the blanks");
    alice.send("marker");
    bob.expect("<alice> marker");
}

#[test]
fn control_characters_never_reach_other_terminals() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    bob.send("\x1b[2Jgotcha\x07");
    alice.hint("replace every char::is_control with U+FFFD: see clean_text");
    alice.expect("<bob> \u{FFFD}[2Jgotcha\u{FFFD}");
}

#[test]
fn a_client_that_vanishes_mid_line_only_leaves() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut gone = join(&server, "gone");
    alice.expect("* gone joined #lobby");
    gone.send_bytes(b"half a li").unwrap();
    gone.close_abruptly();
    alice.expect("* gone left #lobby");
    alice.hint("an unfinished line is dropped with its client, never relayed");
    let _bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
}

#[test]
fn twenty_clients_hear_one_message() {
    let server = start();
    let mut speaker = join(&server, "speaker");
    let mut listeners: Vec<Client> = (0..20)
        .map(|i| join(&server, &format!("listener{i}")))
        .collect();
    speaker.send("can everyone hear me?");
    for listener in &mut listeners {
        listener.expect_eventually("<speaker> can everyone hear me?");
    }
}
