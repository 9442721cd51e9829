//! Conformance tests for stage 5: what any stage 5 server must do on the
//! wire, whoever wrote it and in whatever language. Each test starts the
//! reference server in the test process, unless the environment names
//! another server:
//!
//! ```sh
//! cargo test -p stage5-async --test conformance              # the reference
//! CHAT_SERVER_CMD='python3 my_server.py --addr {addr}' \
//!     cargo conformance stage5                               # yours, fresh for each test
//! CHAT_SERVER=127.0.0.1:9000 cargo conformance stage5        # yours, already running
//! ```
//!
//! The book's appendix "Testing your own server" says more.

use chat_harness::{Client, Tally, TestServer};
use stage5_async::{FilterChain, ServerConfig, run};

pub mod common;
use self::common::{STAGE, join, move_to};

/// The reference server with the default configuration and no filters, or
/// the server that `CHAT_SERVER` or `CHAT_SERVER_CMD` names. (The binary's
/// default filters, a length limit and a flood guard, never block a line of
/// these tests.)
fn start() -> TestServer {
    TestServer::conformance_tokio(STAGE, |listener| {
        run(listener, ServerConfig::default(), FilterChain::default())
    })
}

/// Has `alice` send `count` lines of 400 bytes that `target` does not read,
/// far more than the sockets between the server and `target` hold, and
/// waits until `witness` has them all: then lines are still waiting for
/// `target` in its room's ring, or were dropped with a notice.
///
/// Alice sends in bursts that `witness` confirms, so that the witness, who
/// keeps up, is never lapped itself. (400 characters is the longest message
/// the binary's default filters let through.)
fn flood_unread(alice: &mut Client, witness: &mut Client, count: usize) {
    const BURST: usize = 32;
    for first in (0..count).step_by(BURST) {
        let burst = first..(first + BURST).min(count);
        for i in burst.clone() {
            alice.send(&format!("{i:0>400}"));
        }
        for i in burst {
            witness.expect(&format!("<alice> {i:0>400}"));
        }
    }
}

/// Reads `target`'s lines up to and including `last`, and checks that every
/// one of `count` flooded lines either arrived or was announced as missed.
fn expect_all_owed(target: &mut Client, count: usize, last: &str) {
    let Tally { received, missed } = target.tally("<alice> ", count, Some(last));
    assert_eq!(
        received + missed,
        count,
        "[{STAGE}] before {last:?}, every line the room had sent must arrive or be \
         announced as missed: {received} arrived and {missed} were announced, of {count}"
    );
}

#[test]
fn two_clients_chat_in_plain_text() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    alice.send("hello bob");
    bob.hint("a line without a leading / is chat for the room");
    bob.expect("<alice> hello bob");
    bob.send("hi alice");
    alice.expect("<bob> hi alice");
    drop(bob);
    alice.expect("* bob left #lobby");
}

#[test]
fn commands_need_a_name_first() {
    let server = start();
    let mut anon = server.connect("anon");
    anon.expect("welcome! what is your name?");
    anon.hint("an Unauthenticated connection can only choose a name (or /quit)");
    anon.send("/list");
    anon.expect("error: choose a name first. what is your name?");
    anon.send("/quit");
    anon.expect("* bye");
    anon.expect_closed();
}

#[test]
fn join_moves_between_rooms_that_keep_their_messages_apart() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    alice.expect("* bob joined #lobby");
    alice.expect("* carol joined #lobby");
    bob.expect("* carol joined #lobby");

    bob.hint("room names are lowercased: /join Rust and /join rust are one room");
    bob.send("/join Rust");
    bob.expect("* you are now in #rust");
    alice.expect("* bob left #lobby");
    carol.expect("* bob left #lobby");
    move_to(&mut carol, "rust");
    bob.expect("* carol joined #rust");
    alice.expect("* carol left #lobby");

    carol.send("only for rust");
    bob.expect("<carol> only for rust");
    alice.hint("a message reaches only the sender's room");
    alice.send("/list");
    alice.expect("* in #lobby: alice");

    carol.send("/join rust");
    carol.expect("error: you are already in #rust");
    carol.send("/join a.b");
    carol.expect(
        "error: a room name may contain only lowercase ASCII letters, digits, '_' and '-', not '.'",
    );
    carol.send("/join");
    carol.expect("error: missing room name; usage: /join <room>");
    carol.send("/join a b");
    carol.expect("error: too many arguments; usage: /join <room>");
}

#[test]
fn nick_renames_and_tells_the_room() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    bob.send("/nick robert");
    bob.expect("* you are now robert");
    alice.expect("* bob is now known as robert");
    bob.hint("changing only the case of your own name is allowed");
    bob.send("/nick Robert");
    bob.expect("* you are now Robert");
    alice.expect("* robert is now known as Robert");
    bob.send("/nick ALICE");
    bob.expect("error: the name ALICE is taken");
    bob.send("/nick a!");
    bob.expect("error: a name may contain only ASCII letters, digits, '_' and '-', not '!'");
    bob.send("/list");
    bob.expect("* in #lobby: alice, Robert");
    let _new_bob = join(&server, "bob");
}

