//! The library's error type (pattern 3).
//!
//! A library returns errors that callers can match on, so each failure is its own
//! variant; `thiserror` writes the `Display` and `From` impls that would otherwise
//! be boilerplate. The binary, which only reports errors, uses `anyhow` instead.

use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::{CommandError, LineError, NameError};

// ANCHOR: chat_error
/// Everything that can go wrong with a client. The `Display` text is what the
/// client is told, after `error: `.
#[derive(Debug, Error)]
pub enum ChatError {
    /// The line cannot be used at all.
    #[error(transparent)]
    Line(#[from] LineError),
    /// The line is not a valid command.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A user name that breaks the naming rule.
    #[error("a name {0}")]
    BadName(NameError),
    /// A room name that breaks the naming rule.
    #[error("a room name {0}")]
    BadRoom(NameError),
    /// The name is an admin's, and the password was not given with it.
    #[error(
        "the name {0} is reserved for an admin, who answers the name prompt with: {0} <password>"
    )]
    Reserved(String),
    /// The name is an admin's, and the password given with it is wrong.
    #[error("wrong password for {0}")]
    WrongPassword(String),
    /// The client did not choose a name in time.
    #[error("no name chosen within {after:?}")]
    NoName {
        /// The configured `name_timeout`.
        after: Duration,
    },
    /// Someone connected already uses this name (compared ignoring case).
    #[error("the name {0} is taken")]
    NameTaken(String),
    /// A command other than `/quit` before the client has a name.
    #[error("choose a name first")]
    NoNameYet,
    /// The user is in that room already.
    #[error("you are already in #{0}")]
    AlreadyInRoom(String),
    /// Joining would create a room beyond the configured maximum.
    #[error("there are {max} rooms already; join one of them (see /rooms)")]
    TooManyRooms {
        /// The configured maximum.
        max: usize,
    },
    /// `/kick` names nobody connected.
    #[error("nobody here is called {0}")]
    NoSuchUser(String),
    /// `/kick` names the kicker.
    #[error("you cannot kick yourself; /quit leaves")]
    KickSelf,
    /// `/kick` names someone in another room.
    #[error("{0} is not in your room")]
    NotInYourRoom(String),
    /// `/kick` by someone who is not an admin, of a user of another server.
    #[error("{0} is on another server; only an admin may kick there")]
    OnAnotherServer(String),
    /// What was asked needs the other servers, and Redis is out of reach.
    #[error("other servers are out of reach; try again later")]
    OthersOutOfReach,
    /// `/kick` in the default room by someone who is not an admin.
    #[error("only an admin may kick in #{0}")]
    AdminsOnly(String),
    /// `/kick` in another room by someone who is neither an admin nor the
    /// room's operator.
    #[error("only an admin or the operator of #{room}, {operator}, may kick here")]
    OperatorOnly {
        /// The kicker's room.
        room: String,
        /// The room's operator: its member present longest.
        operator: String,
    },
    /// The client sends faster than the rate limit allows.
    #[error("slow down: at most {rate} lines a second, {burst} at once; lines are being dropped")]
    SlowDown {
        /// The configured `message_rate`.
        rate: u32,
        /// The configured `message_burst`.
        burst: u32,
    },
    /// A filter refused the message; its reason.
    #[error("message not sent: {0}")]
    Blocked(String),
    /// The client sent nothing for too long.
    #[error("no input for {after:?}")]
    Idle {
        /// How long the client was silent.
        after: Duration,
    },
    /// The client's socket accepted nothing for too long: it is not reading.
    #[error("you are not reading: nothing could be sent to you for {after:?}")]
    TooSlow {
        /// How long the write waited.
        after: Duration,
    },
    /// The connection itself failed: reset by the peer, ...
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}
// ANCHOR_END: chat_error
