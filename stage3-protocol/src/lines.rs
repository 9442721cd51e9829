//! Cutting a client's read buffer into lines, without copying.
//!
//! TCP delivers bytes, not lines: one read may return half a line, or three
//! lines and the start of a fourth. [`Lines`] yields the complete lines of a
//! buffer, each borrowed from it, and leaves the unfinished one for the next
//! read. What a line means is the caller's business.

use thiserror::Error;

/// Why a line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    /// The line is not UTF-8 text.
    #[error("the line is not valid UTF-8")]
    NotUtf8,
    /// A line is longer than the limit. The connection cannot continue: the
    /// rest of the line may still be on its way, so nobody knows where the
    /// next line starts.
    #[error("a line is at most {max} bytes long")]
    TooLong {
        /// The limit that was exceeded, not counting the line ending.
        max: usize,
    },
}

// ANCHOR: lines_struct
/// Splits a read buffer into complete lines, `\n` or `\r\n` removed.
///
/// The caller reads bytes into a buffer and passes the buffer to
/// [`Lines::new`]. The iterator yields one item per complete line, in order:
/// `Ok(line)`, or [`LineError::NotUtf8`] for a line that is not text, so that
/// one bad line does not stop the lines after it.
///
/// The unfinished line at the end of the buffer is never yielded: the rest of
/// it has not arrived yet. After iterating, [`consumed`](Self::consumed) says
/// how many bytes the complete lines took. The caller removes exactly that
/// many bytes from the front of its buffer, keeps the rest, and appends the
/// next read to it.
///
/// A line longer than `max_line_len` bytes, not counting its ending, makes the
/// iterator yield [`LineError::TooLong`] and then end. An unfinished line is
/// reported as soon as it is too long, so the buffer never has to hold more
/// than `max_line_len + 1` bytes of it (the `+ 1` is a `\r` waiting for its `\n`).
// ANCHOR: lines_fields
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    /// The buffer, as the caller passed it.
    buf: &'a [u8],
    /// How many bytes at the front of `buf` the lines yielded so far took.
    consumed: usize,
    /// The longest line accepted, not counting its ending.
    max_line_len: usize,
    /// Set after `TooLong`, the last item.
    finished: bool,
}
// ANCHOR_END: lines_fields
// ANCHOR_END: lines_struct

impl<'a> Lines<'a> {
    /// Iterates over the complete lines in `buf`, each at most `max_line_len`
    /// bytes long without its ending.
    pub fn new(buf: &'a [u8], max_line_len: usize) -> Self {
        Lines {
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

// ANCHOR: lines
// ANCHOR: lines_item
impl<'a> Iterator for Lines<'a> {
    type Item = Result<&'a str, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        // ANCHOR_END: lines_item
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
            return Some(Err(LineError::TooLong {
                max: self.max_line_len,
            }));
        }
        // Without a newline the line is unfinished: it waits for the next read.
        let end = newline?;
        self.consumed += end + 1;
        Some(std::str::from_utf8(line).map_err(|_| LineError::NotUtf8))
        // ANCHOR_END: exercise_3_2
    }
}
// ANCHOR_END: lines

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_complete_lines_and_keeps_the_unfinished_one() {
        let buf = b"hello\r\n/join rust\nhalf";
        let mut lines = Lines::new(buf, 16);
        assert_eq!(lines.next(), Some(Ok("hello")));
        assert_eq!(lines.next(), Some(Ok("/join rust")));
        assert_eq!(lines.next(), None);
        assert_eq!(lines.consumed(), buf.len() - b"half".len());
    }

    #[test]
    fn a_bad_line_does_not_poison_the_next() {
        let mut lines = Lines::new(b"\xff\nok\n", 16);
        assert_eq!(lines.next(), Some(Err(LineError::NotUtf8)));
        assert_eq!(lines.next(), Some(Ok("ok")));
    }

    #[test]
    fn too_long_ends_the_iteration_finished_or_not() {
        let mut lines = Lines::new(b"12345\nok\n", 4);
        assert_eq!(lines.next(), Some(Err(LineError::TooLong { max: 4 })));
        assert_eq!(lines.next(), None);
        let mut lines = Lines::new(b"12345", 4);
        assert_eq!(lines.next(), Some(Err(LineError::TooLong { max: 4 })));
        assert_eq!(Lines::new(b"1234\r\n", 4).next(), Some(Ok("1234")));
    }
}
