//! Cutting a client's read buffer into lines, without copying.
//!
//! Stage 3's `FrameIter` parsed each line as a frame. People do not type
//! frames, so in this stage the iterator only cuts and checks lines, and
//! [`parse_input`](crate::parse_input) decides what each one means. Each line is
//! still borrowed from the buffer.

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

/// Splits a read buffer into complete lines, `\n` or `\r\n` removed.
///
/// The unfinished line at the end is never yielded; [`consumed`](Self::consumed)
/// says how many bytes the yielded lines took, so the caller drains exactly
/// those and keeps the rest for the next read. A line longer than
/// `max_line_len`, finished or not, yields [`LineError::TooLong`] and ends the
/// iteration.
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

impl<'a> Lines<'a> {
    /// Iterates over the complete lines in `buf`.
    pub fn new(buf: &'a [u8], max_line_len: usize) -> Self {
        Lines {
            buf,
            consumed: 0,
            max_line_len,
            finished: false,
        }
    }

    /// How many bytes the lines yielded so far took, line endings included.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

// ANCHOR: lines
impl<'a> Iterator for Lines<'a> {
    type Item = Result<&'a str, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let rest = &self.buf[self.consumed..];
        let newline = rest.iter().position(|&b| b == b'\n');
        let line = match newline {
            Some(end) => &rest[..end],
            None => rest,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_len {
            self.finished = true;
            return Some(Err(LineError::TooLong {
                max: self.max_line_len,
            }));
        }
        // Without a newline the line is unfinished: it waits for the next read.
        let end = newline?;
        self.consumed += end + 1;
        Some(std::str::from_utf8(line).map_err(|_| LineError::NotUtf8))
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
