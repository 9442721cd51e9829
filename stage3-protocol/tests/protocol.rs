//! Exercise tests for stage 3 that need a configuration of their own or the
//! real binary: run with `cargo test -p stage3-protocol`. What any stage 3
//! server must do on the wire is in `conformance.rs`.

use std::thread;
use std::time::Duration;

use chat_harness::{ChildServer, Received, TestServer, run_to_completion};
use stage3_protocol::{Limits, Server};

pub mod common;
use self::common::{STAGE, join};

fn start_with(limits: Limits) -> TestServer {
    TestServer::start(STAGE, move |listener| {
        Server::new(listener, limits)
            .expect("a fresh listener can be made non-blocking")
            .run()
    })
}

#[test]
fn an_overlong_line_disconnects_only_its_sender() {
    let server = start_with(Limits {
        max_line_len: 64,
        ..Limits::default()
    });
    let mut alice = join(&server, "alice");
    let mut flood = join(&server, "flood");
    alice.expect("JOINED:lobby:flood");
    flood.hint("FrameIter reports TooLong as soon as an unfinished line exceeds the limit");
    let _ = flood.send_bytes(&vec![b'x'; 1 << 20]);
    flood.expect("ERR:a line is at most 64 bytes long, disconnecting");
    flood.expect_closed();
    alice.expect("LEFT:lobby:flood");
    let mut bob = join(&server, "bob");
    alice.expect("JOINED:lobby:bob");
    alice.send("MSG:still fine");
    bob.expect("MSG:alice:still fine");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_slows_nobody() {
    let server = start_with(Limits {
        max_outbox_bytes: 16 * 1024,
        ..Limits::default()
    });
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut stuck = join(&server, "stuck");
    alice.expect("JOINED:lobby:bob");
    alice.expect("JOINED:lobby:stuck");
    bob.expect("JOINED:lobby:stuck");

    const MESSAGES: usize = 20_000;
    let text = "m".repeat(500);
    let expected = format!("MSG:alice:{text}");
    let reader = thread::spawn(move || {
        bob.hint("a slow reader must not cost a fast reader any message");
        let mut received = 0;
        while received < MESSAGES {
            let what = format!("message {} of {MESSAGES} from alice", received + 1);
            let line =
                bob.expect_line(&what, |line| line == expected || line == "LEFT:lobby:stuck");
            if line != "LEFT:lobby:stuck" {
                received += 1;
            }
        }
    });
    for _ in 0..MESSAGES {
        alice.send(&format!("MSG:{text}"));
    }
    reader.join().expect("bob received every message");

    stuck.hint("past max_outbox_bytes the client is told why and disconnected");
    let lines = stuck.expect_closed_after_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("ERR:you are reading too slowly; 16384 bytes are waiting, disconnecting"),
        "[{STAGE}] the client that never read should be told why it is dropped, \
         as its last line; it received {} lines",
        lines.len()
    );
}

#[test]
fn a_silent_client_is_disconnected_after_the_idle_timeout() {
    let server = start_with(Limits {
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    let mut silent = server.connect("silent");
    silent.expect_containing("OK:welcome!");
    silent.expect("ERR:no input for 300ms, disconnecting");
    silent.expect_closed();
}

#[test]
fn the_binary_listens_where_asked_and_says_so() {
    let server = ChildServer::spawn(STAGE, env!("CARGO_BIN_EXE_stage3-protocol"), &[]);
    let mut alice = server.connect("alice");
    alice.expect("OK:welcome! send NICK:<name> to begin");
    alice.send("NICK:alice");
    alice.expect("OK:welcome alice, you are in lobby");
    alice.send("QUIT:");
    alice.expect("OK:bye");
    assert_eq!(alice.recv(), Received::Closed);
}

#[test]
fn help_describes_the_addr_flag() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage3-protocol"), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && help.contains("--addr"),
        "[{STAGE}] expected `--help` to succeed and mention --addr, got {:?}: {help}",
        output.status
    );
}

#[test]
fn version_names_the_stage() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage3-protocol"), &["--version"]);
    let version = String::from_utf8_lossy(&output.stdout);
    let expected = concat!("stage3-protocol ", env!("CARGO_PKG_VERSION"));
    assert!(
        output.status.success() && version.trim() == expected,
        "[{STAGE}] expected `--version` to print {expected:?}, got {:?}: {version:?}",
        output.status
    );
}
