//! A line client for every stage of the chat: what you type is sent, what the
//! server sends is printed as it arrives. It does what `nc HOST PORT` does, on
//! machines without `nc` (Windows, for one).
//!
//! ```text
//! cargo chat 127.0.0.1:8080
//! cargo chat --tls --ca cert.pem localhost:8080     # stage 6 with --tls-cert
//! cargo chat --ws ws://127.0.0.1:8081/ws            # stage 6 with --http-addr
//! ```
//!
//! Ctrl+C closes the connection and exits. When standard input ends (a file or
//! a pipe), the client says so to the server, as `nc -N` does, and prints what
//! the server still sends until it closes the connection.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chat_tools::connect::{ConnectError, Door, Reader, Writer, strip_port, tls_connector};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::lookup_host;

/// The longest line printed in one piece; a longer one is printed in pieces,
/// so that a server cannot make the client hold more than this.
const MAX_LINE: u64 = 64 * 1024;

/// Connects to a chat server; prints what it sends, sends what you type.
#[derive(Debug, Parser)]
#[command(name = "chat", version)]
struct Args {
    /// The server's address, as HOST:PORT.
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,

    /// Speak TLS, checking that the server's certificate names HOST.
    #[arg(long)]
    tls: bool,

    /// Trust the PEM certificate(s) in this file too, besides Mozilla's root
    /// authorities (which are built in): a self-signed server's own
    /// certificate, say. For --tls and wss:// URLs.
    #[arg(long, value_name = "PATH")]
    ca: Option<PathBuf>,

    /// Chat over a WebSocket at this URL (ws:// or wss://) instead of ADDR:
    /// one text message per line.
    #[arg(long, value_name = "URL", conflicts_with_all = ["addr", "tls"])]
    ws: Option<String>,
}

#[tokio::main]
async fn main() {
    let code = match connect(&Args::parse()).await {
        Ok(()) => 0,
        Err(error) => {
            // `{:#}` prints the whole chain: "cannot connect to …: refused".
            // std's stderr writes at once; tokio's would still be writing on
            // a background thread when `exit` below ends the process.
            eprintln!("chat: {error:#}");
            1
        }
    };
    // Exit now: returning would drop the runtime, which waits for its thread
    // still blocked reading the terminal, until the user pressed Enter.
    std::process::exit(code);
}

/// Connects as `args` say, then chats.
async fn connect(args: &Args) -> anyhow::Result<()> {
    let secure_ws = args
        .ws
        .as_deref()
        .is_some_and(|url| url.starts_with("wss://"));
    if args.ca.is_some() && !args.tls && !secure_ws {
        bail!("--ca is for --tls or a wss:// URL: only TLS checks a certificate");
    }
    let (doors, shown) = match &args.ws {
        Some(url) => (websocket(url, args).await?, url),
        None => {
            let tls = args.tls.then(|| tls_connector(args.ca.as_deref()));
            let tls = tls.transpose()?;
            let host = strip_port(&args.addr);
            let doors = resolve(&args.addr)
                .await?
                .into_iter()
                .map(|addr| match &tls {
                    Some(connector) => Door::tls(addr, host, connector.clone()),
                    None => Door::tcp(addr),
                });
            (doors.collect(), &args.addr)
        }
    };
    let (from_server, to_server) = open(&doors)
        .await
        .with_context(|| format!("cannot connect to {shown}"))?;
    chat(from_server, to_server).await
}

/// Opens the first of `doors` whose address takes a connection, as `nc`
/// does: `localhost` is often `::1` first, where a server listening on
/// 127.0.0.1 is not. A TLS or WebSocket failure is a server's answer, and
/// final.
async fn open(doors: &[Door]) -> Result<(Reader, Writer), ConnectError> {
    let nowhere = io::Error::new(io::ErrorKind::NotFound, "it resolves to no address");
    let mut refused = ConnectError::Connect(nowhere);
    for door in doors {
        match door.connect().await {
            Err(error @ ConnectError::Connect(_)) => refused = error,
            opened => return opened,
        }
    }
    Err(refused)
}

