//! The server's configuration, made with a builder that validates (pattern 17).
//!
//! A [`ServerConfig`] can only come from [`ServerConfigBuilder::build`] or from
//! [`Default`], and both give a valid one: its fields are private, so the rest
//! of the server can rely on every limit making sense without checking again.
//!
//! The message filters are not part of it. A configuration is plain data that
//! can be cloned, compared and printed in full; a boxed closure can be none of
//! those. The server takes its `FilterChain` as a separate argument.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use thiserror::Error;

use crate::names::{validate_name, validate_room_name};

/// Allowed values of `max_line_len`: long enough for every command, short
/// enough that one connection's buffer stays small.
const LINE_LEN_RANGE: RangeInclusive<usize> = 64..=64 * 1024;

/// Allowed values of `max_name_len`.
const NAME_LEN_RANGE: RangeInclusive<usize> = 1..=32;

// ANCHOR: rules
// How `build` words the rules on numbers, after the field's name.

/// The rule for `max_users`.
const AT_LEAST_ONE: &str = "must be at least 1";

/// The rule for `max_rooms`: the default room always exists.
const AT_LEAST_ONE_ROOM: &str = "must be at least 1, for the default room";

/// The rule for a length that must be within `range`, which `got` is not.
fn within(range: &RangeInclusive<usize>, got: usize) -> String {
    format!(
        "must be from {} to {} bytes (got {got})",
        range.start(),
        range.end()
    )
}

/// The rule for `max_outbox_bytes`, which must hold at least one line.
fn more_than_a_line(max_line_len: usize, got: usize) -> String {
    format!(
        "must be more than max_line_len ({max_line_len}), or a single line could never be queued (got {got})"
    )
}
// ANCHOR_END: rules

// ANCHOR: server_config
/// The server's limits and settings, all checked by [`ServerConfigBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Most users connected at once. Default 64.
    max_users: usize,
    /// Most rooms at once, the default room included. Default 16.
    max_rooms: usize,
    /// Longest line a client may send, in bytes. Default 1024.
    max_line_len: usize,
    /// Longest user name, in bytes. Default 16.
    max_name_len: usize,
    /// Most bytes waiting to be sent to one client. Default 256 KiB.
    max_outbox_bytes: usize,
    /// How long a client may stay silent. Default 5 minutes.
    idle_timeout: Duration,
    /// The room every user starts in. Default `lobby`.
    default_room: String,
    /// Shown to each user once they have picked a name. Default none.
    motd: Option<String>,
    /// Names reserved for admins, who may kick anyone. Default none.
    admins: Vec<String>,
    /// What an admin types after their name at the prompt (`root <password>`)
    /// to claim it. Required when there are admins. It crosses the network in
    /// the clear, like everything in this chat: fine on a laptop, not beyond.
    admin_password: Option<String>,
    /// A connection that has not chosen a name after this long is
    /// disconnected, so that unnamed connections cannot fill `max_users`.
    /// Default 30 seconds.
    name_timeout: Duration,
}
// ANCHOR_END: server_config

impl Default for ServerConfig {
    /// The defaults listed on each field. They pass every check in `build`
    /// (a test makes sure), so `default` cannot fail and needs no `Result`.
    fn default() -> Self {
        ServerConfig {
            max_users: 64,
            max_rooms: 16,
            max_line_len: 1024,
            max_name_len: 16,
            max_outbox_bytes: 256 * 1024,
            idle_timeout: Duration::from_secs(5 * 60),
            default_room: "lobby".to_owned(),
            motd: None,
            admins: Vec::new(),
            admin_password: None,
            name_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerConfig {
    /// Starts a builder holding the defaults.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            config: ServerConfig::default(),
        }
    }

    /// Most users connected at once.
    pub fn max_users(&self) -> usize {
        self.max_users
    }

    /// Most rooms at once, the default room included.
    pub fn max_rooms(&self) -> usize {
        self.max_rooms
    }

    /// Longest line a client may send, in bytes, not counting the line ending.
    pub fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// Longest user name, in bytes.
    pub fn max_name_len(&self) -> usize {
        self.max_name_len
    }

    /// Most bytes waiting to be sent to one client; always more than
    /// [`max_line_len`](Self::max_line_len).
    pub fn max_outbox_bytes(&self) -> usize {
        self.max_outbox_bytes
    }

    /// How long a client may stay silent before it is disconnected.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The room every user starts in; a valid room name.
    pub fn default_room(&self) -> &str {
        &self.default_room
    }

    /// The message of the day, if any; each line fits in a line and has no
    /// control characters.
    pub fn motd(&self) -> Option<&str> {
        self.motd.as_deref()
    }

    /// Users who may kick anyone; each a valid user name.
    pub fn admins(&self) -> &[String] {
        &self.admins
    }

    /// The password that claims an admin name.
    pub fn admin_password(&self) -> Option<&str> {
        self.admin_password.as_deref()
    }

    /// How long a connection may take to choose a name.
    pub fn name_timeout(&self) -> Duration {
        self.name_timeout
    }
}

// ANCHOR: builder
/// Builds a [`ServerConfig`]: start with [`ServerConfig::builder`], change what
/// you need, finish with [`build`](Self::build).
// Every setter takes and returns `self`: a call whose result is dropped loses
// the whole builder, so the compiler should warn about it.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ServerConfigBuilder {
    /// The configuration so far, not yet checked.
    config: ServerConfig,
}

