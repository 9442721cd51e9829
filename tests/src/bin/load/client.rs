//! One simulated user: connect, register, join a room, then read (and, for a
//! sender, write) until the run stops.

use std::io;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use chat_tools::connect::{ConnectError, Door, Reader, Writer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout};

use crate::latency::Latencies;
use crate::payload::{self, Line, Payload, client_name, now_micros, room_name};

/// What the whole run is doing; every client watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Clients connect and register; nobody sends yet.
    Connecting,
    /// Senders send.
    Sending,
    /// Everyone stops and reports.
    Stopping,
}

/// The settings every client shares.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How to reach the server, whose address is already checked to be loopback.
    pub door: Door,
    /// How many rooms the clients are spread over; 1 stays in the default room.
    pub rooms: u32,
    /// Clients `0..senders` send.
    pub senders: u32,
    /// Messages per sender.
    pub messages: u32,
    /// Messages per second per sender; 0 for as fast as possible.
    pub rate: u32,
}

impl Plan {
    /// The room of client `index`: round-robin.
    pub fn room_of(&self, index: u32) -> u32 {
        index % self.rooms
    }
}

/// Counters the clients update as they go, which the main task reads to
/// decide when a phase is over.
///
/// Most fields only count, so relaxed atomics suffice. Two also publish the
/// counts written before them (release here, acquire in the main task):
/// `registered` the room sizes, `senders_done` the messages sent.
#[derive(Debug)]
pub struct Progress {
    /// Clients registered (and joined to their room).
    pub registered: AtomicU32,
    /// Clients that failed before registering.
    pub failed: AtomicU32,
    /// When the last client registered.
    pub last_registered_micros: AtomicU64,
    /// Registered members of each room.
    pub members: Vec<AtomicU64>,
    /// Registered senders.
    pub senders: AtomicU32,
    /// Senders that have sent everything, or given up.
    pub senders_done: AtomicU32,
    /// Messages written by the senders of each room.
    pub sent: Vec<AtomicU64>,
    /// When the first message was written; `u64::MAX` until then.
    pub first_send_micros: AtomicU64,
    /// When the last message was written.
    pub last_send_micros: AtomicU64,
    /// Load messages received, all clients together.
    pub delivered: AtomicU64,
    /// Deliveries the server said it dropped, all clients together.
    pub told_missed: AtomicU64,
    /// When the last of them arrived.
    pub last_delivery_micros: AtomicU64,
    /// Lines of any kind received; the main task waits for it to stop moving.
    pub lines: AtomicU64,
    /// The latency of every delivery, all clients together.
    pub latencies: Latencies,
}

impl Progress {
    /// Zeroed counters for `rooms` rooms.
    pub fn new(rooms: u32) -> Progress {
        let per_room = || (0..rooms).map(|_| AtomicU64::new(0)).collect();
        Progress {
            registered: AtomicU32::new(0),
            failed: AtomicU32::new(0),
            last_registered_micros: AtomicU64::new(0),
            members: per_room(),
            senders: AtomicU32::new(0),
            senders_done: AtomicU32::new(0),
            sent: per_room(),
            first_send_micros: AtomicU64::new(u64::MAX),
            last_send_micros: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            told_missed: AtomicU64::new(0),
            last_delivery_micros: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            latencies: Latencies::new(),
        }
    }

    /// Deliveries the messages sent so far should produce: each message
    /// reaches every other member of its sender's room.
    pub fn expected(&self) -> u64 {
        self.members
            .iter()
            .zip(&self.sent)
            .map(|(members, sent)| sent.load(Relaxed) * members.load(Relaxed).saturating_sub(1))
            .sum()
    }
}

/// Why a client never registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// This process ran out of file descriptors: a local limit, not the server's fault.
    FileLimit,
    /// No local port was left to connect from: a local limit too.
    NoLocalPort,
    /// Connecting failed for another reason.
    Connect(String),
    /// The server answered the name or the join with `error:`.
    Refused(String),
    /// The connection failed or closed during the handshake (TLS, WebSocket
    /// or the chat's own).
    Handshake(String),
}

impl Failure {
    fn connecting(error: io::Error) -> Failure {
        // EMFILE and ENFILE; EADDRNOTAVAIL. `ErrorKind` has no stable variant
        // for the first two, so the numbers it is.
        match error.raw_os_error() {
            Some(23 | 24) => Failure::FileLimit,
            Some(99) => Failure::NoLocalPort,
            _ => Failure::Connect(error.to_string()),
        }
    }

