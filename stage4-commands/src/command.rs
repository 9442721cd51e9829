//! What a user typed: a command such as `/join rust`, or chat text.
//!
//! ## Enum dispatch vs trait objects (pattern 14)
//! The commands are a closed set that this crate defines, so they are an enum.
//! The server handles them in one `match`; because that `match` has no `_` arm,
//! adding a command makes the compiler point at every place that must handle
//! it. The message filters (`filter.rs`) are the opposite case: an open set
//! chosen by whoever runs the server, so they are stored as trait objects.
//!
//! ## Borrowing from the line
//! Parsing a well-formed line allocates nothing: every part of an [`Input`]
//! borrows from the line, and a [`Cow`] becomes owned only when the text had to
//! change (a room name lowercased, a control character replaced).

use std::borrow::Cow;

use thiserror::Error;

use crate::text::{lowercase, replace_controls, truncate};

// ANCHOR: input
/// One line from a user, parsed by [`parse_input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Text for the other people in the room, trimmed, with control characters
    /// replaced by U+FFFD.
    Chat(Cow<'a, str>),
    /// A line that started with a single `/`.
    Command(Command<'a>),
}

// ANCHOR: command_enum
/// A command, with its arguments borrowed from the line.
///
/// Names are only split out here, not checked: the rules for a valid name
/// (and its configured maximum length) belong to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `/join <room>`: move to another room. The name is lowercased, because
    /// room names are case-insensitive.
    Join(Cow<'a, str>),
    /// `/nick <name>`: change your name.
    Nick(&'a str),
    /// `/kick <user> [reason]`: throw someone out.
    Kick {
        /// The name of the user to kick.
        user: &'a str,
        /// Why, in the kicker's words; empty if none was given. Everyone in
        /// the room may see it, so control characters are replaced.
        reason: Cow<'a, str>,
    },
    /// `/list`: who is in my room.
    List,
    /// `/rooms`: every room and how many people are in it.
    Rooms,
    /// `/help`: the list of commands, [`HELP`].
    Help,
    /// `/quit [message]`: leave, with an optional goodbye that the room sees;
    /// empty if none was given. Control characters are replaced.
    Quit(Cow<'a, str>),
}
// ANCHOR_END: command_enum
// ANCHOR_END: input

impl Command<'_> {
    /// The command's name as typed after the `/`, in lowercase.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Join(_) => "join",
            Command::Nick(_) => "nick",
            Command::Kick { .. } => "kick",
            Command::List => "list",
            Command::Rooms => "rooms",
            Command::Help => "help",
            Command::Quit(_) => "quit",
        }
    }
}

// Each usage appears in HELP and in the errors, so it is written once.
const JOIN_USAGE: &str = "/join <room>";
const NICK_USAGE: &str = "/nick <name>";
const KICK_USAGE: &str = "/kick <user> [reason]";
const LIST_USAGE: &str = "/list";
const ROOMS_USAGE: &str = "/rooms";
const HELP_USAGE: &str = "/help";
const QUIT_USAGE: &str = "/quit [message]";

// ANCHOR: help
/// The answer to `/help`: each command's usage and what it does, in order.
///
/// A test checks that every [`Command`] has an entry, so this list cannot
/// silently fall behind the parser.
pub const HELP: &[(&str, &str)] = &[
    (JOIN_USAGE, "move to <room>, creating it if needed"),
    (NICK_USAGE, "change your name"),
    (KICK_USAGE, "throw <user> out, optionally saying why"),
    (LIST_USAGE, "show who is in your room"),
    (ROOMS_USAGE, "show every room and how many people are in it"),
    (HELP_USAGE, "show this list"),
    (QUIT_USAGE, "leave the chat, with an optional goodbye"),
    ("//text", "send chat text that starts with '/'"),
];
// ANCHOR_END: help

// ANCHOR: command_error
/// Why a line could not be parsed. The server replies `error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// The line was empty or only whitespace.
    ///
    /// This is an error rather than something to skip silently: someone who
    /// pressed Enter by mistake learns that nothing was sent, and someone who
    /// wonders whether the connection is still alive gets an answer.
    #[error("nothing to send")]
    EmptyLine,
    /// The word after `/` is not a command.
    #[error("unknown command /{name}; type /help for the list")]
    Unknown {
        /// What the user typed, cut to 16 bytes so that a long line is not
        /// echoed back whole, with control characters replaced.
        name: String,
    },
    /// A command was given too few arguments.
    #[error("missing {argument}; usage: {usage}")]
    MissingArgument {
        /// What is missing, such as "room name".
        argument: &'static str,
        /// The command's usage line from [`HELP`].
        usage: &'static str,
    },
    /// A command that takes one word, or none, was given more.
    #[error("too many arguments; usage: {usage}")]
    TooManyArguments {
        /// The command's usage line from [`HELP`].
        usage: &'static str,
    },
}
// ANCHOR_END: command_error

