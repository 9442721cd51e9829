//! # Stage 6: shutdown, and everything production needs
//!
//! Stage 5's chat, made ready for real use:
//! - **Graceful shutdown** on Ctrl+C or SIGTERM: stop accepting, let every
//!   client receive what its room already sent, say goodbye, close, and exit
//!   within [`Settings::shutdown_timeout`]. The shutdown is any future
//!   passed to [`run`], so tests trigger it without signals.
//! - **Limits** on everything a client can do, each a flag of the binary:
//!   a rate limit per client, name and idle timeouts, bounded rooms.
//! - **Fast delivery with backpressure**: a member's task writes every line
//!   its room has queued with one system call; a talker pauses while its room
//!   is half a ring behind, so that a flood slows the flooder instead of
//!   lapping the members (unless a member is not reading: nobody waits for
//!   it); big rooms sum up arrivals and departures once a second instead of
//!   announcing each to everyone.
//! - **History**: each room replays its last messages to newcomers, through
//!   the [`History`](history::History) trait, in memory by default, or in a
//!   SQLite file that outlives the process with `--history-db`
//!   ([`SqliteHistory`](history::SqliteHistory)).
//! - **Metrics** in Prometheus's format at `--metrics-addr` (see [`metrics`])
//!   and logs with `tracing`, filtered by `RUST_LOG` (for example
//!   `RUST_LOG=debug`).
//! - **More doors** (the book's "Going further"): `--tls-cert` and
//!   `--tls-key` put the ports behind TLS ([`tls`]); `--http-addr` serves a
//!   chat page for browsers, a WebSocket endpoint that speaks the same line
//!   protocol, and `/metrics` ([`web`]). Whatever its [`Transport`], every
//!   client runs the one session, under every limit below ([`transport`]).
//! - **Beyond one machine** (also "Going further"): `--redis-url` makes
//!   several servers share their rooms, names and history through Redis
//!   ([`backend`]).
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
//! - A client may send [`Settings::message_rate`] lines a second, and
//!   [`Settings::message_burst`] at once; lines beyond are dropped, and the
//!   client is told once each time it goes over.
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
//! - A member whose socket is full (its client is not reading) is never
//!   waited for: it is told `* you missed N messages` once the room's last
//!   [`Settings::room_buffer`] messages have moved past it, and it is
//!   disconnected when its socket accepts nothing for
//!   [`Settings::write_timeout`].
//! - A client silent for [`Settings::idle_timeout`] is disconnected.
//! - `/kick` works for admins anywhere, and for a room's operator (its member
//!   present longest) in any room but the default one.

pub mod addresses;
pub mod backend;
mod client;
pub mod command;
pub mod config;
pub mod connection;
mod directory;
mod error;
pub mod filter;
pub mod history;
mod ids;
mod inbox;
mod lines;
pub mod metrics;
pub mod names;
mod rate;
mod room;
pub mod server;
mod text;
pub mod tls;
pub mod transport;
pub mod web;

pub use command::{Command, CommandError, HELP, Input, parse_input};
pub use config::{ConfigError, ServerConfig, Settings};
pub use error::ChatError;
pub use filter::{FilterChain, Verdict};
pub use ids::UserId;
pub use lines::{LineError, Lines};
pub use names::{NameError, validate_name, validate_room_name};
pub use server::{Doors, Services, bind, run};
pub use transport::Transport;
