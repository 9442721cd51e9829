//! Exercise tests for stage 6's production features: shutdown, the rate
//! limit, history, summaries in big rooms, metrics. Run with
//! `cargo test -p stage6-shutdown`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat_harness::{ChildServer, Client, Tally, TestServer};
use stage6_shutdown::metrics::Metrics;
use stage6_shutdown::{ServerConfig, Services, Settings, run, web};
use tokio::sync::oneshot;

pub mod common;
use self::common::{STAGE, relaxed};

/// A server that shuts down when the returned sender is used (or dropped).
fn start(config: ServerConfig) -> (TestServer, oneshot::Sender<()>) {
    start_with_services(config, Services::new)
}

// ANCHOR: start_with_services
fn start_with_services(
    config: ServerConfig,
    services: impl FnOnce(&ServerConfig) -> Services + Send + 'static,
) -> (TestServer, oneshot::Sender<()>) {
    let (trigger, triggered) = oneshot::channel::<()>();
    let server = TestServer::start_tokio(STAGE, move |listener| {
        let services = services(&config);
        run(listener, config, services, async {
            let _ = triggered.await;
        })
    });
    (server, trigger)
}
// ANCHOR_END: start_with_services

/// Connects `name` and answers the name prompt. Unlike `common::join`, it
/// skips no history replay: these tests are about the history.
fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

#[test]
fn shutdown_delivers_what_was_sent_says_goodbye_and_refuses_newcomers() {
    let config = relaxed().build().expect("a valid configuration");
    let (server, trigger) = start(config);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    let mut witness = join(&server, "witness");
    alice.expect("* bob joined #lobby");
    alice.expect("* witness joined #lobby");
    bob.expect("* witness joined #lobby");

    // Far more than the sockets between the server and bob hold, sent in
    // bursts the witness confirms: when the shutdown comes, lines are still
    // waiting for bob in the room's ring (or were dropped with a notice).
    const MESSAGES: usize = 20_000;
    const BURST: usize = 32;
    for first in (0..MESSAGES).step_by(BURST) {
        for i in first..first + BURST {
            alice.send(&format!("{i:0>500}"));
        }
        for i in first..first + BURST {
            witness.expect(&format!("<alice> {i:0>500}"));
        }
    }
    trigger.send(()).expect("the server is running");

    bob.hint("on shutdown, a member first gets everything its room had already sent");
    let Tally { received, missed } = bob.tally("<alice> ", MESSAGES, None);
    assert_eq!(
        received + missed,
        MESSAGES,
        "[{STAGE}] every line sent before the shutdown must arrive or be announced"
    );
    bob.hint("then the goodbye, then a graceful close");
    bob.expect("* the server is shutting down; goodbye");
    bob.expect_closed();
    assert!(
        server.wait_stopped(Duration::from_secs(5)),
        "[{STAGE}] run() should return once every client has said goodbye"
    );
    let refused = TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1));
    assert!(
        refused.is_err(),
        "[{STAGE}] after shutdown the listener must be closed, but a connection was accepted"
    );
}

#[test]
fn shutdown_ends_within_its_deadline_even_if_a_client_never_reads() {
    let config = Settings {
        shutdown_timeout: Duration::from_millis(500),
        ..relaxed()
    }
    .build()
    .expect("a valid configuration");
    let (server, trigger) = start(config);
    let mut alice = join(&server, "alice");
    let _stuck = join(&server, "stuck");
    alice.expect("* stuck joined #lobby");
    // Far more than the socket buffers hold: stuck's task blocks writing.
    for i in 0..5_000 {
        alice.send(&format!("{i:0>900}"));
    }
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    trigger.send(()).expect("the server is running");
    let stopped = server.wait_stopped(Duration::from_secs(3));
    let took = started.elapsed();
    assert!(
        stopped && took < Duration::from_millis(1500),
        "[{STAGE}] with shutdown_timeout 500ms, run() should return within about that \
         even though one client never reads; it {} after {took:?}. Cut the remaining \
         tasks when the deadline passes (JoinSet::shutdown)",
        if stopped {
            "returned"
        } else {
            "had not returned"
        },
    );
}

