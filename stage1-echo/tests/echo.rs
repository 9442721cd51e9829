//! Exercise tests for stage 1 that need a configuration of their own or the
//! real binary: run with `cargo test -p stage1-echo`. What any stage 1 server
//! must do on the wire is in `conformance.rs`.

use std::time::Duration;

use chat_harness::{ChildServer, TestServer, run_to_completion};
use stage1_echo::{Limits, run};

const STAGE: &str = "stage1-echo";

fn start_with(limits: Limits) -> TestServer {
    TestServer::start(STAGE, move |listener| run(listener, &limits))
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

#[test]
fn version_names_the_stage() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage1-echo"), &["--version"]);
    let version = String::from_utf8_lossy(&output.stdout);
    let expected = concat!("stage1-echo ", env!("CARGO_PKG_VERSION"));
    assert!(
        output.status.success() && version.trim() == expected,
        "[{STAGE}] expected `--version` to print {expected:?}, got {:?}: {version:?}",
        output.status
    );
}
