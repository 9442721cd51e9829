//! Exercise tests for stage 4 that need a configuration of their own, filters
//! or the real binary: run with `cargo test -p stage4-commands`. What any
//! stage 4 server must do on the wire is in `conformance.rs`.

use std::thread;
use std::time::Duration;

use chat_harness::{ChildServer, TestServer, run_to_completion};
use stage4_commands::filter::{flood_guard, mask_words, max_length};
use stage4_commands::{FilterChain, Server, ServerConfig, Settings};

pub mod common;
use self::common::{STAGE, join, move_to};

/// Starts a server on its own thread. The filters are not `Send` (stage 4 is
/// single-threaded), so they cannot be built here and moved there: the test
/// passes a recipe, an `FnOnce` that the server thread calls once.
fn start_with(
    config: ServerConfig,
    filters: impl FnOnce() -> FilterChain + Send + 'static,
) -> TestServer {
    TestServer::start(STAGE, move |listener| {
        Server::new(listener, config, filters())
            .expect("a fresh listener can be made non-blocking")
            .run()
    })
}

/// A configuration with one admin, `root`, whose password is `s3cret`.
fn with_admin_root() -> ServerConfig {
    Settings {
        admins: vec!["root".into()],
        admin_password: Some("s3cret".into()),
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration")
}

#[test]
fn an_admin_name_needs_the_admin_password() {
    let server = start_with(with_admin_root(), FilterChain::default);
    let mut impostor = server.connect("impostor");
    impostor.expect("welcome! what is your name?");
    impostor.hint("an admin name is claimed with its password: an admin is who proves it");
    impostor.send("root");
    impostor.expect(
        "error: the name root is reserved for an admin, who answers the name prompt with: \
         root <password>. what is your name?",
    );
    impostor.send("ROOT guess");
    impostor.expect("error: wrong password for ROOT. what is your name?");
    impostor.send("bob");
    impostor.expect("welcome, bob! you are in #lobby");
    impostor.send("/nick root");
    impostor.expect(
        "error: the name root is reserved for an admin, who answers the name prompt with: \
         root <password>",
    );
}

#[test]
fn in_the_default_room_only_admins_kick_and_admins_kick_anywhere() {
    let config = with_admin_root();
    let server = start_with(config, FilterChain::default);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    alice.send("/kick bob");
    alice.expect("error: only an admin may kick in #lobby");

    let mut carol = join(&server, "carol");
    move_to(&mut carol, "rust");
    bob.send("/kick carol");
    bob.expect_eventually("error: carol is not in your room");

    let mut root = server.connect("root");
    root.expect("welcome! what is your name?");
    root.send("root s3cret");
    root.expect("welcome, root! you are in #lobby");
    root.hint("admins may kick anyone, in any room");
    root.send("/kick carol");
    root.expect("* you kicked carol");
    carol.expect("* you were kicked by root");
    carol.expect_closed();
    root.send("/kick bob spamming");
    root.expect("* you kicked bob");
    bob.expect_eventually("* you were kicked by root: spamming");
    alice.expect_eventually("* bob left #lobby (kicked by root: spamming)");
}

#[test]
fn the_message_of_the_day_follows_the_welcome() {
    let config = Settings {
        motd: Some("be kind\nno spam".into()),
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    alice.expect("* be kind");
    alice.expect("* no spam");
}

#[test]
fn filters_modify_or_block_messages() {
    let server = start_with(ServerConfig::default(), || {
        let mut filters = FilterChain::default();
        filters.push(max_length(20));
        filters.push(mask_words(vec!["darn".to_owned()]));
        filters.push(flood_guard(2));
        filters
    });
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");

    bob.hint("Verdict::Modify changes the text everyone sees");
    alice.send("well DARN it");
    bob.expect("<alice> well **** it");
    alice.hint("Verdict::Block tells only the sender why");
    alice.send("this message is far too long");
    alice.expect_containing("error: message not sent: ");
    alice.send("again");
    alice.send("again");
    alice.send("again");
    alice.expect_containing("error: message not sent: ");
    bob.expect("<alice> again");
    bob.expect("<alice> again");
    alice.send("done");
    bob.hint("a blocked message reaches nobody");
    bob.expect("<alice> done");
}

#[test]
fn max_users_is_enforced() {
    let config = Settings {
        max_users: 2,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let _alice = join(&server, "alice");
    let _bob = join(&server, "bob");
    let mut third = server.connect("third");
    // Typing before reading leaves input unread at the server: closing
    // without draining it would reset the connection and lose the refusal.
    third.send("third");
    third.hint("ServerConfig::max_users counts every connection, named or not");
    third.expect("error: the server is full (2 users); try again later");
    third.expect_closed();
}

#[test]
fn a_connection_that_never_names_itself_is_closed_after_the_name_timeout() {
    let config = Settings {
        name_timeout: Duration::from_millis(300),
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut lurker = server.connect("lurker");
    lurker.expect("welcome! what is your name?");
    lurker.hint("unnamed connections count against max_users, so they must not stay");
    lurker.send("not a name!");
    lurker.expect_containing("error: a name may contain only");
    lurker.expect("error: no name chosen within 300ms, disconnecting");
    lurker.expect_closed();
}

#[test]
fn max_rooms_is_enforced() {
    let config = Settings {
        max_rooms: 2,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    move_to(&mut alice, "one");
    bob.hint("ServerConfig::max_rooms includes the default room");
    bob.send("/join two");
    bob.expect_eventually("error: there are 2 rooms already; join one of them (see /rooms)");
    alice.hint("leaving a room you are alone in frees it, so moving on is allowed");
    move_to(&mut alice, "two");
    bob.send("/rooms");
    bob.expect_eventually("* rooms: #lobby (1), #two (1)");
}

#[test]
fn max_name_len_is_enforced() {
    let config = Settings {
        max_name_len: 5,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut client = server.connect("client");
    client.expect("welcome! what is your name?");
    client.send("abcdef");
    client.expect("error: a name must be at most 5 bytes long. what is your name?");
    client.send("abcde");
    client.expect("welcome, abcde! you are in #lobby");
}

#[test]
fn an_overlong_line_disconnects_only_its_sender() {
    let config = Settings {
        max_line_len: 64,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut alice = join(&server, "alice");
    let mut flood = join(&server, "flood");
    alice.expect("* flood joined #lobby");
    let _ = flood.send_bytes(&vec![b'x'; 1 << 20]);
    flood.expect("error: a line is at most 64 bytes long, disconnecting");
    flood.expect_closed();
    alice.expect("* flood left #lobby");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_slows_nobody() {
    let config = Settings {
        max_outbox_bytes: 16 * 1024,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut stuck = join(&server, "stuck");
    alice.expect("* bob joined #lobby");
    alice.expect("* stuck joined #lobby");
    bob.expect("* stuck joined #lobby");

    const MESSAGES: usize = 20_000;
    let reader = thread::spawn(move || {
        bob.hint("a slow reader must not cost a fast reader any message");
        let mut received = 0;
        while received < MESSAGES {
            let expected = format!("<alice> {received:0>500}");
            let what = format!("message {} of {MESSAGES} from alice", received + 1);
            let line = bob.expect_line(&what, |line| {
                line == expected || line == "* stuck left #lobby"
            });
            if line == expected {
                received += 1;
            }
        }
    });
    // Distinct messages, or the default flood guard would be right to block them.
    for i in 0..MESSAGES {
        alice.send(&format!("{i:0>500}"));
    }
    reader.join().expect("bob received every message");

    stuck.hint("past max_outbox_bytes the client is told why and disconnected");
    let lines = stuck.expect_closed_after_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("error: you are reading too slowly; 16384 bytes are waiting, disconnecting"),
        "[{STAGE}] the client that never read should be told why it is dropped, \
         as its last line; it received {} lines",
        lines.len()
    );
}

#[test]
fn a_silent_client_is_disconnected_after_the_idle_timeout() {
    let config = Settings {
        idle_timeout: Duration::from_millis(300),
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default);
    let mut silent = server.connect("silent");
    silent.expect("welcome! what is your name?");
    silent.expect("error: no input for 300ms, disconnecting");
    silent.expect_closed();
}

#[test]
fn the_binary_builds_its_config_from_flags() {
    let server = ChildServer::spawn(
        STAGE,
        env!("CARGO_BIN_EXE_stage4-commands"),
        &["--motd", "hello from the flags", "--mask", "darn"],
    );
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    alice.expect("* hello from the flags");
    let mut bob = server.connect("bob");
    bob.expect("welcome! what is your name?");
    bob.send("bob");
    bob.expect("welcome, bob! you are in #lobby");
    bob.expect("* hello from the flags");
    alice.expect("* bob joined #lobby");
    bob.send("darn it");
    alice.hint("--mask WORD adds a mask_words filter");
    alice.expect("<bob> **** it");
}

#[test]
fn the_binary_refuses_an_invalid_config_and_says_why() {
    let output = run_to_completion(
        env!("CARGO_BIN_EXE_stage4-commands"),
        &[
            "--addr",
            "127.0.0.1:0",
            "--max-users",
            "0",
            "--max-line-len",
            "10",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("max_users") && stderr.contains("max_line_len"),
        "[{STAGE}] expected --max-users 0 --max-line-len 10 to fail, naming both fields \
         (Settings::build reports every problem); got {:?} and stderr {stderr:?}",
        output.status
    );
}

#[test]
fn help_lists_the_flags() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage4-commands"), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--addr", "--max-users", "--max-rooms", "--motd", "--admin"] {
        assert!(
            output.status.success() && help.contains(flag),
            "[{STAGE}] expected `--help` to succeed and mention {flag}, got {:?}: {help}",
            output.status
        );
    }
}

#[test]
fn version_names_the_stage() {
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage4-commands"), &["--version"]);
    let version = String::from_utf8_lossy(&output.stdout);
    let expected = concat!("stage4-commands ", env!("CARGO_PKG_VERSION"));
    assert!(
        output.status.success() && version.trim() == expected,
        "[{STAGE}] expected `--version` to print {expected:?}, got {:?}: {version:?}",
        output.status
    );
}
