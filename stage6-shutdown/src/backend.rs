//! Rooms that reach beyond one server: the room backend (pattern 21 again).
//!
//! One server keeps every room in its directory. Several servers behind
//! a load balancer must share them: a line said on one reaches the room's
//! members on all of them, a name is taken on all of them, `/list` shows
//! everyone. [`RoomBackend`] is where a server meets the others:
//! [`Local`], the default, has no others; [`RedisBackend`] (`--redis-url`)
//! meets them through Redis.
//!
//! The directory stays the authority for this server's own users, and never
//! waits for the backend: what it tells the others is queued ([`News`]),
//! what the others say comes back as [`Inbound`] events, which [`relay`]
//! applies to the directory like any local change.

mod redis;

use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::server::Shared;
use crate::{ChatError, UserId};

pub use self::redis::{RedisBackend, RedisError, RedisHistory, RedisOptions};

/// The future each [`RoomBackend`] method returns: boxed, so that the trait
/// can be used as `dyn RoomBackend` (as [`History`](crate::history::History)).
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// ANCHOR: news
/// What this server tells the others. Borrowed: a backend with nobody to
/// tell ([`Local`]) costs nothing, and one that tells encodes it at once.
pub enum News<'a> {
    /// A line said in a room: a chat message with its id, or a notice.
    Said {
        /// The room's name.
        room: &'a str,
        /// The message's id, for a newcomer's de-duplication; `None` for a notice.
        id: Option<u64>,
        /// The whole line, newline included.
        line: &'a str,
    },
    /// A user of this server is now in `room` under `name` (it arrived, moved
    /// or was renamed).
    Present {
        /// Who.
        user: UserId,
        /// Its name now.
        name: &'a str,
        /// Its room now.
        room: &'a str,
    },
    /// A user of this server has left the chat.
    Left {
        /// Who.
        user: UserId,
    },
    /// A user of this server no longer holds `name` (it left, or took another).
    Released {
        /// Who.
        user: UserId,
        /// The name it gave up.
        name: &'a str,
    },
}
// ANCHOR_END: news

/// What the other servers tell this one, applied by [`relay`].
#[derive(Debug)]
pub enum Inbound {
    /// A line said in a room on another server.
    Said {
        /// The room's name.
        room: String,
        /// The message's id; `None` for a notice.
        id: Option<u64>,
        /// The whole line, newline included.
        line: Arc<str>,
    },
    /// An admin on another server kicked a user of this one.
    Kick {
        /// The user to kick.
        name: String,
        /// The admin who kicked.
        by: String,
        /// Why, or empty.
        reason: String,
    },
    /// The other servers became reachable (`true`) or out of reach.
    Reachable(bool),
    /// The backend asks who is on this server, to refresh what the others
    /// know (names expire unless refreshed, so that a server that dies
    /// frees them).
    Roll(oneshot::Sender<Vec<Present>>),
}

/// A user of this server, as [`Inbound::Roll`] lists it.
#[derive(Debug)]
pub struct Present {
    /// Who.
    pub user: UserId,
    /// Its name.
    pub name: String,
    /// Its room.
    pub room: String,
}

// ANCHOR: room_backend
/// Where rooms meet the other servers.
pub trait RoomBackend: Send + Sync {
    /// Claims `name` for `user` on every server; `false` if a user of another
    /// server holds it. This server's own users are the directory's business.
    fn claim<'a>(&'a self, user: UserId, name: &'a str) -> BackendFuture<'a, bool>;

    /// Tells the other servers; never waits.
    fn tell(&self, news: News<'_>);

    /// Every member of the other servers, as `(room, name)`.
    fn elsewhere(&self) -> BackendFuture<'_, Vec<(String, String)>>;

    /// Kicks `name`, a user of another server, if the kicker may (`admin`).
    fn kick<'a>(
        &'a self,
        name: &'a str,
        by: &'a str,
        reason: &'a str,
        admin: bool,
    ) -> BackendFuture<'a, Result<(), ChatError>>;
}
// ANCHOR_END: room_backend

/// The default backend: this server is the only one.
pub struct Local;

impl RoomBackend for Local {
    fn claim<'a>(&'a self, _user: UserId, _name: &'a str) -> BackendFuture<'a, bool> {
        Box::pin(ready(true))
    }

    fn tell(&self, _news: News<'_>) {}

    fn elsewhere(&self) -> BackendFuture<'_, Vec<(String, String)>> {
        Box::pin(ready(Vec::new()))
    }

    fn kick<'a>(
        &'a self,
        name: &'a str,
        _by: &'a str,
        _reason: &'a str,
        _admin: bool,
    ) -> BackendFuture<'a, Result<(), ChatError>> {
        Box::pin(ready(Err(ChatError::NoSuchUser(name.to_owned()))))
    }
}

// ANCHOR: relay
/// Applies what the other servers say to this server's directory, until
/// they go quiet (the backend is gone) or the server shuts down.
pub async fn relay(mut inbound: mpsc::Receiver<Inbound>, shared: Arc<Shared>) {
    let mut stop = shared.stop.clone();
    loop {
        let event = tokio::select! {
            event = inbound.recv() => event,
            _ = stop.changed() => None,
        };
        let Some(event) = event else { return };
        match event {
            Inbound::Said { room, id, line } => shared.directory().deliver(&room, id, line),
            Inbound::Kick { name, by, reason } => {
                shared.directory_mut().kick_here(&name, by, reason);
            }
            Inbound::Reachable(true) => {
                shared
                    .directory()
                    .announce_everywhere("* other servers are reachable again\n");
            }
            Inbound::Reachable(false) => shared.directory().announce_everywhere(
                "* other servers are out of reach; chat on this server goes on\n",
            ),
            Inbound::Roll(answer) => {
                let _ = answer.send(shared.directory().roll());
            }
        }
    }
}
// ANCHOR_END: relay
