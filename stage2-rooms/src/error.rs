//! The library's error type (pattern 3).
//!
//! A library returns errors that callers can match on, so each failure is its own
//! variant; `thiserror` writes the `Display` and `From` impls that would otherwise
//! be boilerplate. The binary, which only reports errors, uses `anyhow` instead.

use std::io;
use std::time::Duration;

use thiserror::Error;

// ANCHOR: chat_error
/// Everything that can go wrong with a client. The `Display` text is what the
/// client is told, after `error: `.
#[derive(Debug, Error)]
pub enum ChatError {
    /// An empty name.
    #[error("the name is empty")]
    EmptyName,
    /// The name is longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN).
    #[error("a name is at most {max} bytes long")]
    NameTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The name contains something other than letters, digits, `_` and `-`.
    #[error("a name may contain only letters, digits, '_' and '-'")]
    InvalidName,
    /// Someone connected already uses this name (compared ignoring case).
    #[error("the name {0} is taken")]
    NameTaken(String),
    /// The line is not UTF-8 text.
    #[error("the line is not valid UTF-8")]
    InvalidUtf8,
    /// The client sent more than the allowed number of bytes without a newline.
    #[error("a line is at most {max} bytes long")]
    LineTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
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