/// The doors to the WebSocket at `url`, inside TLS for `wss://`: one per
/// address of its host.
async fn websocket(url: &str, args: &Args) -> anyhow::Result<Vec<Door>> {
    let (secure, rest) = match url.split_once("://") {
        Some(("ws", rest)) => (false, rest),
        Some(("wss", rest)) => (true, rest),
        _ => bail!("--ws takes a ws:// or wss:// URL, like ws://127.0.0.1:8081/ws; got {url:?}"),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let has_port = strip_port(authority) != authority.trim_start_matches('[').trim_end_matches(']');
    let host_port = match (has_port, secure) {
        (true, _) => authority.to_owned(),
        (false, false) => format!("{authority}:80"),
        (false, true) => format!("{authority}:443"),
    };
    let tls = secure
        .then(|| tls_connector(args.ca.as_deref()))
        .transpose()?;
    let addrs = resolve(&host_port).await?.into_iter();
    Ok(addrs
        .map(|addr| Door::websocket(addr, url, tls.clone()))
        .collect())
}

/// Every address `host_port` resolves to, in the resolver's order.
async fn resolve(host_port: &str) -> anyhow::Result<Vec<SocketAddr>> {
    let addrs = lookup_host(host_port)
        .await
        .with_context(|| format!("cannot connect to {host_port}: no such address"))?;
    Ok(addrs.collect())
}

// ANCHOR: chat
/// Copies lines both ways until the server closes the connection or the user
/// presses Ctrl+C.
async fn chat(from_server: Reader, mut to_server: Writer) -> anyhow::Result<()> {
    let mut from_server = BufReader::new(from_server);
    let mut received = Vec::new();
    let mut typed = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut typing = true;
    loop {
        tokio::select! {
            // `read_until` into a buffer kept between rounds is cancel-safe:
            // bytes read before another branch wins stay in `received`.
            read = async {
                let room = MAX_LINE.saturating_sub(received.len() as u64);
                (&mut from_server).take(room).read_until(b'\n', &mut received).await
            } => {
                if read.context("reading from the server")? == 0 {
                    if !received.is_empty() {
                        // The last line, cut off by the close.
                        let text = String::from_utf8_lossy(&received);
                        stdout.write_all(format!("{text}\n").as_bytes()).await?;
                    }
                    stdout.write_all(b"* the server closed the connection\n").await?;
                    stdout.flush().await?;
                    return Ok(());
                }
                let whole = received.ends_with(b"\n");
                if whole || received.len() as u64 >= MAX_LINE {
                    // Whatever the server sends is shown; bytes that are not
                    // UTF-8 become U+FFFD instead of ending the client.
                    let mut text = String::from_utf8_lossy(&received).into_owned();
                    if !whole {
                        text.push('\n');
                    }
                    stdout.write_all(text.as_bytes()).await?;
                    stdout.flush().await?;
                    received.clear();
                }
            }
            line = typed.next_line(), if typing => match line.context("reading what you type")? {
                Some(line) => {
                    // `lines()` dropped the line ending; telnet would send
                    // "\r\n", nc sends "\n": every stage accepts both.
                    to_server.write_all(format!("{line}\n").as_bytes()).await?;
                    // TLS and WebSocket may hold a line until flushed.
                    to_server.flush().await?;
                }
                None => {
                    // End of input: tell the server, keep reading its answers.
                    typing = false;
                    to_server.shutdown().await?;
                }
            },
            signal = tokio::signal::ctrl_c() => {
                signal.context("listening for Ctrl+C")?;
                to_server.shutdown().await?;
                return Ok(());
            }
        }
    }
}
// ANCHOR_END: chat

#[cfg(test)]
mod tests {
    use chat_harness::read_timeout;
    use tokio::net::TcpListener;
    use tokio::time::timeout;

    use super::*;

    /// An address where nothing listens: a free port, bound and given back.
    fn nobody_listening() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    #[tokio::test]
    async fn an_address_that_refuses_is_skipped_for_the_next() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let (refusing, listening) = (nobody_listening(), listener.local_addr().unwrap());
        let doors = [Door::tcp(refusing), Door::tcp(listening)];
        let opened = timeout(read_timeout(), open(&doors)).await;
        if let Ok(Err(error)) = &opened {
            panic!("open() should skip {refusing} and connect to {listening}; it failed: {error}");
        }
        assert!(opened.is_ok(), "open() took over {:?}", read_timeout());
        let accepted = timeout(read_timeout(), listener.accept()).await;
        assert!(
            matches!(accepted, Ok(Ok(_))),
            "{listening} should have been connected to by open()"
        );
    }

    #[tokio::test]
    async fn when_every_address_refuses_the_refusal_is_the_error() {
        let refusing = nobody_listening();
        match open(&[Door::tcp(refusing)]).await {
            Err(ConnectError::Connect(error))
                if error.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(error) => panic!("{refusing} refuses, so open() should say so; it said: {error}"),
            Ok(_) => panic!("nothing listens on {refusing}, yet open() connected"),
        }
        let none = open(&[]).await.err().map(|error| error.to_string());
        assert_eq!(none.as_deref(), Some("it resolves to no address"));
    }
}
