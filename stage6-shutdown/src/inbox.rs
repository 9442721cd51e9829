//! A fixed-size buffer that cuts a byte stream into lines.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

// ANCHOR: inbox
/// Bytes received from one client that do not yet form a complete line.
///
/// tokio-util's `LinesCodec` with a maximum length is the usual way to read
/// bounded lines in tokio, and it would work here. It hands out a new
/// `String` per line and starts each connection's buffer at 8 KiB; this
/// buffer holds one line's worth, and the lines are borrowed from it, so the
/// zero-copy parsing of stages 3 and 4 carries over unchanged.
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
    ///
    /// Cancel-safe, as `select!` needs: if the returned future is dropped
    /// before it completes, no byte has been taken from `source`.
    pub async fn read_from(&mut self, source: &mut (impl AsyncRead + Unpin)) -> io::Result<usize> {
        // Move the unfinished line to the front to make room behind it.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        debug_assert!(
            self.end < self.buf.len(),
            "a full buffer is a line too long"
        );
        let read = source.read(&mut self.buf[self.end..]).await?;
        self.end += read;
        Ok(read)
    }

    /// The bytes received and not yet consumed: complete lines, then
    /// possibly the start of an unfinished one.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads and drops everything `source` sends until it closes or fails.
    pub async fn discard(&mut self, source: &mut (impl AsyncRead + Unpin)) {
        while let Ok(1..) = source.read(&mut self.buf).await {}
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
    use std::future::Future;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(future)
    }

    #[test]
    fn unconsumed_bytes_stay_for_the_next_read() {
        block_on(async {
            let mut inbox = Inbox::new(16);
            inbox.read_from(&mut &b"hi\nhe"[..]).await.unwrap();
            assert_eq!(inbox.pending(), b"hi\nhe");
            inbox.consume(3);
            inbox.read_from(&mut &b"llo\n"[..]).await.unwrap();
            assert_eq!(inbox.pending(), b"hello\n");
        });
    }

    #[test]
    fn the_buffer_holds_the_longest_line_with_its_ending() {
        block_on(async {
            let mut inbox = Inbox::new(4);
            let read = inbox.read_from(&mut &b"abcd\r\nmore"[..]).await.unwrap();
            assert_eq!(read, 6);
        });
    }
}
