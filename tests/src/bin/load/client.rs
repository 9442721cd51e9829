//! One simulated user: connect, register, join a room, then read (and, for a
//! sender, write) until the run stops.

mod send;
mod tally;

use std::io;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::time::Duration;

use chat_tools::connect::{ConnectError, Door, Reader, Writer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;

use crate::payload::{self, Line, client_name, now_micros, room_name};
use crate::progress::Progress;
use send::send;
use tally::Tally;

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
    /// How to reach each server, whose addresses are already checked to be
    /// loopback; at least one.
    pub doors: Vec<Door>,
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

    /// The server of client `index`: round-robin too, but counted within
    /// its room, so that every room's members are spread over the servers
    /// whatever the number of rooms.
    pub fn server_of(&self, index: u32) -> usize {
        (index / self.rooms) as usize % self.doors.len()
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

    let mut tally = Tally::new(plan, index, sender, &mut report);
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
    let door = &plan.doors[plan.server_of(index)];
    let (read, mut write) = door.connect().await.map_err(Failure::opening)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_room_is_spread_over_every_server() {
        let door = Door::tcp("127.0.0.1:1".parse().unwrap());
        let plan = Plan {
            doors: vec![door; 3],
            rooms: 2,
            senders: 0,
            messages: 0,
            rate: 0,
        };
        // Room 0 has clients 0, 2, 4, ...; room 1 has 1, 3, 5, ...
        let servers: Vec<(u32, usize)> = (0..8)
            .map(|i| (plan.room_of(i), plan.server_of(i)))
            .collect();
        assert_eq!(
            servers,
            [
                (0, 0),
                (1, 0),
                (0, 1),
                (1, 1),
                (0, 2),
                (1, 2),
                (0, 0),
                (1, 0)
            ]
        );
    }

    #[test]
    fn out_of_files_is_a_local_limit() {
        let emfile = io::Error::from_raw_os_error(24);
        assert_eq!(Failure::connecting(emfile), Failure::FileLimit);
        assert!(Failure::FileLimit.detail().contains("ulimit -n"));
    }
}
