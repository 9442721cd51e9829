//! The WebSocket door (`--http-addr`): a browser's client chats with TCP
//! clients in one room, and every message that breaks the mapping (one text
//! message per line) gets a clear close code and disturbs nobody else.
//! Run with `cargo test -p stage6-shutdown --test websocket`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_harness::Client;
use futures_util::{SinkExt, StreamExt};
use stage6_shutdown::{ServerConfig, Settings};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

pub mod common;
pub mod transports;
use self::common::{join, relaxed};
use self::transports::{Running, Via, start};

/// How long any one step may take before the test fails: the harness's
/// read timeout (`CHAT_TEST_TIMEOUT_MS`), longer on a busy CI machine.
fn step() -> Duration {
    chat_harness::read_timeout()
}

type Socket = WebSocketStream<TcpStream>;

/// A server with its doors open, on the relaxed configuration.
fn start_relaxed() -> Running {
    start(config(relaxed()), false, Via::Direct)
}

fn config(settings: Settings) -> ServerConfig {
    settings.build().expect("a valid configuration")
}

/// Opens a WebSocket to `/ws` at `http`.
async fn connect(http: SocketAddr) -> Socket {
    let tcp = TcpStream::connect(http)
        .await
        .expect("the HTTP port accepts");
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{http}/ws"), tcp)
        .await
        .expect("the WebSocket handshake at /ws succeeds");
    socket
}

/// The next text message, which must be `expected`.
async fn expect_text(socket: &mut Socket, expected: &str) {
    let got = timeout(step(), socket.next()).await;
    match got {
        Ok(Some(Ok(Message::Text(text)))) if text.as_str() == expected => {}
        other => panic!(
            "expected the text message {expected:?} (one line, no newline), got {other:?}; \
             see stage6-shutdown/src/web/bridge.rs"
        ),
    }
}

/// Connects and chooses `name`, as the page does.
async fn join_websocket(http: SocketAddr, name: &str) -> Socket {
    let mut socket = connect(http).await;
    expect_text(&mut socket, "welcome! what is your name?").await;
    socket.send(Message::Text(name.into())).await.expect("sent");
    expect_text(&mut socket, &format!("welcome, {name}! you are in #lobby")).await;
    socket
}

/// Reads until the server's close frame, which must carry `code`.
async fn expect_close(socket: &mut Socket, code: u16, why: &str) {
    let close = timeout(step(), async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|frame| u16::from(frame.code)),
                Ok(_) => continue,
                Err(error) => panic!("expected a close frame ({why}), the socket failed: {error}"),
            }
        }
        panic!("expected a close frame with code {code} ({why}); the connection just ended")
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "expected a close frame with code {code} ({why}) within {:?}",
            step()
        )
    });
    assert_eq!(
        close,
        Some(code),
        "{why}: expected close code {code}; see stage6-shutdown/src/web/bridge.rs"
    );
}

/// A TCP member, then a WebSocket member that breaks a rule by sending
/// `message`: the WebSocket is closed with `code`, and the TCP member can
/// still chat.
async fn breaking_a_rule_closes_with(message: Message, code: u16, why: &str) {
    let running = start_relaxed();
    let mut bob = join(&running.server, "bob");
    let mut alice = join_websocket(running.http, "alice").await;
    bob.expect("* alice joined #lobby");
    alice.send(message).await.expect("sent");
    expect_close(&mut alice, code, why).await;
    bob.hint("a WebSocket closed for bad input leaves like any client");
    bob.expect("* alice left #lobby");
    still_chatting(&running, &mut bob);
}

/// `bob` and a newcomer still chat: the bad client disturbed nobody.
fn still_chatting(running: &Running, bob: &mut Client) {
    let mut carol = join(&running.server, "carol");
    bob.expect("* carol joined #lobby");
    carol.send("still here?");
    bob.expect("<carol> still here?");
}

#[tokio::test]
async fn a_websocket_client_and_a_tcp_client_chat_in_one_room() {
    let running = start_relaxed();
    let mut bob = join(&running.server, "bob");
    let mut alice = join_websocket(running.http, "alice").await;
    bob.expect("* alice joined #lobby");
    alice
        .send(Message::Text("hello bob".into()))
        .await
        .expect("sent");
    bob.hint("each text message from a WebSocket is one line");
    bob.expect("<alice> hello bob");
    bob.send("hi alice");
    expect_text(&mut alice, "<bob> hi alice").await;
    alice
        .send(Message::Text("telnet\r".into()))
        .await
        .expect("sent");
    bob.hint("a trailing \\r in a WebSocket message is ignored, as in a TCP line");
    bob.expect("<alice> telnet");
    alice
        .send(Message::Text("/quit see you".into()))
        .await
        .expect("sent");
    expect_text(&mut alice, "* bye").await;
    expect_close(&mut alice, 1000, "after /quit").await;
    bob.expect("* alice left #lobby (see you)");
}