#[test]
fn an_unnamed_connection_is_told_about_the_shutdown_too() {
    let (server, trigger) = start(relaxed().build().expect("a valid configuration"));
    let mut anon = server.connect("anon");
    anon.expect("welcome! what is your name?");
    trigger.send(()).expect("the server is running");
    anon.expect("* the server is shutting down; goodbye");
    anon.expect_closed();
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_the_binary_down_gracefully_with_exit_status_zero() {
    let mut server = ChildServer::spawn(STAGE, env!("CARGO_BIN_EXE_stage6-shutdown"), &[]);
    let mut alice = server.connect("alice");
    alice.expect("welcome! what is your name?");
    alice.send("alice");
    alice.expect("welcome, alice! you are in #lobby");
    server.terminate();
    alice.hint("main passes SIGTERM (and Ctrl+C) to run() as the shutdown future");
    alice.expect("* the server is shutting down; goodbye");
    alice.expect_closed();
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some_and(|status| status.success()),
        "[{STAGE}] after SIGTERM the server should exit with status 0 within its \
         shutdown timeout; got {status:?}"
    );
}

#[test]
fn a_flood_pauses_the_talker_instead_of_lapping_members_that_keep_up() {
    // A ring of 64 lines, and 20,000 lines sent as fast as the socket takes
    // them: without backpressure the readers' tasks fall a ring behind and
    // miss lines (stage 5 does); with it, the talker waits for them.
    let config = Settings {
        room_buffer: 64,
        ..relaxed()
    }
    .build()
    .expect("a valid configuration");
    let (server, _trigger) = start(config);
    let mut alice = join(&server, "alice");
    let mut readers: Vec<Client> = (0..3)
        .map(|i| join(&server, &format!("reader{i}")))
        .collect();
    for (i, reader) in readers.iter_mut().enumerate() {
        for later in i + 1..3 {
            reader.expect(&format!("* reader{later} joined #lobby"));
        }
    }
    alice.expect_eventually("* reader2 joined #lobby");

    const MESSAGES: usize = 20_000;
    let threads: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            thread::spawn(move || {
                reader.hint(
                    "a talker pauses while the room's ring is half unread (Channel::is_full)",
                );
                for i in 0..MESSAGES {
                    reader.expect(&format!("<alice> {i}"));
                }
            })
        })
        .collect();
    for i in 0..MESSAGES {
        alice.send(&i.to_string());
    }
    for thread in threads {
        thread
            .join()
            .expect("every reader received every line, in order");
    }
}

#[test]
fn a_client_over_the_rate_limit_is_told_once_and_its_extra_lines_dropped() {
    let config = Settings {
        message_rate: 1,
        message_burst: 3,
        ..Settings::default()
    }
    .build()
    .expect("a valid configuration");
    let (server, _trigger) = start(config);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    for i in 0..6 {
        alice.send(&format!("line {i}"));
    }
    bob.hint("a burst of message_burst lines passes; the rest are dropped");
    for i in 0..3 {
        bob.expect(&format!("<alice> line {i}"));
    }
    alice.hint("the sender is told once per excess, not once per dropped line");
    alice.expect("error: slow down: at most 1 lines a second, 3 at once; lines are being dropped");
    // A second later the bucket holds a token again.
    thread::sleep(Duration::from_millis(1100));
    alice.send("later");
    bob.expect("<alice> later");
    alice.send("/list");
    alice.hint("dropped lines got no further error: the next line is this answer");
    alice.expect_containing("error: slow down");
}

