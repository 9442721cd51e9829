//! The protocol on its own, without a socket: parsing each frame, cutting a
//! read buffer into frames, and writing replies. What a server does with them
//! on the wire is in `conformance.rs`.

use std::borrow::Cow;

use stage3_protocol::{Frame, FrameError, FrameIter, LineError, Reply};

/// A line that is not text; `Lines` finds it before `Frame::parse` is called.
const NOT_UTF8: FrameError = FrameError::Line(LineError::NotUtf8);

fn too_long(max: usize) -> FrameError {
    FrameError::Line(LineError::TooLong { max })
}

fn parse(line: &str) -> Result<Frame<'_>, FrameError> {
    Frame::parse(line)
}

fn frames(buf: &[u8], max_line_len: usize) -> Vec<Result<Frame<'_>, FrameError>> {
    FrameIter::new(buf, max_line_len).collect()
}

fn msg(text: &str) -> Result<Frame<'_>, FrameError> {
    Ok(Frame::Msg(text.into()))
}

#[test]
fn parses_each_frame_type() {
    assert_eq!(parse("NICK: alice "), Ok(Frame::Nick("alice".into())));
    assert_eq!(parse("JOIN:rust"), Ok(Frame::Join("rust".into())));
    assert_eq!(parse("MSG: hello, world "), msg("hello, world"));
    assert_eq!(
        parse("QUIT:gone fishing"),
        Ok(Frame::Quit("gone fishing".into()))
    );
    assert_eq!(parse("QUIT:"), Ok(Frame::Quit("".into())));
    assert_eq!(parse("QUIT:   "), Ok(Frame::Quit("".into())));
}

#[test]
fn types_ignore_ascii_case() {
    assert_eq!(parse("nick:alice"), Ok(Frame::Nick("alice".into())));
    assert_eq!(parse("Join:rust"), Ok(Frame::Join("rust".into())));
    assert_eq!(parse("mSg:hi"), msg("hi"));
    assert_eq!(parse("quit:"), Ok(Frame::Quit("".into())));
}

#[test]
fn msg_text_is_everything_after_the_first_colon() {
    assert_eq!(parse("MSG:bob:hi"), msg("bob:hi"));
    assert_eq!(parse("MSG: a : b :"), msg("a : b :"));
    assert_eq!(parse("MSG:::"), msg("::"));
}

#[test]
fn the_nick_is_not_validated_by_the_parser() {
    assert_eq!(
        parse("NICK:not a name!"),
        Ok(Frame::Nick("not a name!".into()))
    );
}

#[test]
fn clean_payloads_are_borrowed() {
    for line in ["NICK:alice", "JOIN:rust", "MSG:hello", "QUIT:bye", "QUIT:"] {
        let frame = parse(line).unwrap();
        let (Frame::Nick(payload)
        | Frame::Join(payload)
        | Frame::Msg(payload)
        | Frame::Quit(payload)) = &frame;
        assert!(
            matches!(payload, Cow::Borrowed(_)),
            "{line:?} gave {frame:?}"
        );
    }
}

#[test]
fn rooms_are_lowercased_and_copied_only_when_that_changes_them() {
    let Ok(Frame::Join(room)) = parse("JOIN: RuSt ") else {
        panic!("not a JOIN frame");
    };
    assert!(matches!(room, Cow::Owned(_)));
    assert_eq!(room, "rust");
    let Ok(Frame::Join(room)) = parse("JOIN:rust-2024") else {
        panic!("not a JOIN frame");
    };
    assert!(matches!(room, Cow::Borrowed("rust-2024")));
}

#[test]
fn control_characters_are_replaced_and_only_then_copied() {
    let Ok(Frame::Msg(text)) = parse("MSG:\x1b[2Jgotcha") else {
        panic!("not a MSG frame");
    };
    assert!(matches!(text, Cow::Owned(_)));
    assert_eq!(text, "\u{FFFD}[2Jgotcha");
    // A tab, DEL, and a C1 control character (CSI) inside the text; the
    // spaces around it are trimmed, not replaced.
    assert_eq!(
        parse("MSG: a\tb\x7fc\u{9b}d "),
        msg("a\u{FFFD}b\u{FFFD}c\u{FFFD}d")
    );
    assert_eq!(parse("QUIT:bye\x07"), Ok(Frame::Quit("bye\u{FFFD}".into())));
    // Non-ASCII text is not control text.
    assert!(matches!(
        parse("MSG:héllo ✓"),
        Ok(Frame::Msg(Cow::Borrowed(_)))
    ));
}

