//! The workspace's tools: the book's checks and generated pages ([`book`]),
//! the exercises that a learner writes again ([`exercise`]), and the client
//! side of the three transports that `chat` and `load` share ([`connect`]). Their
//! commands are this package's binaries (`cargo book`, `cargo exercise`,
//! `cargo chat`, `cargo load`; see `.cargo/config.toml`), and its tests check
//! the whole workspace: the book, the tools, every stage's conformance suite.
//!
//! The stages' tests use only the small harness next to it,
//! [`chat_harness`], so that they never compile these tools.

pub mod book;
pub mod connect;
pub mod exercise;
