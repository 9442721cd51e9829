//! The doors a client comes through, and the one shape the session sees
//! whichever door it was: a byte stream, as a [`Reader`] and a [`Writer`].
//!
//! Every limit (line length, rate, idle and name timeouts, the write timeout)
//! lives in the session, so a door that hands the session these two halves
//! gets every limit for free, and TCP, TLS and WebSocket clients share one
//! code path and one room. What differs is only how a connection is opened:
//! a TLS handshake, or a bridge between WebSocket messages and lines.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

use crate::web;

/// Which door a client came through: for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Plain TCP: `nc`, telnet, the project's `chat` client.
    Tcp,
    /// TCP with TLS (`--tls-cert`, `--tls-key`).
    Tls,
    /// A WebSocket on the HTTP port (`--http-addr`): the browser page.
    WebSocket,
}

impl Transport {
    /// The transport's name in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }
}

/// The half of a client's byte stream the session reads from.
pub type Reader = Box<dyn AsyncRead + Send + Sync + Unpin>;
/// The half of a client's byte stream the session writes to. `Sync` because
/// a session's methods that take `&self` hold it across an `.await`.
pub type Writer = Box<dyn AsyncWrite + Send + Sync + Unpin>;

/// Work that must run beside the session, in the same task, for as long as
/// the connection lives (a WebSocket's bridge).
pub type Companion = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A connection that came through a door and has not been opened yet: the
/// server admits it (or turns it away) first, so that a handshake that never
/// finishes holds a place only as long as an unnamed client may.
pub enum Arrival {
    /// A plain TCP connection, ready to use.
    Tcp(TcpStream),
    /// A TCP connection to the TLS port, its handshake still to come.
    Tls(TcpStream, TlsAcceptor),
    /// An upgraded WebSocket from the HTTP port (boxed: it is much larger
    /// than a socket, and most arrivals are not WebSockets).
    WebSocket(Box<WebSocket>),
}

/// How long opening a connection may take (a TLS handshake), and how long a
/// WebSocket's bridge waits for a client that takes nothing.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// The TLS handshake's limit: the server uses its name timeout, as the
    /// connection holds a place without having chosen a name.
    pub handshake: Duration,
    /// The write timeout.
    pub write: Duration,
}

/// An opened connection: the two halves for the session, and for a
/// WebSocket the bridge that must run beside it.
pub struct Opened {
    /// What the client sends, as bytes.
    pub reader: Reader,
    /// What the client is sent, as bytes.
    pub writer: Writer,
    /// The bridge, if this transport has one.
    pub companion: Option<Companion>,
}

impl Arrival {
    /// Which door this connection came through.
    pub fn transport(&self) -> Transport {
        match self {
            Arrival::Tcp(_) => Transport::Tcp,
            Arrival::Tls(..) => Transport::Tls,
            Arrival::WebSocket(_) => Transport::WebSocket,
        }
    }

    /// Opens the connection: runs the TLS handshake (a client that does not
    /// finish it in time is dropped), or builds the WebSocket's bridge.
    pub async fn open(self, timeouts: Timeouts) -> io::Result<Opened> {
        let (reader, writer, companion): (Reader, Writer, _) = match self {
            Arrival::Tcp(stream) => {
                let (reader, writer) = stream.into_split();
                (Box::new(reader), Box::new(writer), None)
            }
            Arrival::Tls(stream, acceptor) => {
                // A plaintext client fails here, with an error and no reply:
                // what it sent is not a TLS record, so it is told nothing.
                let stream = timeout(timeouts.handshake, acceptor.accept(stream))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"))??;
                let (reader, writer) = tokio::io::split(stream);
                (Box::new(reader), Box::new(writer), None)
            }
            Arrival::WebSocket(socket) => {
                let (reader, writer, bridge) = web::bridge(*socket, timeouts.write);
                (reader, writer, Some(bridge))
            }
        };
        Ok(Opened {
            reader,
            writer,
            companion,
        })
    }
}

/// Opens `arrival` and runs `session` over it, in this task; a WebSocket's
/// bridge runs beside it, so that whoever waits for this task (the shutdown)
/// waits for the bridge's last message and close frame too.
pub async fn serve<S, F>(arrival: Arrival, timeouts: Timeouts, session: S)
where
    S: FnOnce(Reader, Writer) -> F,
    F: Future<Output = ()>,
{
    let opened = match arrival.open(timeouts).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::debug!(%error, "could not open the connection");
            return;
        }
    };
    let session = session(opened.reader, opened.writer);
    match opened.companion {
        Some(companion) => {
            tokio::join!(session, companion);
        }
        None => session.await,
    }
}