    fn opening(error: ConnectError) -> Failure {
        match error {
            ConnectError::Connect(error) => Failure::connecting(error),
            ConnectError::Handshake(why) => Failure::Handshake(why),
        }
    }

    /// A short name for counting failures by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::FileLimit => "file limit",
            Failure::NoLocalPort => "no local port",
            Failure::Connect(_) => "connect",
            Failure::Refused(_) => "refused",
            Failure::Handshake(_) => "handshake",
        }
    }

    /// What happened, for the report.
    pub fn detail(&self) -> String {
        match self {
            Failure::FileLimit => "too many open files in the load tool: raise the limit \
                                   with `ulimit -n 20000` and run again"
                .to_owned(),
            Failure::NoLocalPort => "no free local port to connect from (EADDRNOTAVAIL)".to_owned(),
            Failure::Connect(why) | Failure::Refused(why) | Failure::Handshake(why) => why.clone(),
        }
    }
}

/// How a client's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It registered, and read until the run stopped or the server hung up.
    Registered,
    /// It never registered.
    Failed(Failure),
    /// The run stopped before it finished registering.
    Stopped,
}

/// Lines that were not load messages, by kind, with the first of each kind
/// kept as an example.
#[derive(Debug, Clone, Default)]
pub struct Unexpected {
    /// Lines starting with `* `.
    pub notices: u64,
    /// Lines starting with `error:`.
    pub errors: u64,
    /// Every other line, including load messages that should not have
    /// reached this client.
    pub others: u64,
    /// The first `error:` line.
    pub first_error: Option<String>,
    /// The first other line.
    pub first_other: Option<String>,
}

impl Unexpected {
    fn error(&mut self, line: &[u8]) {
        self.errors += 1;
        keep_first(&mut self.first_error, line);
    }

    fn other(&mut self, line: &[u8]) {
        self.others += 1;
        keep_first(&mut self.first_other, line);
    }

    /// Adds `other`'s counts to these, keeping the first examples.
    pub fn merge(&mut self, other: Unexpected) {
        self.notices += other.notices;
        self.errors += other.errors;
        self.others += other.others;
        self.first_error = self.first_error.take().or(other.first_error);
        self.first_other = self.first_other.take().or(other.first_other);
    }
}

fn keep_first(slot: &mut Option<String>, line: &[u8]) {
    const SHOWN: usize = 120;
    if slot.is_none() {
        let line = &line[..line.len().min(SHOWN)];
        *slot = Some(String::from_utf8_lossy(line).into_owned());
    }
}

/// What one client saw.
#[derive(Debug, Clone)]
pub struct ClientReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Load messages received, each counted once.
    pub delivered: u64,
    /// Load messages whose number this client had already seen (or passed).
    pub duplicates: u64,
    /// Deliveries the server said it dropped for this client ("you missed").
    pub told_missed: u64,
    /// Lines that were not load messages.
    pub unexpected: Unexpected,
    /// Whether the server closed the connection before the run stopped.
    pub hung_up: bool,
    /// Why sending stopped early, for a sender.
    pub send_error: Option<String>,
}

impl ClientReport {
    /// A report with nothing counted yet.
    pub fn new(outcome: Outcome) -> Self {
        ClientReport {
            outcome,
            delivered: 0,
            duplicates: 0,
            told_missed: 0,
            unexpected: Unexpected::default(),
            hung_up: false,
            send_error: None,
        }
    }
}

/// Each client's read buffer. Small, because ten thousand clients have one
/// each, and big enough for about a hundred lines per read.
const READ_BUFFER: usize = 4096;

/// How long a client waits for the answer to `/join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A line longer than this is not ours; it is counted and dropped.
const MAX_LINE: usize = 16 * 1024;

