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

use crate::text::{lowercase, replace_controls, truncate};
use crate::{LineError, Lines};

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
// ANCHOR: frame_enum
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
// ANCHOR_END: frame_enum
// ANCHOR_END: frame

/// Why a line is not a frame.
///
/// The messages are written for the client, who receives them as `ERR:<message>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The line could not be cut from the buffer as text: see [`LineError`].
    /// A line that is too long ends the connection.
    #[error(transparent)]
    Line(#[from] LineError),
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
}

impl<'a> Frame<'a> {
    // ANCHOR: parse
    // ANCHOR: parse_signature
    /// Parses one line, given without its line ending.
    ///
    /// The frame borrows from `line`. Nothing is allocated unless a payload has
    /// to change (see [`Frame`]) or the type is unknown.
    pub fn parse(line: &'a str) -> Result<Frame<'a>, FrameError> {
        // ANCHOR_END: parse_signature
        // Exercise 3.1: see "Your job" in chapter 3.
        // ANCHOR: exercise_3_1
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
    FrameError::UnknownType(truncate(kind, MAX_SHOWN_TYPE).to_owned())
}

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

/// Splits a read buffer into frames, one per complete line.
///
/// [`Lines`] cuts the buffer into lines, and [`Frame::parse`] parses each. The
/// iterator yields `Ok(frame)`, or `Err(error)` for a line that is not a frame,
/// so that one bad line does not stop the lines after it. The rules about
/// unfinished and overlong lines, and [`consumed`](Self::consumed), are those
/// of [`Lines`]. After [`LineError::TooLong`] the caller must disconnect the
/// client: the end of that line may still be on its way, so nobody knows
/// where the next line starts.
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
    /// The complete lines of the buffer, each borrowed from it.
    lines: Lines<'a>,
}

impl<'a> FrameIter<'a> {
    /// Iterates over the frames in `buf`, each line at most `max_line_len`
    /// bytes long without its ending.
    pub fn new(buf: &'a [u8], max_line_len: usize) -> Self {
        FrameIter {
            lines: Lines::new(buf, max_line_len),
        }
    }

    /// How many bytes at the front of the buffer the frames yielded so far
    /// took, line endings included: the number of bytes the caller may drain.
    pub fn consumed(&self) -> usize {
        self.lines.consumed()
    }
}

// ANCHOR: frame_iter
impl<'a> Iterator for FrameIter<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        // `?` ends the iteration where the lines end; each line that is text
        // is parsed, and a line error becomes a frame error.
        let line = self.lines.next()?;
        Some(line.map_err(FrameError::from).and_then(Frame::parse))
    }
}
// ANCHOR_END: frame_iter
