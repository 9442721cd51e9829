//! The `chat` client, driven as a real process against a real server.

mod doors;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chat_harness::{Client, TestServer, read_timeout};
use doors::Stage6;
use stage2_rooms::{Limits, Server};

const STAGE: &str = "chat client";

fn start(limits: Limits) -> TestServer {
    TestServer::start(STAGE, move |listener| {
        Server::new(listener, limits)
            .expect("a fresh listener can be made non-blocking")
            .run()
    })
}

fn join(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

/// Starts the client against `server`, with its standard input and output piped.
fn chat(server: &TestServer) -> Child {
    Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg(server.addr().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the chat binary starts")
}

/// Waits up to five seconds for the client to exit, then kills it.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(5);
    while child
        .try_wait()
        .expect("the child can be waited for")
        .is_none()
    {
        if Instant::now() >= deadline {
            let _ = child.kill();
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the child's output")
}

#[test]
fn what_is_typed_is_sent_and_what_arrives_is_printed() {
    let server = start(Limits::default());
    let mut bob = join(&server, "bob");
    let mut alice = chat(&server);
    let mut typed = alice.stdin.take().expect("stdin is piped");
    typed
        .write_all(b"alice\nhello from the client\n")
        .expect("typing");
    bob.expect("* alice joined #lobby");
    bob.expect("<alice> hello from the client");
    bob.send("hi alice");
    // Give the client time to print bob's line before its input ends.
    thread::sleep(Duration::from_millis(300));
    drop(typed);
    bob.expect("* alice left #lobby");

    let output = finish(alice);
    let printed = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "welcome! what is your name?",
        "welcome, alice! you are in #lobby",
        "<bob> hi alice",
        "* the server closed the connection",
    ] {
        assert!(
            printed.contains(expected),
            "[{STAGE}] expected the client to print {expected:?}; it printed:\n{printed}"
        );
    }
    assert!(
        output.status.success(),
        "[{STAGE}] after its input ended and the server closed, the client should exit 0; got {:?}",
        output.status
    );
}

#[test]
fn the_client_exits_when_the_server_hangs_up() {
    let server = start(Limits {
        max_line_len: 64,
        ..Limits::default()
    });
    let mut alice = chat(&server);
    let mut typed = alice.stdin.take().expect("stdin is piped");
    typed
        .write_all(format!("{}\n", "x".repeat(100)).as_bytes())
        .expect("typing");
    // Standard input stays open: only the server ends this session.
    let output = finish(alice);
    drop(typed);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("error: a line is at most 64 bytes long, disconnecting")
            && printed.contains("* the server closed the connection")
            && output.status.success(),
        "[{STAGE}] when the server hangs up, the client should print why and exit 0; \
         status {:?}, printed:\n{printed}",
        output.status
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_closes_the_connection_and_exits() {
    let server = start(Limits::default());
    let mut bob = join(&server, "bob");
    let mut alice = chat(&server);
    let mut typed = alice.stdin.take().expect("stdin is piped");
    typed.write_all(b"alice\n").expect("typing");
    bob.expect("* alice joined #lobby");
    let status = Command::new("kill")
        .args(["-INT", &alice.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT failed");
    bob.hint("Ctrl+C must close the connection, which the room hears about");
    bob.expect("* alice left #lobby");
    let output = finish(alice);
    assert!(
        output.status.success(),
        "[{STAGE}] Ctrl+C should end the client with status 0; got {:?}",
        output.status
    );
}

#[test]
fn a_server_that_is_not_there_is_reported() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1");
    let output = chat_harness::run_to_completion(env!("CARGO_BIN_EXE_chat"), &[&addr.to_string()]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "exit status; stderr: {said}");
    assert!(
        said.contains(&format!("chat: cannot connect to {addr}")),
        "the client should say why it stopped; its stderr was {said:?}"
    );
}

#[test]
fn a_plaintext_server_is_reported_when_speaking_tls() {
    // Stage 2 greets in plain text: no TLS handshake can succeed.
    let server = start(Limits::default());
    let addr = server.addr().to_string();
    let output = chat_harness::run_to_completion(env!("CARGO_BIN_EXE_chat"), &["--tls", &addr]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(1)
            && said.contains(&format!(
                "chat: cannot connect to {addr}: TLS handshake failed"
            )),
        "[{STAGE}] `chat --tls` against a server without TLS should exit 1 saying the TLS \
         handshake failed; got {:?}, stderr {said:?}",
        output.status
    );
}

#[test]
fn a_bad_ca_file_or_websocket_url_is_reported() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--tls", "--ca", "/nonexistent/ca.pem", "127.0.0.1:9"],
            "chat: cannot read the certificates in /nonexistent/ca.pem",
        ),
        (
            &["--ws", "http://127.0.0.1:9/ws"],
            "chat: --ws takes a ws:// or wss:// URL",
        ),
        (
            &["--ws", "ws://127.0.0.1:9/ws", "--tls"],
            "cannot be used with",
        ),
        (
            &["--ca", "ca.pem", "127.0.0.1:9"],
            "chat: --ca is for --tls or a wss:// URL",
        ),
    ];
    for (args, expected) in cases {
        let output = chat_harness::run_to_completion(env!("CARGO_BIN_EXE_chat"), args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code().is_some_and(|code| code != 0) && said.contains(expected),
            "[{STAGE}] `chat {}` should fail saying {expected:?}; got {:?}, stderr {said:?}",
            args.join(" "),
            output.status
        );
    }
}

/// A `chat` process whose printed lines the test reads as they arrive.
struct Live {
    who: &'static str,
    child: Child,
    typed: Option<ChildStdin>,
    printed: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Live {
    fn start(who: &'static str, args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the chat binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, printed) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Live {
            who,
            typed: child.stdin.take(),
            child,
            printed,
            seen: Vec::new(),
        }
    }

    fn type_line(&mut self, line: &str) {
        let typed = self.typed.as_mut().expect("input still open");
        writeln!(typed, "{line}").expect("typing into the client");
    }

    /// Waits (at most the read timeout) for a printed line equal to `expected`.
    fn expect(&mut self, expected: &str) {
        let deadline = Instant::now() + read_timeout();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.printed.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line == expected {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "[{STAGE}] {} expected the client to print {expected:?} within {:?}; \
             it printed {:#?}",
            self.who,
            read_timeout(),
            self.seen
        );
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `chat` with `args` and registers `name` in the lobby.
fn live_join(who: &'static str, name: &str, args: &[&str]) -> Live {
    let mut live = Live::start(who, args);
    live.expect("welcome! what is your name?");
    live.type_line(name);
    live.expect(&format!("welcome, {name}! you are in #lobby"));
    live
}

#[test]
fn over_tls_and_wss_two_clients_share_one_room() {
    let stage6 = Stage6::start(true);
    let cert = stage6.cert.as_ref().expect("TLS is on");
    let cert = cert.to_str().expect("a UTF-8 temporary path");
    let addr = stage6.server.addr().to_string();
    let mut alice = live_join("alice (--tls)", "alice", &["--tls", "--ca", cert, &addr]);
    let url = format!("wss://{}/ws", stage6.http);
    let mut bob = live_join("bob (--ws wss://)", "bob", &["--ws", &url, "--ca", cert]);
    alice.expect("* bob joined #lobby");
    alice.type_line("hello over TLS");
    bob.expect("<alice> hello over TLS");
    bob.type_line("hello over WebSocket");
    alice.expect("<bob> hello over WebSocket");
    // The end of bob's input closes his WebSocket: the room hears it.
    drop(bob.typed.take());
    bob.expect("* the server closed the connection");
    alice.expect("* bob left #lobby");
}

#[test]
fn over_plain_websocket_a_tcp_user_hears_the_client() {
    let stage6 = Stage6::start(false);
    let mut bob = join(&stage6.server, "bob");
    let url = format!("ws://{}/ws", stage6.http);
    let mut alice = live_join("alice (--ws ws://)", "alice", &["--ws", &url]);
    bob.expect("* alice joined #lobby");
    alice.type_line("hello from the WebSocket");
    bob.expect("<alice> hello from the WebSocket");
    bob.send("hi alice");
    alice.expect("<bob> hi alice");
}

#[test]
fn a_certificate_nobody_vouches_for_is_refused() {
    let stage6 = Stage6::start(true);
    let addr = stage6.server.addr().to_string();
    // Without --ca, only Mozilla's authorities are trusted: not a self-signed one.
    let output = chat_harness::run_to_completion(env!("CARGO_BIN_EXE_chat"), &["--tls", &addr]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(1)
            && said.contains("TLS handshake failed")
            && said.contains("UnknownIssuer"),
        "[{STAGE}] `chat --tls` without --ca should refuse a self-signed certificate (exit 1, \
         naming the unknown issuer); got {:?}, stderr {said:?}",
        output.status
    );
}
