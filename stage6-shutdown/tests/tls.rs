//! TLS (`--tls-cert`, `--tls-key`): clients chat over TLS and secure
//! WebSockets with a throwaway certificate; a plaintext client or a handshake
//! that never finishes disturbs nobody; a bad certificate or key stops the
//! binary at start with an error that names the file and the problem.
//! Run with `cargo test -p stage6-shutdown --test tls`.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use stage6_shutdown::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::Message;

pub mod common;
pub mod transports;
use self::common::{join, relaxed};
use self::transports::{Certificate, Running, Via, start};

/// How long any one step may take before the test fails: the harness's
/// read timeout (`CHAT_TEST_TIMEOUT_MS`), longer on a busy CI machine.
fn step() -> Duration {
    chat_harness::read_timeout()
}

/// The relaxed configuration with TLS on, the harness's clients reaching it
/// through the TLS relay.
fn start_tls(settings: Settings) -> Running {
    let config = settings.build().expect("a valid configuration");
    start(config, true, Via::Tls)
}

#[test]
fn clients_chat_over_tls() {
    let running = start_tls(relaxed());
    let mut alice = join(&running.server, "alice");
    let mut bob = join(&running.server, "bob");
    alice.expect("* bob joined #lobby");
    alice.send("hello over TLS");
    bob.expect("<alice> hello over TLS");
}

#[tokio::test]
async fn with_tls_on_the_http_port_serves_https_and_secure_websockets() {
    let running = start_tls(relaxed());
    let mut bob = join(&running.server, "bob");
    let certificate = running.certificate.as_ref().expect("TLS is on");
    let name = || ServerName::try_from("localhost").expect("a valid name");

    let tcp = tokio::net::TcpStream::connect(running.http)
        .await
        .expect("connects");
    let mut https = certificate
        .connector()
        .connect(name(), tcp)
        .await
        .expect("TLS handshake");
    https
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut page = String::new();
    let _ = timeout(step(), https.read_to_string(&mut page)).await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "expected the page over HTTPS on the HTTP port, got {page:?}"
    );

    let tcp = tokio::net::TcpStream::connect(running.http)
        .await
        .expect("connects");
    let tls = certificate
        .connector()
        .connect(name(), tcp)
        .await
        .expect("TLS handshake");
    let url = format!("wss://localhost:{}/ws", running.http.port());
    let (mut alice, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("a secure WebSocket at /ws");
    let _prompt = timeout(step(), alice.next())
        .await
        .expect("the name prompt");
    alice
        .send(Message::Text("alice".into()))
        .await
        .expect("sent");
    bob.hint("a browser over wss: joins the room the TLS clients are in");
    bob.expect("* alice joined #lobby");
    alice
        .send(Message::Text("hello over wss".into()))
        .await
        .expect("sent");
    bob.expect("<alice> hello over wss");
}

/// A client that closes its half (at the end of its input, as `cargo chat`
/// does) is answered in kind: the server closes its own half with TLS's
/// close_notify, so that the client can tell the end from a cut connection.
#[tokio::test]
async fn a_client_that_closes_its_half_gets_a_clean_tls_close() {
    let running = start_tls(relaxed());
    let certificate = running.certificate.as_ref().expect("TLS is on");
    let tcp = tokio::net::TcpStream::connect(running.tcp)
        .await
        .expect("connects to the TLS port");
    let name = ServerName::try_from("localhost").expect("a valid name");
    let mut tls = (certificate.connector().connect(name, tcp))
        .await
        .expect("TLS handshake");
    tls.write_all(b"alice\n").await.expect("sent");
    tls.shutdown().await.expect("our close_notify sent");
    let mut seen = Vec::new();
    let read = timeout(step(), tls.read_to_end(&mut seen)).await;
    let seen = String::from_utf8_lossy(&seen);
    match read {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!(
            "after the client's close_notify, the server should close with its own; reading \
             failed with \"{error}\" after {seen:?} (see Client::finish in src/client.rs)"
        ),
        Err(_) => panic!(
            "the server should close the connection once the client closed its half; within \
             {:?} it sent {seen:?}",
            step()
        ),
    }
}

