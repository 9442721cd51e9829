//! A connection's life as types: the typestate pattern (pattern 18).
//!
//! A client first has no name, then a name, then a room. Each of those is a
//! type, and each method exists only on the states where it makes sense: a
//! `Connection<Unauthenticated>` has no `name()`, and only a
//! `Connection<InRoom>` can receive the room's messages. Moving to the next
//! state consumes the old value. In this stage each client's task walks
//! through the states from top to bottom, so the types read like the story
//! of the connection.

use tokio::sync::broadcast;

use crate::UserId;
use crate::room::Delivery;

// ANCHOR: states
/// The client has connected and not yet chosen a name.
#[derive(Debug)]
pub struct Unauthenticated;

/// The client has a name and is between rooms.
#[derive(Debug)]
pub struct Authenticated {
    name: String,
}

/// The client has a name and is in a room, with handles on its channel.
#[derive(Debug)]
pub struct InRoom {
    name: String,
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

/// The states in which a client has a name.
pub trait Named {
    /// The client's name.
    fn name(&self) -> &str;
}

impl Named for Authenticated {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for InRoom {
    fn name(&self) -> &str {
        &self.name
    }
}

impl<S: Named> Connection<S> {
    /// The client's name: only a named connection has one.
    pub fn name(&self) -> &str {
        self.state.name()
    }
}

// ANCHOR: transitions
impl Connection<Unauthenticated> {
    /// A new connection, which must choose a name before anything else.
    pub fn new(id: UserId) -> Self {
        Connection {
            id,
            state: Unauthenticated,
        }
    }

    /// The client has a valid, free name; the caller has checked both.
    pub fn authenticate(self, name: String) -> Connection<Authenticated> {
        Connection {
            id: self.id,
            state: Authenticated { name },
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

    /// The client is now in another room; the old membership is dropped,
    /// which unsubscribes from the old room.
    pub fn move_to(&mut self, membership: Membership) {
        self.state.membership = membership;
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
            },
        }
    }
}
// ANCHOR_END: transitions
