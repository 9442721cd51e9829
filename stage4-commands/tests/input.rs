//! Parsing what a user typed, without a socket: every command, its errors,
//! and chat text. What the server does with each command is in `commands.rs`.

use std::borrow::Cow;

use stage4_commands::{Command, CommandError, HELP, Input, parse_input};

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
            usage: "/nick <name>"
        }
    );
    assert_eq!(
        error("/KICK"),
        CommandError::MissingArgument {
            argument: "user name",
            usage: "/kick <user> [reason]"
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
        ("/join a b", "/join <room>"),
        ("/list x", "/list"),
        ("/rooms x", "/rooms"),
        ("/help join", "/help"),
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
