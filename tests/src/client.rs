//! A line client with a timeout on every read and learner-friendly failures.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::read_timeout;

/// What one read from the server produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A complete line, without its `\n` or `\r\n`. Bytes that are not UTF-8
    /// are shown as U+FFFD.
    Line(String),
    /// The server closed the connection gracefully.
    Closed,
    /// The server reset the connection: the kernel discards what it had not
    /// yet delivered, so a last line may be lost. A server causes this by
    /// closing a socket that still has unread input.
    Reset,
    /// Nothing complete arrived before the deadline.
    TimedOut,
}

/// What a failure report can say about the server itself.
#[derive(Clone)]
pub(crate) struct ServerWatch {
    /// Raised when the server thread or process has stopped.
    pub(crate) stopped: Arc<AtomicBool>,
    /// The last lines a child process wrote to stderr.
    pub(crate) log: Option<Arc<Mutex<VecDeque<String>>>>,
}

/// What [`Client::tally`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Lines that arrived.
    pub received: usize,
    /// Lines the server announced it dropped (`* you missed N messages`).
    pub missed: usize,
}

/// One connection to the server under test, named after the user it plays.
pub struct Client {
    stage: &'static str,
    who: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Bytes of a line whose end has not arrived yet, kept across reads.
    partial: Vec<u8>,
    sent: Vec<String>,
    received: Vec<String>,
    hint: Option<String>,
    timeout: Duration,
    server: ServerWatch,
}

impl Client {
    /// Connects to `addr`; tests use [`TestServer::connect`](crate::TestServer::connect).
    pub(crate) fn connect(
        stage: &'static str,
        who: &str,
        addr: SocketAddr,
        server: ServerWatch,
    ) -> Client {
        let timeout = read_timeout();
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .unwrap_or_else(|e| panic!("[{stage}] {who} could not connect to {addr}: {e}"));
        stream
            .set_write_timeout(Some(timeout))
            .expect("setting a write timeout on a connected socket");
        let writer = stream
            .try_clone()
            .expect("cloning a socket handle for the test client");
        Client {
            stage,
            who: who.to_owned(),
            reader: BufReader::new(stream),
            writer,
            partial: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            hint: None,
            timeout,
            server,
        }
    }

    /// Adds `hint` to every failure message from now on: where a learner should
    /// look when this client's next expectation fails.
    pub fn hint(&mut self, hint: &str) -> &mut Self {
        self.hint = Some(hint.to_owned());
        self
    }

    /// Sends `line` followed by `\n`.
    pub fn send(&mut self, line: &str) {
        self.sent.push(line.to_owned());
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Err(e) = self.writer.write_all(&bytes) {
            self.fail(
                &format!("to send {line:?}"),
                &format!("the write failed: {e}"),
            );
        }
    }