#[test]
fn newcomers_get_the_rooms_recent_messages_once() {
    let config = Settings {
        history_len: 3,
        ..relaxed()
    }
    .build()
    .expect("a valid configuration");
    let (server, _trigger) = start(config);
    let mut alice = join(&server, "alice");
    for i in 1..=4 {
        alice.send(&format!("message {i}"));
    }
    alice.send("/list");
    alice.expect("* in #lobby: alice");

    let mut bob = server.connect("bob");
    bob.expect("welcome! what is your name?");
    bob.send("bob");
    bob.expect("welcome, bob! you are in #lobby");
    bob.hint("history_len 3: the last three messages, oldest first");
    bob.expect("* the last 3 messages in #lobby:");
    bob.expect("<alice> message 2");
    bob.expect("<alice> message 3");
    bob.expect("<alice> message 4");
    alice.send("message 5");
    bob.hint("a message already replayed must not arrive a second time");
    bob.expect("<alice> message 5");

    // The history follows /join: a new room has none, an old one has its own.
    alice.expect("* bob joined #lobby");
    alice.send("/join rust");
    alice.expect("* you are now in #rust");
    alice.send("in rust");
    // Her task handles her lines in order: once /list is answered, "in rust"
    // is in the history.
    alice.send("/list");
    alice.expect("* in #rust: alice");
    bob.expect("* alice left #lobby");
    bob.send("/join rust");
    bob.expect("* you are now in #rust");
    bob.hint("one message: the header says so in the singular");
    bob.expect("* the last message in #rust:");
    bob.expect("<alice> in rust");
}

#[test]
fn big_rooms_sum_up_arrivals_instead_of_announcing_each() {
    let config = Settings {
        announce_limit: 2,
        ..relaxed()
    }
    .build()
    .expect("a valid configuration");
    let (server, _trigger) = start(config);
    let mut first = join(&server, "first");
    let _second = join(&server, "second");
    first.hint("below announce_limit members, each arrival is announced");
    first.expect("* second joined #lobby");
    let newcomers: Vec<Client> = (0..4).map(|i| join(&server, &format!("new{i}"))).collect();
    first.hint("past announce_limit, arrivals are summed up once a second");
    assert_eq!(summed_up(&mut first), (4, 0));
    drop(newcomers);
    first.hint("and so are departures");
    assert_eq!(summed_up(&mut first), (0, 4));
}

/// Reads summaries until one second passes without one (the tick may fall in
/// the middle of a burst and split it in two); returns the totals.
fn summed_up(client: &mut Client) -> (usize, usize) {
    let mut totals = (0, 0);
    loop {
        let summary = if totals == (0, 0) {
            client.expect_containing(" in the last second")
        } else {
            match client.recv_within(Duration::from_millis(1500)) {
                chat_harness::Received::Line(line) => line,
                _ => return totals,
            }
        };
        let counts: Vec<usize> = summary
            .split(' ')
            .filter_map(|word| word.parse().ok())
            .collect();
        let [joined, left] = counts[..] else {
            client.fail("a summary \"* J joined and L left #room ...\"", &summary);
        };
        totals.0 += joined;
        totals.1 += left;
    }
}

#[test]
fn the_metrics_endpoint_shows_the_counters() {
    let metrics = Arc::new(Metrics::default());
    let shown = Arc::clone(&metrics);
    let (server, _trigger) = start_with_services(
        relaxed().build().expect("a valid configuration"),
        move |config| Services {
            metrics: shown,
            ..Services::new(config)
        },
    );
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    alice.send("hello");
    bob.expect("<alice> hello");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    listener.set_nonblocking(true).expect("non-blocking");
    thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            web::serve_metrics(listener, metrics).await;
        });
    });
    let mut http = TcpStream::connect(addr).expect("the metrics endpoint accepts");
    http.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a timeout");
    http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .expect("the request is sent");
    let mut response = String::new();
    http.read_to_string(&mut response).expect("a response");
    for expected in [
        "HTTP/1.0 200 OK",
        "chat_connected_clients 2\n",
        "chat_rooms 1\n",
        "chat_messages_total 1\n",
    ] {
        assert!(
            response.contains(expected),
            "[{STAGE}] the metrics should contain {expected:?}; got:\n{response}"
        );
    }
}
