//! The HTTP port's connections, each one bounded.
//!
//! `axum::serve` would accept every connection, however many, and wait for
//! a request's headers forever. Anyone can reach this port, so it treats
//! every connection as hostile until it has sent a request:
//!
//! - **Places.** At most [`Limits::max_connections`] connections at once,
//!   and [`Limits::max_per_address`] from one address; a connection over
//!   either cap is closed at once, before anything is read from it. Its
//!   places are taken before any TLS handshake, and they travel with its
//!   stream ([`Admitted`]): a WebSocket keeps them until its session ends.
//! - **Time.** A TLS handshake, and then each request's headers, must arrive
//!   within [`Limits::header_timeout`]. hyper starts that clock whenever it
//!   waits for a request, so it also closes a kept-alive connection that
//!   sends nothing more.
//! - **Memory.** hyper buffers at most [`MAX_BUFFER`] bytes of a request's
//!   head, so a connection's buffer stays small however much it sends.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;
use tracing::{debug, warn};

use crate::ServerConfig;
use crate::addresses::{AddressPlace, Addresses};

/// The most bytes hyper buffers for one connection: a browser's request
/// head is a few hundred bytes; a longer one is refused (431).
const MAX_BUFFER: usize = 16 * 1024;

/// How many connections the HTTP port holds, and for how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most connections at once, TLS handshakes and WebSockets included.
    pub max_connections: usize,
    /// Most connections from one IP address at once.
    pub max_per_address: usize,
    /// How long a client may take for its TLS handshake, then for each
    /// request's headers, and how long a kept-alive connection may idle.
    pub header_timeout: Duration,
}

impl Limits {
    /// Twice the chat's caps: room for every chat connection to be a
    /// WebSocket (each of which holds an HTTP place too) and as many again
    /// for loading the page. Headers have as long as a name: `name_timeout`.
    pub fn new(config: &ServerConfig) -> Self {
        Limits {
            max_connections: config
                .max_users
                .saturating_mul(2)
                .min(Semaphore::MAX_PERMITS),
            max_per_address: config.max_per_address.saturating_mul(2),
            header_timeout: config.name_timeout,
        }
    }
}

/// Serves `app` to each connection to `listener` (over TLS if `tls` is
/// given) within `limits`, until `stop` becomes `true`; then stops accepting
/// and lets each connection finish the request it is on.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let places = Arc::new(Semaphore::new(limits.max_connections));
    // A table of its own, not the chat's: an HTTP connection never chooses a
    // name, and counted with the chat's, a browser's page load and its
    // WebSocket would take two of its address's places for one user.
    let addresses = Addresses::new(limits.max_per_address, limits.max_per_address);
    // Each connection's task, so that a shutdown can wait for them, and
    // dropping this set (when the server cuts a late shutdown) ends them.
    let mut connections = JoinSet::new();
    let shutdown = stopped(stop.clone());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Some((stream, peer)) = arrived(accepted).await else { continue };
                let Some(held) = admit(&places, &addresses, peer) else {
                    // Dropping the stream closes it: nothing read, nothing said.
                    continue;
                };
                let (tls, app, stop) = (tls.clone(), app.clone(), stop.clone());
                let stream = Arrived { stream, peer, places: held };
                connections.spawn(connection(stream, tls, app, limits.header_timeout, stop));
            }
            // Ended connections are collected as they end: the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Each connection sees `stop` too: idle ones close at once.
    while connections.join_next().await.is_some() {}
}

/// Completes once `stop` becomes `true` (or the server is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopped| stopped).await;
}

/// A connection just accepted, or `None` after an error (and a pause).
async fn arrived(accepted: io::Result<(TcpStream, SocketAddr)>) -> Option<(TcpStream, SocketAddr)> {
    match accepted {
        Ok((stream, peer)) => {
            let _ = stream.set_nodelay(true);
            Some((stream, peer))
        }
        Err(error) => {
            // Typically "too many open files": back off.
            warn!(%error, "HTTP accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// A connection's two places: one under `max_connections`, one among its
/// address's. Both are given back when this is dropped (pattern 9, RAII).
struct Places {
    _connection: OwnedSemaphorePermit,
    _address: AddressPlace,
}

/// Both places for a connection from `peer`, without waiting, or `None`.
fn admit(places: &Arc<Semaphore>, addresses: &Addresses, peer: SocketAddr) -> Option<Places> {
    let address = match addresses.admit(peer.ip()) {
        Ok(address) => address,
        Err(too_many) => {
            // `debug!`, not `warn!`: a crowd would flood the log otherwise.
            debug!(%peer, %too_many, "HTTP connection refused");
            return None;
        }
    };
    let Ok(connection) = Arc::clone(places).try_acquire_owned() else {
        debug!(%peer, "HTTP connection refused: the port is full");
        return None;
    };
    Some(Places {
        _connection: connection,
        _address: address,
    })
}

/// An admitted connection, not yet served.
struct Arrived {
    stream: TcpStream,
    peer: SocketAddr,
    places: Places,
}

/// Serves one connection: its TLS handshake if `tls`, then HTTP/1.1 with
/// `header_timeout`, until it closes or is upgraded; once `stop` becomes
/// `true`, it finishes the request it is on and closes (at once if idle).
async fn connection(
    arrived: Arrived,
    tls: Option<TlsAcceptor>,
    app: Router,
    header_timeout: Duration,
    stop: watch::Receiver<bool>,
) {
    let Arrived {
        stream,
        peer,
        places,
    } = arrived;
    let Some(stream) = handshake(stream, peer, tls, header_timeout).await else {
        return;
    };
    let io = TokioIo::new(Admitted {
        stream,
        _places: places,
    });
    // The handlers learn the client's address as `ConnectInfo`, as
    // `axum::serve` would tell them. hyper calls with `&self`, the router
    // needs `&mut self`: hence a clone per request (a few `Arc`s).
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    });
    let http = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_BUFFER)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(http);
    let ended = tokio::select! {
        ended = http.as_mut() => Some(ended),
        () = stopped(stop) => None,
    };
    let ended = match ended {
        Some(ended) => ended,
        None => {
            http.as_mut().graceful_shutdown();
            http.await
        }
    };
    if let Err(error) = ended {
        debug!(%peer, %error, "HTTP connection ended");
    }
}

/// The connection's stream, after its TLS handshake if the port speaks TLS;
/// `None` if the handshake failed or took longer than `limit`.
async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    limit: Duration,
) -> Option<Box<dyn Stream>> {
    let Some(acceptor) = tls else {
        return Some(Box::new(stream));
    };
    match timeout(limit, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(Box::new(stream)),
        Ok(Err(error)) => {
            debug!(%peer, %error, "HTTPS handshake failed");
            None
        }
        Err(_) => {
            debug!(%peer, "HTTPS handshake timed out");
            None
        }
    }
}

/// Any stream HTTP can run over: plain TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A connection's stream that holds its places: wherever the stream goes
/// (into hyper, then, upgraded, into a WebSocket session in the server's
/// `JoinSet`), its places go too, and come back when it is dropped.
struct Admitted {
    stream: Box<dyn Stream>,
    _places: Places,
}

// Reading and writing are the stream's own: `Admitted` only adds the places.
impl AsyncRead for Admitted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
