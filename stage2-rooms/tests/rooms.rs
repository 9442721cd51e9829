//! Exercise tests for stage 2 that need a configuration of their own or the
//! real binary: run with `cargo test -p stage2-rooms`. What any stage 2 server
//! must do on the wire is in `conformance.rs`.

use std::thread;
use std::time::Duration;

use chat_harness::{ChildServer, Received, TestServer, run_to_completion};
use stage2_rooms::{Limits, Server};

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
    alice.expect("* flood joined #lobby");

    flood.hint("each client's read buffer holds max_line_len + 2 bytes, never more");
    let _ = flood.send_bytes(&vec![b'x'; 1 << 20]);
    flood.expect("error: a line is at most 64 bytes long, disconnecting");
    flood.expect_closed();

    alice.expect("* flood left #lobby");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    bob.send("the server is fine");
    alice.expect("<bob> the server is fine");
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
    alice.expect("* bob joined #lobby");
    alice.expect("* stuck joined #lobby");
    bob.expect("* stuck joined #lobby");

    // Enough to fill the socket buffers between the server and `stuck`, and
    // then its 16 KiB queue, many times over.
    const MESSAGES: usize = 20_000;
    let text = "m".repeat(500);
    let reader = thread::spawn(move || {
        bob.hint("a slow reader must not cost a fast reader any message");
        let expected = format!("<alice> {}", "m".repeat(500));
        let mut received = 0;
        while received < MESSAGES {
            // The only other line bob may see is stuck's departure.
            let line = bob.expect_line(
                &format!("message {} of {MESSAGES} from alice", received + 1),
                |line| line == expected || line == "* stuck left #lobby",
            );
            if line == expected {
                received += 1;
            }
        }
        bob
    });
    for _ in 0..MESSAGES {
        alice.send(&text);
    }
    let _bob = reader.join().expect("bob received every message");

    stuck.hint("past max_outbox_bytes the client is told why and disconnected");
    let lines = stuck.expect_closed_after_lines();
    let last = lines.last().map(String::as_str);
    assert_eq!(
        last,
        Some("error: you are reading too slowly; 16384 bytes are waiting, disconnecting"),
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
    silent.expect("welcome! what is your name?");
    silent.hint("compare each client's last_heard with idle_timeout on every pass");
    silent.expect("error: no input for 300ms, disconnecting");
    silent.expect_closed();
}

#[test]
fn the_binary_listens_where_asked_and_says_so() {
    let server = ChildServer::spawn(STAGE, env!("CARGO_BIN_EXE_stage2-rooms"), &[]);
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    alice.finish_sending();
    assert_eq!(alice.recv(), Received::Closed);
}

#[test]
fn help_describes_the_addr_flag() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage2-rooms"), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && help.contains("--addr"),
        "[{STAGE}] expected `--help` to succeed and mention --addr, got {:?}: {help}",
        output.status
    );
}

#[test]
fn version_names_the_stage() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage2-rooms"), &["--version"]);
    let version = String::from_utf8_lossy(&output.stdout);
    let expected = concat!("stage2-rooms ", env!("CARGO_PKG_VERSION"));
    assert!(
        output.status.success() && version.trim() == expected,
        "[{STAGE}] expected `--version` to print {expected:?}, got {:?}: {version:?}",
        output.status
    );
}
