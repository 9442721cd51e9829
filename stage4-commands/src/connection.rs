//! A connection's life as types: the typestate pattern (pattern 18).
//!
//! A client first has no name, then a name, then a room. Each of those is a
//! type, and each method exists only on the states where it makes sense: a
//! `Connection<Unauthenticated>` has no `name()`, and only a
//! `Connection<InRoom>` has a `room()`. Moving to the next state consumes the
//! old value, so code cannot keep using a state it has left. Mistakes the
//! compiler rejects need no test and no runtime check.

use std::cell::RefCell;
use std::fmt::Display;
use std::rc::Rc;

use crate::RoomId;
use crate::outbox::Outbox;

// ANCHOR: states
/// The client has connected and not yet chosen a name.
#[derive(Debug)]
pub struct Unauthenticated;

/// The client has a name and is between rooms.
#[derive(Debug)]
pub struct Authenticated {
    name: String,
}

/// The client has a name and is in a room.
#[derive(Debug)]
pub struct InRoom {
    name: String,
    room: RoomId,
}

/// One client's place in the chat, in state `S`.
pub struct Connection<S> {
    /// Where lines for this client are queued; shared with the `User` that
    /// writes them and, while in a room, with that room.
    outbox: Rc<RefCell<Outbox>>,
    state: S,
}
// ANCHOR_END: states

impl<S> Connection<S> {
    /// The client's queue of outgoing lines.
    pub fn outbox(&self) -> &Rc<RefCell<Outbox>> {
        &self.outbox
    }

    /// Queues one line for the client.
    pub fn tell(&self, text: impl Display) {
        self.outbox.borrow_mut().push(Rc::from(format!("{text}\n")));
    }
}

// ANCHOR: transitions
impl Connection<Unauthenticated> {
    /// A new connection, which must choose a name before anything else.
    pub fn new(outbox: Rc<RefCell<Outbox>>) -> Self {
        Connection {
            outbox,
            state: Unauthenticated,
        }
    }

    /// The client has a valid, free name; the caller has checked both.
    pub fn authenticate(self, name: String) -> Connection<Authenticated> {
        Connection {
            outbox: self.outbox,
            state: Authenticated { name },
        }
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

impl Connection<Authenticated> {
    /// The client is now a member of `room`.
    pub fn enter(self, room: RoomId) -> Connection<InRoom> {
        Connection {
            outbox: self.outbox,
            state: InRoom {
                name: self.state.name,
                room,
            },
        }
    }
}

impl Connection<InRoom> {
    /// The room the client is in.
    pub fn room(&self) -> RoomId {
        self.state.room
    }

    /// The client is now in `room` instead.
    pub fn move_to(&mut self, room: RoomId) {
        self.state.room = room;
    }

    /// Replaces the client's name; the caller has checked the new one.
    pub fn rename(&mut self, name: String) {
        self.state.name = name;
    }

    /// The client is no longer in any room.
    pub fn leave(self) -> Connection<Authenticated> {
        Connection {
            outbox: self.outbox,
            state: Authenticated {
                name: self.state.name,
            },
        }
    }
}
// ANCHOR_END: transitions
