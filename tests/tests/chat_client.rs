//! The `chat` client, driven as a real process against a real server.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use chat_harness::{Client, TestServer};
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
    let cases: [(&[&str], &str); 3] = [
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
