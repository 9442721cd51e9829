//! Exercise tests for stage 1: run with `cargo test -p stage1-echo`.

use std::time::Duration;

use stage1_echo::{Limits, run};
use tests::{ChildServer, TestServer, run_to_completion};

const STAGE: &str = "stage1-echo";

fn start_with(limits: Limits) -> TestServer {
    TestServer::start(STAGE, move |listener| run(listener, &limits))
}

fn start() -> TestServer {
    start_with(Limits::default())
}

#[test]
fn greets_and_echoes_a_message() {
    let server = start();
    let mut alice = server.connect("alice");
    alice.expect("welcome, user #1! you are in room #0. send lines as name:message");
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
fn an_overlong_line_is_refused_and_the_next_client_is_served() {
    let server = start_with(Limits {
        max_line_len: 64,
        ..Limits::default()
    });
    let mut flood = server.connect("flood");
    flood.expect_containing("welcome");
    flood.hint("read at most max_line_len + 2 bytes while looking for the newline");
    // A megabyte with no newline: the server must stop reading long before the end.
    let _ = flood.send_bytes(&vec![b'x'; 1 << 20]);
    flood.expect("error: a line is at most 64 bytes long, disconnecting");
    flood.expect_closed();

    let mut next = server.connect("next");
    next.expect_containing("welcome");
}

#[test]
fn serves_one_client_at_a_time() {
    let server = start();
    let mut first = server.connect("first");
    first.expect_containing("welcome, user #1");
    let mut second = server.connect("second");
    second.hint("stage 1 is blocking: the second client waits for the first");
    second.expect_silence(Duration::from_millis(300));
    drop(first);
    second.expect_containing("welcome, user #2");
}

#[test]
fn a_client_that_vanishes_mid_line_does_not_stop_the_server() {
    let server = start();
    let mut gone = server.connect("gone");
    gone.expect_containing("welcome");
    gone.send_bytes(b"gone:half a li").unwrap();
    drop(gone);
    let mut next = server.connect("next");
    next.expect_containing("welcome");
    next.send("next:hi");
    next.expect("<next> hi");
}

#[test]
fn a_silent_client_is_disconnected_after_the_idle_timeout() {
    let server = start_with(Limits {
        idle_timeout: Duration::from_millis(200),
        ..Limits::default()
    });
    let mut silent = server.connect("silent");
    silent.expect_containing("welcome");
    silent.hint("a read timeout on the socket ends a silent client's turn");
    silent.expect_containing("error: no input for");
    silent.expect_closed();
}

#[test]
fn a_client_that_never_reads_its_replies_loses_its_turn() {
    let server = start_with(Limits {
        write_timeout: Duration::from_millis(200),
        ..Limits::default()
    });
    let mut hog = server.connect("hog");
    hog.expect_containing("welcome");
    // Lines whose replies fill the socket buffers in both directions, then
    // stall the server's write: the write timeout must end hog's turn.
    let line = format!("hog:{}\n", "x".repeat(1000));
    for _ in 0..20_000 {
        if hog.send_bytes(line.as_bytes()).is_err() {
            break;
        }
    }
    let mut next = server.connect("next");
    next.hint(
        "set_write_timeout on the socket: a client that never reads must not keep the server",
    );
    next.expect_containing("welcome");
}

#[test]
fn the_binary_listens_where_asked_and_says_so() {
    let server = ChildServer::spawn(STAGE, env!("CARGO_BIN_EXE_stage1-echo"), &[]);
    let mut alice = server.connect("alice");
    alice.expect_containing("welcome");
    alice.send("alice:hi");
    alice.expect("<alice> hi");
}

#[test]
fn help_describes_the_addr_flag() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage1-echo"), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && help.contains("--addr"),
        "[{STAGE}] expected `--help` to succeed and mention --addr, got {:?}: {help}",
        output.status
    );
}
