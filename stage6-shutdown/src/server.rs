//! The accept loop, the state every client's task shares, and shutdown.
//!
//! Clients come through any of the server's [`Doors`] (TCP, TLS, WebSocket),
//! and every one is admitted in the same place, `admit`, before any
//! handshake: places are counted once, whatever the transport.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, interval, timeout};
use tracing::{Instrument, error, info, info_span, warn};

use crate::addresses::Addresses;
use crate::backend::{self, Inbound, Local, RoomBackend};
use crate::directory::Directory;
use crate::history::{History, InMemoryHistory};
use crate::metrics::Metrics;
use crate::transport::{self, Arrival, Timeouts};
use crate::{FilterChain, ServerConfig, client, web};
use tokio_rustls::TlsAcceptor;

/// Where clients come in: the TCP port (plain or TLS), and optionally the
/// HTTP port with the page and the WebSocket endpoint.
pub struct Doors {
    /// The line protocol's port.
    pub tcp: TcpListener,
    /// If set, the TCP port speaks TLS, and so does the HTTP port.
    pub tls: Option<TlsAcceptor>,
    /// The HTTP port: the chat page, `/ws` and `/metrics`.
    pub http: Option<TcpListener>,
}

/// Plain TCP only, as in the chapters before: `run(listener, …)` works.
impl From<TcpListener> for Doors {
    fn from(tcp: TcpListener) -> Self {
        Doors {
            tcp,
            tls: None,
            http: None,
        }
    }
}

/// What the server uses besides its configuration: the parts one might swap.
pub struct Services {
    /// The filters every chat message passes.
    pub filters: FilterChain,
    /// Where rooms remember their recent messages.
    pub history: Arc<dyn History>,
    /// The counters the metrics endpoint shows.
    pub metrics: Arc<Metrics>,
    /// Where rooms meet other servers: nowhere ([`Local`]) by default.
    pub backend: Arc<dyn RoomBackend>,
    /// What the other servers say through `backend`; `run` takes it.
    pub inbound: Option<mpsc::Receiver<Inbound>>,
}

impl Services {
    /// No filters, history in memory as long as `config` says, fresh metrics,
    /// no other servers.
    pub fn new(config: &ServerConfig) -> Self {
        Services {
            filters: FilterChain::default(),
            history: Arc::new(InMemoryHistory::new(config.history_len)),
            metrics: Arc::new(Metrics::default()),
            backend: Arc::new(Local),
            inbound: None,
        }
    }
}

// ANCHOR: shared
/// What every client's task shares, behind one `Arc` (pattern 19).
pub struct Shared {
    /// The limits, read-only: no lock needed.
    pub config: ServerConfig,
    /// Filters, history and metrics.
    pub services: Services,
    /// Becomes `true` once the server shuts down (pattern 20: a `watch`
    /// channel holds one value that every task can wait to see change).
    pub stop: watch::Receiver<bool>,
    /// Rooms and names, in a `std::sync::RwLock` held for a few microseconds
    /// and never across an `.await` (stage 5 measured it against a `Mutex`).
    directory: RwLock<Directory>,
    /// How many connections each client address holds.
    addresses: Addresses,
}
// ANCHOR_END: shared

impl Shared {
    /// Locks the directory for reading (`/list`, `/rooms`), which other
    /// readers may do at the same time, for one statement or block.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        // A task that panicked while holding the lock "poisons" it. Every
        // change to the directory is a few plain assignments, and the server
        // should go on serving the others, so the lock is taken anyway.
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the directory for changing it: nobody else holds it meanwhile.
    pub fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        self.directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

// ANCHOR: bind
/// A listener on `addr` whose queue of connections not yet accepted holds
/// `backlog` of them (the kernel caps it at `net.core.somaxconn`).
///
/// `TcpListener::bind` asks for a queue of 128, and a burst of thousands of
/// clients connecting at once then overflows it: their handshakes are dropped
/// and retried a second later.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // Restarting the server must not wait for old connections to time out.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}
// ANCHOR_END: bind

// ANCHOR: run
// ANCHOR: run_loop
/// Serves clients until `shutdown` completes, then shuts down gracefully:
/// stops accepting, lets every client deliver what its room already sent and
/// say goodbye, and returns once all are done or `shutdown_timeout` has
/// passed, whichever comes first.
///
/// `shutdown` is any future: `main` passes Ctrl+C or SIGTERM, a test passes
/// a channel it controls. `doors` is a `TcpListener`, or [`Doors`] to open more.
pub async fn run(
    doors: impl Into<Doors>,
    config: ServerConfig,
    mut services: Services,
    shutdown: impl Future<Output = ()>,
) {
    let Doors { tcp, tls, http } = doors.into();
    // With other servers ("Going further: beyond one machine"), what they say.
    let inbound = services.inbound.take();
    let (stop, stop_seen) = watch::channel(false);
    // One permit per allowed user; each client's task holds one.
    let places = Arc::new(Semaphore::new(config.max_users));
    let shared = Arc::new(Shared {
        directory: RwLock::new(Directory::new(
            config.clone(),
            Arc::clone(&services.metrics),
            Arc::clone(&services.backend),
        )),
        addresses: Addresses::new(config.max_per_address, config.max_unnamed_per_address),
        config,
        services,
        stop: stop_seen,
    });
    // Every client's task, so that shutdown can wait for them (or cut them).
    let mut clients = JoinSet::new();
    if let Some(inbound) = inbound {
        // A task that applies it to the directory, stopped like the clients.
        clients.spawn(backend::relay(inbound, Arc::clone(&shared)));
    }
    let mut websockets = open_http(http, tls.clone(), &shared, &mut clients);
    let mut second = interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // ANCHOR: run_select
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = tcp.accept() => {
                if let Some((arrival, peer)) = arrive(accepted, &tls).await {
                    admit(arrival, peer, &shared, &places, &mut clients);
                }
            }
            Some((socket, peer)) = websockets.recv() => {
                admit(Arrival::WebSocket(Box::new(socket)), peer, &shared, &places, &mut clients);
            }
            _ = second.tick() => {
                shared.directory_mut().summarize();
            }
            // Finished tasks are collected as they end, so the set stays small.
            Some(ended) = clients.join_next(), if !clients.is_empty() => {
                if let Err(error) = ended
                    && error.is_panic()
                {
                    // A bug: the client's connection is gone, the server goes on.
                    error!(%error, "a client's task panicked");
                }
            }
            () = &mut shutdown => break,
        }
    }
    shut_down(tcp, &shared, &stop, &mut clients).await;
    // ANCHOR_END: run_select
}
// ANCHOR_END: run_loop

