//! The server's settings and the builder that validates them (pattern 17).
//!
//! Each setting is declared once, as a field of [`Settings`] whose doc comment
//! is also its `--help` text and whose `#[arg]` gives its flag and default;
//! its rule is a row of the table below. [`Settings::build`] checks them all
//! and makes the [`ServerConfig`] the server runs with. The message filters are
//! not settings: a boxed closure cannot be cloned, compared or printed.

use std::num::ParseIntError;
use std::ops::{Deref, RangeInclusive};
use std::time::Duration;

use clap::{Args, Command, FromArgMatches};
use thiserror::Error;

use crate::names::{validate_name, validate_room_name};

/// Allowed values of `max_line_len`: long enough for every command, short
/// enough that one connection's buffer stays small.
const LINE_LEN_RANGE: RangeInclusive<usize> = 64..=64 * 1024;

/// Allowed values of `max_name_len`.
const NAME_LEN_RANGE: RangeInclusive<usize> = 1..=32;

/// The longest timeout allowed: a day. Longer would be a mistake, and one
/// far longer would overflow when added to the current time.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Allowed values of `room_buffer`: a room's ring holds at least one message,
/// and at most this many `Arc`s per room.
const ROOM_BUFFER_RANGE: RangeInclusive<usize> = 1..=65536;

/// The most chat messages a room may remember: each is kept in memory.
const MAX_HISTORY_LEN: usize = 1000;

// ANCHOR: settings
/// The server's settings as given, not yet checked: the builder. Start from
/// [`Settings::default`], change what you need with struct update syntax
/// (`Settings { max_users: 2, ..Settings::default() }`), and finish with
/// [`build`](Self::build). `main` flattens them into its command line.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[must_use = "settings do nothing until `build` checks them"]
pub struct Settings {
    /// Most users connected at once.
    #[arg(long, default_value_t = 64)]
    pub max_users: usize,
    /// Most rooms at once, the default room included.
    #[arg(long, default_value_t = 16)]
    pub max_rooms: usize,
    // ANCHOR_END: settings
    /// Longest line a client may send, in bytes.
    #[arg(long, default_value_t = 1024)]
    pub max_line_len: usize,
    /// Longest user name, in bytes.
    #[arg(long, default_value_t = 16)]
    pub max_name_len: usize,
    /// How many messages each room keeps for members that have not read them
    /// yet; a member further behind is told how many it missed, and talkers
    /// pause while some member is more than half of it behind.
    #[arg(long, default_value_t = 1024)]
    pub room_buffer: usize,
    /// Disconnect a client whose socket accepts nothing for this long.
    #[arg(long = "write-timeout-secs", value_name = "SECS")]
    #[arg(value_parser = secs, default_value = "10")]
    pub write_timeout: Duration,
    // ANCHOR: timeout_setting
    /// Disconnect a client that stays silent this long.
    #[arg(long = "idle-timeout-secs", value_name = "SECS")]
    #[arg(value_parser = secs, default_value = "300")]
    pub idle_timeout: Duration,
    // ANCHOR_END: timeout_setting
    /// The room every user starts in.
    #[arg(long, default_value = "lobby")]
    pub default_room: String,
    /// Message of the day, shown to each user after they pick a name.
    #[arg(long)]
    pub motd: Option<String>,
    /// A name reserved for an admin, who may /kick anyone (repeat for
    /// several). An admin answers the name prompt with: NAME PASSWORD.
    #[arg(long = "admin", value_name = "NAME")]
    pub admins: Vec<String>,
    /// What an admin types after their name at the prompt to claim it;
    /// required when there are admins.
    ///
    /// Better given in the environment than on the command line, where other
    /// users of the machine can see it. It crosses the network in the clear,
    /// like everything in this chat: fine on a laptop, not beyond.
    #[arg(long, env = "CHAT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Disconnect a client that has not chosen a name after this long, so
    /// that unnamed connections cannot fill max_users.
    #[arg(long = "name-timeout-secs", value_name = "SECS")]
    #[arg(value_parser = secs, default_value = "30")]
    pub name_timeout: Duration,
    /// Most connections from one IP address at once, named or not, so that
    /// one host cannot take every place under max_users.
    #[arg(long, default_value_t = 16)]
    pub max_per_address: usize,
    /// Most connections from one IP address that have not chosen a name yet:
    /// a crowd of silent connections from one host leaves room for others.
    #[arg(long, default_value_t = 4)]
    pub max_unnamed_per_address: usize,
    /// How long a graceful shutdown may take before the remaining connections
    /// are cut.
    #[arg(long = "shutdown-timeout-secs", value_name = "SECS")]
    #[arg(value_parser = secs, default_value = "5")]
    pub shutdown_timeout: Duration,
    /// Lines a client may send per second, on average.
    #[arg(long, default_value_t = 5)]
    pub message_rate: u32,
    /// Lines a client may send at once after being quiet.
    #[arg(long, default_value_t = 10)]
    pub message_burst: u32,
    /// Chat messages each room remembers and replays to newcomers (0: no
    /// history).
    #[arg(long, default_value_t = 20)]
    pub history_len: usize,
    /// Rooms with more members than this hear one summary a second of who
    /// came and went instead of a notice for each.
    #[arg(long, default_value_t = 100)]
    pub announce_limit: usize,
}