/// Runs client `index` until the run stops.
///
/// `gate` bounds the handshakes in flight, so that thousands of clients do not
/// overflow the server's listen queue in one burst.
pub async fn run(
    index: u32,
    plan: &Plan,
    progress: &Progress,
    gate: &Semaphore,
    phase: watch::Receiver<Phase>,
) -> ClientReport {
    let mut report = ClientReport::new(Outcome::Stopped);
    let room = plan.room_of(index);
    let mut watcher = phase.clone();
    let handshake = tokio::select! {
        _ = watcher.wait_for(|p| *p == Phase::Stopping) => return report,
        result = handshake(index, plan, gate, &mut report.unexpected) => result,
    };
    let (mut reader, mut writer) = match handshake {
        Ok(halves) => halves,
        Err(failure) => {
            progress.failed.fetch_add(1, Relaxed);
            report.outcome = Outcome::Failed(failure);
            return report;
        }
    };
    report.outcome = Outcome::Registered;
    progress.members[room as usize].fetch_add(1, Relaxed);
    progress
        .last_registered_micros
        .fetch_max(now_micros(), Relaxed);
    let sender = index < plan.senders;
    if sender {
        progress.senders.fetch_add(1, Relaxed);
    }
    // Counted last, with release: once the main task sees every client
    // counted, it sees the room sizes complete.
    progress.registered.fetch_add(1, Release);

    let mut tally = Tally {
        room,
        rooms: plan.rooms,
        senders: plan.senders,
        own: sender.then_some(index),
        next_seq: Vec::new(),
        latencies: Vec::new(),
        report: &mut report,
    };
    let receiving = tally.receive(&mut reader, progress, phase.clone());
    if sender {
        let (_, send_error) =
            tokio::join!(receiving, send(&mut writer, index, plan, progress, phase));
        report.send_error = send_error;
    } else {
        // `writer` stays open meanwhile: dropping it would tell the server
        // that this client has left.
        receiving.await;
    }
    report
}

/// Connects, registers `index`'s name and joins its room.
async fn handshake(
    index: u32,
    plan: &Plan,
    gate: &Semaphore,
    unexpected: &mut Unexpected,
) -> Result<(BufReader<Reader>, Writer), Failure> {
    let _permit = gate.acquire().await;
    // TCP, then TLS or the WebSocket upgrade: one handshake in flight per permit.
    let (read, mut write) = plan.door.connect().await.map_err(Failure::opening)?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, read);
    let mut line = Vec::with_capacity(128);

    // The greeting asks for a name; its words do not matter.
    next_line(&mut reader, &mut line).await?;
    if line.starts_with(b"error:") {
        return Err(refused(&line));
    }
    let name = client_name(index);
    send_line(&mut write, &name).await?;
    let welcome = format!("welcome, {name}!");
    loop {
        next_line(&mut reader, &mut line).await?;
        if line.starts_with(welcome.as_bytes()) {
            break;
        }
        unexpected_before_chat(&line, unexpected)?;
    }

    if plan.rooms > 1 {
        let room = room_name(plan.room_of(index));
        send_line(&mut write, &format!("/join {room}")).await?;
        // The answer names the room. Notices about that room cannot come
        // first: they only reach members, and this client is not one yet.
        let answer = async {
            loop {
                next_line(&mut reader, &mut line).await?;
                if payload::names_room(&line, &room) {
                    return Ok(());
                }
                unexpected_before_chat(&line, unexpected)?;
            }
        };
        // A server without rooms relays `/join` as chat and never answers.
        timeout(JOIN_TIMEOUT, answer).await.map_err(|_| {
            Failure::Handshake(format!(
                "no answer naming #{room} within {JOIN_TIMEOUT:?} of `/join {room}`: \
                 if the server has a single room, use --rooms 1"
            ))
        })??;
    }
    Ok((reader, write))
}

/// Counts a line read while waiting for an answer; `error:` is the answer.
fn unexpected_before_chat(line: &[u8], unexpected: &mut Unexpected) -> Result<(), Failure> {
    match payload::classify(line) {
        Line::Error => Err(refused(line)),
        Line::Notice | Line::Missed(_) => {
            unexpected.notices += 1;
            Ok(())
        }
        Line::Chat(_) | Line::Other => {
            unexpected.other(line);
            Ok(())
        }
    }
}

fn refused(line: &[u8]) -> Failure {
    Failure::Refused(String::from_utf8_lossy(line).into_owned())
}

/// Reads one line into `line`, without its ending.
async fn next_line(reader: &mut BufReader<Reader>, line: &mut Vec<u8>) -> Result<(), Failure> {
    line.clear();
    match reader.read_until(b'\n', line).await {
        Ok(0) => Err(Failure::Handshake(
            "the server closed the connection".to_owned(),
        )),
        Ok(_) => {
            if line.ends_with(b"\n") {
                line.pop();
            }
            if line.ends_with(b"\r") {
                line.pop();
            }
            Ok(())
        }
        Err(e) => Err(Failure::Handshake(e.to_string())),
    }
}