#[tokio::test]
async fn a_binary_message_gets_close_1003() {
    let binary = Message::Binary(vec![1, 2, 3].into());
    breaking_a_rule_closes_with(binary, 1003, "a binary message is not a line").await;
}

#[tokio::test]
async fn a_message_with_a_newline_gets_close_1008() {
    let two_lines = Message::Text("one\ntwo".into());
    breaking_a_rule_closes_with(two_lines, 1008, "one message is one line").await;
}

#[tokio::test]
async fn a_message_longer_than_a_line_gets_close_1009() {
    let max = ServerConfig::default().max_line_len;
    let long = Message::Text("x".repeat(max + 2).into());
    breaking_a_rule_closes_with(long, 1009, "the message is longer than max_line_len").await;
}

#[tokio::test]
async fn a_text_message_that_is_not_utf8_gets_close_1007() {
    let frame = Frame::message(vec![b'h', 0xff, 0xfe], OpCode::Data(Data::Text), true);
    breaking_a_rule_closes_with(Message::Frame(frame), 1007, "text must be UTF-8").await;
}

#[tokio::test]
async fn a_message_of_exactly_max_line_len_is_a_line() {
    let running = start_relaxed();
    let mut bob = join(&running.server, "bob");
    let mut alice = join_websocket(running.http, "alice").await;
    bob.expect("* alice joined #lobby");
    let max = ServerConfig::default().max_line_len;
    let longest = "y".repeat(max);
    alice
        .send(Message::Text(longest.clone().into()))
        .await
        .expect("sent");
    bob.hint("a message of max_line_len bytes is a valid line, as on TCP");
    bob.expect_containing(&longest[..max - 20]);
}

/// Sends one HTTP/1.1 request for `path` and returns the whole response.
fn http_get(http: SocketAddr, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(http).expect("the HTTP port accepts");
    stream.set_read_timeout(Some(step())).expect("a timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|error| panic!("expected a response to GET {path}: {error}"));
    response
}

#[test]
fn the_http_port_serves_the_page_and_metrics_and_404_for_anything_else() {
    let running = start_relaxed();
    let page = http_get(running.http, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "expected GET / to answer 200 with the chat page, got {page:?}"
    );
    let metrics = http_get(running.http, "/metrics");
    assert!(
        metrics.starts_with("HTTP/1.1 200") && metrics.contains("# TYPE chat_"),
        "expected GET /metrics to answer 200 with Prometheus text, got {metrics:?}"
    );
    let missing = http_get(running.http, "/nope");
    assert!(
        missing.starts_with("HTTP/1.1 404"),
        "expected GET /nope to answer 404, got {missing:?}"
    );
    let mut bob = join(&running.server, "bob");
    bob.hint("HTTP requests disturb no chat client");
    bob.send("/list");
    bob.expect("* in #lobby: bob");
}

#[tokio::test]
async fn a_full_server_turns_a_websocket_away_with_the_same_line() {
    let running = start(
        config(Settings {
            max_users: 1,
            ..relaxed()
        }),
        false,
        Via::Direct,
    );
    let _bob = join(&running.server, "bob");
    let mut late = connect(running.http).await;
    expect_text(
        &mut late,
        "error: the server is full (1 users); try again later",
    )
    .await;
    expect_close(&mut late, 1000, "after the refusal").await;
}

#[tokio::test]
async fn shutdown_tells_websocket_clients_goodbye_then_closes() {
    let running = start_relaxed();
    let mut alice = join_websocket(running.http, "alice").await;
    running.shutdown.send(()).expect("the server is running");
    expect_text(&mut alice, "* the server is shutting down; goodbye").await;
    expect_close(&mut alice, 1000, "after the shutdown line").await;
    assert!(
        running.server.wait_stopped(step()),
        "expected the server to stop once its WebSocket client had its goodbye"
    );
}

/// A child process, killed when the test ends however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_serves_the_page_at_http_addr() {
    let child = Command::new(env!("CARGO_BIN_EXE_stage6-shutdown"))
        .args(["--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("a piped stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("stage6-shutdown listening on "),
        "expected the address line first, got {first:?}"
    );
    let second = lines.next().unwrap_or_default();
    let http: SocketAddr = second
        .strip_prefix("chat page at http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("expected \"chat page at http://ADDR/\", got {second:?}"));
    let page = http_get(http, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "expected the binary to serve the page at --http-addr, got {page:?}"
    );
}