/// Reads a duration given in whole seconds, as the `…-secs` flags are.
fn secs(text: &str) -> Result<Duration, ParseIntError> {
    text.parse().map(Duration::from_secs)
}

// ANCHOR: defaults
impl Default for Settings {
    /// The defaults declared on the fields, read the way `main` reads them:
    /// by parsing a command line, an empty one. Environment variables are
    /// switched off, so that a default does not depend on the shell.
    fn default() -> Self {
        Settings::augment_args(Command::new("defaults"))
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(["defaults"])
            .and_then(|matches| Settings::from_arg_matches(&matches))
            .expect("every declared default is a valid value of its flag")
    }
}
// ANCHOR_END: defaults

// ANCHOR: table
impl Settings {
    /// Each setting beside the rule it breaks, if any: one row per setting,
    /// in the order of the fields.
    #[rustfmt::skip] // a table reads best with one row per line
    fn broken_rules(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("max_users", at_least_one(self.max_users)),
            ("max_rooms", room_for_the_default(self.max_rooms)),
            ("max_line_len", within(&LINE_LEN_RANGE, "bytes", self.max_line_len)),
            ("max_name_len", within(&NAME_LEN_RANGE, "bytes", self.max_name_len)),
            ("room_buffer", within(&ROOM_BUFFER_RANGE, "messages", self.room_buffer)),
            ("write_timeout", timeout(self.write_timeout)),
            ("idle_timeout", timeout(self.idle_timeout)),
            ("default_room", room_name(&self.default_room)),
            ("motd", motd(self.motd.as_deref(), self.max_line_len)),
            ("admins", admin_names(&self.admins, self.max_name_len)),
            ("admin_password", admin_password(self.admin_password.as_deref(), &self.admins)),
            ("name_timeout", timeout(self.name_timeout)),
            ("max_per_address", at_least_one(self.max_per_address)),
            ("max_unnamed_per_address",
                part_of_the_cap(self.max_per_address, self.max_unnamed_per_address)),
            ("shutdown_timeout", timeout(self.shutdown_timeout)),
            ("message_rate", at_least_one(self.message_rate)),
            ("message_burst", at_least_one(self.message_burst)),
            ("history_len", at_most(MAX_HISTORY_LEN, self.history_len)),
            ("announce_limit", at_least_one(self.announce_limit)),
        ]
    }
    // ANCHOR_END: table

    // ANCHOR: build
    /// Checks every setting and returns the configuration, or every problem
    /// found.
    ///
    /// Reporting all problems at once, not just the first, saves a round of
    /// "fix one, run again, see the next" for whoever writes the settings.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let problems: Vec<Problem> = self
            .broken_rules()
            .into_iter()
            .filter_map(|(field, broken)| broken.map(|rule| Problem { field, rule }))
            .collect();
        if problems.is_empty() {
            Ok(ServerConfig(self))
        } else {
            Err(ConfigError { problems })
        }
    }
    // ANCHOR_END: build
}

// ANCHOR: rules
// Each rule returns what is wrong, worded to follow the setting's name, or
// `None` when the value is fine.

/// The rule for a count that must not be zero, of any unsigned type.
fn at_least_one<N: PartialEq + From<u8>>(got: N) -> Option<String> {
    (got == N::from(0)).then(|| "must be at least 1".to_owned())
}

