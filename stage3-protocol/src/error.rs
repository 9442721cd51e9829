//! The library's error type (pattern 3).
//!
//! A library returns errors that callers can match on, so each failure is its own
//! variant; `thiserror` writes the `Display` and `From` impls that would otherwise
//! be boilerplate. The binary, which only reports errors, uses `anyhow` instead.

use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::{FrameError, NameError};

// ANCHOR: chat_error
/// Everything that can go wrong with a client. The `Display` text is what the
/// client is told, after `ERR:`.
#[derive(Debug, Error)]
pub enum ChatError {
    /// A user name that breaks the naming rule.
    #[error("a name {0}")]
    BadName(NameError),
    /// A room name that breaks the naming rule.
    #[error("a room name {0}")]
    BadRoom(NameError),
    /// Someone connected already uses this name (compared ignoring case).
    #[error("the name {0} is taken")]
    NameTaken(String),
    /// A frame other than `NICK` before the client has a name.
    #[error("send NICK:<name> first")]
    NoNameYet,
    /// The user is in that room already.
    #[error("you are already in {0}")]
    AlreadyInRoom(String),
    /// The line is not a frame; this includes lines that are too long.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The client sent nothing for too long.
    #[error("no input for {after:?}")]
    Idle {
        /// How long the client was silent.
        after: Duration,
    },
    /// The client reads more slowly than its room talks, and its queue is
    /// full. (A client flooding the room can cause this for honest readers;
    /// stage 6 limits how fast each client may send.)
    #[error("you are reading too slowly; {limit} bytes are waiting")]
    TooSlow {
        /// The size of the queue that filled up, in bytes.
        limit: usize,
    },
    /// The connection itself failed: reset by the peer, ...
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}
// ANCHOR_END: chat_error