#[test]
fn each_malformed_line_gets_its_error() {
    assert_eq!(frames(b"MSG:\xff\n", 64), [Err(NOT_UTF8)]);
    assert_eq!(parse("hello"), Err(FrameError::MissingColon));
    assert_eq!(parse(""), Err(FrameError::MissingColon));
    assert_eq!(
        parse("SHOUT:hi"),
        Err(FrameError::UnknownType("SHOUT".into()))
    );
    assert_eq!(parse(":hi"), Err(FrameError::UnknownType("".into())));
    for (line, frame) in [("NICK:", "NICK"), ("JOIN: ", "JOIN"), ("msg:\t", "MSG")] {
        assert_eq!(parse(line), Err(FrameError::EmptyPayload { frame }));
    }
}

#[test]
fn an_unknown_type_is_cut_to_16_bytes_on_a_char_boundary() {
    let long = format!("{}:hi", "X".repeat(40));
    assert_eq!(parse(&long), Err(FrameError::UnknownType("X".repeat(16))));
    // 'é' is 2 bytes and "aé..." puts byte 16 inside one: cut before it.
    let accented = format!("a{}:hi", "é".repeat(10));
    assert_eq!(
        parse(&accented),
        Err(FrameError::UnknownType(format!("a{}", "é".repeat(7))))
    );
}

#[test]
fn error_messages_name_the_problem_without_control_characters() {
    assert_eq!(
        parse("\x1b[2J:hi").unwrap_err().to_string(),
        r#"unknown frame type "\u{1b}[2J"; expected NICK, JOIN, MSG or QUIT"#
    );
    assert_eq!(
        parse("JOIN:").unwrap_err().to_string(),
        "JOIN needs something after the ':'"
    );
    assert_eq!(too_long(5).to_string(), "a line is at most 5 bytes long");
}

#[test]
fn an_owned_frame_outlives_its_buffer() {
    let frame = {
        let buf = String::from("QUIT: gone fishing");
        Frame::parse(&buf).unwrap().into_owned()
    };
    assert_eq!(frame, Frame::Quit("gone fishing".into()));
    assert!(matches!(frame, Frame::Quit(Cow::Owned(_))));
}

#[test]
fn replies_write_their_wire_form() {
    let cases = [
        (
            Reply::Msg {
                from: "alice",
                text: "hi",
            },
            "MSG:alice:hi",
        ),
        (
            Reply::Joined {
                room: "rust",
                name: "bob",
            },
            "JOINED:rust:bob",
        ),
        (
            Reply::Left {
                room: "rust",
                name: "bob",
                reason: "",
            },
            "LEFT:rust:bob",
        ),
        (
            Reply::Left {
                room: "rust",
                name: "bob",
                reason: "bye: all",
            },
            "LEFT:rust:bob:bye: all",
        ),
        (
            Reply::Nick {
                old: "bob",
                new: "rob",
            },
            "NICK:bob:rob",
        ),
        (
            Reply::Ok("welcome alice, you are in lobby"),
            "OK:welcome alice, you are in lobby",
        ),
        (
            Reply::Err("a line is at most 5 bytes long"),
            "ERR:a line is at most 5 bytes long",
        ),
    ];
    for (reply, wire) in cases {
        assert_eq!(reply.to_string(), wire);
    }
}

