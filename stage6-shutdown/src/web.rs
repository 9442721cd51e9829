//! The HTTP door (`--http-addr`): the chat page, the WebSocket endpoint that
//! speaks the line protocol, and the metrics, served with axum.
//!
//! A browser cannot open a raw TCP connection, so the page talks to the
//! server over a WebSocket, one text message per line. axum does the HTTP
//! and the WebSocket handshake; the upgraded socket is then handed to the
//! server's accept loop and admitted like any TCP connection, and its
//! session runs in the server's `JoinSet`, so a shutdown waits for it too.

mod bridge;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

pub use self::bridge::bridge;
use crate::metrics::Metrics;

/// The chat page: one self-contained file, compiled into the binary so that
/// the server needs no files at run time and the page works offline.
const PAGE: &str = include_str!("../static/chat.html");

/// Where the WebSocket endpoint hands an upgraded socket, with its client's
/// address: to the server's accept loop, which admits it.
pub type Arrivals = mpsc::Sender<(WebSocket, SocketAddr)>;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct Door {
    /// Where upgraded WebSockets go.
    pub arrivals: Arrivals,
    /// The counters `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The longest line a client may send, in bytes: the longest text
    /// message, give or take a trailing `\r`.
    pub max_line_len: usize,
    /// How long a TLS handshake on this port may take.
    pub handshake_timeout: Duration,
}

/// Serves the page, `/ws` and `/metrics` on `listener` (over TLS if `tls`
/// is given) until `stopped` completes; then it stops accepting.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    door: Door,
    stopped: impl Future<Output = ()> + Send + 'static,
) {
    let listener = HttpListener {
        tcp: listener,
        tls,
        handshakes: JoinSet::new(),
        handshake_timeout: door.handshake_timeout,
    };
    let app = Router::new()
        .route("/", get(page))
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(door)
        .into_make_service_with_connect_info::<Peer>();
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        warn!(%error, "the HTTP door failed");
    }
}

/// Serves only `/metrics`, for Prometheus on a private port
/// (`--metrics-addr`), for as long as the runtime runs.
pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = Router::new()
        .route("/metrics", get(move || async move { render(&metrics) }))
        .fallback(not_found);
    if let Err(error) = axum::serve(listener, app).await {
        warn!(%error, "the metrics endpoint failed");
    }
}

/// `GET /`: the chat page.
async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /metrics`: the counters, in Prometheus's text format.
async fn metrics(State(door): State<Door>) -> Response {
    render(&door.metrics)
}

/// The metrics as an HTTP response.
fn render(metrics: &Metrics) -> Response {
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], metrics.render()).into_response()
}

/// Anything else: 404, said plainly.
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// `GET /ws`: upgrades to a WebSocket and hands it to the server.
async fn websocket(
    State(door): State<Door>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A message is a line, plus perhaps a '\r'. The library refuses longer
    // ones before buffering them whole (the bridge closes with 1009); the
    // frame limit also leaves room for a close frame's 125 bytes.
    let longest = door.max_line_len + 1;
    upgrade
        .max_message_size(longest)
        .max_frame_size(longest.max(125))
        .on_upgrade(move |socket| async move {
            // Fails only once the server has stopped: the socket is dropped.
            if door.arrivals.send((socket, peer)).await.is_err() {
                debug!(%peer, "a WebSocket arrived after the shutdown");
            }
        })
}

/// The client's address, as the handlers see it.
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, HttpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, HttpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Any stream HTTP can run over: plain TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// The HTTP port's listener, plain or TLS. Each TLS handshake runs in a task
/// of its own, under a timeout: one that never finishes delays nobody else.
struct HttpListener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    handshakes: JoinSet<Option<(Box<dyn Stream>, SocketAddr)>>,
    handshake_timeout: Duration,
}

impl Listener for HttpListener {
    type Io = Box<dyn Stream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both branches are cancel-safe, as axum's shutdown needs.
            tokio::select! {
                accepted = self.tcp.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(connection) => connection,
                        Err(error) => {
                            // Typically "too many open files": back off.
                            warn!(%error, "HTTP accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let Some(acceptor) = &self.tls else {
                        return (Box::new(stream), peer);
                    };
                    let handshake = timeout(self.handshake_timeout, acceptor.accept(stream));
                    self.handshakes.spawn(async move {
                        let stream = handshake.await.ok()?.ok()?;
                        Some((Box::new(stream) as Box<dyn Stream>, peer))
                    });
                }
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}
