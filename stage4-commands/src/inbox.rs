//! A fixed-size buffer that cuts a byte stream into lines.

use std::io::{self, Read};

// ANCHOR: inbox
/// Bytes received from one client that do not yet form a complete line.
///
/// The buffer is allocated once, with room for the longest allowed line plus
/// `\r\n`, and never grows: a [`Lines`](crate::Lines) iterator over
/// [`pending`](Self::pending) reports a line that does not fit as
/// [`LineError::TooLong`](crate::LineError::TooLong).
pub struct Inbox {
    buf: Box<[u8]>,
    /// `buf[start..end]` holds the bytes received and not yet returned as lines.
    start: usize,
    end: usize,
}
// ANCHOR_END: inbox

impl Inbox {
    /// An empty inbox for lines of at most `max_line_len` bytes.
    pub fn new(max_line_len: usize) -> Self {
        Inbox {
            buf: vec![0; max_line_len + 2].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Reads once from `source` into the free space; returns how many bytes
    /// arrived (0 means the client closed its side).
    ///
    /// Handle and [`consume`](Self::consume) the complete lines before reading
    /// again: a full buffer has no free space left to read into.
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<usize> {
        // Move the unfinished line to the front to make room behind it.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        debug_assert!(
            self.end < self.buf.len(),
            "a full buffer is a line too long"
        );
        let read = source.read(&mut self.buf[self.end..])?;
        self.end += read;
        Ok(read)
    }

    /// The bytes received and not yet consumed: complete lines, then
    /// possibly the start of an unfinished one.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Forgets the first `n` pending bytes, once the lines in them are handled.
    pub fn consume(&mut self, n: usize) {
        assert!(
            n <= self.end - self.start,
            "cannot consume bytes not received"
        );
        self.start += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconsumed_bytes_stay_for_the_next_read() {
        let mut inbox = Inbox::new(16);
        inbox.read_from(&mut &b"MSG:hi\nMSG:he"[..]).unwrap();
        assert_eq!(inbox.pending(), b"MSG:hi\nMSG:he");
        inbox.consume(7);
        inbox.read_from(&mut &b"llo\n"[..]).unwrap();
        assert_eq!(inbox.pending(), b"MSG:hello\n");
    }

    #[test]
    fn the_buffer_holds_the_longest_line_with_its_ending() {
        let mut inbox = Inbox::new(4);
        let read = inbox.read_from(&mut &b"abcd\r\nmore"[..]).unwrap();
        assert_eq!(read, 6);
    }
}