/// Reads from `stream` until the server closes it; panics if it does not
/// within `limit`, or if it sends anything.
fn expect_closed_silently(stream: &mut TcpStream, limit: Duration, why: &str) {
    stream.set_read_timeout(Some(limit)).expect("a timeout");
    let mut buf = [0; 1024];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) if buf[..n].starts_with(b"\x15\x03") => {} // a TLS alert: fine
        Ok(n) => panic!(
            "{why}: expected a close, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(error) => panic!("{why}: expected the server to close within {limit:?}, got {error}"),
    }
}

#[test]
fn a_plaintext_client_on_the_tls_port_is_closed_and_disturbs_nobody() {
    let running = start_tls(relaxed());
    let mut alice = join(&running.server, "alice");
    let mut plain = TcpStream::connect(running.tcp).expect("the TLS port accepts");
    plain
        .write_all(b"mallory\nhello in clear text\n")
        .expect("sent");
    expect_closed_silently(&mut plain, step(), "a plaintext client on the TLS port");
    let mut bob = join(&running.server, "bob");
    alice.hint("a failed handshake never reaches the chat");
    alice.expect("* bob joined #lobby");
    bob.send("/list");
    bob.expect("* in #lobby: alice, bob");
}

#[test]
fn a_handshake_that_never_finishes_holds_a_place_only_until_the_name_timeout() {
    let name_timeout = Duration::from_secs(1);
    let running = start_tls(Settings {
        max_users: 1,
        name_timeout,
        ..relaxed()
    });
    let started = Instant::now();
    // Connects and never says hello: its place is taken before any handshake.
    let mut silent = TcpStream::connect(running.tcp).expect("the TLS port accepts");
    std::thread::sleep(Duration::from_millis(200));
    let mut early = running.server.connect("early");
    early.hint("a connection in its TLS handshake holds a place, like an unnamed client");
    early.expect("error: the server is full (1 users); try again later");
    expect_closed_silently(
        &mut silent,
        name_timeout + step(),
        "a handshake that never finished",
    );
    assert!(
        started.elapsed() >= name_timeout,
        "the silent connection was closed before the name timeout ({:?})",
        started.elapsed()
    );
    let _alice = join(&running.server, "alice");
}

/// Runs the binary with `args` and returns its exit status and stderr;
/// it must exit by itself, before listening.
fn run_binary(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stage6-shutdown"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("listening on"),
        "expected the binary to stop before listening, with {args:?}; it printed {stdout:?}"
    );
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The binary refuses `cert` and `key`, and says `expected` about them.
fn refuses(cert: &Path, key: &Path, expected: &[&str]) {
    let (cert, key) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let (succeeded, stderr) = run_binary(&["--tls-cert", cert, "--tls-key", key]);
    assert!(
        !succeeded,
        "expected a failure exit with --tls-cert {cert} --tls-key {key}"
    );
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "expected the error to say {fragment:?}; it said {stderr:?} (see src/tls.rs)"
        );
    }
}

#[test]
fn a_bad_certificate_or_key_stops_the_binary_with_a_clear_error() {
    let good = Certificate::generate();
    let other = Certificate::generate();
    let dir = good.dir.path();
    let missing = dir.join("missing.pem");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").expect("written");
    let missing_name = missing.display().to_string();
    let garbage_name = garbage.display().to_string();
    let cert_name = good.cert.display().to_string();

    refuses(
        &missing,
        &good.key,
        &["cannot read the TLS certificate", &missing_name],
    );
    refuses(
        &good.cert,
        &missing,
        &["cannot read the TLS key", &missing_name],
    );
    // A directory cannot be read as a file (unreadable, even for root).
    refuses(dir, &good.key, &["cannot read the TLS certificate"]);
    refuses(
        &garbage,
        &good.key,
        &["the TLS certificate", &garbage_name, "not usable PEM"],
    );
    refuses(
        &good.cert,
        &garbage,
        &["the TLS key", &garbage_name, "not usable PEM"],
    );
    refuses(
        &good.cert,
        &other.key,
        &["does not fit the certificate", &cert_name],
    );

    let (succeeded, stderr) = run_binary(&["--tls-cert", &cert_name]);
    assert!(
        !succeeded && stderr.contains("--tls-key"),
        "expected --tls-cert without --tls-key to be refused naming --tls-key, got {stderr:?}"
    );
}
