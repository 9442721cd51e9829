//! The HTTP door (`--http-addr`): the chat page, the WebSocket endpoint that
//! speaks the line protocol, and the metrics, served with axum.
//!
//! A browser cannot open a raw TCP connection, so the page talks to the
//! server over a WebSocket, one text message per line. axum does the HTTP
//! and the WebSocket handshake; the upgraded socket is then handed to the
//! server's accept loop and admitted like any TCP connection, and its
//! session runs in the server's `JoinSet`, so a shutdown waits for it too.
//! Each HTTP connection is bounded in number and in time (`connections`).

mod bridge;
mod connections;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

pub use self::bridge::bridge;
pub use self::connections::Limits;
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
}

/// Serves the page, `/ws` and `/metrics` on `listener` (over TLS if `tls`
/// is given), each connection within `limits`, until `stop` becomes `true`;
/// then it stops accepting.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    door: Door,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/", get(page))
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(door);
    // Not `axum::serve`, which bounds neither the connections nor the time
    // their headers take: see `connections`.
    connections::serve(listener, tls, app, limits, stop).await;
}

// ANCHOR: serve_metrics
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
// ANCHOR_END: serve_metrics

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
    let content_type = crate::metrics::CONTENT_TYPE;
    ([(header::CONTENT_TYPE, content_type)], metrics.render()).into_response()
}

/// Anything else: 404, said plainly.
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// `GET /ws`: upgrades to a WebSocket and hands it to the server.
async fn websocket(
    State(door): State<Door>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
