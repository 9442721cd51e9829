//! The HTTP port's bounds (`src/web/connections.rs`): a cap on its
//! connections and one per address, a timeout for a request's headers that
//! also ends idle kept-alive connections, plain and with TLS.
//! Clients connect from 127.0.0.2, 127.0.0.3, …, which the server sees as
//! different hosts (Linux routes all of 127.0.0.0/8 to the loopback
//! interface; elsewhere these tests are ignored).
//! Run with `cargo test -p stage6-shutdown --test http_limits`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socket2::{Domain, Socket, Type};
use stage6_shutdown::{ServerConfig, Settings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::Message;

pub mod common;
pub mod transports;
use self::common::{join, relaxed};
use self::transports::{Running, Via, start};

/// Where a learner looks when one of these tests fails.
const WHERE: &str = "see stage6-shutdown/src/web/connections.rs";

/// How long any one step may take before the test fails: the harness's
/// read timeout (`CHAT_TEST_TIMEOUT_MS`), longer on a busy CI machine.
fn step() -> Duration {
    chat_harness::read_timeout()
}

/// The reference server on `settings`, TLS on both ports if `tls` (the
/// harness's clients then reach it through the TLS relay).
fn start_with(settings: Settings, tls: bool) -> Running {
    let config: ServerConfig = settings.build().expect("a valid configuration");
    start(config, tls, if tls { Via::Tls } else { Via::Direct })
}

/// A TCP connection to the HTTP port from 127.0.0.`host`.
fn connect_from(running: &Running, host: u8) -> TcpStream {
    let local = SocketAddr::from(([127, 0, 0, host], 0));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket
        .bind(&local.into())
        .unwrap_or_else(|e| panic!("cannot bind {local}: {e} (is 127.0.0.0/8 all loopback?)"));
    socket
        .connect_timeout(&running.http.into(), step())
        .unwrap_or_else(|e| panic!("cannot connect from {local} to {}: {e}", running.http));
    socket.into()
}

/// The same, for async clients (WebSockets, TLS).
fn connect_async_from(running: &Running, host: u8) -> tokio::net::TcpStream {
    let stream = connect_from(running, host);
    stream.set_nonblocking(true).expect("non-blocking");
    tokio::net::TcpStream::from_std(stream).expect("a tokio stream")
}

/// Whether the server closed `stream` within `limit` (rather than leaving
/// it open); panics if the server sends anything but an HTTP error or a
/// TLS alert before closing.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).expect("a timeout");
    let mut said = Vec::new();
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return true,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(error) => panic!("expected a close or silence, the read failed: {error}"),
            Ok(n) => said.extend_from_slice(&buf[..n]),
        }
        // An error response or a TLS alert may come before the close.
        if !(said.starts_with(b"HTTP/1.1 4") || said.starts_with(b"\x15\x03")) {
            panic!(
                "expected a close or silence, got {:?}; {WHERE}",
                String::from_utf8_lossy(&said)
            );
        }
    }
}

/// Opens `count` silent connections from 127.0.0.`host`: the first `held`
/// must stay open, the rest must be closed at once by a cap.
fn silent_crowd(running: &Running, host: u8, count: usize, held: usize) -> Vec<TcpStream> {
    let mut crowd = Vec::new();
    for i in 0..count {
        let mut silent = connect_from(running, host);
        let closed = closed_within(&mut silent, Duration::from_millis(200).min(step()));
        assert_eq!(
            closed,
            i >= held,
            "silent connection {i} from 127.0.0.{host}: expected it {} (the cap is {held}); {WHERE}",
            if i >= held {
                "closed at once"
            } else {
                "held open"
            }
        );
        if !closed {
            crowd.push(silent);
        }
    }
    crowd
}

/// Any stream a client talks over: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to the HTTP port from 127.0.0.`host`, over TLS if the
/// server speaks it, and the WebSocket scheme to use on it.
async fn open_from(running: &Running, host: u8) -> (Box<dyn Io>, &'static str) {
    let tcp = connect_async_from(running, host);
    let Some(certificate) = &running.certificate else {
        return (Box::new(tcp), "ws");
    };
    let name = ServerName::try_from("localhost").expect("a valid name");
    let tls = certificate.connector().connect(name, tcp).await;
    let tls = tls.unwrap_or_else(|e| panic!("expected a TLS handshake on the HTTP port: {e}"));
    (Box::new(tls), "wss")
}