/// A connection accepted on the TCP port, plain or TLS as the port speaks,
/// or `None` after an error (and a pause).
async fn arrive(
    accepted: io::Result<(TcpStream, SocketAddr)>,
    tls: &Option<TlsAcceptor>,
) -> Option<(Arrival, SocketAddr)> {
    match accepted {
        Ok((stream, peer)) => {
            // Chat lines are small and latency matters: send each at once.
            let _ = stream.set_nodelay(true);
            let arrival = match tls {
                Some(acceptor) => Arrival::Tls(stream, acceptor.clone()),
                None => Arrival::Tcp(stream),
            };
            Some((arrival, peer))
        }
        Err(error) => {
            // Typically "too many open files": back off.
            warn!(%error, "accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// Opens the HTTP door, if there is one, as a task in `clients` (a shutdown
/// waits for it to stop accepting); returns where its WebSockets arrive.
fn open_http(
    http: Option<TcpListener>,
    tls: Option<TlsAcceptor>,
    shared: &Arc<Shared>,
    clients: &mut JoinSet<()>,
) -> mpsc::Receiver<(axum::extract::ws::WebSocket, SocketAddr)> {
    let (arrivals, websockets) = mpsc::channel(64);
    if let Some(listener) = http {
        let door = web::Door {
            arrivals,
            metrics: Arc::clone(&shared.services.metrics),
            max_line_len: shared.config.max_line_len,
        };
        let limits = web::Limits::new(&shared.config);
        let stop = shared.stop.clone();
        clients.spawn(web::serve(listener, tls, door, limits, stop));
    }
    websockets
}

/// The longest a connection being turned away gets for its TLS handshake.
const REFUSAL_HANDSHAKE: Duration = Duration::from_secs(2);

// ANCHOR: admit
/// Gives an arrived connection, from any door, a task of its own in
/// `clients`: a client's task if there is a place for it under `max_users`,
/// else a short one that turns it away. Nothing has been read from it yet:
/// its TLS handshake, if any, runs in its task, and counts against the
/// name timeout like a client that has not chosen a name.
fn admit(
    arrival: Arrival,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    places: &Arc<Semaphore>,
    clients: &mut JoinSet<()>,
) {
    let transport = arrival.transport();
    let span = info_span!("client", %peer, transport = transport.as_str());
    let timeouts = Timeouts {
        handshake: shared.config.name_timeout,
        write: shared.config.write_timeout,
    };
    // ANCHOR: admit_place
    let max_users = shared.config.max_users;
    let free_place = || Arc::clone(places).try_acquire_owned().ok();
    let (place, address) = match shared.addresses.place_for(peer.ip(), max_users, free_place) {
        Ok(places) => places,
        Err(refusal) => {
            let refuse = move |reader, writer| client::turn_away(reader, writer, refusal);
            // A refusal holds no place, so its handshake gets little time: a
            // crowd of them cannot pile up while the server is full.
            let timeouts = Timeouts {
                handshake: timeouts.handshake.min(REFUSAL_HANDSHAKE),
                ..timeouts
            };
            clients.spawn(transport::serve(arrival, timeouts, refuse).instrument(span));
            return;
        }
    };
    let shared = Arc::clone(shared);
    let session =
        move |reader, writer| client::serve(shared, transport, (reader, writer), place, address);
    clients.spawn(transport::serve(arrival, timeouts, session).instrument(span));
    // ANCHOR_END: admit_place
}
// ANCHOR_END: admit

/// Shuts down gracefully, within `shutdown_timeout`: no new connections, and
/// every client's task told through `stop`, then waited for.
async fn shut_down(
    listener: TcpListener,
    shared: &Shared,
    stop: &watch::Sender<bool>,
    clients: &mut JoinSet<()>,
) {
    // Exercise 6.2: see "Your job" in chapter 6.
    // ANCHOR: exercise_6_2
    // New connections are refused from here on.
    drop(listener);
    info!(clients = clients.len(), "shutting down");
    shared.directory_mut().close();
    // Every task waiting on `stop` wakes up and starts its goodbye.
    let _ = stop.send(true);
    let limit = shared.config.shutdown_timeout;
    let all_done = async { while clients.join_next().await.is_some() {} };
    if timeout(limit, all_done).await.is_err() {
        warn!(
            left = clients.len(),
            ?limit,
            "shutdown deadline passed; cutting the remaining connections"
        );
        clients.shutdown().await;
    }
    info!("shut down");
    // ANCHOR_END: exercise_6_2
}
// ANCHOR_END: run
