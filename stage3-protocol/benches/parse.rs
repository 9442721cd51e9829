//! Parses about 1 MiB of frames two ways and compares the time: borrowing from
//! the buffer with [`FrameIter`], and the usual first attempt, which makes a
//! `String` for every line and for every field.
//!
//! Run with `cargo bench`. Both parsers read the same input and compute the same
//! result, which is checked before anything is timed.

use std::hint::black_box;
use std::io::BufRead;
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use stage3_protocol::{Frame, FrameIter};

/// The longest line the zero-copy parser accepts; no line of the input is longer.
const MAX_LINE_LEN: usize = 1024;

/// Size of the input, reached with whole lines.
const INPUT_LEN: usize = 1 << 20;

/// The input both parsers read, built once.
static INPUT: LazyLock<Input> = LazyLock::new(build_input);

/// Lines as a busy chat server receives them.
struct Input {
    /// The lines, each ending with `\n` or `\r\n`.
    bytes: Vec<u8>,
    /// How many lines `bytes` holds.
    frames: usize,
}

/// What both parsers compute.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Frames parsed.
    frames: usize,
    /// Bytes of all their payloads, after trimming and cleaning.
    payload_bytes: usize,
}

fn main() {
    // Comparing the times of two parsers means nothing unless they do the same work.
    let tally = borrowed(&INPUT.bytes);
    assert_eq!(tally.frames, INPUT.frames, "some lines did not parse");
    assert_eq!(allocating(&INPUT.bytes), tally, "the two parsers disagree");
    divan::main();
}

// ANCHOR: benches
#[divan::bench(sample_count = 40, sample_size = 1)]
fn borrowed_frame_iter(bencher: Bencher) {
    bencher
        .counter(BytesCount::of_slice(&INPUT.bytes))
        .counter(ItemsCount::new(INPUT.frames))
        .bench(|| borrowed(black_box(&INPUT.bytes)));
}

#[divan::bench(sample_count = 40, sample_size = 1)]
fn allocating_lines(bencher: Bencher) {
    bencher
        .counter(BytesCount::of_slice(&INPUT.bytes))
        .counter(ItemsCount::new(INPUT.frames))
        .bench(|| allocating(black_box(&INPUT.bytes)));
}
// ANCHOR_END: benches

/// Counts frames and payload bytes with the zero-copy parser.
fn borrowed(input: &[u8]) -> Tally {
    let mut tally = Tally::default();
    // Errors are skipped; `main` checks that there are none.
    for frame in FrameIter::new(input, MAX_LINE_LEN).flatten() {
        let (Frame::Nick(payload)
        | Frame::Join(payload)
        | Frame::Msg(payload)
        | Frame::Quit(payload)) = &frame;
        tally.frames += 1;
        tally.payload_bytes += payload.len();
    }
    tally
}

/// Counts frames and payload bytes the way many tutorials parse: `lines()`
/// allocates a `String` per line, and [`OwnedFrame`] another per field.
fn allocating(input: &[u8]) -> Tally {
    let mut tally = Tally::default();
    for line in input.lines() {
        let line = line.expect("the input is UTF-8");
        let Some(frame) = OwnedFrame::parse(&line) else {
            continue;
        };
        let (OwnedFrame::Nick(payload)
        | OwnedFrame::Join(payload)
        | OwnedFrame::Msg(payload)
        | OwnedFrame::Quit(payload)) = &frame;
        tally.frames += 1;
        tally.payload_bytes += payload.len();
    }
    tally
}

// ANCHOR: owned_frame
/// A frame that owns a copy of each field, whether or not it had to change.
enum OwnedFrame {
    /// `NICK:<name>`.
    Nick(String),
    /// `JOIN:<room>`, lowercased.
    Join(String),
    /// `MSG:<text>`, with control characters replaced.
    Msg(String),
    /// `QUIT:<reason>`, with control characters replaced.
    Quit(String),
}

// ANCHOR: owned_parse
impl OwnedFrame {
    /// The same rules as [`Frame::parse`], with a copy at every step.
    fn parse(line: &str) -> Option<OwnedFrame> {
        let (kind, payload) = line.split_once(':')?;
        let payload = payload.trim();
        // Uppercasing the type to compare it: one more `String` per line.
        let frame = match kind.to_uppercase().as_str() {
            "NICK" if !payload.is_empty() => OwnedFrame::Nick(payload.to_string()),
            "JOIN" if !payload.is_empty() => OwnedFrame::Join(payload.to_lowercase()),
            "MSG" if !payload.is_empty() => OwnedFrame::Msg(replace_controls(payload)),
            "QUIT" => OwnedFrame::Quit(replace_controls(payload)),
            _ => return None,
        };
        Some(frame)
    }
}
// ANCHOR_END: owned_parse

/// Replaces control characters with U+FFFD, building a new `String` every time.
fn replace_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}
// ANCHOR_END: owned_frame

/// Builds [`INPUT_LEN`] bytes of frames: mostly messages of 3 to 20 words, some
/// joins, renames and quits. A few rooms have an uppercase letter and a few
/// messages a control character, as in real traffic, and every seventh line
/// ends with `\r\n`, as telnet sends it.
fn build_input() -> Input {
    const WORDS: [&str; 16] = [
        "hello",
        "rust",
        "borrow",
        "checker",
        "is",
        "a",
        "friend",
        "lifetime",
        "of",
        "the",
        "buffer",
        "zero-copy",
        "parse:",
        "frames",
        "quickly",
        "today",
    ];
    const ROOMS: [&str; 4] = ["lobby", "rust", "off-topic", "help"];
    let mut bytes = Vec::with_capacity(INPUT_LEN + MAX_LINE_LEN);
    let mut frames = 0;
    while bytes.len() < INPUT_LEN {
        let i = frames;
        let line = match i % 100 {
            0 if i % 400 == 0 => format!("JOIN:Rust-{}", i % 7),
            0..=4 => format!("JOIN:{}", ROOMS[i % ROOMS.len()]),
            5 | 6 => format!("NICK:user{}", i % 1000),
            7 => format!("QUIT:{}", if i % 200 == 7 { "" } else { "see you" }),
            _ => {
                let words = 3 + (i * 7) % 18;
                let text: Vec<&str> = (0..words)
                    .map(|w| WORDS[(i + w * 5) % WORDS.len()])
                    .collect();
                let bell = if i % 500 == 9 { "\x07" } else { "" };
                format!("MSG:{}{bell}", text.join(" "))
            }
        };
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(if i % 7 == 0 { b"\r\n" } else { b"\n" });
        frames += 1;
    }
    Input { bytes, frames }
}
