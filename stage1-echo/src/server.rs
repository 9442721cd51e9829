//! The blocking echo server: one connection at a time.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::{ChatError, Message, RoomId, UserId};

// ANCHOR: limits
/// The limits that protect the server from a client.
///
/// Every field is public and [`Default`] gives the values `main` uses; tests
/// shorten the timeouts so that they finish quickly. (Nothing stops a caller from
/// setting a limit of zero: stage 4 replaces this struct with a builder that
/// validates.)
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest accepted line in bytes, not counting the line ending.
    pub max_line_len: usize,
    /// A client that sends nothing for this long is disconnected. While one client
    /// is connected nobody else is served, so a silent client must not keep the
    /// server forever.
    pub idle_timeout: Duration,
    /// A client that does not read its replies for this long is disconnected,
    /// for the same reason.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 1024,
            idle_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(10),
        }
    }
}
// ANCHOR_END: limits

// ANCHOR: run
/// Accepts connections forever and serves each to completion before the next.
///
/// Nothing a client does ends this loop: a failed client is logged and dropped.
pub fn run(listener: TcpListener, limits: &Limits) -> ! {
    let mut next_id = 1;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let user = UserId::from(next_id);
                next_id += 1;
                eprintln!("{user} connected from {peer}");
                match serve_client(&stream, user, limits) {
                    Ok(()) => eprintln!("{user} disconnected"),
                    Err(error) => eprintln!("{user} dropped: {error}"),
                }
                // `stream` is dropped here, which closes the socket.
            }
            Err(error) => {
                // Typically "too many open files": back off instead of spinning.
                eprintln!("accept failed: {error}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
// ANCHOR_END: run

// ANCHOR: serve_client
/// Echoes every line back as a formatted message, or as an error reply.
fn serve_client(stream: &TcpStream, user: UserId, limits: &Limits) -> Result<(), ChatError> {
    stream.set_read_timeout(Some(limits.idle_timeout))?;
    stream.set_write_timeout(Some(limits.write_timeout))?;
    // `&TcpStream` implements both `Read` and `Write`, so the reader and the
    // writer share one socket without `try_clone`.
    let mut reader = BufReader::new(stream);
    let mut writer = stream;

    writeln!(
        writer,
        "welcome, {user}! you are in {}. send lines as name:message",
        RoomId::LOBBY
    )?;
    let mut line = Vec::with_capacity(limits.max_line_len);
    // ANCHOR: serve_client_loop
    loop {
        match read_line(&mut reader, &mut line, limits.max_line_len) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(ChatError::Io(e)) if is_timeout(&e) => {
                let idle = ChatError::Idle {
                    after: limits.idle_timeout,
                };
                // The client may be gone already; the notice is best effort.
                let _ = writeln!(writer, "error: {idle}, disconnecting");
                return Err(idle);
            }
            Err(error @ ChatError::LineTooLong { .. }) => {
                // The rest of the line is still unread, so we cannot find where
                // the next line starts: say why and hang up.
                writeln!(writer, "error: {error}, disconnecting")?;
                linger(stream);
                return Err(error);
            }
            Err(error) => return Err(error),
        }
        match parse_line(&line) {
            Ok(message) => writeln!(writer, "{message}")?,
            Err(error) => writeln!(writer, "error: {error}")?,
        }
    }
    // ANCHOR_END: serve_client_loop
}
// ANCHOR_END: serve_client

// ANCHOR: parse_line
/// Decodes and parses one line; a bad line is the client's mistake, not fatal.
fn parse_line(line: &[u8]) -> Result<Message, ChatError> {
    let text = std::str::from_utf8(line).map_err(|_| ChatError::InvalidUtf8)?;
    text.parse()
}
// ANCHOR_END: parse_line

// ANCHOR: read_line
// ANCHOR: read_line_signature
/// Reads one line into `line`, without its `\n` or `\r\n` ending.
///
/// Returns `Ok(false)` at end of input. Never buffers more than `max_len` bytes
/// plus the line ending, however much the client sends.
fn read_line(reader: impl BufRead, line: &mut Vec<u8>, max_len: usize) -> Result<bool, ChatError> {
    // ANCHOR_END: read_line_signature
    // Exercise 1.2: see "Your job" in chapter 1.
    // ANCHOR: exercise_1_2
    line.clear();
    // Room for the longest allowed line plus "\r\n": if that much arrives with no
    // newline, the line is too long.
    let cap = max_len as u64 + 2;
    let read = reader.take(cap).read_until(b'\n', line)?;
    if read == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if read as u64 == cap {
        return Err(ChatError::LineTooLong { max: max_len });
    }
    // Otherwise the input ended without a final newline: that last line counts.
    if line.len() > max_len {
        return Err(ChatError::LineTooLong { max: max_len });
    }
    Ok(true)
    // ANCHOR_END: exercise_1_2
}
// ANCHOR_END: read_line

// ANCHOR: linger
/// Closes our half of the connection, then reads and discards what the client
/// is still sending, for at most one second.
///
/// Closing a socket that still has unread input makes the kernel answer with a
/// reset, and a reset can destroy our last reply before the client reads it.
fn linger(stream: &TcpStream) {
    const LINGER: Duration = Duration::from_secs(1);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let deadline = Instant::now() + LINGER;
    let mut discard = [0; 4096];
    let mut reader = stream;
    while Instant::now() < deadline {
        match reader.read(&mut discard) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
// ANCHOR_END: linger

/// Read timeouts surface as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max_len: usize) -> Vec<Result<String, String>> {
        let mut reader = input;
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, &mut line, max_len) {
                Ok(true) => out.push(Ok(String::from_utf8_lossy(&line).into_owned())),
                Ok(false) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn strips_lf_and_crlf_and_keeps_a_final_unterminated_line() {
        assert_eq!(
            lines(b"a:1\nb:2\r\nc:3", 16),
            vec![Ok("a:1".into()), Ok("b:2".into()), Ok("c:3".into())]
        );
    }

    #[test]
    fn accepts_exactly_max_len_and_refuses_one_more() {
        assert_eq!(lines(b"12345\r\n", 5), vec![Ok("12345".into())]);
        assert_eq!(
            lines(b"123456\n", 5),
            vec![Err("a line is at most 5 bytes long".into())]
        );
        assert_eq!(
            lines(&[b'x'; 1000], 5),
            vec![Err("a line is at most 5 bytes long".into())]
        );
    }
}
