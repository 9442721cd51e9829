//! The wire protocol: one frame per line, `TYPE:PAYLOAD`.
//!
//! A client sends [`Frame`]s and the server answers with [`Reply`]s. A line ends
//! with `\n`; a `\r` just before it (telnet sends `\r\n`) is dropped. The type is
//! matched without regard to ASCII case, so `msg:hi` works as well as `MSG:hi`.
//!
//! | the client sends | parsed as |
//! |---|---|
//! | `NICK:<name>` | [`Frame::Nick`] |
//! | `JOIN:<room>` | [`Frame::Join`], the room in lowercase |
//! | `MSG:<text>` | [`Frame::Msg`]; the text may contain `:` |
//! | `QUIT:<reason>` | [`Frame::Quit`]; the reason may be empty |
//!
//! Parsing is *zero-copy*: a frame borrows its payload from the buffer the line
//! was read into instead of copying it into a new `String`. Only a payload that
//! must change (a room with an uppercase letter, a text with a control
//! character) is copied, and a [`Cow`] records which of the two happened.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

/// The longest part of an unknown frame type that an error repeats, in bytes.
const MAX_SHOWN_TYPE: usize = 16;

// ANCHOR: frame
/// One line from a client, parsed.
///
/// Every payload is a [`Cow`]: borrowed from the line when the text on the wire
/// is already what the server needs, owned only when parsing had to change it.
/// The parser never changes a name, so `Nick` could hold a plain `&'a str`; it
/// holds a `Cow` like the others so that [`Frame::into_owned`] can turn any
/// frame into a `Frame<'static>` without a second, owning copy of this enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `NICK:<name>`: the name the client asks for, trimmed and never empty.
    /// The parser does not check it further: which names are allowed is the
    /// server's rule, not the protocol's.
    Nick(Cow<'a, str>),
    /// `JOIN:<room>`: the room to move to, trimmed, never empty, and in ASCII
    /// lowercase because room names are case-insensitive.
    Join(Cow<'a, str>),
    /// `MSG:<text>`: everything after the first `:`, trimmed, never empty, with
    /// control characters replaced by U+FFFD. The sender is not part of the
    /// frame: the server knows who sent it, so nobody can speak for someone else.
    Msg(Cow<'a, str>),
    /// `QUIT:<reason>`: why the client leaves, cleaned like a message. The
    /// reason may be empty.
    Quit(Cow<'a, str>),
}
// ANCHOR_END: frame

/// Why a line is not a frame.
///
/// The messages are written for the client, who receives them as `ERR:<message>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The line is not UTF-8 text.
    #[error("the line is not valid UTF-8")]
    NotUtf8,
    /// The line has no `:` between the type and the payload.
    #[error("expected `TYPE:payload`, but the line has no ':'")]
    MissingColon,
    /// The type before the first `:` is none of those the protocol knows.
    ///
    /// Holds at most the first 16 bytes of what the client sent. The message
    /// shows it with `{:?}`, which quotes it and escapes control characters, so
    /// an error reply cannot carry a terminal escape sequence.
    #[error("unknown frame type {0:?}; expected NICK, JOIN, MSG or QUIT")]
    UnknownType(String),
    /// The frame needs a payload and has none (or only spaces).
    #[error("{frame} needs something after the ':'")]
    EmptyPayload {
        /// The frame's type, spelled as the protocol spells it.
        frame: &'static str,
    },
    /// A line is longer than the limit. The connection cannot continue: see
    /// [`FrameIter`].
    #[error("a line is at most {max} bytes long")]
    TooLong {
        /// The limit that was exceeded, not counting the line ending.
        max: usize,
    },
}

impl<'a> Frame<'a> {
    // ANCHOR: parse
    // ANCHOR: parse_signature
    /// Parses one line, given without its line ending.
    ///
    /// The frame borrows from `line`. Nothing is allocated unless a payload has
    /// to change (see [`Frame`]) or the type is unknown.
    pub fn parse(line: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        // ANCHOR_END: parse_signature
        // Exercise 3.1: see "Your job" in chapter 3.
        // ANCHOR: exercise_3_1
        let line = std::str::from_utf8(line).map_err(|_| FrameError::NotUtf8)?;
        // Only the first ':' separates: a message may contain more of them.
        let (kind, payload) = line.split_once(':').ok_or(FrameError::MissingColon)?;
        let payload = payload.trim();
        // `eq_ignore_ascii_case` compares in place; uppercasing `kind` first
        // would allocate a new string for every line.
        if kind.eq_ignore_ascii_case("MSG") {
            Ok(Frame::Msg(replace_controls(non_empty(payload, "MSG")?)))
        } else if kind.eq_ignore_ascii_case("JOIN") {
            Ok(Frame::Join(lowercase(non_empty(payload, "JOIN")?)))
        } else if kind.eq_ignore_ascii_case("NICK") {
            Ok(Frame::Nick(Cow::Borrowed(non_empty(payload, "NICK")?)))
        } else if kind.eq_ignore_ascii_case("QUIT") {
            Ok(Frame::Quit(replace_controls(payload)))
        } else {
            Err(unknown_type(kind))
        }
        // ANCHOR_END: exercise_3_1
    }
    // ANCHOR_END: parse

    // ANCHOR: into_owned
    /// Copies every borrowed payload, so that the frame no longer borrows the
    /// line it was parsed from.
    ///
    /// The server needs this to keep a frame after its read buffer is reused or
    /// dropped, such as a QUIT reason announced after the connection is gone.
    /// A payload that is already owned is moved, not copied.
    pub fn into_owned(self) -> Frame<'static> {
        match self {
            Frame::Nick(name) => Frame::Nick(Cow::Owned(name.into_owned())),
            Frame::Join(room) => Frame::Join(Cow::Owned(room.into_owned())),
            Frame::Msg(text) => Frame::Msg(Cow::Owned(text.into_owned())),
            Frame::Quit(reason) => Frame::Quit(Cow::Owned(reason.into_owned())),
        }
    }
    // ANCHOR_END: into_owned
}

/// Returns `payload`, or the error naming `frame` if it is empty.
fn non_empty<'a>(payload: &'a str, frame: &'static str) -> Result<&'a str, FrameError> {
    if payload.is_empty() {
        Err(FrameError::EmptyPayload { frame })
    } else {
        Ok(payload)
    }
}

/// The error for an unknown type, which repeats at most [`MAX_SHOWN_TYPE`] bytes
/// of it: a client could send a whole line of garbage before the ':'.
fn unknown_type(kind: &str) -> FrameError {
    let mut end = kind.len().min(MAX_SHOWN_TYPE);
    // Cutting inside a multi-byte character would not be a `str`.
    while !kind.is_char_boundary(end) {
        end -= 1;
    }
    FrameError::UnknownType(kind[..end].to_owned())
}

// ANCHOR: cow
/// Returns `room` in ASCII lowercase, copying it only if it has an uppercase
/// letter. Most clients already send lowercase, so most calls allocate nothing.
fn lowercase(room: &str) -> Cow<'_, str> {
    if room.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(room.to_ascii_lowercase())
    } else {
        Cow::Borrowed(room)
    }
}