    /// Sends raw bytes, exactly as given; returns the write's result so that a
    /// test can observe the server hanging up in the middle.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sent.push(describe_bytes(bytes));
        self.writer.write_all(bytes)
    }

    /// Closes the sending half: the server reads end of input.
    pub fn finish_sending(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Write);
    }

    /// Waits up to the read timeout for the next line.
    pub fn recv(&mut self) -> Received {
        self.recv_within(self.timeout)
    }

    /// Waits up to `limit` for the next line.
    pub fn recv_within(&mut self, limit: Duration) -> Received {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Received::TimedOut;
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .expect("setting a read timeout on a connected socket");
            // `read_until` appends what it read before an error, so a line
            // split across a timeout is completed by the next call.
            match self.reader.read_until(b'\n', &mut self.partial) {
                Ok(0) => return Received::Closed,
                Ok(_) if self.partial.last() == Some(&b'\n') => {
                    let line = take_line(&mut self.partial);
                    self.received.push(line.clone());
                    return Received::Line(line);
                }
                // End of input right after a line without a newline.
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Received::TimedOut,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => return Received::Reset,
                Err(_) => return Received::Closed,
            }
        }
    }

    /// The next line must be exactly `expected`.
    pub fn expect(&mut self, expected: &str) {
        self.expect_line(&format!("the line {expected:?}"), |line| line == expected);
    }

    /// The next line must contain `fragment`; returns the whole line.
    pub fn expect_containing(&mut self, fragment: &str) -> String {
        self.expect_line(&format!("a line containing {fragment:?}"), |line| {
            line.contains(fragment)
        })
    }

    /// The next line must satisfy `matches`, described for humans by `expected`.
    pub fn expect_line(&mut self, expected: &str, matches: impl Fn(&str) -> bool) -> String {
        match self.recv() {
            Received::Line(line) if matches(&line) => line,
            Received::Line(line) => self.fail(expected, &format!("the line {line:?} arrived")),
            other => self.fail(expected, &self.describe(&other)),
        }
    }

    /// Reads lines until one contains `fragment` and returns it. Each line
    /// gets the read timeout: a server sending many lines before the one
    /// awaited is slow, not wrong. Use it to skip lines whose exact text does
    /// not matter.
    pub fn expect_eventually(&mut self, fragment: &str) -> String {
        let mut skipped = 0;
        loop {
            match self.recv() {
                Received::Line(line) if line.contains(fragment) => return line,
                Received::Line(_) => skipped += 1,
                other => {
                    let got = format!("after {skipped} other lines, {}", self.describe(&other));
                    self.fail(&format!("a line containing {fragment:?}, eventually"), &got)
                }
            }
        }
    }

    /// Counts the lines starting with `prefix` that arrive, and the lines the
    /// server announces it dropped (`* you missed N messages`, from a server
    /// that never waits for a slow reader), until `count` are accounted for;
    /// or, if `last` is given, until the line `last` arrives. Any other line
    /// fails the test.
    pub fn tally(&mut self, prefix: &str, count: usize, last: Option<&str>) -> Tally {
        let mut tally = Tally {
            received: 0,
            missed: 0,
        };
        let expected = match last {
            Some(last) => {
                format!("a line starting with {prefix:?}, a missed-count notice, or {last:?}")
            }
            None => format!("a line starting with {prefix:?} or a missed-count notice"),
        };
        while last.is_some() || tally.received + tally.missed < count {
            let line = self.expect_line(&expected, |line| {
                line.starts_with(prefix) || missed_count(line).is_some() || Some(line) == last
            });
            if Some(line.as_str()) == last {
                break;
            }
            match missed_count(&line) {
                Some(missed) => tally.missed += missed,
                None => tally.received += 1,
            }
        }
        tally
    }

    /// The server must close the connection, sending no further line first.
    pub fn expect_closed(&mut self) {
        match self.recv() {
            Received::Closed => {}
            other => {
                let got = self.describe(&other);
                self.fail("the server to close the connection", &got)
            }
        }
    }

    /// Reads lines until the server closes the connection; returns them.
    pub fn expect_closed_after_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            match self.recv() {
                Received::Line(line) => lines.push(line),
                Received::Closed => return lines,
                other => {
                    let got = self.describe(&other);
                    self.fail("the server to close the connection", &got)
                }
            }
        }
    }

    /// Nothing may arrive for `window`. Keep windows short: every one of them
    /// is time the test spends waiting.
    pub fn expect_silence(&mut self, window: Duration) {
        match self.recv_within(window) {
            Received::TimedOut => {}
            other => {
                let got = self.describe(&other);
                self.fail(&format!("nothing to arrive for {window:?}"), &got)
            }
        }
    }

    fn describe(&self, received: &Received) -> String {
        match received {
            Received::Line(line) => format!("the line {line:?} arrived"),
            Received::Closed => "the server closed the connection".to_owned(),
            Received::Reset => "the server reset the connection (a reset can destroy the \
                                last lines; close gracefully: shut down the write side, \
                                then drain the client's input)"
                .to_owned(),
            Received::TimedOut if self.partial.is_empty() => {
                format!("nothing arrived within {:?}", self.timeout)
            }
            Received::TimedOut => format!(
                "only the unfinished line {:?} arrived (no newline) within {:?}",
                String::from_utf8_lossy(&self.partial),
                self.timeout
            ),
        }
    }

    /// Panics with a report of what this client expected, got, sent and received.
    pub fn fail(&self, expected: &str, got: &str) -> ! {
        let who = &self.who;
        let (stage, expected, got) = (self.stage, shorten(expected), shorten(got));
        let mut report = format!("[{stage}] {who} expected {expected}\n  but {got}\n");
        let _ = writeln!(report, "  {who} sent:     {}", quote_all(&self.sent));
        let _ = writeln!(report, "  {who} received: {}", quote_all(&self.received));
        if let Some(hint) = &self.hint {
            let _ = writeln!(report, "  hint: {hint}");
        }
        if self.server.stopped.load(Ordering::SeqCst) {
            let _ = writeln!(
                report,
                "  note: the server has stopped; look for its panic message"
            );
        }
        if let Some(log) = &self.server.log {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            if !log.is_empty() {
                let _ = writeln!(report, "  the server's last stderr lines:");
                for line in log.iter() {
                    let _ = writeln!(report, "    {line}");
                }
            }
        }
        panic!("{report}");
    }
}

/// The N of a `* you missed N messages` notice.
fn missed_count(line: &str) -> Option<usize> {
    line.strip_prefix("* you missed ")?
        .strip_suffix(" messages")?
        .parse()
        .ok()
}

fn take_line(partial: &mut Vec<u8>) -> String {
    partial.pop();
    if partial.last() == Some(&b'\r') {
        partial.pop();
    }
    let line = String::from_utf8_lossy(partial).into_owned();
    partial.clear();
    line
}

fn quote_all(lines: &[String]) -> String {
    if lines.is_empty() {
        return "(nothing)".to_owned();
    }
    // Long transcripts are cut to their last lines: those explain a failure.
    const SHOWN: usize = 8;
    let skipped = lines.len().saturating_sub(SHOWN);
    let shown: Vec<String> = lines[skipped..]
        .iter()
        .map(|line| format!("{:?}", shorten(line)))
        .collect();
    let prefix = if skipped > 0 {
        format!("({skipped} earlier lines) ")
    } else {
        String::new()
    };
    prefix + &shown.join(" | ")
}

fn shorten(line: &str) -> String {
    const MAX: usize = 160;
    if line.len() <= MAX {
        return line.to_owned();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &line[..end], line.len())
}

fn describe_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("(raw) {}", shorten(text)),
        Err(_) => format!("(raw, not UTF-8) {:?}", &bytes[..bytes.len().min(32)]),
    }
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
