//! # Stage 5: async
//!
//! Stage 4's chat, on tokio. Every client is a task that alone owns its
//! socket; every room is a `tokio::sync::broadcast` channel; the shared
//! directory of rooms and names is an `Arc<RwLock<…>>` locked for microseconds
//! at a time; filters are async. The single thread that polled every socket
//! is gone: the operating system wakes a task when its socket is ready.
//!
//! New patterns: `Arc` and the right lock ([`server`]), channels (`broadcast`
//! per room, `oneshot` for a kick), boxed futures for async filters
//! ([`filter`]), and the `Send + 'static` rules of `tokio::spawn`.
//!
//! ## What `tokio::spawn` refuses (pattern 22)
//! A spawned task may run on any worker thread and outlive the function that
//! spawned it, so its future must be `Send + 'static`. Each of these is
//! refused, and `cargo test` checks that each still is.
//!
//! Stage 4's `Rc` cannot move to another thread ("future cannot be sent
//! between threads safely … has type `Rc<Vec<&str>>` which is not `Send`"):
//! ```compile_fail
//! # #[tokio::main] async fn main() {
//! let names = std::rc::Rc::new(vec!["alice"]);
//! tokio::spawn(async move { println!("{names:?}") });
//! # }
//! ```
//! A `std::sync::MutexGuard` held across an `.await` makes the whole future
//! not `Send` ("future cannot be sent between threads safely"): release the
//! guard before awaiting, as every `Directory` call in this crate does.
//! ```compile_fail
//! # use std::sync::{Arc, Mutex};
//! # #[tokio::main] async fn main() {
//! let names = Arc::new(Mutex::new(Vec::<String>::new()));
//! tokio::spawn(async move {
//!     let mut guard = names.lock().unwrap();
//!     tokio::task::yield_now().await;
//!     guard.push("alice".to_owned());
//! });
//! # }
//! ```
//! A task that borrows a local could outlive it (E0373, "async block may
//! outlive the current function"): move an owned value, or an `Arc`, in.
//! ```compile_fail,E0373
//! # #[tokio::main] async fn main() {
//! let name = String::from("alice");
//! tokio::spawn(async { println!("{}", &name) });
//! # }
//! ```
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
//! - A member that reads more slowly than its room talks is told
//!   `* you missed N messages` once the room's last
//!   [`Settings::room_buffer`] messages have moved past it; the room
//!   never waits for it. A client whose socket accepts nothing for
//!   [`Settings::write_timeout`] is disconnected.
//! - A client silent for [`Settings::idle_timeout`] is disconnected.
//! - `/kick` works for admins anywhere, and for a room's operator (its member
//!   present longest) in any room but the default one.

pub mod addresses;
mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod directory;
mod error;
pub mod filter;
mod ids;
mod inbox;
mod lines;
pub mod names;
mod room;
pub mod server;
mod text;

pub use command::{Command, CommandError, HELP, Input, parse_input};
pub use config::{ConfigError, ServerConfig, Settings};
pub use error::ChatError;
pub use filter::{FilterChain, Verdict};
pub use ids::UserId;
pub use lines::{LineError, Lines};
pub use names::{NameError, validate_name, validate_room_name};
pub use server::run;
