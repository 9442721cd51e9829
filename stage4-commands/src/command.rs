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
        Some(rest) if rest.starts_with('/') => Ok(Input::Chat(replace_control_chars(rest))),
        Some(rest) => parse_command(rest).map(Input::Command),
        None => Ok(Input::Chat(replace_control_chars(line))),
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
        return Ok(Command::Quit(replace_control_chars(args)));
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
        Ok(Command::Join(to_ascii_lowercase(room)))
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
            reason: replace_control_chars(reason),
        })
    } else {
        Err(CommandError::Unknown {
            name: quoted_name(name),
        })
    }
    // ANCHOR_END: exercise_4_1
}

// ANCHOR: helpers
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

/// Refuses arguments given to a command that takes none.
fn no_arguments(args: &str, usage: &'static str) -> Result<(), CommandError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CommandError::TooManyArguments { usage })
    }
}

/// Lowercases ASCII letters, copying only if there is an uppercase one.
fn to_ascii_lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}
// ANCHOR_END: helpers

// ANCHOR: replace_control_chars
/// Replaces every control character with U+FFFD, copying only if there is one.
///
/// Control characters include ESC, which starts the sequences that move the
/// cursor, clear the screen or retitle the window. Relayed as they are, they
/// would let one user do that to everyone else's terminal.
fn replace_control_chars(text: &str) -> Cow<'_, str> {
    let controls = text.chars().filter(|c| c.is_control()).count();
    if controls == 0 {
        return Cow::Borrowed(text);
    }
    // U+FFFD takes 3 bytes and a control character at least 1: with this much
    // room the copy is allocated once and never grows.
    let mut replaced = String::with_capacity(text.len() + 2 * controls);
    for c in text.chars() {
        replaced.push(if c.is_control() {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        });
    }
    Cow::Owned(replaced)
}
// ANCHOR_END: replace_control_chars

