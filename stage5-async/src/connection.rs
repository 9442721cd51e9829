//! A connection's life as types: the typestate pattern (pattern 18).
//!
//! A client first has no name, then a name, then a room. Each of those is a
//! type, and each method exists only on the states where it makes sense: a
//! `Connection<Unauthenticated>` has no `name()`, and only a
//! `Connection<InRoom>` has a `room()`. Moving to the next state consumes the
//! old value, so code cannot keep using a state it has left. Mistakes the
//! compiler rejects need no test and no runtime check.

use tokio::sync::broadcast;

use crate::UserId;
use crate::room::Delivery;

// ANCHOR: states
/// The client has connected and not yet chosen a name.
#[derive(Debug)]
pub struct Unauthenticated;

/// The client has a name, and proved it an admin's if it is one; it is
/// between rooms.
#[derive(Debug)]
pub struct Authenticated {
    name: String,
    admin: bool,
}

/// The client has a name and is in a room.
#[derive(Debug)]
pub struct InRoom {
    name: String,
    admin: bool,
    membership: Membership,
}

/// A place in a room: its name, and both ends of its channel.
#[derive(Debug)]
pub struct Membership {
    /// The room's name.
    pub room: String,
    /// Sends to everyone in the room, without taking any lock.
    pub sender: broadcast::Sender<Delivery>,
    /// Receives what everyone in the room sends.
    pub receiver: broadcast::Receiver<Delivery>,
}

/// One client's place in the chat, in state `S`.
#[derive(Debug)]
pub struct Connection<S> {
    id: UserId,
    state: S,
}
// ANCHOR_END: states

impl<S> Connection<S> {
    /// Which connection this is.
    pub fn id(&self) -> UserId {
        self.id
    }
}

// ANCHOR: named
/// The states in which a client has a name.
pub trait Named {
    /// The client's name.
    fn name(&self) -> &str;
    /// Whether the client proved to be an admin when it chose its name.
    fn is_admin(&self) -> bool;
}

impl Named for Authenticated {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_admin(&self) -> bool {
        self.admin
    }
}

impl Named for InRoom {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_admin(&self) -> bool {
        self.admin
    }
}

impl<S: Named> Connection<S> {
    /// The client's name: only a named connection has one.
    pub fn name(&self) -> &str {
        self.state.name()
    }

    /// Whether the client may act as an admin: a capability proved once, with
    /// the admin password, and kept across renames.
    pub fn is_admin(&self) -> bool {
        self.state.is_admin()
    }
}
// ANCHOR_END: named

// ANCHOR: transitions
impl Connection<Unauthenticated> {
    /// A new connection, which must choose a name before anything else.
    pub fn new(id: UserId) -> Self {
        Connection {
            id,
            state: Unauthenticated,
        }
    }

    /// The client has a valid, free name, and `admin` says whether it gave
    /// the admin password with it; the caller has checked all of that.
    pub fn authenticate(self, name: String, admin: bool) -> Connection<Authenticated> {
        Connection {
            id: self.id,
            state: Authenticated { name, admin },
        }
    }
}

impl Connection<Authenticated> {
    /// The client is now a member of a room.
    pub fn enter(self, membership: Membership) -> Connection<InRoom> {
        Connection {
            id: self.id,
            state: InRoom {
                name: self.state.name,
                admin: self.state.admin,
                membership,
            },
        }
    }
}

impl Connection<InRoom> {
    /// The room the client is in.
    pub fn room(&self) -> &str {
        &self.state.membership.room
    }

    /// The room's channel, to send and receive.
    pub fn membership(&mut self) -> &mut Membership {
        &mut self.state.membership
    }

    /// The client is now in another room; returns the old membership, whose
    /// receiver may still hold lines the old room sent.
    pub fn move_to(&mut self, membership: Membership) -> Membership {
        std::mem::replace(&mut self.state.membership, membership)
    }

    /// Replaces the client's name; the caller has checked the new one.
    pub fn rename(&mut self, name: String) {
        self.state.name = name;
    }

    /// The client is no longer in any room.
    pub fn leave(self) -> Connection<Authenticated> {
        Connection {
            id: self.id,
            state: Authenticated {
                name: self.state.name,
                admin: self.state.admin,
            },
        }
    }
}
// ANCHOR_END: transitions
