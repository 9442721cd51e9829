//! The library's error type (pattern 3).
//!
//! A library returns errors that callers can match on, so each failure is its own
//! variant; `thiserror` writes the `Display` and `From` impls that would otherwise
//! be boilerplate. The binary, which only reports errors, uses `anyhow` instead.

use std::io;
use std::time::Duration;

use thiserror::Error;

// ANCHOR: chat_error
// ANCHOR: chat_error_start
/// Everything that can go wrong while serving a client.
#[derive(Debug, Error)]
pub enum ChatError {
    /// The line has no `:` between the name and the message.
    #[error("expected `name:message`, but the line has no ':'")]
    MissingSeparator,
    /// Nothing before the `:`.
    #[error("the name before ':' is empty")]
    EmptyName,
    // ANCHOR_END: chat_error_start
    /// The name is longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN).
    #[error("a name is at most {max} bytes long")]
    NameTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The name contains something other than letters, digits, `_` and `-`.
    #[error("a name may contain only letters, digits, '_' and '-'")]
    InvalidName,
    /// Nothing after the `:`.
    #[error("the message after ':' is empty")]
    EmptyBody,
    /// The line is not UTF-8 text.
    #[error("the line is not valid UTF-8")]
    InvalidUtf8,
    // ANCHOR: chat_error_end
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
    /// The connection itself failed: reset by the peer, a write timed out, ...
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}
// ANCHOR_END: chat_error_end
// ANCHOR_END: chat_error
