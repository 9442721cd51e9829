//! # Stage 4: commands
//!
//! The chat becomes something people use from `nc` or `telnet`: a line that
//! starts with `/` is a command (`/join`, `/nick`, `/kick`, `/list`, `/rooms`,
//! `/help`, `/quit`), anything else is chat text for the room. Messages pass
//! through a chain of filters; limits come from a validated [`ServerConfig`];
//! each user's place in the chat is a typestate [`Connection`](connection::Connection).
//!
//! New patterns: enum dispatch over [`Command`], closures stored as filters
//! and returned by functions ([`filter`]), a builder whose `build` validates
//! ([`Settings::build`]), and the typestate pattern ([`connection`]).
//!
//! ## Rules for untrusted input
//! - A line longer than [`Settings::max_line_len`] bytes gets
//!   `error: a line is at most N bytes long, disconnecting` and the connection
//!   is closed. Each client's read buffer has a fixed size.
//! - A line that is not UTF-8 gets `error: the line is not valid UTF-8`.
//! - `\r\n` (telnet) and `\n` (nc) both end a line; an unfinished last line
//!   is dropped when the client closes the connection. Surrounding spaces are trimmed.
//! - An empty line gets `error: nothing to send`; an unknown command, a missing
//!   or extra argument gets an error naming the command's usage.
//! - A name must be 1 to [`Settings::max_name_len`] bytes of letters,
//!   digits, `_` or `-`, and not in use (ignoring case); room names the same,
//!   lowercase, at most 32 bytes.
//! - Control characters in chat text, goodbyes and kick reasons are replaced
//!   with U+FFFD; an unknown command is echoed back cut to 16 bytes, cleaned
//!   the same way.
//! - At most [`Settings::max_users`] clients: the next one is told the
//!   server is full and disconnected. A connection that has not chosen a name
//!   within [`Settings::name_timeout`] is disconnected, so that unnamed
//!   connections cannot fill the server.
//! - At most [`Settings::max_per_address`] connections from one IP address,
//!   and of those at most [`Settings::max_unnamed_per_address`] without a
//!   name: the next one is told `error: too many connections from your
//!   address (N); try again later` and disconnected, so that one host cannot
//!   lock out the others ([`addresses`]).
//! - A name listed as an admin's is reserved: it is claimed by answering the
//!   name prompt with the name and the admin password, and only a client that
//!   did so may act as an admin. At most [`Settings::max_rooms`] rooms.
//! - A client that does not read while [`Settings::max_outbox_bytes`] pile
//!   up for it is told so and disconnected; the others are not slowed.
//! - A client silent for [`Settings::idle_timeout`] is disconnected.
//! - `/kick` works for admins anywhere, and for a room's operator (its member
//!   present longest) in any room but the default one.

pub mod addresses;
pub mod arena;
pub mod command;
pub mod config;
pub mod connection;
mod directory;
mod error;
pub mod filter;
mod ids;
mod inbox;
mod lines;
pub mod names;
mod outbox;
mod room;
mod server;
mod text;

pub use command::{Command, CommandError, HELP, Input, parse_input};
pub use config::{ConfigError, ServerConfig, Settings};
pub use error::ChatError;
pub use filter::{FilterChain, Verdict};
pub use ids::{RoomId, UserId};
pub use lines::{LineError, Lines};
pub use names::{NameError, validate_name, validate_room_name};
pub use server::Server;