async fn send_line(write: &mut Writer, text: &str) -> Result<(), Failure> {
    let sent = async {
        write.write_all(format!("{text}\n").as_bytes()).await?;
        write.flush().await
    };
    sent.await.map_err(|e| Failure::Handshake(e.to_string()))
}

/// A registered client's view of the lines it reads.
struct Tally<'a> {
    room: u32,
    rooms: u32,
    senders: u32,
    /// This client's own index, if it sends: its own messages must not come back.
    own: Option<u32>,
    /// For each sender of this room, the next message number expected.
    /// Grows on demand, so that idle clients spend nothing on it.
    next_seq: Vec<u32>,
    /// The latencies of the read being handled, in microseconds, until they
    /// go into the run's histogram together.
    latencies: Vec<u64>,
    report: &'a mut ClientReport,
}

impl Tally<'_> {
    /// Reads until the run stops or the server hangs up.
    ///
    /// Lines are handled in place in the read buffer, without a `String` each;
    /// only a line cut by the end of the buffer is copied, to join its halves.
    async fn receive(
        &mut self,
        reader: &mut BufReader<Reader>,
        progress: &Progress,
        mut phase: watch::Receiver<Phase>,
    ) {
        let stopping = phase.wait_for(|p| *p == Phase::Stopping);
        tokio::pin!(stopping);
        let mut cut = Vec::new();
        loop {
            let used = tokio::select! {
                biased;
                _ = &mut stopping => break,
                chunk = reader.fill_buf() => match chunk {
                    Ok([]) | Err(_) => {
                        self.report.hung_up = true;
                        break;
                    }
                    Ok(bytes) => {
                        self.take_chunk(bytes, &mut cut, progress);
                        bytes.len()
                    }
                },
            };
            reader.consume(used);
        }
    }

    /// Handles every complete line in `bytes`; `cut` holds the start of a line
    /// that an earlier chunk ended in the middle of.
    fn take_chunk(&mut self, bytes: &[u8], cut: &mut Vec<u8>, progress: &Progress) {
        // Lines that arrived in one read arrived at the same time.
        let now = now_micros();
        let delivered_before = self.report.delivered;
        let told_before = self.report.told_missed;
        let mut lines = 0;
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..end];
            rest = &rest[end + 1..];
            lines += 1;
            if cut.is_empty() {
                self.take_line(line, now);
            } else {
                cut.extend_from_slice(line);
                self.take_line(cut, now);
                cut.clear();
            }
        }
        cut.extend_from_slice(rest);
        if cut.len() > MAX_LINE {
            self.report.unexpected.other(cut);
            cut.clear();
        }
        progress.lines.fetch_add(lines, Relaxed);
        let told = self.report.told_missed - told_before;
        if told > 0 {
            progress.told_missed.fetch_add(told, Relaxed);
        }
        let delivered = self.report.delivered - delivered_before;
        if delivered > 0 {
            progress.latencies.record(&self.latencies);
            self.latencies.clear();
            progress.delivered.fetch_add(delivered, Relaxed);
            progress.last_delivery_micros.fetch_max(now, Relaxed);
        }
    }

    fn take_line(&mut self, line: &[u8], now: u64) {
        match payload::classify(line) {
            Line::Chat(payload) => self.deliver(line, payload, now),
            Line::Missed(count) => {
                self.report.told_missed += count;
            }
            Line::Notice => self.report.unexpected.notices += 1,
            Line::Error => self.report.unexpected.error(line),
            Line::Other => self.report.unexpected.other(line),
        }
    }

    fn deliver(&mut self, line: &[u8], payload: Payload, now: u64) {
        let Payload {
            sender,
            seq,
            sent_micros,
        } = payload;
        // Unknown senders, senders of other rooms and this client's own
        // messages are all routing mistakes, not deliveries.
        if sender >= self.senders || sender % self.rooms != self.room || self.own == Some(sender) {
            self.report.unexpected.other(line);
            return;
        }
        // The senders of this room are `room`, `room + rooms`, ...
        let slot = (sender / self.rooms) as usize;
        if slot >= self.next_seq.len() {
            self.next_seq.resize(slot + 1, 0);
        }
        // One sender's messages travel one TCP stream and one server queue, so
        // they arrive in order: a number below the next expected one is a copy.
        if seq < self.next_seq[slot] {
            self.report.duplicates += 1;
            return;
        }
        self.next_seq[slot] = seq + 1;
        self.latencies.push(now.saturating_sub(sent_micros));
        self.report.delivered += 1;
    }
}

