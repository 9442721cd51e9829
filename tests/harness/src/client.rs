//! A line client with a timeout on every read and learner-friendly failures.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
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

/// What a failure report can say about the server itself, and how its
/// clients close.
#[derive(Clone)]
pub(crate) struct ServerWatch {
    /// Raised when the server thread or process has stopped.
    pub(crate) stopped: Arc<AtomicBool>,
    /// Raised when the server thread stopped by panicking.
    pub(crate) panicked: Arc<AtomicBool>,
    /// The last lines a child process wrote to stderr.
    pub(crate) log: Option<Arc<Mutex<VecDeque<String>>>>,
    /// Which server a conformance test is checking, named in its reports.
    pub(crate) under_test: Option<Arc<str>>,
    /// Whether the server outlives the test (`CHAT_SERVER`): then clients
    /// close gracefully, so that the next test hears nothing of them.
    pub(crate) shared: bool,
    /// Whether the server was named by `CHAT_SERVER` or `CHAT_SERVER_CMD`:
    /// then it may be anyone's, and reports do not send the learner to the
    /// reference sources.
    pub(crate) external: bool,
}

impl ServerWatch {
    /// A watch that knows nothing yet: no log, no name, not shared.
    pub(crate) fn new() -> ServerWatch {
        ServerWatch {
            stopped: Arc::new(AtomicBool::new(false)),
            panicked: Arc::new(AtomicBool::new(false)),
            log: None,
            under_test: None,
            shared: false,
            external: false,
        }
    }

    /// Adds what is known about the server to a failure report.
    pub(crate) fn describe(&self, report: &mut String) {
        if let Some(under_test) = &self.under_test {
            let _ = writeln!(report, "  server under test: {under_test}");
        }
        if self.stopped.load(Ordering::SeqCst) && !self.panicked.load(Ordering::SeqCst) {
            let note = match self.log {
                Some(_) => "the server process has exited",
                None => "the server's function has returned",
            };
            let _ = writeln!(report, "  note: {note}");
        }
        if let Some(log) = &self.log {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            if !log.is_empty() {
                let _ = writeln!(report, "  the server's last stderr lines:");
                for line in log.iter() {
                    let _ = writeln!(report, "    {line}");
                }
            }
        }
    }
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
    /// Recognises the first line of a block to skip (see `skip_blocks`).
    skip_header: Option<fn(&str) -> Option<usize>>,
    /// Lines of the current skipped block still to come.
    skipping: usize,
    /// Set by `close_abruptly`: no graceful close, even on a shared server.
    abrupt: bool,
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
        match TcpStream::connect_timeout(&addr, read_timeout()) {
            Ok(stream) => Client::over(stage, who, stream, server),
            Err(e) => {
                let mut report = format!("[{stage}] {who} could not connect to {addr}: {e}\n");
                server.describe(&mut report);
                panic!("{report}")
            }
        }
    }

    /// A client on a connection that is already open.
    pub(crate) fn over(
        stage: &'static str,
        who: &str,
        stream: TcpStream,
        server: ServerWatch,
    ) -> Client {
        let timeout = read_timeout();
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
            skip_header: None,
            skipping: 0,
            abrupt: false,
            timeout,
            server,
        }
    }

    /// From now on, skips every line for which `header` returns `Some(n)`,
    /// together with the `n` lines after it, wherever it arrives. Use it for
    /// blocks the test is not about, such as the history a used server
    /// replays to a newcomer. Skipped lines still show in failure reports.
    pub fn skip_blocks(&mut self, header: fn(&str) -> Option<usize>) -> &mut Self {
        self.skip_header = Some(header);
        self
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

    /// Closes the connection at once, leaving unread whatever the server
    /// sent: with unread input, the kernel resets the connection instead of
    /// closing it gracefully. Dropping a client does the same, except against
    /// a shared server (`CHAT_SERVER`), where a drop closes gracefully; use
    /// this where a test is about a client vanishing.
    pub fn close_abruptly(mut self) {
        self.abrupt = true;
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
                    if self.skipping > 0 {
                        self.skipping -= 1;
                    } else if let Some(lines) = self.skip_header.and_then(|header| header(&line)) {
                        self.skipping = lines;
                    } else {
                        return Received::Line(line);
                    }
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
        let (stage, expected) = (self.stage, shorten(expected));
        // A server that panicked dropped every connection; what that looked
        // like to this client (a reset, a close) and the test's hint about
        // the protocol would only mislead.
        let panicked = self.server.panicked.load(Ordering::SeqCst);
        let got = match panicked {
            true => "the server panicked: its panic message is printed above this report \
                     (thread '{stage} server')"
                .replace("{stage}", stage),
            false => shorten(got),
        };
        let mut report = format!("[{stage}] {who} expected {expected}\n  but {got}\n");
        let _ = writeln!(report, "  {who} sent:     {}", quote_all(&self.sent));
        let _ = writeln!(report, "  {who} received: {}", quote_all(&self.received));
        if let Some(hint) = self.hint.as_ref().filter(|_| !panicked) {
            let _ = writeln!(report, "  hint: {hint}");
        }
        // libtest names each test's thread after the test.
        let test = std::thread::current().name().unwrap_or_default().to_owned();
        let exercise = match self.server.external {
            true => None,
            false => crate::exercise_checking(stage, &test),
        };
        if let Some(exercise) = exercise {
            let id = &exercise.id;
            let _ = writeln!(
                report,
                "  exercise {id} checks this: {} (in {}; chapter {}, \"Your job\"; \
                 more hints: cargo exercise hint {id})",
                exercise.title,
                exercise.file.display(),
                exercise.stage()
            );
        }
        self.server.describe(&mut report);
        panic!("{report}");
    }
}

impl Drop for Client {
    /// Against a shared server, closes gracefully: says end of input, then
    /// waits (bounded) for the server's own close, discarding what arrives.
    /// The server has then handled this client's departure, so the next
    /// test cannot hear of it.
    fn drop(&mut self) {
        if !self.server.shared || self.abrupt {
            return;
        }
        let _ = self.writer.shutdown(Shutdown::Write);
        let deadline = Instant::now() + self.timeout;
        let mut buffer = [0; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // No panic while dropping (it may be during a panic): a note
                // that the test output shows if this test fails.
                eprintln!(
                    "[{}] note: the server did not close {}'s connection within {:?} of \
                     {} closing its side; the next test may hear of {}",
                    self.stage, self.who, self.timeout, self.who, self.who
                );
                return;
            }
            let stream = self.reader.get_mut();
            if stream.set_read_timeout(Some(left)).is_err() {
                return;
            }
            match stream.read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
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

/// The longest line a report shows whole.
const SHOWN_BYTES: usize = 160;

fn shorten(line: &str) -> String {
    shorten_to(line, SHOWN_BYTES)
}

fn shorten_to(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_owned();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &line[..end], line.len())
}

/// Raw bytes as a report shows them: short enough that the report does not
/// shorten them again, which would count the wrong bytes.
fn describe_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("(raw) {}", shorten_to(text, SHOWN_BYTES - 40)),
        Err(_) => format!(
            "(raw, not UTF-8) {:?}{}",
            &bytes[..bytes.len().min(32)],
            match bytes.len() > 32 {
                true => format!("... ({} bytes)", bytes.len()),
                false => String::new(),
            }
        ),
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
