//! # Stage 1: a blocking echo server
//!
//! Each line a client sends as `name:message` comes back as `<name> message`;
//! anything else comes back as `error: ...`. The server serves **one connection
//! at a time**: a second client is accepted by the operating system but waits
//! until the first one leaves. Stage 2 removes that limit.
//!
//! This stage introduces the vocabulary every later stage uses: the [`UserId`]
//! and [`RoomId`] newtypes, the [`Message`] type parsed with `FromStr`, and the
//! [`ChatError`] type.
//!
//! ## Rules for untrusted input
//! - A line longer than [`Limits::max_line_len`] bytes is refused with an error
//!   reply and the connection is closed. Memory per client stays bounded: the
//!   reader's fixed 8 KiB buffer plus one line of at most that length.
//! - A line that is not UTF-8 gets `error: the line is not valid UTF-8`.
//! - `\r\n` (telnet) and `\n` (nc) both end a line.
//! - A line without `:`, with an empty or invalid name, or with an empty message
//!   gets an error reply naming the problem; the connection stays open.
//! - A client silent for [`Limits::idle_timeout`] or not reading its replies for
//!   [`Limits::write_timeout`] is disconnected. The timeouts apply to each read
//!   and write, so a client that trickles a byte at a time can still keep a
//!   one-at-a-time server to itself: stage 2 stops serving one at a time.
//! - A client that disconnects at any point only ends its own session.

mod error;
mod ids;
mod message;
mod server;

pub use error::ChatError;
pub use ids::{RoomId, UserId};
pub use message::{MAX_NAME_LEN, Message, validate_name};
pub use server::{Limits, run};
