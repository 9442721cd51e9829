//! Conformance tests for stage 1: what any stage 1 server must do on the
//! wire, whoever wrote it and in whatever language. Each test starts the
//! reference server in the test process, unless the environment names
//! another server:
//!
//! ```sh
//! cargo test -p stage1-echo --test conformance               # the reference
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' \
//!     cargo conformance stage1                               # yours, fresh for each test
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage1        # yours, already running
//! ```
//!
//! The book's appendix "Testing your own server" says more.

use std::time::Duration;

use chat_harness::{Client, TestServer};
use stage1_echo::{Limits, run};

const STAGE: &str = "stage1-echo";

/// The reference server with its default limits, or the server that
/// `CHAT_SERVER` or `CHAT_SERVER_CMD` names.
fn start() -> TestServer {
    TestServer::conformance(STAGE, |listener| run(listener, &Limits::default()))
}

/// The welcome for the client that a server counts as user `number`.
fn welcome(number: u64) -> String {
    format!("welcome, user #{number}! you are in room #0. send lines as name:message")
}

/// Expects the welcome of a test's first client and returns its user number:
/// 1 on a server started for the test, any number on a shared server
/// (`CHAT_SERVER`), which has counted the clients of earlier tests too.
fn expect_first_welcome(server: &TestServer, client: &mut Client) -> u64 {
    if !server.is_shared() {
        client.expect(&welcome(1));
        return 1;
    }
    let line = client.expect_line(
        "the welcome for user #N (any N: the server is shared)",
        |line| user_number(line).is_some(),
    );
    user_number(&line).expect("a welcome line, checked just above")
}

/// The N of a welcome for user #N.
fn user_number(line: &str) -> Option<u64> {
    let (number, _) = line.strip_prefix("welcome, user #")?.split_once('!')?;
    let number = number.parse().ok()?;
    (line == welcome(number)).then_some(number)
}

#[test]
fn greets_and_echoes_a_message() {
    let server = start();
    let mut alice = server.connect("alice");
    expect_first_welcome(&server, &mut alice);
    alice.hint("a line `name:message` comes back as `<name> message`, trimmed");
    alice.send("alice: hello, world ");
    alice.expect("<alice> hello, world");
    alice.send("alice:a:b:c");
    alice.expect("<alice> a:b:c");
}

#[test]
fn malformed_lines_get_an_error_and_the_connection_stays_open() {
    let server = start();
    let mut alice = server.connect("alice");
    alice.expect_containing("welcome");
    alice.hint("each bad line gets `error: <ChatError's message>`; see src/error.rs");
    alice.send("no separator here");
    alice.expect("error: expected `name:message`, but the line has no ':'");
    alice.send(":hello");
    alice.expect("error: the name before ':' is empty");
    alice.send("alice:");
    alice.expect("error: the message after ':' is empty");
    alice.send("al ice:hi");
    alice.expect("error: a name may contain only letters, digits, '_' and '-'");
    alice.send(&format!("{}:hi", "a".repeat(33)));
    alice.expect("error: a name is at most 32 bytes long");
    alice.send("");
    alice.expect("error: expected `name:message`, but the line has no ':'");
    alice.send("alice:still here");
    alice.expect("<alice> still here");
}

#[test]
fn telnet_line_endings_are_accepted() {
    let server = start();
    let mut alice = server.connect("alice");
    alice.expect_containing("welcome");
    alice.hint("strip a trailing \\r as well as the \\n");
    alice.send_bytes(b"alice:hi\r\n").unwrap();
    alice.expect("<alice> hi");
}

#[test]
fn invalid_utf8_gets_an_error() {
    let server = start();
    let mut alice = server.connect("alice");
    alice.expect_containing("welcome");
    alice.send_bytes(b"alice:\xff\xfe\n").unwrap();
    alice.expect("error: the line is not valid UTF-8");
    alice.send("alice:ok");
    alice.expect("<alice> ok");
}

#[test]
fn serves_one_client_at_a_time() {
    let server = start();
    let mut first = server.connect("first");
    let number = expect_first_welcome(&server, &mut first);
    let mut second = server.connect("second");
    second.hint("stage 1 is blocking: the second client waits for the first");
    second.expect_silence(Duration::from_millis(300));
    drop(first);
    second.expect(&welcome(number + 1));
}

#[test]
fn a_client_that_vanishes_mid_line_does_not_stop_the_server() {
    let server = start();
    let mut gone = server.connect("gone");
    gone.expect_containing("welcome");
    gone.send_bytes(b"gone:half a li").unwrap();
    gone.close_abruptly();
    let mut next = server.connect("next");
    next.expect_containing("welcome");
    next.send("next:hi");
    next.expect("<next> hi");
}
