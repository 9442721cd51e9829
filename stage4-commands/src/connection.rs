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
use std::mem;
use std::rc::Rc;

use crate::RoomId;
use crate::outbox::Outbox;

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

// ANCHOR: named
// ANCHOR: named_trait
/// The states in which a client has a name.
pub trait Named {
    /// The client's name.
    fn name(&self) -> &str;
    /// Whether the client proved to be an admin when it chose its name.
    fn is_admin(&self) -> bool;
}
// ANCHOR_END: named_trait

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

// ANCHOR: named_impl
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
// ANCHOR_END: named_impl
// ANCHOR_END: named

// ANCHOR: transitions
impl Connection<Unauthenticated> {
    /// A new connection, which must choose a name before anything else.
    pub fn new(outbox: Rc<RefCell<Outbox>>) -> Self {
        Connection {
            outbox,
            state: Unauthenticated,
        }
    }

    // ANCHOR: authenticate
    /// The client has a valid, free name, and `admin` says whether it gave
    /// the admin password with it; the caller has checked all of that.
    pub fn authenticate(self, name: String, admin: bool) -> Connection<Authenticated> {
        Connection {
            outbox: self.outbox,
            state: Authenticated { name, admin },
        }
    }
    // ANCHOR_END: authenticate
}

impl Connection<Authenticated> {
    /// The client is now a member of `room`.
    pub fn enter(self, room: RoomId) -> Connection<InRoom> {
        Connection {
            outbox: self.outbox,
            state: InRoom {
                name: self.state.name,
                admin: self.state.admin,
                room,
            },
        }
    }
}

// ANCHOR: in_room
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
                admin: self.state.admin,
            },
        }
    }
}
// ANCHOR_END: in_room
// ANCHOR_END: transitions

// ANCHOR: session
// ANCHOR: session_enum
/// The typestate connection of one user, in whichever state it is now.
///
/// The server keeps every user in one arena, so it needs one type for all
/// states: this enum. Each transition takes the connection out, consumes it,
/// and puts the next state back.
pub(crate) enum Session {
    /// Connected, asked for a name.
    Unauthenticated(Connection<Unauthenticated>),
    /// Named and in a room: a full member of the chat.
    InRoom(Connection<InRoom>),
    /// Out of the chat: quit, kicked or disconnected; only the socket is left.
    Departed,
}
// ANCHOR_END: session_enum

impl Session {
    /// Takes the connection out for a transition, leaving `Departed` behind.
    pub(crate) fn take(&mut self) -> Session {
        mem::replace(self, Session::Departed)
    }

    /// Queues one line for the client, whatever its state.
    pub(crate) fn tell(&self, text: impl Display) {
        match self {
            Session::Unauthenticated(connection) => connection.tell(text),
            Session::InRoom(connection) => connection.tell(text),
            Session::Departed => {}
        }
    }
}
// ANCHOR_END: session
