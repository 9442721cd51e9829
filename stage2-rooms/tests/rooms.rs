//! Exercise tests for stage 2: run with `cargo test -p stage2-rooms`.

use std::thread;
use std::time::Duration;

use stage2_rooms::{Limits, Server};
use tests::{ChildServer, Client, Received, TestServer, run_to_completion};

const STAGE: &str = "stage2-rooms";

fn start_with(limits: Limits) -> TestServer {
    TestServer::start(STAGE, move |listener| {
        Server::new(listener, limits)
            .expect("a fresh listener can be made non-blocking")
            .run()
    })
}

fn start() -> TestServer {
    start_with(Limits::default())
}

/// Connects `name` and completes the name prompt.
fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
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
fn a_client_that_vanishes_mid_line_only_leaves() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut gone = join(&server, "gone");
    alice.expect("* gone joined #lobby");
    gone.send_bytes(b"half a li").unwrap();
    drop(gone);
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