impl ServerConfigBuilder {
    /// Most users connected at once. Default 64; at least 1.
    pub fn max_users(mut self, max_users: usize) -> Self {
        self.config.max_users = max_users;
        self
    }
    // ANCHOR_END: builder

    /// Most rooms at once, the default room included. Default 16; at least 1.
    pub fn max_rooms(mut self, max_rooms: usize) -> Self {
        self.config.max_rooms = max_rooms;
        self
    }

    /// Longest line a client may send, in bytes. Default 1024; from 64 (so
    /// that every command and server reply fits) to 64 KiB.
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.config.max_line_len = max_line_len;
        self
    }

    /// Longest user name, in bytes. Default 16; from 1 to 32.
    pub fn max_name_len(mut self, max_name_len: usize) -> Self {
        self.config.max_name_len = max_name_len;
        self
    }

    /// Most bytes waiting to be sent to one client. Default 256 KiB; more than
    /// `max_line_len`, or a single line could never be queued.
    pub fn max_outbox_bytes(mut self, max_outbox_bytes: usize) -> Self {
        self.config.max_outbox_bytes = max_outbox_bytes;
        self
    }

    /// How long a client may stay silent. Default 5 minutes; not zero.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.config.idle_timeout = idle_timeout;
        self
    }

    /// The room every user starts in. Default `lobby`; a valid room name (see
    /// [`validate_room_name`]).
    pub fn default_room(mut self, default_room: impl Into<String>) -> Self {
        self.config.default_room = default_room.into();
        self
    }

    /// The message of the day. Default none; every line at most `max_line_len`
    /// bytes, with no control characters.
    pub fn motd(mut self, motd: impl Into<String>) -> Self {
        self.config.motd = Some(motd.into());
        self
    }

    /// Reserves a name for an admin, who may kick anyone. Default none; each a
    /// valid user name no longer than `max_name_len` (see [`validate_name`]).
    pub fn admin(mut self, name: impl Into<String>) -> Self {
        self.config.admins.push(name.into());
        self
    }

    /// The password that claims an admin name. Required when there are
    /// admins; one word, without control characters.
    pub fn admin_password(mut self, password: impl Into<String>) -> Self {
        self.config.admin_password = Some(password.into());
        self
    }

    /// How long a connection may take to choose a name. Default 30 seconds;
    /// not zero.
    pub fn name_timeout(mut self, name_timeout: Duration) -> Self {
        self.config.name_timeout = name_timeout;
        self
    }

    // ANCHOR: build
    // ANCHOR: build_start
    /// Checks every setting and returns the configuration, or every problem
    /// found.
    ///
    /// Reporting all problems at once, not just the first, saves a round of
    /// "fix one, run again, see the next" for whoever writes the configuration.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let config = self.config;
        let mut problems = Vec::new();
        // This closure changes the `Vec` it captured, so it is an `FnMut` and
        // has to be declared `mut`.
        let mut problem = |field, rule| problems.push(Problem { field, rule });
        // ANCHOR_END: build_start

        // Exercise 4.2: see "Your job" in chapter 4.
        // ANCHOR: exercise_4_2
        if config.max_users == 0 {
            problem("max_users", AT_LEAST_ONE.to_owned());
        }
        if config.max_rooms == 0 {
            problem("max_rooms", AT_LEAST_ONE_ROOM.to_owned());
        }
        if !LINE_LEN_RANGE.contains(&config.max_line_len) {
            problem("max_line_len", within(&LINE_LEN_RANGE, config.max_line_len));
        }
        if !NAME_LEN_RANGE.contains(&config.max_name_len) {
            problem("max_name_len", within(&NAME_LEN_RANGE, config.max_name_len));
        }
        if config.max_outbox_bytes <= config.max_line_len {
            problem(
                "max_outbox_bytes",
                more_than_a_line(config.max_line_len, config.max_outbox_bytes),
            );
        }
        // ANCHOR_END: exercise_4_2
        // ANCHOR: build_rest
        if config.idle_timeout.is_zero() {
            problem("idle_timeout", "must not be zero".to_owned());
        }
        if let Err(error) = validate_room_name(&config.default_room) {
            problem("default_room", error.to_string());
        }
        if let Some(motd) = &config.motd {
            for (index, line) in motd.lines().enumerate() {
                let number = index + 1;
                if line.len() > config.max_line_len {
                    problem(
                        "motd",
                        format!(
                            "line {number} is {} bytes, more than max_line_len ({})",
                            line.len(),
                            config.max_line_len
                        ),
                    );
                }
                if line.contains(char::is_control) {
                    problem(
                        "motd",
                        format!("line {number} must not contain control characters"),
                    );
                }
            }
        }
        for admin in &config.admins {
            if let Err(error) = validate_name(admin, config.max_name_len) {
                problem("admins", format!("entry {admin:?} {error}"));
            }
        }
        match &config.admin_password {
            None if !config.admins.is_empty() => {
                problem(
                    "admin_password",
                    "must be set when there are admins".to_owned(),
                );
            }
            Some(password)
                if password.is_empty()
                    || password.contains(|c: char| c.is_whitespace() || c.is_control()) =>
            {
                problem(
                    "admin_password",
                    "must be one word, without control characters".to_owned(),
                );
            }
            _ => {}
        }
        if config.name_timeout.is_zero() {
            problem("name_timeout", "must not be zero".to_owned());
        }

        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
        // ANCHOR_END: build_rest
    }
    // ANCHOR_END: build
}

