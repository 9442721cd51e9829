//! The stage 6 conformance cases, shared by the test targets that run them
//! over each transport: `conformance.rs` (TCP, or your own server),
//! `conformance_tls.rs` and `conformance_websocket.rs`. Each target defines
//! `start()`, which returns the server its clients talk to, and `ANY_BYTES`,
//! whether its transport carries any bytes (a WebSocket text message is
//! UTF-8 by construction).

use super::common::{join, move_to};
use super::start;

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
    if super::ANY_BYTES {
        bob.send_bytes(b"\xff\xfe\n").unwrap();
        bob.expect("error: the line is not valid UTF-8");
    }
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
