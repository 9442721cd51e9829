//! Conformance tests for stage 3: what any stage 3 server must do on the
//! wire, whoever wrote it and in whatever language. Each test starts the
//! reference server in the test process, unless the environment names
//! another server:
//!
//! ```sh
//! cargo test -p stage3-protocol --test conformance           # the reference
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' \
//!     cargo conformance stage3                               # yours, fresh for each test
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage3        # yours, already running
//! ```
//!
//! The book's appendix "Testing your own server" says more.

use chat_harness::TestServer;
use stage3_protocol::{Limits, Server};

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
fn two_clients_exchange_frames() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.hint("members already in a room get JOINED:<room>:<name>");
    alice.expect("JOINED:lobby:bob");
    alice.send("MSG:hello bob");
    bob.hint("MSG:<text> from alice reaches the others as MSG:alice:<text>");
    bob.expect("MSG:alice:hello bob");
    bob.send("MSG:hi alice");
    alice.expect("MSG:bob:hi alice");
    drop(bob);
    alice.expect("LEFT:lobby:bob");
}

#[test]
fn the_sender_of_a_msg_is_the_connection_not_the_payload() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    alice.send("MSG:bob:I am bob");
    bob.hint("the server writes the sender's name itself; text after MSG: is only text");
    bob.expect("MSG:alice:bob:I am bob");
}

#[test]
fn frames_before_a_name_are_refused() {
    let server = start();
    let mut anon = server.connect("anon");
    anon.expect("OK:welcome! send NICK:<name> to begin");
    anon.hint("a client without a name may only send NICK (or QUIT)");
    anon.send("MSG:hello?");
    anon.expect("ERR:send NICK:<name> first");
    anon.send("JOIN:rust");
    anon.expect("ERR:send NICK:<name> first");
}

#[test]
fn each_malformed_frame_gets_its_own_error_and_the_next_line_still_works() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    bob.hint("see FrameError in src/protocol.rs: one ERR per bad line");
    bob.send("hello");
    bob.expect("ERR:expected `TYPE:payload`, but the line has no ':'");
    bob.send("SHOUT:hi");
    bob.expect("ERR:unknown frame type \"SHOUT\"; expected NICK, JOIN, MSG or QUIT");
    bob.send("MSG:   ");
    bob.expect("ERR:MSG needs something after the ':'");
    bob.send_bytes(b"MSG:\xff\n").unwrap();
    bob.expect("ERR:the line is not valid UTF-8");
    bob.send("MSG:still here");
    alice.expect("MSG:bob:still here");
}

#[test]
fn types_ignore_case_and_telnet_line_endings_work() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = server.connect("bob");
    bob.expect_containing("OK:welcome!");
    bob.send_bytes(b"nick:bob\r\n").unwrap();
    bob.expect("OK:welcome bob, you are in lobby");
    alice.expect("JOINED:lobby:bob");
    bob.send_bytes(b"Msg:hi\r\n").unwrap();
    alice.expect("MSG:bob:hi");
}

#[test]
fn a_frame_split_across_two_reads_is_reassembled() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    alice.expect("JOINED:lobby:bob");
    alice.expect("JOINED:lobby:carol");
    bob.send_bytes(b"MSG:hel").unwrap();
    carol.send("MSG:marker");
    alice.hint("FrameIter must leave an unfinished line in the buffer for the next read");
    alice.expect("MSG:carol:marker");
    bob.send_bytes(b"lo\nMSG:second\n").unwrap();
    alice.expect("MSG:bob:hello");
    alice.expect("MSG:bob:second");
}

#[test]
fn quit_works_before_a_name() {
    let server = start();
    let mut anon = server.connect("anon");
    anon.expect("OK:welcome! send NICK:<name> to begin");
    anon.hint("QUIT is the one frame besides NICK that needs no name");
    anon.send("QUIT:");
    anon.expect("OK:bye");
    anon.expect_closed();
}

#[test]
fn names_are_checked() {
    let server = start();
    let _alice = join(&server, "alice");
    let mut newcomer = server.connect("newcomer");
    newcomer.expect_containing("OK:welcome!");
    newcomer.send("NICK:");
    newcomer.expect("ERR:NICK needs something after the ':'");
    newcomer.send("NICK:a:b");
    newcomer.expect("ERR:a name may contain only ASCII letters, digits, '_' and '-', not ':'");
    newcomer.send(&format!("NICK:{}", "n".repeat(33)));
    newcomer.expect("ERR:a name must be at most 32 bytes long");
    newcomer.hint("names are compared ignoring case");
    newcomer.send("NICK:ALICE");
    newcomer.expect("ERR:the name ALICE is taken");
}

#[test]
fn renaming_tells_the_room_and_frees_the_old_name() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    bob.send("NICK:robert");
    bob.expect("OK:you are now robert");
    alice.expect("NICK:bob:robert");
    bob.hint("changing only the case of your own name is allowed");
    bob.send("NICK:Robert");
    bob.expect("OK:you are now Robert");
    alice.expect("NICK:robert:Robert");
    bob.send("NICK:alice");
    bob.expect("ERR:the name alice is taken");
    let _new_bob = join(&server, "bob");
}

#[test]
fn rooms_keep_their_messages_to_themselves() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    alice.expect("JOINED:lobby:bob");
    alice.expect("JOINED:lobby:carol");
    bob.expect("JOINED:lobby:carol");

    bob.hint("room names are lowercased: JOIN:Rust and JOIN:rust are the same room");
    bob.send("JOIN:Rust");
    bob.expect("OK:you are in rust");
    alice.expect("LEFT:lobby:bob");
    carol.expect("LEFT:lobby:bob");
    carol.send("JOIN:rust");
    carol.expect("OK:you are in rust");
    bob.expect("JOINED:rust:carol");
    alice.expect("LEFT:lobby:carol");

    carol.send("MSG:only for rust");
    bob.expect("MSG:carol:only for rust");
    alice.hint("a message reaches only the sender's room");
    alice.send("JOIN:lobby");
    alice.expect("ERR:you are already in lobby");

    carol.send("JOIN:rust");
    carol.expect("ERR:you are already in rust");
    carol.send("JOIN:no spaces");
    carol.expect(
        "ERR:a room name may contain only lowercase ASCII letters, digits, '_' and '-', not ' '",
    );
}

#[test]
fn control_characters_never_reach_other_terminals() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    bob.send("MSG:\x1b[2Jgotcha\x07");
    alice.expect("MSG:bob:\u{FFFD}[2Jgotcha\u{FFFD}");
}

#[test]
fn quit_delivers_what_was_queued_then_says_bye_and_closes() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    alice.send("MSG:before you go");
    // The server handles alice's frames in order (bob's are another matter):
    // once this error arrives, her message is on its way to bob.
    alice.send("JOIN:lobby");
    alice.expect("ERR:you are already in lobby");
    bob.hint("a QUIT must not lose lines already queued for the client");
    bob.send("QUIT:gone fishing");
    bob.expect("MSG:alice:before you go");
    bob.expect("OK:bye");
    bob.expect_closed();
    alice.hint("the QUIT reason is carried into the LEFT notice");
    alice.expect("LEFT:lobby:bob:gone fishing");
}

#[test]
fn a_client_that_vanishes_mid_frame_only_leaves() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut gone = join(&server, "gone");
    alice.expect("JOINED:lobby:gone");
    gone.send_bytes(b"MSG:half a fr").unwrap();
    gone.close_abruptly();
    alice.expect("LEFT:lobby:gone");
    alice.hint("an unfinished frame is dropped with its client, never relayed");
    let _bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
}