// ANCHOR: config_error
/// One setting that breaks one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting, named as its builder method.
    pub field: &'static str,
    /// The rule it breaks, readable after the field's name.
    pub rule: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

/// Why [`ServerConfigBuilder::build`] refused: every problem it found, in the
/// order of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid server configuration: {}", join(.problems))]
pub struct ConfigError {
    /// Never empty.
    problems: Vec<Problem>,
}

impl ConfigError {
    /// Every problem found, so that a caller can show them one per line.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// `a; b; c`, for the one-line message.
fn join(problems: &[Problem]) -> String {
    let rendered: Vec<String> = problems.iter().map(Problem::to_string).collect();
    rendered.join("; ")
}
// ANCHOR_END: config_error

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems `builder` reports, rendered as text.
    fn problems(builder: ServerConfigBuilder) -> Vec<String> {
        match builder.build() {
            Ok(config) => panic!("expected problems, got {config:?}"),
            Err(error) => error.problems().iter().map(Problem::to_string).collect(),
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(ServerConfig::builder().build(), Ok(ServerConfig::default()));
        let config = ServerConfig::default();
        assert_eq!(config.max_users(), 64);
        assert_eq!(config.max_rooms(), 16);
        assert_eq!(config.max_line_len(), 1024);
        assert_eq!(config.max_name_len(), 16);
        assert_eq!(config.max_outbox_bytes(), 256 * 1024);
        assert_eq!(config.idle_timeout(), Duration::from_secs(300));
        assert_eq!(config.default_room(), "lobby");
        assert_eq!(config.motd(), None);
        assert!(config.admins().is_empty());
        assert_eq!(config.admin_password(), None);
        assert_eq!(config.name_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn every_setter_is_kept() {
        let config = ServerConfig::builder()
            .max_users(2)
            .max_rooms(3)
            .max_line_len(64)
            .max_name_len(32)
            .max_outbox_bytes(65)
            .idle_timeout(Duration::from_millis(1))
            .default_room("main-hall_2")
            .motd("welcome!\nbe kind")
            .admin("alice")
            .admin("Bob-2")
            .admin_password("s3cret")
            .name_timeout(Duration::from_millis(3))
            .build()
            .unwrap();
        assert_eq!(config.max_users(), 2);
        assert_eq!(config.max_rooms(), 3);
        assert_eq!(config.max_line_len(), 64);
        assert_eq!(config.max_name_len(), 32);
        assert_eq!(config.max_outbox_bytes(), 65);
        assert_eq!(config.idle_timeout(), Duration::from_millis(1));
        assert_eq!(config.default_room(), "main-hall_2");
        assert_eq!(config.motd(), Some("welcome!\nbe kind"));
        assert_eq!(config.admins(), ["alice", "Bob-2"]);
        assert_eq!(config.admin_password(), Some("s3cret"));
        assert_eq!(config.name_timeout(), Duration::from_millis(3));
    }

    #[test]
    fn the_largest_line_is_allowed() {
        let config = ServerConfig::builder().max_line_len(64 * 1024).build();
        assert!(config.is_ok());
    }

    #[test]
    fn each_bad_value_is_named_with_its_rule() {
        let cases = [
            (
                ServerConfig::builder().max_users(0),
                "max_users must be at least 1",
            ),
            (
                ServerConfig::builder().max_rooms(0),
                "max_rooms must be at least 1, for the default room",
            ),
            (
                ServerConfig::builder().max_line_len(63),
                "max_line_len must be from 64 to 65536 bytes (got 63)",
            ),
            (
                ServerConfig::builder()
                    .max_line_len(64 * 1024 + 1)
                    .max_outbox_bytes(1 << 20),
                "max_line_len must be from 64 to 65536 bytes (got 65537)",
            ),
            (
                ServerConfig::builder().max_name_len(0),
                "max_name_len must be from 1 to 32 bytes (got 0)",
            ),
            (
                ServerConfig::builder().max_name_len(33),
                "max_name_len must be from 1 to 32 bytes (got 33)",
            ),
            (
                ServerConfig::builder().max_outbox_bytes(1024),
                "max_outbox_bytes must be more than max_line_len (1024), \
                 or a single line could never be queued (got 1024)",
            ),
            (
                ServerConfig::builder().idle_timeout(Duration::ZERO),
                "idle_timeout must not be zero",
            ),
            (
                ServerConfig::builder().default_room(""),
                "default_room must not be empty",
            ),
            (
                ServerConfig::builder().default_room("Lobby"),
                "default_room may contain only lowercase ASCII letters, digits, \
                 '_' and '-', not 'L'",
            ),
            (
                ServerConfig::builder().motd(format!("hi\n{}", "x".repeat(1025))),
                "motd line 2 is 1025 bytes, more than max_line_len (1024)",
            ),
            (
                ServerConfig::builder().motd("\u{1b}[31mred"),
                "motd line 1 must not contain control characters",
            ),
            (
                ServerConfig::builder()
                    .admin("bad name")
                    .admin_password("pw"),
                "admins entry \"bad name\" may contain only ASCII letters, digits, \
                 '_' and '-', not ' '",
            ),
            (
                ServerConfig::builder()
                    .admin("a".repeat(17))
                    .admin_password("pw"),
                "admins entry \"aaaaaaaaaaaaaaaaa\" must be at most 16 bytes long",
            ),
            (
                ServerConfig::builder().admin("root"),
                "admin_password must be set when there are admins",
            ),
            (
                ServerConfig::builder().admin_password("two words"),
                "admin_password must be one word, without control characters",
            ),
            (
                ServerConfig::builder().name_timeout(Duration::ZERO),
                "name_timeout must not be zero",
            ),
        ];
        for (builder, expected) in cases {
            assert_eq!(problems(builder), [expected]);
        }
    }

    #[test]
    fn every_broken_limit_is_reported_at_once() {
        let error = ServerConfig::builder()
            .max_users(0)
            .max_rooms(0)
            .max_line_len(10)
            .max_name_len(0)
            .max_outbox_bytes(10)
            .build()
            .unwrap_err();
        let fields: Vec<&str> = error.problems().iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "max_users",
                "max_rooms",
                "max_line_len",
                "max_name_len",
                "max_outbox_bytes"
            ]
        );
    }

    #[test]
    fn all_problems_are_reported_together() {
        let error = ServerConfig::builder()
            .max_users(0)
            .idle_timeout(Duration::ZERO)
            .admin("")
            .admin_password("pw")
            .build()
            .unwrap_err();
        let fields: Vec<&str> = error.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["max_users", "idle_timeout", "admins"]);
        assert_eq!(
            error.to_string(),
            "invalid server configuration: max_users must be at least 1; \
             idle_timeout must not be zero; admins entry \"\" must not be empty"
        );
    }
}