/// Replaces every control character in `text` with U+FFFD, copying `text` only
/// if it has one.
///
/// The server relays a message to everyone in the room, and control characters
/// would reach their terminals: `"\x1b[2J"` clears the screen, and other escape
/// sequences can do worse.
fn replace_controls(text: &str) -> Cow<'_, str> {
    let controls = text.chars().filter(|c| c.is_control()).count();
    if controls == 0 {
        return Cow::Borrowed(text);
    }
    // U+FFFD takes 3 bytes and a control character at least 1, so this is
    // enough room: one allocation, never a second to grow.
    let mut clean = String::with_capacity(text.len() + 2 * controls);
    for c in text.chars() {
        clean.push(if c.is_control() {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        });
    }
    Cow::Owned(clean)
}
// ANCHOR_END: cow

/// One line from the server to a client.
///
/// [`Display`](fmt::Display) writes the wire form without the `\n`, which the
/// caller adds. A `:` follows every field but the last, so those fields must not
/// contain one; the server's rules for names and rooms make sure they do not.
/// The last field may contain `:` freely, because a client splits a reply into
/// at most as many parts as it has fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `MSG:<from>:<text>`: a message from another user.
    Msg {
        /// The sender's name.
        from: &'a str,
        /// What they said, as cleaned by [`Frame::parse`].
        text: &'a str,
    },
    /// `JOINED:<room>:<name>`: someone entered the room.
    Joined {
        /// The room they entered.
        room: &'a str,
        /// Who entered it.
        name: &'a str,
    },
    /// `LEFT:<room>:<name>`, or `LEFT:<room>:<name>:<reason>` when there is a
    /// reason: someone left the room.
    Left {
        /// The room they left.
        room: &'a str,
        /// Who left it.
        name: &'a str,
        /// Why, as given in their QUIT frame; empty if they gave no reason.
        reason: &'a str,
    },
    /// `NICK:<old>:<new>`: someone changed their name.
    Nick {
        /// The name they had.
        old: &'a str,
        /// The name they have now.
        new: &'a str,
    },
    /// `OK:<text>`: the server confirms a request, as in
    /// `OK:welcome alice, you are in lobby`.
    Ok(&'a str),
    /// `ERR:<text>`: the server refuses a line or a request; the text says why.
    Err(&'a str),
}

// ANCHOR: reply_display
impl fmt::Display for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Msg { from, text } => write!(f, "MSG:{from}:{text}"),
            Reply::Joined { room, name } => write!(f, "JOINED:{room}:{name}"),
            // No trailing ':' without a reason, so the common case stays short.
            Reply::Left {
                room,
                name,
                reason: "",
            } => write!(f, "LEFT:{room}:{name}"),
            Reply::Left { room, name, reason } => write!(f, "LEFT:{room}:{name}:{reason}"),
            Reply::Nick { old, new } => write!(f, "NICK:{old}:{new}"),
            Reply::Ok(text) => write!(f, "OK:{text}"),
            Reply::Err(text) => write!(f, "ERR:{text}"),
        }
    }
}
// ANCHOR_END: reply_display

