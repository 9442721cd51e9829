//! A fixed-size buffer that cuts a byte stream into lines.

use std::io::{self, Read};

use crate::ChatError;

// ANCHOR: inbox
/// Bytes received from one client that do not yet form a complete line.
///
/// The buffer is allocated once, with room for the longest allowed line plus
/// `\r\n`, and never grows: a client that sends more than that without a newline
/// gets [`ChatError::LineTooLong`] instead of more memory.
pub struct Inbox {
    buf: Box<[u8]>,
    /// `buf[start..end]` holds the bytes received and not yet returned as lines.
    start: usize,
    end: usize,
    max_line_len: usize,
}
// ANCHOR_END: inbox

impl Inbox {
    /// An empty inbox for lines of at most `max_line_len` bytes.
    pub fn new(max_line_len: usize) -> Self {
        Inbox {
            buf: vec![0; max_line_len + 2].into_boxed_slice(),
            start: 0,
            end: 0,
            max_line_len,
        }
    }

    /// Reads once from `source` into the free space; returns how many bytes
    /// arrived (0 means the client closed its side).
    ///
    /// Call [`next_line`](Self::next_line) until it returns `None` before
    /// reading again: a full buffer has no free space left to read into.
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<usize> {
        // Move the unfinished line to the front to make room behind it.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        debug_assert!(self.end < self.buf.len(), "next_line reports a full buffer");
        let read = source.read(&mut self.buf[self.end..])?;
        self.end += read;
        Ok(read)
    }

    // ANCHOR: next_line
    /// The next complete line, without its `\n` or `\r\n`, or `None` if the
    /// line is not complete yet.
    ///
    /// The line is borrowed from the inbox: no copy is made.
    pub fn next_line(&mut self) -> Option<Result<&[u8], ChatError>> {
        let pending = &self.buf[self.start..self.end];
        let Some(newline) = pending.iter().position(|&b| b == b'\n') else {
            // No newline, and no room left for one: the line is too long.
            if pending.len() == self.buf.len() {
                return Some(Err(ChatError::LineTooLong {
                    max: self.max_line_len,
                }));
            }
            return None;
        };
        let line_start = self.start;
        self.start += newline + 1;
        let mut line = &self.buf[line_start..line_start + newline];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.len() > self.max_line_len {
            return Some(Err(ChatError::LineTooLong {
                max: self.max_line_len,
            }));
        }
        Some(Ok(line))
    }
    // ANCHOR_END: next_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(inbox: &mut Inbox) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        while let Some(line) = inbox.next_line() {
            match line {
                Ok(bytes) => out.push(Ok(String::from_utf8_lossy(bytes).into_owned())),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn a_line_split_across_reads_is_completed_by_the_next_read() {
        let mut inbox = Inbox::new(16);
        inbox.read_from(&mut &b"hel"[..]).unwrap();
        assert!(drain(&mut inbox).is_empty());
        inbox.read_from(&mut &b"lo\r\nbye\n"[..]).unwrap();
        assert_eq!(
            drain(&mut inbox),
            vec![Ok("hello".into()), Ok("bye".into())]
        );
    }

    #[test]
    fn exactly_max_is_accepted_and_a_full_buffer_without_newline_is_refused() {
        let mut inbox = Inbox::new(4);
        inbox.read_from(&mut &b"abcd\r\n"[..]).unwrap();
        assert_eq!(drain(&mut inbox), vec![Ok("abcd".into())]);
        inbox.read_from(&mut &b"abcdefgh"[..]).unwrap();
        assert_eq!(
            drain(&mut inbox),
            vec![Err("a line is at most 4 bytes long".into())]
        );
    }

    #[test]
    fn a_complete_line_one_byte_too_long_is_refused() {
        let mut inbox = Inbox::new(4);
        inbox.read_from(&mut &b"abcde\n"[..]).unwrap();
        assert_eq!(
            drain(&mut inbox),
            vec![Err("a line is at most 4 bytes long".into())]
        );
    }
}
