//! A bounded queue of lines waiting to be written to one client.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::rc::Rc;

// ANCHOR: outbox
/// Lines waiting for one client's socket to accept them.
///
/// Each line is an `Rc<str>`: a message sent to a room is allocated once and
/// every member's queue holds a pointer to it (pattern 5). The text is freed
/// when the last member has written it.
pub struct Outbox {
    lines: VecDeque<Rc<str>>,
    /// How much of the front line the socket has already taken.
    written: usize,
    /// Bytes queued and not yet written, across all lines.
    queued: usize,
    /// The most bytes that may wait; see [`push`](Self::push).
    limit: usize,
    overflowed: bool,
}
// ANCHOR_END: outbox

impl Outbox {
    /// An empty queue that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Outbox {
            lines: VecDeque::new(),
            written: 0,
            queued: 0,
            limit,
            overflowed: false,
        }
    }

    // ANCHOR: push
    /// Queues `line`, which must end with `\n`.
    ///
    /// A client that does not read would make the queue grow without bound, so
    /// past the limit the line is dropped and the queue marked as overflowed;
    /// the server then disconnects that client and tells it why. An empty
    /// queue always takes the line: the limit bounds a backlog, and a single
    /// line, however long, is none.
    pub fn push(&mut self, line: Rc<str>) {
        if self.overflowed {
            return;
        }
        if !self.lines.is_empty() && self.queued + line.len() > self.limit {
            self.overflowed = true;
            return;
        }
        self.queued += line.len();
        self.lines.push_back(line);
    }
    // ANCHOR_END: push

    /// Whether a line was dropped because the queue was full.
    pub fn is_overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether everything queued has been written.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Drops every line not yet started and queues `last` instead, ignoring the
    /// limit: the final words to a client about to be disconnected.
    pub fn replace_with(&mut self, last: Rc<str>) {
        // A line already partly written must be finished, or `last` would be
        // glued into the middle of it.
        let keep = usize::from(self.written > 0);
        self.lines.truncate(keep);
        self.queued = self
            .lines
            .front()
            .map_or(0, |line| line.len() - self.written);
        self.queued += last.len();
        self.lines.push_back(last);
    }

    // ANCHOR: write_to
    /// Writes queued lines until the queue is empty or `socket` would block;
    /// returns how many bytes were written.
    pub fn write_to(&mut self, socket: &mut impl Write) -> io::Result<usize> {
        let mut total = 0;
        while let Some(line) = self.lines.front() {
            match socket.write(&line.as_bytes()[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    total += n;
                    self.queued -= n;
                    self.written += n;
                    if self.written == line.len() {
                        self.lines.pop_front();
                        self.written = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
    // ANCHOR_END: write_to
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket that accepts at most `room` bytes, then would block.
    struct Slow {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_partly_written_line_resumes_where_it_stopped() {
        let mut outbox = Outbox::new(100);
        outbox.push("hello\n".into());
        outbox.push("world\n".into());
        let mut socket = Slow {
            taken: Vec::new(),
            room: 8,
        };
        assert_eq!(outbox.write_to(&mut socket).unwrap(), 8);
        socket.room = 100;
        assert_eq!(outbox.write_to(&mut socket).unwrap(), 4);
        assert_eq!(socket.taken, b"hello\nworld\n");
        assert!(outbox.is_empty());
    }

    #[test]
    fn an_empty_queue_takes_a_line_longer_than_the_limit() {
        let mut outbox = Outbox::new(4);
        outbox.push("a long line\n".into());
        assert!(!outbox.is_overflowed());
        outbox.push("x\n".into());
        assert!(outbox.is_overflowed());
    }

    #[test]
    fn past_the_limit_lines_are_dropped_and_the_queue_is_marked() {
        let mut outbox = Outbox::new(10);
        outbox.push("12345678\n".into());
        assert!(!outbox.is_overflowed());
        outbox.push("ab\n".into());
        assert!(outbox.is_overflowed());
        outbox.replace_with("bye\n".into());
        let mut socket = Slow {
            taken: Vec::new(),
            room: 100,
        };
        outbox.write_to(&mut socket).unwrap();
        assert_eq!(socket.taken, b"bye\n");
    }

    #[test]
    fn the_final_words_never_cut_a_line_in_half() {
        let mut outbox = Outbox::new(100);
        outbox.push("hello\n".into());
        outbox.push("world\n".into());
        let mut socket = Slow {
            taken: Vec::new(),
            room: 2,
        };
        outbox.write_to(&mut socket).unwrap();
        outbox.replace_with("bye\n".into());
        socket.room = 100;
        outbox.write_to(&mut socket).unwrap();
        assert_eq!(socket.taken, b"hello\nbye\n");
    }
}