// ANCHOR: frame_iter_struct
/// Splits a read buffer into frames, one per complete line.
///
/// The server reads bytes into a buffer and passes the buffer to
/// [`FrameIter::new`]. The iterator yields one item per complete line, in order:
/// `Ok(frame)`, or `Err(error)` for a line that is not a frame, so that one bad
/// line does not stop the lines after it. The line ending, `\n` or `\r\n`, is
/// not part of the line.
///
/// The unfinished line at the end of the buffer is never yielded: the rest of
/// it has not arrived yet. After iterating, [`FrameIter::consumed`] says how many
/// bytes the complete lines took. The caller removes exactly that many bytes
/// from the front of its buffer, keeps the rest, and appends the next read to it.
///
/// A line longer than `max_line_len` bytes, not counting its ending, makes the
/// iterator yield [`FrameError::TooLong`] and then end. An unfinished line is
/// reported as soon as it is too long, so the buffer never has to hold more than
/// `max_line_len + 1` bytes of it (the `+ 1` is a `\r` waiting for its `\n`).
/// After `TooLong` the caller must disconnect the client: the end of that line
/// may still be on its way, so nobody knows where the next line starts.
///
/// # Example
///
/// A frame split across two reads:
///
/// ```
/// use stage3_protocol::{Frame, FrameIter};
///
/// let mut buf = b"MSG:hel".to_vec();
/// let mut frames = FrameIter::new(&buf, 1024);
/// assert_eq!(frames.next(), None); // no '\n' yet: the line is unfinished
/// assert_eq!(frames.consumed(), 0); // so the caller keeps all of it
///
/// buf.extend_from_slice(b"lo\nJOIN:rust\n"); // the next read
/// let mut frames = FrameIter::new(&buf, 1024);
/// assert_eq!(frames.next(), Some(Ok(Frame::Msg("hello".into()))));
/// assert_eq!(frames.next(), Some(Ok(Frame::Join("rust".into()))));
/// assert_eq!(frames.next(), None);
/// assert_eq!(frames.consumed(), buf.len());
///
/// // The frames borrow `buf`: the compiler makes sure that they are used (or
/// // made owned) before the complete lines are drained.
/// let consumed = frames.consumed();
/// buf.drain(..consumed);
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct FrameIter<'a> {
    /// The buffer, as the caller passed it.
    buf: &'a [u8],
    /// How many bytes at the front of `buf` the lines yielded so far took.
    consumed: usize,
    /// The longest line accepted, not counting its ending.
    max_line_len: usize,
    /// Set after `TooLong`, the last item.
    finished: bool,
}