#[test]
fn a_message_with_colons_survives_the_trip_through_the_server() {
    // bob tries to pass his words off as alice's...
    let Ok(Frame::Msg(text)) = parse("MSG:alice: i owe bob 10: really") else {
        panic!("not a MSG frame");
    };
    // ...but the server puts the real sender first,
    let wire = Reply::Msg {
        from: "bob",
        text: &text,
    }
    .to_string();
    assert_eq!(wire, "MSG:bob:alice: i owe bob 10: really");
    // and a client that splits into three parts gets the text back intact.
    let parts: Vec<&str> = wire.splitn(3, ':').collect();
    assert_eq!(parts, ["MSG", "bob", "alice: i owe bob 10: really"]);
}

#[test]
fn yields_every_complete_line_and_strips_crlf() {
    let buf = b"NICK:alice\r\nJOIN:rust\nMSG:hi\r\nQUIT:\n";
    assert_eq!(
        frames(buf, 64),
        vec![
            Ok(Frame::Nick("alice".into())),
            Ok(Frame::Join("rust".into())),
            msg("hi"),
            Ok(Frame::Quit("".into())),
        ]
    );
    let mut iter = FrameIter::new(buf, 64);
    iter.by_ref().for_each(drop);
    assert_eq!(iter.consumed(), buf.len());
}

#[test]
fn keeps_the_unfinished_tail_for_the_next_read() {
    let buf = b"MSG:one\nMSG:tw";
    let mut iter = FrameIter::new(buf, 64);
    assert_eq!(iter.next(), Some(msg("one")));
    assert_eq!(iter.next(), None);
    assert_eq!(iter.next(), None);
    assert_eq!(iter.consumed(), "MSG:one\n".len());
}

#[test]
fn a_frame_split_anywhere_is_completed_by_the_next_read() {
    let input = b"MSG:hello\r\nJOIN:Rust\n";
    for split in 0..=input.len() {
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for read in [&input[..split], &input[split..]] {
            buf.extend_from_slice(read);
            let mut iter = FrameIter::new(&buf, 64);
            got.extend(iter.by_ref().map(|item| item.map(Frame::into_owned)));
            let consumed = iter.consumed();
            buf.drain(..consumed);
        }
        assert_eq!(
            got,
            [msg("hello"), Ok(Frame::Join("rust".into()))],
            "split after {split} bytes"
        );
        assert!(buf.is_empty(), "split after {split} bytes left {buf:?}");
    }
}

#[test]
fn a_bad_line_does_not_poison_the_next() {
    let buf = b"MSG:before\nNOPE\n\nSHOUT:x\nMSG:\xff\nMSG:after\n";
    assert_eq!(
        frames(buf, 64),
        vec![
            msg("before"),
            Err(FrameError::MissingColon),
            Err(FrameError::MissingColon),
            Err(FrameError::UnknownType("SHOUT".into())),
            Err(NOT_UTF8),
            msg("after"),
        ]
    );
}

#[test]
fn a_long_unfinished_line_is_too_long_before_its_end_arrives() {
    let too_long = Err(too_long(5));
    assert_eq!(
        frames(b"MSG:a\n123456", 5),
        vec![msg("a"), too_long.clone()]
    );
    assert_eq!(frames(&[b'x'; 10_000], 5), vec![too_long]);
    let mut iter = FrameIter::new(b"MSG:a\n123456", 5);
    iter.by_ref().for_each(drop);
    assert_eq!(iter.consumed(), "MSG:a\n".len());
}

#[test]
fn a_long_complete_line_is_too_long_and_ends_the_iteration() {
    assert_eq!(frames(b"MSG:123\nMSG:hi\n", 5), vec![Err(too_long(5))]);
    assert_eq!(frames(b"MSG:123\r\nMSG:hi\n", 5), vec![Err(too_long(5))]);
}

#[test]
fn a_line_of_exactly_the_maximum_is_accepted() {
    assert_eq!(frames(b"MSG:1\n", 5), vec![msg("1")]);
    assert_eq!(frames(b"MSG:1\r\n", 5), vec![msg("1")]);
    // Unfinished, at the limit, with or without the '\r' of "\r\n": wait.
    assert_eq!(frames(b"MSG:1", 5), vec![]);
    assert_eq!(frames(b"MSG:1\r", 5), vec![]);
    assert_eq!(frames(b"MSG:12", 5), vec![Err(too_long(5))]);
}