#[test]
fn list_rooms_and_help_answer_the_asker_only() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    move_to(&mut carol, "rust");
    alice.expect_eventually("* carol left #lobby");
    bob.expect_eventually("* carol left #lobby");
    alice.send("/list");
    alice.hint("/list names the members of your room, longest-present first");
    alice.expect("* in #lobby: alice, bob");
    alice.send("/rooms");
    alice.hint("/rooms lists every room with its member count, sorted by name");
    alice.expect("* rooms: #lobby (2), #rust (1)");
    alice.send("/HELP");
    alice.hint("/help prints one line per entry of HELP, and commands ignore case");
    for usage in [
        "/join <room>",
        "/nick <name>",
        "/kick <user> [reason]",
        "/list",
        "/rooms",
        "/help",
        "/quit [message]",
        "//text",
    ] {
        alice.expect_containing(&format!("* {usage}: "));
    }
    bob.hint("answers to commands go to the asker only");
    bob.send("/list");
    bob.expect("* in #lobby: alice, bob");
}

#[test]
fn bad_lines_get_clear_errors() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    bob.send("/frobnicate now");
    bob.expect("error: unknown command /frobnicate; type /help for the list");
    bob.send("/list everyone");
    bob.expect("error: too many arguments; usage: /list");
    bob.send("   ");
    bob.expect("error: nothing to send");
    bob.send_bytes(b"\xff\xfe\n").unwrap();
    bob.expect("error: the line is not valid UTF-8");
    bob.send_bytes(b"telnet\r\n").unwrap();
    alice.expect("<bob> telnet");
    bob.hint("a leading // sends chat text that starts with /");
    bob.send("//shrug");
    alice.expect("<bob> /shrug");
    bob.send("\x1b[2Jgotcha");
    alice.expect("<bob> \u{FFFD}[2Jgotcha");
}

#[test]
fn lines_sent_together_with_the_name_are_handled() {
    let server = start();
    let mut bob = join(&server, "bob");
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice
        .send_bytes(b"alice\nhello from the same packet\n")
        .unwrap();
    bob.hint("after the name, handle the lines already in the buffer before reading more");
    bob.expect("* alice joined #lobby");
    bob.expect("<alice> hello from the same packet");
}

#[test]
fn join_delivers_what_the_old_room_had_already_sent() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut witness = join(&server, "witness");
    let mut bob = join(&server, "bob");
    alice.expect("* witness joined #lobby");
    alice.expect("* bob joined #lobby");
    witness.expect("* bob joined #lobby");
    const COUNT: usize = 20_000;
    flood_unread(&mut alice, &mut witness, COUNT);
    bob.send("/join rust");
    bob.hint("the old room's receiver still holds lines owed to bob: write them before moving");
    expect_all_owed(&mut bob, COUNT, "* you are now in #rust");
}

#[test]
fn abrupt_quits_leave_no_ghost_behind() {
    let server = start();
    let mut alice = join(&server, "alice");
    for round in 0..10 {
        let name = format!("ghost{round}");
        let mut ghost = join(&server, &name);
        alice.expect(&format!("* {name} joined #lobby"));
        for i in 0..30 {
            alice.send(&format!("line {i} of round {round}"));
        }
        // Closing with those lines unread makes the client's kernel reset
        // the connection: the server's last writes to it fail.
        ghost.send("/quit");
        ghost.close_abruptly();
        alice.expect_eventually(&format!("* {name} left #lobby"));
    }
    alice.send("/list");
    alice.hint("a member must depart even when writing its last lines fails");
    alice.expect("* in #lobby: alice");
}

#[test]
fn quit_says_goodbye_to_the_room_and_delivers_what_was_queued() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut witness = join(&server, "witness");
    let mut bob = join(&server, "bob");
    alice.expect("* witness joined #lobby");
    alice.expect("* bob joined #lobby");
    witness.expect("* bob joined #lobby");
    const COUNT: usize = 20_000;
    flood_unread(&mut alice, &mut witness, COUNT);
    bob.send("/quit see you tomorrow");
    bob.hint("/quit must not lose lines already queued for the client");
    expect_all_owed(&mut bob, COUNT, "* bye");
    bob.expect_closed();
    alice.hint("the room hears the goodbye");
    alice.expect("* bob left #lobby (see you tomorrow)");
}

#[test]
fn a_room_operator_can_kick_another_member() {
    let server = start();
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    move_to(&mut alice, "rust");
    move_to(&mut bob, "rust");
    move_to(&mut carol, "rust");
    alice.expect("* bob joined #rust");
    alice.expect("* carol joined #rust");
    bob.expect("* carol joined #rust");

    bob.hint("only the member present longest (the operator) may kick in a room");
    bob.send("/kick carol");
    bob.expect("error: only an admin or the operator of #rust, alice, may kick here");

    alice.hint("the operator kicks: the target is told and disconnected");
    alice.send("/kick carol too loud");
    alice.expect("* you kicked carol");
    carol.expect("* you were kicked by alice: too loud");
    carol.expect_closed();
    alice.expect("* carol left #rust (kicked by alice: too loud)");
    bob.expect("* carol left #rust (kicked by alice: too loud)");

    alice.send("/kick alice");
    alice.expect("error: you cannot kick yourself; /quit leaves");
    alice.send("/kick nobody");
    alice.expect("error: nobody here is called nobody");
}
