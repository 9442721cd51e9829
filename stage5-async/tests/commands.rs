//! Exercise tests for stage 5 that need a configuration of their own, filters
//! or the real binary: run with `cargo test -p stage5-async`. What any stage 5
//! server must do on the wire is in `conformance.rs`.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chat_harness::{ChildServer, Tally, TestServer, run_to_completion};
use stage5_async::filter::{flood_guard, mask_words, max_length, slow_mode};
use stage5_async::{FilterChain, ServerConfig, Settings, Verdict, run};
use tokio::sync::Notify;

pub mod common;
use self::common::{STAGE, join, move_to};

/// Starts a server on its own thread, with a tokio runtime of its own.
fn start_with(config: ServerConfig, filters: FilterChain) -> TestServer {
    TestServer::start_tokio(STAGE, move |listener| run(listener, config, filters))
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
    let server = start_with(with_admin_root(), FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    alice.expect("* be kind");
    alice.expect("* no spam");
}

#[test]
fn filters_modify_or_block_messages() {
    let mut filters = FilterChain::default();
    filters.push(max_length(20));
    filters.push(mask_words(vec!["darn".to_owned()]));
    filters.push(flood_guard(2));
    let server = start_with(ServerConfig::default(), filters);
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
    let server = start_with(config, FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
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
    let server = start_with(config, FilterChain::default());
    let mut alice = join(&server, "alice");
    let mut flood = join(&server, "flood");
    alice.expect("* flood joined #lobby");
    let _ = flood.send_bytes(&vec![b'x'; 1 << 20]);
    flood.expect("error: a line is at most 64 bytes long, disconnecting");
    flood.expect_closed();
    alice.expect("* flood left #lobby");
}

#[test]
fn a_lagging_reader_is_told_what_it_missed_and_a_fast_one_misses_nothing() {
    let config = Settings {
        room_buffer: 64,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default());
    let mut alice = join(&server, "alice");
    let mut fast = join(&server, "fast");
    let mut slow = join(&server, "slow");
    alice.expect("* fast joined #lobby");
    alice.expect("* slow joined #lobby");
    fast.expect("* slow joined #lobby");

    // Far more than the socket buffers between the server and `slow` hold, so
    // that `slow`'s task blocks and the room's 64-message ring moves on. Alice
    // sends in bursts smaller than the ring and waits until `fast` has them:
    // a member that keeps up must then lose nothing, whatever `slow` does.
    const MESSAGES: usize = 20_000;
    const BURST: usize = 32;
    fast.hint("the room never waits for a slow member, and never skips one that keeps up");
    for burst in 0..MESSAGES / BURST {
        let first = burst * BURST;
        for i in first..first + BURST {
            alice.send(&format!("{i:0>500}"));
        }
        for i in first..first + BURST {
            fast.expect(&format!("<alice> {i:0>500}"));
        }
    }

    // Only now does `slow` start reading.
    slow.hint("on RecvError::Lagged(n), tell the member: * you missed n messages");
    let Tally { received, missed } = slow.tally("<alice> ", MESSAGES, None);
    assert!(
        missed > 0 && received + missed == MESSAGES,
        "[{STAGE}] the slow reader should have lagged and been told exactly how much it \
         missed: it received {received} messages and was told of {missed} missed, \
         for {MESSAGES} sent"
    );
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
    let config = Settings {
        write_timeout: Duration::from_millis(500),
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let server = start_with(config, FilterChain::default());
    let mut alice = join(&server, "alice");
    let mut watcher = join(&server, "watcher");
    let _stuck = join(&server, "stuck");
    alice.expect("* watcher joined #lobby");
    alice.expect("* stuck joined #lobby");
    watcher.expect("* stuck joined #lobby");
    let reader = thread::spawn(move || {
        watcher.hint("a write that makes no progress for write_timeout ends that client");
        watcher.expect_eventually("* stuck left #lobby");
    });
    for i in 0..20_000 {
        alice.send(&format!("{i:0>500}"));
    }
    reader
        .join()
        .expect("the watcher saw the stuck client leave");
}

#[test]
fn a_slow_async_filter_delays_only_its_sender() {
    // The slow filter waits until the test lets it go, once alice's message
    // has arrived: no race against a fixed delay.
    let release = Arc::new(Notify::new());
    let held = Arc::clone(&release);
    let mut filters = FilterChain::default();
    filters.push_async(move |sender: &str, _text: &str| {
        let wait = (sender == "slowpoke").then(|| Arc::clone(&held));
        Box::pin(async move {
            if let Some(wait) = wait {
                wait.notified().await;
            }
            Verdict::Allow
        })
    });
    let server = start_with(ServerConfig::default(), filters);
    let mut slowpoke = join(&server, "slowpoke");
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    slowpoke.expect("* alice joined #lobby");
    alice.expect("* bob joined #lobby");

    slowpoke.send("held by its filter");
    alice.send("checked at once");
    bob.hint("filters run without any lock held, so a slow one stalls only its sender");
    bob.expect("<alice> checked at once");
    release.notify_one();
    bob.expect("<slowpoke> held by its filter");
}

#[test]
fn slow_mode_holds_a_second_message_until_its_turn_and_only_its_senders() {
    let interval = Duration::from_millis(400);
    let mut filters = FilterChain::default();
    filters.push_async(slow_mode(interval));
    let server = start_with(ServerConfig::default(), filters);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut carol = join(&server, "carol");
    alice.expect("* bob joined #lobby");
    bob.expect("* carol joined #lobby");

    let sent = std::time::Instant::now();
    alice.send("one");
    alice.send("two");
    carol.expect("<alice> one");
    // Bob's turn is his own: his first message goes out while alice's second waits.
    bob.send("meanwhile");
    carol.hint("slow_mode holds a message by awaiting a timer in the sender's task only");
    carol.expect("<bob> meanwhile");
    carol.expect("<alice> two");
    let waited = sent.elapsed();
    assert!(
        waited >= interval,
        "[{STAGE}] slow_mode({interval:?}) should hold alice's second message until \
         {interval:?} after her first; it arrived after {waited:?} (filter.rs: slow_mode)"
    );
}

#[test]
fn the_binary_turns_slow_mode_on_with_a_flag() {
    let server = ChildServer::spawn(
        STAGE,
        env!("CARGO_BIN_EXE_stage5-async"),
        &["--slow-mode-ms", "400"],
    );
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    let mut bob = server.connect("bob");
    bob.expect("welcome! what is your name?");
    bob.send("bob");
    bob.expect("welcome, bob! you are in #lobby");
    alice.expect("* bob joined #lobby");
    let sent = std::time::Instant::now();
    bob.send("one");
    bob.send("two");
    alice.hint("--slow-mode-ms MS adds a slow_mode filter");
    alice.expect("<bob> one");
    alice.expect("<bob> two");
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "[{STAGE}] with --slow-mode-ms 400, bob's second message should wait 400ms after \
         his first; it arrived after {waited:?} (main.rs pushes slow_mode)"
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
    let server = start_with(config, FilterChain::default());
    let mut silent = server.connect("silent");
    silent.expect("welcome! what is your name?");
    silent.expect("error: no input for 300ms, disconnecting");
    silent.expect_closed();
}

#[test]
fn the_binary_builds_its_config_from_flags() {
    let server = ChildServer::spawn(
        STAGE,
        env!("CARGO_BIN_EXE_stage5-async"),
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
        env!("CARGO_BIN_EXE_stage5-async"),
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
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage5-async"), &["--help"]);
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
    let output = run_to_completion(env!("CARGO_BIN_EXE_stage5-async"), &["--version"]);
    let version = String::from_utf8_lossy(&output.stdout);
    let expected = concat!("stage5-async ", env!("CARGO_PKG_VERSION"));
    assert!(
        output.status.success() && version.trim() == expected,
        "[{STAGE}] expected `--version` to print {expected:?}, got {:?}: {version:?}",
        output.status
    );
}
