//! Every limit holds on every transport: the line length, the rate limit,
//! the name, idle and write timeouts, over TLS and over WebSocket (max users
//! has its tests in tls.rs and websocket.rs).
//! The harness's clients reach each door through the relay in `transports`.
//! Run with `cargo test -p stage6-shutdown --test transport_limits`.

use std::thread;
use std::time::Duration;

use stage6_shutdown::Settings;

pub mod common;
pub mod transports;
use self::common::{join, relaxed};
use self::transports::{Running, Via, start};

/// The transports other than plain TCP, whose own tests are elsewhere.
const TRANSPORTS: [Via; 2] = [Via::Tls, Via::WebSocket];

/// The server with `settings`, reached `via` the given door.
fn start_via(settings: Settings, via: Via) -> Running {
    let config = settings.build().expect("a valid configuration");
    start(config, via == Via::Tls, via)
}

#[test]
fn a_line_too_long_ends_the_connection_on_every_transport() {
    for via in TRANSPORTS {
        let running = start_via(relaxed(), via);
        let mut alice = join(&running.server, "alice");
        let mut bob = join(&running.server, "bob");
        alice.expect("* bob joined #lobby");
        let max = Settings::default().max_line_len;
        bob.send(&"x".repeat(max + 2));
        if via == Via::Tls {
            bob.expect(&format!(
                "error: a line is at most {max} bytes long, disconnecting"
            ));
        }
        // Over WebSocket the message is refused with close code 1009, which
        // the relay turns into a plain close.
        bob.hint(&format!(
            "over {via:?}, a line too long ends the connection"
        ));
        bob.expect_closed();
        alice.expect("* bob left #lobby");
    }
}

#[test]
fn the_rate_limit_holds_on_every_transport() {
    for via in TRANSPORTS {
        let running = start_via(Settings::default(), via);
        let mut alice = join(&running.server, "alice");
        let burst = Settings::default().message_burst;
        for i in 0..burst + 5 {
            alice.send(&format!("line {i}"));
        }
        alice.hint(&format!("over {via:?}, lines beyond the burst are refused"));
        alice.expect_eventually("error: slow down: at most");
    }
}

#[test]
fn the_name_timeout_holds_on_every_transport() {
    for via in TRANSPORTS {
        let settings = Settings {
            name_timeout: Duration::from_millis(500),
            ..relaxed()
        };
        let running = start_via(settings, via);
        let mut anon = running.server.connect("anon");
        anon.expect("welcome! what is your name?");
        anon.hint(&format!(
            "over {via:?}, a client without a name is disconnected"
        ));
        anon.expect("error: no name chosen within 500ms, disconnecting");
        anon.expect_closed();
    }
}

#[test]
fn the_idle_timeout_holds_on_every_transport() {
    for via in TRANSPORTS {
        let settings = Settings {
            idle_timeout: Duration::from_millis(500),
            ..relaxed()
        };
        let running = start_via(settings, via);
        let mut alice = join(&running.server, "alice");
        alice.hint(&format!("over {via:?}, a silent client is disconnected"));
        alice.expect("error: no input for 500ms, disconnecting");
        alice.expect_closed();
    }
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout_on_every_transport() {
    for via in TRANSPORTS {
        let settings = Settings {
            write_timeout: Duration::from_millis(500),
            ..relaxed()
        };
        let running = start_via(settings, via);
        let mut alice = join(&running.server, "alice");
        let mut watcher = join(&running.server, "watcher");
        let _stuck = join(&running.server, "stuck");
        alice.expect("* watcher joined #lobby");
        alice.expect("* stuck joined #lobby");
        watcher.expect("* stuck joined #lobby");
        let reader = thread::spawn(move || {
            watcher.hint(&format!(
                "over {via:?}, a client that stops reading is dropped"
            ));
            watcher.expect_eventually("* stuck left #lobby");
        });
        // More than the sockets on both sides of the relay hold.
        for i in 0..40_000 {
            alice.send(&format!("{i:0>500}"));
        }
        reader
            .join()
            .expect("the watcher saw the stuck client leave");
    }
}
