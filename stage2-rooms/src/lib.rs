//! # Stage 2: rooms and users
//!
//! Clients pick a name, land in `#lobby`, and everything they type reaches the
//! other people there as `<name> text`. Arrivals and departures are announced.
//! **Several clients are served at once** by a single thread that polls
//! non-blocking sockets in turn, so all chat state lives on that thread and
//! `Rc`/`RefCell` are enough to share it.
//!
//! New patterns: index-based design with a generational [`arena`], interior
//! mutability and shared ownership (`Rc<RefCell<Outbox>>` shared by a user and
//! its room, `Weak` in the room, `Rc<str>` messages), split borrows in the
//! server's read path, and RAII: the user owns its socket, so removing the user
//! closes the connection.
//!
//! ## Rules for untrusted input
//! - A line longer than [`Limits::max_line_len`] bytes (without newline, or
//!   with one) gets `error: a line is at most N bytes long, disconnecting` and
//!   the connection is closed. Each client's read buffer has a fixed size.
//! - A line that is not UTF-8 gets `error: the line is not valid UTF-8`.
//! - `\r\n` (telnet) and `\n` (nc) both end a line; an unfinished last line
//!   is dropped when the client closes the connection. Surrounding spaces are trimmed.
//! - A name must be 1 to 32 bytes of letters, digits, `_` or `-`, and not in use
//!   (ignoring case); otherwise `error: <why>. what is your name?` and the
//!   client may try again.
//! - Blank chat lines are ignored. Control characters in chat text (terminal
//!   escape sequences) are replaced with U+FFFD before anyone sees them.
//! - A client that does not read while [`Limits::max_outbox_bytes`] of messages
//!   pile up for it is told so and disconnected; the others are not slowed.
//! - A client silent for [`Limits::idle_timeout`] is disconnected.
//! - The number of clients is bounded by the process's open-file limit; when
//!   it is reached, new connections wait in the listen queue.

pub mod arena;
mod directory;
mod error;
mod ids;
mod inbox;
mod message;
mod outbox;
mod room;
mod server;

pub use error::ChatError;
pub use ids::{RoomId, UserId};
pub use message::{MAX_NAME_LEN, Message, clean_text, validate_name};
pub use server::{LOBBY, Limits, Server};