/// Loads the page from 127.0.0.`host`.
async fn load_page(running: &Running, host: u8) {
    let (mut stream, _) = open_from(running, host).await;
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut page = String::new();
    let read = timeout(step(), stream.read_to_string(&mut page)).await;
    assert!(
        matches!(read, Ok(Ok(_))) && page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "expected 127.0.0.{host} to load the page within {:?}, got {read:?} and {page:?}; {WHERE}",
        step()
    );
}

type WebSocket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// From 127.0.0.`host`, joins as `name` over a WebSocket.
async fn join_websocket(running: &Running, host: u8, name: &str) -> WebSocket {
    let (stream, scheme) = open_from(running, host).await;
    let url = format!("{scheme}://localhost:{}/ws", running.http.port());
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap_or_else(|e| panic!("expected a WebSocket at /ws from 127.0.0.{host}: {e}"));
    let prompt = timeout(step(), socket.next()).await;
    assert!(
        matches!(&prompt, Ok(Some(Ok(Message::Text(text)))) if text.as_str() == "welcome! what is your name?"),
        "expected the name prompt over the WebSocket, got {prompt:?}"
    );
    socket.send(Message::Text(name.into())).await.expect("sent");
    socket
}

/// Connects from 127.0.0.`host` until the server holds the connection open
/// instead of closing it at once: a place was given back.
fn connect_when_admitted(running: &Running, host: u8, why: &str) -> TcpStream {
    let deadline = Instant::now() + step();
    loop {
        let mut stream = connect_from(running, host);
        if !closed_within(&mut stream, Duration::from_millis(200)) {
            return stream;
        }
        assert!(
            Instant::now() < deadline,
            "expected a place for 127.0.0.{host} once {why}, got a close until {:?} passed; {WHERE}",
            step()
        );
    }
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2 and 127.0.0.3")]
#[tokio::test]
async fn a_silent_crowd_on_the_http_port_leaves_the_page_and_the_chat_to_others() {
    the_crowd_leaves_room_for_others(false).await;
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2 and 127.0.0.3")]
#[tokio::test]
async fn the_caps_hold_with_tls_on() {
    the_crowd_leaves_room_for_others(true).await;
}

/// Ten silent connections from 127.0.0.2: the per-address cap (twice
/// `max_per_address`) holds four, closes the rest at once, and 127.0.0.3
/// still loads the page and chats with a TCP client over a WebSocket.
async fn the_crowd_leaves_room_for_others(tls: bool) {
    let settings = Settings {
        max_users: 8,
        max_per_address: 2,
        max_unnamed_per_address: 1,
        ..relaxed()
    };
    let running = start_with(settings, tls);
    let _crowd = silent_crowd(&running, 2, 10, 4);
    let mut bob = join(&running.server, "bob");
    load_page(&running, 3).await;
    let mut alice = join_websocket(&running, 3, "alice").await;
    bob.hint("a WebSocket from another address gets in despite the crowd");
    bob.expect("* alice joined #lobby");
    alice
        .send(Message::Text("hello".into()))
        .await
        .expect("sent");
    bob.expect("<alice> hello");
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2 to 127.0.0.4")]
#[test]
fn the_http_port_holds_at_most_twice_max_users_connections() {
    let running = start_with(
        Settings {
            max_users: 2,
            max_per_address: 1,
            max_unnamed_per_address: 1,
            ..relaxed()
        },
        false,
    );
    let mut first = silent_crowd(&running, 2, 3, 2);
    let _second = silent_crowd(&running, 3, 3, 2);
    // 127.0.0.4 has no connection yet, but the port is full (4 of 4).
    let _late = silent_crowd(&running, 4, 1, 0);
    drop(first.pop());
    connect_when_admitted(&running, 4, "a connection from 127.0.0.2 had closed");
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2")]
#[tokio::test]
async fn an_upgraded_websocket_keeps_its_http_place_until_it_ends() {
    let running = start_with(
        Settings {
            max_per_address: 1,
            max_unnamed_per_address: 1,
            ..relaxed()
        },
        false,
    );
    // Two HTTP places for 127.0.0.2: alice's WebSocket holds one.
    let mut alice = join_websocket(&running, 2, "alice").await;
    let _silent = silent_crowd(&running, 2, 2, 1);
    alice
        .send(Message::Text("/quit".into()))
        .await
        .expect("sent");
    while let Ok(Some(Ok(_))) = timeout(step(), alice.next()).await {}
    drop(alice);
    connect_when_admitted(&running, 2, "alice's WebSocket had ended");
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2")]
#[test]
fn half_a_request_header_is_closed_within_the_header_timeout() {
    let name_timeout = Duration::from_secs(1);
    let running = start_with(
        Settings {
            name_timeout,
            ..relaxed()
        },
        false,
    );
    let started = Instant::now();
    let mut slow = connect_from(&running, 2);
    slow.write_all(b"GET / HTTP/1.1\r\nHost: loc")
        .expect("sent");
    assert!(
        closed_within(&mut slow, name_timeout + step()),
        "expected a connection that sent half a request header to be closed within \
         name_timeout ({name_timeout:?}), it was still open after {:?}; {WHERE}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= name_timeout,
        "expected the header timeout to be name_timeout ({name_timeout:?}), \
         the connection was closed after {:?}",
        started.elapsed()
    );
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2")]
#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let name_timeout = Duration::from_secs(1);
    let running = start_with(
        Settings {
            name_timeout,
            ..relaxed()
        },
        false,
    );
    let mut idle = connect_from(&running, 2);
    idle.write_all(b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("sent");
    idle.set_read_timeout(Some(step())).expect("a timeout");
    let mut response = Vec::new();
    let mut buf = [0; 1024];
    while !response.ends_with(b"not found\n") {
        match idle.read(&mut buf) {
            Ok(n @ 1..) => response.extend_from_slice(&buf[..n]),
            other => panic!(
                "expected a 404 on a kept-alive connection, got {other:?} after {:?}",
                String::from_utf8_lossy(&response)
            ),
        }
    }
    let answered = Instant::now();
    assert!(
        closed_within(&mut idle, name_timeout + step()),
        "expected an idle kept-alive connection to be closed within name_timeout \
         ({name_timeout:?}); {WHERE}"
    );
    assert!(
        answered.elapsed() >= name_timeout / 2,
        "expected the kept-alive connection to stay open for a while, it was closed after {:?}",
        answered.elapsed()
    );
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2")]
#[test]
fn idle_http_connections_do_not_delay_the_shutdown() {
    // Long timeouts: only closing idle connections at once stops it in time.
    let long = 10 * step();
    let running = start_with(
        Settings {
            name_timeout: long,
            shutdown_timeout: long,
            ..relaxed()
        },
        false,
    );
    let _silent = silent_crowd(&running, 2, 1, 1);
    let mut kept_alive = connect_from(&running, 2);
    kept_alive
        .write_all(b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("sent");
    assert!(
        !closed_within(&mut kept_alive, Duration::from_millis(300)),
        "expected the connection kept alive after its 404"
    );
    running.shutdown.send(()).expect("the server is running");
    assert!(
        running.server.wait_stopped(step()),
        "expected the server to stop within {:?}: HTTP connections between requests close \
         on shutdown (else they keep it waiting for the shutdown_timeout, {long:?}); {WHERE}",
        step()
    );
    assert!(
        closed_within(&mut kept_alive, step()),
        "expected the kept-alive connection closed by the shutdown; {WHERE}"
    );
}

#[test]
fn a_request_head_that_fills_the_buffer_gets_431_and_a_close() {
    let running = start_with(relaxed(), false);
    let mut stream = TcpStream::connect(running.http).expect("the HTTP port accepts");
    // Exactly MAX_BUFFER bytes and no end of head: the server reads them all
    // (so its close is clean, not a reset for unread bytes) and gives up.
    let start = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: ";
    let head = format!("{start}{}", "x".repeat(16 * 1024 - start.len()));
    stream.write_all(head.as_bytes()).expect("sent");
    stream.set_read_timeout(Some(step())).expect("a timeout");
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(
        read.is_ok() && response.starts_with("HTTP/1.1 431"),
        "expected 431 and a close for a 16 KiB request head (MAX_BUFFER), \
         got {read:?} and {response:?}; {WHERE}"
    );
}