/// The rule for `max_rooms`: the default room always exists.
fn room_for_the_default(got: usize) -> Option<String> {
    (got == 0).then(|| "must be at least 1, for the default room".to_owned())
}

/// The rule for a size that must be within `range`, counted in `unit`.
fn within(range: &RangeInclusive<usize>, unit: &str, got: usize) -> Option<String> {
    let (min, max) = (range.start(), range.end());
    (!range.contains(&got)).then(|| format!("must be from {min} to {max} {unit} (got {got})"))
}

/// The rule for a count that must not exceed `max`.
fn at_most(max: usize, got: usize) -> Option<String> {
    (got > max).then(|| format!("must be at most {max} (got {got})"))
}
// ANCHOR_END: rules

/// The rule for a timeout: zero would disconnect everyone at once, and more
/// than a day is a mistake.
fn timeout(got: Duration) -> Option<String> {
    if got.is_zero() {
        Some("must not be zero".to_owned())
    } else {
        (got > MAX_TIMEOUT).then(|| format!("must be at most a day (got {got:?})"))
    }
}

/// The rule for `max_unnamed_per_address`: some of an address's places, and
/// at least one, or nobody could connect to choose a name.
fn part_of_the_cap(max_per_address: usize, got: usize) -> Option<String> {
    (got == 0 || got > max_per_address)
        .then(|| format!("must be from 1 to max_per_address ({max_per_address}) (got {got})"))
}

/// The rule for the default room: a valid room name.
fn room_name(name: &str) -> Option<String> {
    validate_room_name(name)
        .err()
        .map(|error| error.to_string())
}

/// The rule for the message of the day: every line fits in a line and has no
/// control characters.
fn motd(motd: Option<&str>, max_line_len: usize) -> Option<String> {
    let lines = motd.unwrap_or_default().lines().zip(1..);
    all_of(lines.flat_map(|(line, number)| {
        let long = (line.len() > max_line_len).then(|| {
            let len = line.len();
            format!("line {number} is {len} bytes, more than max_line_len ({max_line_len})")
        });
        let control = line
            .contains(char::is_control)
            .then(|| format!("line {number} must not contain control characters"));
        long.into_iter().chain(control)
    }))
}

/// The rule for the admins: each a valid user name.
fn admin_names(admins: &[String], max_name_len: usize) -> Option<String> {
    all_of(admins.iter().filter_map(|admin| {
        let error = validate_name(admin, max_name_len).err()?;
        Some(format!("entry {admin:?} {error}"))
    }))
}

/// The rule for the admin password: set when there are admins, one word.
fn admin_password(password: Option<&str>, admins: &[String]) -> Option<String> {
    match password {
        None if !admins.is_empty() => Some("must be set when there are admins".to_owned()),
        Some(password)
            if password.is_empty()
                || password.contains(|c: char| c.is_whitespace() || c.is_control()) =>
        {
            Some("must be one word, without control characters".to_owned())
        }
        _ => None,
    }
}

/// Every broken rule of one setting (one line of the message of the day, one
/// admin's name), as one, or `None` if there is none.
fn all_of(broken: impl Iterator<Item = String>) -> Option<String> {
    let broken: Vec<String> = broken.collect();
    (!broken.is_empty()).then(|| broken.join("; "))
}

// ANCHOR: server_config
/// Settings that passed every rule of [`Settings::build`], which (with
/// [`Default`]) is the only way to make one.
///
/// The server reads the settings through it, as in `config.max_users`.
// `Deref` rather than a `settings()` accessor: a `ServerConfig` is nothing
// but its settings, checked, so reading one should read like reading a
// field. Without `DerefMut`, and with the field private, nothing outside this
// module can change a value after `build` checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig(Settings);

impl Deref for ServerConfig {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.0
    }
}

impl Default for ServerConfig {
    /// The declared defaults. They pass every rule (a test makes sure), so
    /// `default` cannot fail and needs no `Result`.
    fn default() -> Self {
        ServerConfig(Settings::default())
    }
}
// ANCHOR_END: server_config

// ANCHOR: config_error
/// One setting that breaks one rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} {rule}")]
pub struct Problem {
    /// The setting, named as its field.
    pub field: &'static str,
    /// The rule it breaks, readable after the field's name.
    pub rule: String,
}

/// Why [`Settings::build`] refused: every problem it found, in the order of
/// the fields.
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