impl<'a> FrameIter<'a> {
    /// Iterates over the complete lines in `buf`, each at most `max_line_len`
    /// bytes long without its ending.
    pub fn new(buf: &'a [u8], max_line_len: usize) -> Self {
        FrameIter {
            buf,
            consumed: 0,
            max_line_len,
            finished: false,
        }
    }

    /// How many bytes at the front of the buffer the lines yielded so far took,
    /// line endings included: the number of bytes the caller may drain.
    ///
    /// It never counts the unfinished line at the end, nor a line that was too long.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}
// ANCHOR_END: frame_iter_struct

// ANCHOR: frame_iter
// ANCHOR: frame_iter_item
impl<'a> Iterator for FrameIter<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        // ANCHOR_END: frame_iter_item
        // Exercise 3.2: see "Your job" in chapter 3.
        // ANCHOR: exercise_3_2
        if self.finished {
            return None;
        }
        let rest = &self.buf[self.consumed..];
        let newline = rest.iter().position(|&b| b == b'\n');
        // Without a '\n', `rest` is the unfinished line: it is measured too.
        let line = match newline {
            Some(end) => &rest[..end],
            None => rest,
        };
        // At the end of an unfinished line, a '\r' may be the first half of
        // "\r\n": it does not count against the limit either.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_len {
            // Always the last item. Ending after a complete line too keeps the
            // outcome the same however the bytes were split into reads.
            self.finished = true;
            return Some(Err(FrameError::TooLong {
                max: self.max_line_len,
            }));
        }
        let Some(end) = newline else {
            // The rest of this line comes with the next read.
            return None;
        };
        self.consumed += end + 1;
        Some(Frame::parse(line))
        // ANCHOR_END: exercise_3_2
    }
}
// ANCHOR_END: frame_iter

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Frame<'_>, FrameError> {
        Frame::parse(line.as_bytes())
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
        assert_eq!(Frame::parse(b"MSG:\xff"), Err(FrameError::NotUtf8));
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
        assert_eq!(
            FrameError::TooLong { max: 5 }.to_string(),
            "a line is at most 5 bytes long"
        );
    }

    #[test]
    fn an_owned_frame_outlives_its_buffer() {
        let frame = {
            let buf = b"QUIT: gone fishing".to_vec();
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
                Err(FrameError::NotUtf8),
                msg("after"),
            ]
        );
    }

    #[test]
    fn a_long_unfinished_line_is_too_long_before_its_end_arrives() {
        let too_long = Err(FrameError::TooLong { max: 5 });
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
        assert_eq!(
            frames(b"MSG:123\nMSG:hi\n", 5),
            vec![Err(FrameError::TooLong { max: 5 })]
        );
        assert_eq!(
            frames(b"MSG:123\r\nMSG:hi\n", 5),
            vec![Err(FrameError::TooLong { max: 5 })]
        );
    }

    #[test]
    fn a_line_of_exactly_the_maximum_is_accepted() {
        assert_eq!(frames(b"MSG:1\n", 5), vec![msg("1")]);
        assert_eq!(frames(b"MSG:1\r\n", 5), vec![msg("1")]);
        // Unfinished, at the limit, with or without the '\r' of "\r\n": wait.
        assert_eq!(frames(b"MSG:1", 5), vec![]);
        assert_eq!(frames(b"MSG:1\r", 5), vec![]);
        assert_eq!(
            frames(b"MSG:12", 5),
            vec![Err(FrameError::TooLong { max: 5 })]
        );
    }
}
