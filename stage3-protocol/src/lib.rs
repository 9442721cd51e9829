//! # Stage 3: a protocol
//!
//! Stage 2's plain lines become frames, `TYPE:PAYLOAD`, in both directions, so
//! that programs can talk to the server as easily as people. A client sends
//! `NICK:<name>`, `JOIN:<room>`, `MSG:<text>` and `QUIT:<reason>`; the server
//! answers `OK:…` or `ERR:…`, and relays `MSG:<from>:<text>`,
//! `JOINED:<room>:<name>`, `LEFT:<room>:<name>[:<reason>]` and
//! `NICK:<old>:<new>`. The sender of a `MSG` is always the connection's own
//! name: a client cannot speak for someone else.
//!
//! New patterns: [`Frame<'a>`](Frame) borrows its payload from the read buffer
//! (lifetimes), `Cow` copies only a payload that must change, [`FrameIter`] is
//! the custom iterator the server uses to cut frames out of each client's
//! buffer, and `into_owned` lets a frame outlive that buffer. The crate's
//! `zero_copy` test counts allocations to prove the parse path makes none,
//! and `cargo bench -p stage3-protocol` compares it with an allocating parser.
//!
//! ## Rules for untrusted input
//! - A line longer than [`Limits::max_line_len`] bytes (without newline, or
//!   with one) gets `ERR:a line is at most N bytes long, disconnecting` and the
//!   connection is closed. Each client's read buffer has a fixed size.
//! - A line that is not UTF-8, has no `:`, has an unknown type or lacks a
//!   required payload gets an `ERR:` naming the problem; the next line is
//!   handled normally.
//! - `\r\n` (telnet) and `\n` (nc) both end a line; an unfinished last line
//!   is dropped when the client closes the connection. Payloads are trimmed.
//! - Any frame but `NICK` or `QUIT` before the client has a name gets
//!   `ERR:send NICK:<name> first`.
//! - Names and room names must be 1 to 32 bytes of letters, digits, `_` or
//!   `-`; names must not be in use (ignoring case). Otherwise `ERR:<why>`.
//! - Control characters in message text and quit reasons are replaced with
//!   U+FFFD before anyone sees them.
//! - A client that does not read while [`Limits::max_outbox_bytes`] of messages
//!   pile up for it is told so and disconnected; the others are not slowed.
//! - A client silent for [`Limits::idle_timeout`] is disconnected.
//! - Rooms are created by `JOIN` and removed when their last member leaves, so
//!   there are never more rooms than users.

pub mod arena;
mod directory;
mod error;
mod ids;
mod inbox;
mod lines;
pub mod names;
mod outbox;
mod protocol;
mod room;
mod server;
mod text;

pub use error::ChatError;
pub use ids::{RoomId, UserId};
pub use lines::{LineError, Lines};
pub use names::{NameError, validate_name, validate_room_name};
pub use protocol::{Frame, FrameError, FrameIter, Reply};
pub use server::{LOBBY, Limits, MAX_NAME_LEN, Server};