/// At most [`MAX_QUOTED_NAME`] bytes of `name`, safe to send back.
fn quoted_name(name: &str) -> String {
    let mut end = name.len().min(MAX_QUOTED_NAME);
    // Slicing in the middle of a multi-byte character would panic.
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    replace_control_chars(&name[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> Command<'_> {
        match parse_input(line) {
            Ok(Input::Command(command)) => command,
            other => panic!("expected {line:?} to be a command, got {other:?}"),
        }
    }

    fn chat(line: &str) -> Cow<'_, str> {
        match parse_input(line) {
            Ok(Input::Chat(text)) => text,
            other => panic!("expected {line:?} to be chat, got {other:?}"),
        }
    }

    fn error(line: &str) -> CommandError {
        match parse_input(line) {
            Err(error) => error,
            Ok(input) => panic!("expected {line:?} to be refused, got {input:?}"),
        }
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(command("/join rust"), Command::Join("rust".into()));
        assert_eq!(command("/nick bob"), Command::Nick("bob"));
        assert_eq!(
            command("/kick bob"),
            Command::Kick {
                user: "bob",
                reason: "".into()
            }
        );
        assert_eq!(
            command("/kick bob stop shouting"),
            Command::Kick {
                user: "bob",
                reason: "stop shouting".into()
            }
        );
        assert_eq!(command("/list"), Command::List);
        assert_eq!(command("/rooms"), Command::Rooms);
        assert_eq!(command("/help"), Command::Help);
        assert_eq!(command("/quit"), Command::Quit("".into()));
        assert_eq!(
            command("/quit see you tomorrow"),
            Command::Quit("see you tomorrow".into())
        );
    }

    #[test]
    fn command_names_ignore_ascii_case() {
        assert_eq!(command("/JOIN rust"), Command::Join("rust".into()));
        assert_eq!(command("/Nick Bob"), Command::Nick("Bob"));
        assert_eq!(command("/LiSt"), Command::List);
        assert_eq!(command("/QUIT"), Command::Quit("".into()));
    }

    #[test]
    fn extra_whitespace_separates_but_is_kept_inside_text() {
        assert_eq!(command("  /join \t rust  "), Command::Join("rust".into()));
        assert_eq!(
            command("/kick   bob   too    loud "),
            Command::Kick {
                user: "bob",
                reason: "too    loud".into()
            }
        );
        assert_eq!(chat("   hello   world  "), "hello   world");
    }

    #[test]
    fn room_names_are_lowercased_and_borrowed_when_already_lowercase() {
        let Command::Join(room) = command("/join rust") else {
            panic!("expected /join");
        };
        assert!(matches!(room, Cow::Borrowed("rust")));
        let Command::Join(room) = command("/join Rust-Help") else {
            panic!("expected /join");
        };
        assert!(matches!(room, Cow::Owned(ref r) if r == "rust-help"));
    }

    #[test]
    fn chat_is_borrowed_when_clean_and_owned_when_cleaned() {
        assert!(matches!(
            chat("hello, world"),
            Cow::Borrowed("hello, world")
        ));
        // ESC [ 2 J clears the screen of whoever receives it.
        let cleaned = chat("hi\u{1b}[2J there");
        assert!(matches!(cleaned, Cow::Owned(_)));
        assert_eq!(cleaned, "hi\u{fffd}[2J there");
    }

    #[test]
    fn reasons_and_goodbyes_are_cleaned_too() {
        assert_eq!(
            command("/kick bob \u{7}beep"),
            Command::Kick {
                user: "bob",
                reason: "\u{fffd}beep".into()
            }
        );
        let Command::Quit(goodbye) = command("/quit bye\u{1b}") else {
            panic!("expected /quit");
        };
        assert!(matches!(goodbye, Cow::Owned(ref g) if g == "bye\u{fffd}"));
        let Command::Quit(goodbye) = command("/quit bye") else {
            panic!("expected /quit");
        };
        assert!(matches!(goodbye, Cow::Borrowed("bye")));
    }

    #[test]
    fn double_slash_escapes_chat() {
        let text = chat("//shrug");
        assert!(matches!(text, Cow::Borrowed("/shrug")));
        assert_eq!(chat("//"), "/");
        assert_eq!(chat("  //join rust "), "/join rust");
    }

    #[test]
    fn empty_lines_are_refused() {
        assert_eq!(error(""), CommandError::EmptyLine);
        assert_eq!(error(" \t "), CommandError::EmptyLine);
        assert_eq!(CommandError::EmptyLine.to_string(), "nothing to send");
    }

    #[test]
    fn unknown_commands_are_named_and_truncated() {
        let unknown = error("/dance wildly");
        assert_eq!(
            unknown.to_string(),
            "unknown command /dance; type /help for the list"
        );
        assert_eq!(
            error(&format!("/{}", "x".repeat(100))),
            CommandError::Unknown {
                name: "x".repeat(16)
            }
        );
        // 15 ASCII bytes, then a 2-byte 'é' that would straddle the cut.
        assert_eq!(
            error(&format!("/{}é", "x".repeat(15))),
            CommandError::Unknown {
                name: "x".repeat(15)
            }
        );
        assert_eq!(
            error("/\u{1b}[2J"),
            CommandError::Unknown {
                name: "\u{fffd}[2J".into()
            }
        );
        // A slash followed by a space names no command at all.
        assert_eq!(
            error("/ join rust"),
            CommandError::Unknown { name: "".into() }
        );
    }

    #[test]
    fn missing_arguments_say_what_is_missing() {
        assert_eq!(
            error("/join").to_string(),
            "missing room name; usage: /join <room>"
        );
        assert_eq!(
            error("/nick   "),
            CommandError::MissingArgument {
                argument: "name",
                usage: NICK_USAGE
            }
        );
        assert_eq!(
            error("/KICK"),
            CommandError::MissingArgument {
                argument: "user name",
                usage: KICK_USAGE
            }
        );
    }

    #[test]
    fn extra_arguments_are_refused() {
        assert_eq!(
            error("/nick a b").to_string(),
            "too many arguments; usage: /nick <name>"
        );
        let cases = [
            ("/join a b", JOIN_USAGE),
            ("/list x", LIST_USAGE),
            ("/rooms x", ROOMS_USAGE),
            ("/help join", HELP_USAGE),
        ];
        for (line, usage) in cases {
            assert_eq!(error(line), CommandError::TooManyArguments { usage });
        }
    }

    // ANCHOR: help_test
    #[test]
    fn help_lists_every_command() {
        let one_of_each = [
            Command::Join("rust".into()),
            Command::Nick("bob"),
            Command::Kick {
                user: "bob",
                reason: "".into(),
            },
            Command::List,
            Command::Rooms,
            Command::Help,
            Command::Quit("".into()),
        ];
        for sample in one_of_each {
            // No `_` arm on purpose: a new `Command` variant stops this test
            // from compiling until it gets an arm here, and a sample above.
            let typed = match sample {
                Command::Join(_) => "/join rust",
                Command::Nick(_) => "/nick bob",
                Command::Kick { .. } => "/kick bob",
                Command::List => "/list",
                Command::Rooms => "/rooms",
                Command::Help => "/help",
                Command::Quit(_) => "/quit",
            };
            assert_eq!(command(typed), sample, "{typed:?} parses into the sample");
            let usage = format!("/{}", sample.name());
            assert!(
                HELP.iter()
                    .any(|(line, _)| line.split(' ').next() == Some(usage.as_str())),
                "HELP has no entry for {usage}"
            );
        }
    }
    // ANCHOR_END: help_test
}