/// Sends this sender's messages once the run reaches [`Phase::Sending`];
/// returns why it stopped early, if it did.
async fn send(
    writer: &mut Writer,
    index: u32,
    plan: &Plan,
    progress: &Progress,
    mut phase: watch::Receiver<Phase>,
) -> Option<String> {
    let started = phase.wait_for(|p| *p != Phase::Connecting).await;
    if started.map_or(true, |p| *p == Phase::Stopping) {
        return None;
    }
    let error = send_all(writer, index, plan, progress, phase).await;
    progress.senders_done.fetch_add(1, Release);
    error
}

async fn send_all(
    writer: &mut Writer,
    index: u32,
    plan: &Plan,
    progress: &Progress,
    mut phase: watch::Receiver<Phase>,
) -> Option<String> {
    let stopping = phase.wait_for(|p| *p == Phase::Stopping);
    tokio::pin!(stopping);
    let mut ticker = (plan.rate > 0).then(|| {
        let period = Duration::from_secs(1) / plan.rate;
        // Senders take turns within each period instead of all writing at
        // the same instant.
        let offset = period * index / plan.senders.max(1);
        let mut ticker = interval_at(Instant::now() + offset, period);
        // Burst: a sender that fell behind (this process or the server was
        // busy) catches up, so the load offered over the run stays `rate`.
        // Delay would quietly lower the load exactly when the server struggles.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        ticker
    });
    let room = plan.room_of(index) as usize;
    let mut line = Vec::with_capacity(64);
    for seq in 0..plan.messages {
        if let Some(ticker) = &mut ticker {
            tokio::select! {
                biased;
                _ = &mut stopping => return None,
                _ = ticker.tick() => {}
            }
        }
        line.clear();
        let sent_micros = now_micros();
        payload::encode(
            &mut line,
            Payload {
                sender: index,
                seq,
                sent_micros,
            },
        );
        tokio::select! {
            biased;
            _ = &mut stopping => return None,
            // A no-op for TCP; TLS and WebSocket may hold a line until flushed.
            written = async {
                writer.write_all(&line).await?;
                writer.flush().await
            } => if let Err(e) = written {
                return Some(e.to_string());
            },
        }
        progress.sent[room].fetch_add(1, Relaxed);
        progress.first_send_micros.fetch_min(sent_micros, Relaxed);
        progress.last_send_micros.fetch_max(now_micros(), Relaxed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ClientReport {
        ClientReport::new(Outcome::Registered)
    }

    #[test]
    fn lines_cut_across_reads_are_joined() {
        let progress = Progress::new(2);
        let mut report = report();
        let mut tally = Tally {
            room: 1,
            rooms: 2,
            senders: 4,
            own: None,
            next_seq: Vec::new(),
            latencies: Vec::new(),
            report: &mut report,
        };
        let mut cut = Vec::new();
        tally.take_chunk(b"<c1> L 1 0 0\n<c3> L 3 0", &mut cut, &progress);
        tally.take_chunk(b" 0\n* c9 joined\n<c1> L 1 0 0\n", &mut cut, &progress);
        tally.take_chunk(
            b"<c1> L 1 1 0\r\n<c2> L 2 0 0\nerror: x\n",
            &mut cut,
            &progress,
        );
        assert_eq!(report.delivered, 3);
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.unexpected.notices, 1);
        assert_eq!(report.unexpected.errors, 1);
        // c2 sends in room 0, not in this client's room 1.
        assert_eq!(report.unexpected.others, 1);
        assert_eq!(progress.latencies.summary().map(|l| l.samples), Some(3));
        assert_eq!(progress.delivered.load(Relaxed), 3);
        assert_eq!(progress.lines.load(Relaxed), 7);
    }

    #[test]
    fn expected_counts_every_other_member() {
        let progress = Progress::new(2);
        progress.members[0].store(5, Relaxed);
        progress.members[1].store(1, Relaxed);
        progress.sent[0].store(10, Relaxed);
        progress.sent[1].store(7, Relaxed);
        assert_eq!(progress.expected(), 40);
    }

    #[test]
    fn out_of_files_is_a_local_limit() {
        let emfile = io::Error::from_raw_os_error(24);
        assert_eq!(Failure::connecting(emfile), Failure::FileLimit);
        assert!(Failure::FileLimit.detail().contains("ulimit -n"));
    }
}