/// The longest command name quoted back in [`CommandError::Unknown`], in bytes.
const MAX_QUOTED_NAME: usize = 16;

// ANCHOR: parse_input
/// Parses one line, already cut from the read buffer without its line ending.
///
/// Surrounding whitespace is ignored. A line starting with `/` is a command;
/// `//` escapes a chat line that should start with a literal `/`. Command names
/// are case-insensitive, and arguments are separated by any amount of
/// whitespace.
pub fn parse_input(line: &str) -> Result<Input<'_>, CommandError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(CommandError::EmptyLine);
    }
    match line.strip_prefix('/') {
        // Dropping the first `/` of `//` leaves chat text that starts with one.
        Some(rest) if rest.starts_with('/') => Ok(Input::Chat(replace_controls(rest))),
        Some(rest) => parse_command(rest).map(Input::Command),
        None => Ok(Input::Chat(replace_controls(line))),
    }
}
// ANCHOR_END: parse_input

// ANCHOR: parse_command_head
/// Parses what follows the `/`: a command name, then its arguments.
fn parse_command(text: &str) -> Result<Command<'_>, CommandError> {
    let (name, args) = split_first_word(text);
    // `eq_ignore_ascii_case` compares without making a lowercase copy.
    let is = |command: &str| name.eq_ignore_ascii_case(command);

    if is("nick") {
        return Ok(Command::Nick(one_word(args, "name", NICK_USAGE)?));
    }
    if is("quit") {
        return Ok(Command::Quit(replace_controls(args)));
    }
    for (command, usage) in [
        (Command::List, LIST_USAGE),
        (Command::Rooms, ROOMS_USAGE),
        (Command::Help, HELP_USAGE),
    ] {
        if is(command.name()) {
            no_arguments(args, usage)?;
            return Ok(command);
        }
    }
    // ANCHOR_END: parse_command_head
    // The two commands whose arguments need the most care, and a name that is
    // no command at all.
    // Exercise 4.1: see "Your job" in chapter 4.
    // ANCHOR: exercise_4_1
    if is("join") {
        let room = one_word(args, "room name", JOIN_USAGE)?;
        Ok(Command::Join(lowercase(room)))
    } else if is("kick") {
        let (user, reason) = split_first_word(args);
        if user.is_empty() {
            return Err(CommandError::MissingArgument {
                argument: "user name",
                usage: KICK_USAGE,
            });
        }
        Ok(Command::Kick {
            user,
            reason: replace_controls(reason),
        })
    } else {
        Err(CommandError::Unknown {
            name: quoted_name(name),
        })
    }
    // ANCHOR_END: exercise_4_1
}

// ANCHOR: helpers
// ANCHOR: word_helpers
/// Splits trimmed `text` into its first word and the rest, both trimmed:
/// `"bob  too   loud"` gives `("bob", "too   loud")`.
fn split_first_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim_start()),
        None => (text, ""),
    }
}

/// The single word a command needs, or an error naming `argument`.
fn one_word<'a>(
    args: &'a str,
    argument: &'static str,
    usage: &'static str,
) -> Result<&'a str, CommandError> {
    let (word, rest) = split_first_word(args);
    if word.is_empty() {
        Err(CommandError::MissingArgument { argument, usage })
    } else if !rest.is_empty() {
        Err(CommandError::TooManyArguments { usage })
    } else {
        Ok(word)
    }
}
// ANCHOR_END: word_helpers

/// Refuses arguments given to a command that takes none.
fn no_arguments(args: &str, usage: &'static str) -> Result<(), CommandError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CommandError::TooManyArguments { usage })
    }
}
// ANCHOR_END: helpers

/// At most [`MAX_QUOTED_NAME`] bytes of `name`, safe to send back.
fn quoted_name(name: &str) -> String {
    replace_controls(truncate(name, MAX_QUOTED_NAME)).into_owned()
}
