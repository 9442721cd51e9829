//! One client's task: it alone reads and writes the client's socket.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{OwnedSemaphorePermit, broadcast, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{debug, info};

use crate::connection::{Connection, InRoom, Membership, Unauthenticated};
use crate::directory::Kick;
use crate::history::Entry;
use crate::inbox::Inbox;
use crate::rate::RateLimit;
use crate::room::{Channel, Delivery};
use crate::server::Shared;
use crate::{ChatError, Command, HELP, Input, LineError, Lines, UserId, parse_input};

/// How long a client being disconnected gets to read its last line.
const LINGER: Duration = Duration::from_secs(1);

/// The most bytes of room lines written with one system call. A burst larger
/// than this goes out in several writes, so that one client's batch buffer
/// stays small.
const MAX_BATCH: usize = 64 * 1024;

/// How a client's session ended.
enum Ending {
    /// The client closed the connection.
    Closed,
    /// `/quit`, with the goodbye the room sees.
    Quit(String),
    /// Another user kicked this one.
    Kicked(Kick),
    /// The server is shutting down.
    Shutdown,
    /// The server will not go on, and tells the client why.
    Refused(ChatError),
    /// The connection failed, or the client is not reading: nobody to tell.
    Failed(ChatError),
}

impl From<ChatError> for Ending {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::Io(_) | ChatError::TooSlow { .. } => Ending::Failed(error),
            _ => Ending::Refused(error),
        }
    }
}

/// What woke a member's task up.
enum Event {
    /// Bytes arrived (or the client closed, or the read failed).
    Read(io::Result<usize>),
    /// The room sent something, or the member fell behind.
    Delivery(Result<Delivery, RecvError>),
    /// Another user kicked this one.
    Kicked(Kick),
    /// The server is shutting down.
    Shutdown,
    /// The room has room again: a paused talker may go on.
    Space,
    /// The client sent nothing for the idle timeout.
    Idle,
}

// ANCHOR: client
/// The parts of a client's task that outlive any one line.
struct Client {
    id: UserId,
    shared: Arc<Shared>,
    reader: OwnedReadHalf,
    /// Only this task writes to the socket, so lines are never interleaved.
    writer: OwnedWriteHalf,
    inbox: Inbox,
    /// When the idle timeout runs out, unless the client sends something.
    idle_deadline: Instant,
    /// How many more lines the client may send now.
    rate: RateLimit,
    /// Whether the client has been told it is over the rate limit since it
    /// last sent a line that passed; it is told once, not once per line.
    told_to_slow_down: bool,
    /// Ids of the messages replayed from the room's history, so that a live
    /// copy of one of them is not written twice.
    replayed: Vec<u64>,
    /// Turns `true` when the server shuts down.
    stop: watch::Receiver<bool>,
    /// Whether this client, as a talker, waits for its room to catch up
    /// before reading more from its socket (see [`Channel`]).
    paused: bool,
}
// ANCHOR_END: client

// ANCHOR: counted
/// Counts the connection in the metrics for as long as it lives (RAII).
struct Counted(Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.services.metrics.connected.fetch_sub(1, Relaxed);
    }
}
// ANCHOR_END: counted

// ANCHOR: serve
/// Serves one client from connection to goodbye.
///
/// `_place` is the client's place under `max_users`: the task owns it, so it
/// is given back when the task ends, however it ends (pattern 9, RAII).
pub async fn serve(shared: Arc<Shared>, stream: TcpStream, _place: OwnedSemaphorePermit) {
    shared.services.metrics.connected.fetch_add(1, Relaxed);
    let _counted = Counted(Arc::clone(&shared));
    let (reader, writer) = stream.into_split();
    let config = &shared.config;
    let mut client = Client {
        id: UserId::next(),
        inbox: Inbox::new(config.max_line_len),
        idle_deadline: Instant::now() + config.idle_timeout,
        rate: RateLimit::new(config.message_rate, config.message_burst),
        told_to_slow_down: false,
        replayed: Vec::new(),
        stop: shared.stop.clone(),
        paused: false,
        shared: Arc::clone(&shared),
        reader,
        writer,
    };
    debug!(id = %client.id, "connected");
    let connection = Connection::new(client.id);
    let name_deadline = Instant::now() + client.shared.config.name_timeout;
    let (member, ending) = match client.choose_name(connection, name_deadline).await {
        Ok((member, kicked)) => {
            let (member, ending) = client.chat(member, kicked).await;
            (Some(member), ending)
        }
        Err(ending) => (None, ending),
    };
    client.finish(member, ending).await;
}
// ANCHOR_END: serve

impl Client {
    // ANCHOR: choose_name
    /// Asks for a name until the client gives a valid, free one, or until
    /// `deadline`: unnamed connections count against `max_users`, so they
    /// must not linger.
    async fn choose_name(
        &mut self,
        connection: Connection<Unauthenticated>,
        deadline: Instant,
    ) -> Result<(Connection<InRoom>, oneshot::Receiver<Kick>), Ending> {
        self.write("welcome! what is your name?\n", None).await?;
        loop {
            self.read_more(deadline).await?;
            let Client {
                id,
                shared,
                inbox,
                writer,
                ..
            } = self;
            let mut registered = None;
            let mut lines = Lines::new(inbox.pending(), shared.config.max_line_len);
            for line in &mut lines {
                let error = match parse(line) {
                    Ok(Input::Chat(answer)) => {
                        // The guard is dropped at the end of this statement,
                        // long before the next `.await`.
                        let result = shared.directory().register(*id, &answer);
                        match result {
                            Ok(joined) => {
                                let name = joined.name.to_owned();
                                registered =
                                    Some((name, joined.admin, joined.membership, joined.kicked));
                                break;
                            }
                            Err(error) => error,
                        }
                    }
                    Ok(Input::Command(Command::Quit(_))) => {
                        return Err(Ending::Quit(String::new()));
                    }
                    Ok(Input::Command(_)) => ChatError::NoNameYet,
                    Err(error) if is_fatal(&error) => return Err(Ending::Refused(error)),
                    Err(error) => error,
                };
                let reply = format!("error: {error}. what is your name?\n");
                write(writer, shared, &reply, None).await?;
            }
            let consumed = lines.consumed();
            inbox.consume(consumed);
            if let Some((name, admin, membership, kicked)) = registered {
                let member = connection.authenticate(name, admin).enter(membership);
                info!(id = %self.id, name = member.name(), "registered");
                self.welcome(&member).await?;
                return Ok((member, kicked));
            }
        }
    }
    // ANCHOR_END: choose_name

    /// Greets a new member, with the message of the day if there is one, and
    /// the room's recent messages.
    async fn welcome(&mut self, member: &Connection<InRoom>) -> Result<(), ChatError> {
        let mut text = format!(
            "welcome, {}! you are in #{}\n",
            member.name(),
            member.room()
        );
        if let Some(motd) = self.shared.config.motd.as_deref() {
            for line in motd.lines() {
                text.push_str(&format!("* {line}\n"));
            }
        }
        self.write(&text, Some(member.channel())).await?;
        let (shared, writer) = (&self.shared, &mut self.writer);
        replay_history(shared, writer, member, &mut self.replayed).await
    }

    // ANCHOR: chat
    /// Runs a member's session: waits for whichever comes first, a line from
    /// the client, a line from the room, a kick, the shutdown or the idle
    /// timeout.
    async fn chat(
        &mut self,
        mut member: Connection<InRoom>,
        mut kicked: oneshot::Receiver<Kick>,
    ) -> (Connection<InRoom>, Ending) {
        // Once the kick channel has answered, it must not be polled again.
        let mut kick_open = true;
        // One timer for the whole session, moved when the client speaks: a new
        // `sleep_until` on every wake-up would register and cancel a timer for
        // every line delivered.
        let idle = sleep_until(self.idle_deadline);
        tokio::pin!(idle);
        // Lines that arrived together with the name are waiting already.
        if let Err(ending) = self.handle_lines(&mut member).await {
            return (member, ending);
        }
        loop {
            // `select!` only picks the event; it is handled below, after the
            // other futures (and their borrows of `self`) are gone. Every
            // branch is cancel-safe: a branch that loses loses no data.
            // Split borrow: the room's channel, to wait for space, and our
            // receiver, to wait for lines, are two fields of the membership.
            let Membership {
                channel, receiver, ..
            } = member.membership();
            let event = tokio::select! {
                read = self.inbox.read_from(&mut self.reader), if !self.paused => Event::Read(read),
                () = channel.space(), if self.paused => Event::Space,
                delivery = receiver.recv() => Event::Delivery(delivery),
                kick = &mut kicked, if kick_open => match kick {
                    Ok(kick) => Event::Kicked(kick),
                    Err(_) => {
                        kick_open = false;
                        continue;
                    }
                },
                // The sender lives as long as the server does; its going away
                // means the same as its saying `true`.
                _ = self.stop.changed() => Event::Shutdown,
                () = &mut idle => Event::Idle,
            };
            let outcome = match event {
                Event::Read(Ok(0)) => Err(Ending::Closed),
                Event::Read(Ok(_)) => {
                    self.idle_deadline = Instant::now() + self.shared.config.idle_timeout;
                    idle.as_mut().reset(self.idle_deadline);
                    self.handle_lines(&mut member).await
                }
                Event::Read(Err(error)) => Err(Ending::Failed(error.into())),
                Event::Space => {
                    // Handle the lines left unhandled when the talker paused.
                    self.paused = false;
                    self.handle_lines(&mut member).await
                }
                Event::Delivery(first) => {
                    self.deliver(&mut member, first).await.map_err(Ending::from)
                }
                Event::Kicked(kick) => Err(Ending::Kicked(kick)),
                Event::Shutdown => Err(Ending::Shutdown),
                Event::Idle => Err(Ending::Refused(ChatError::Idle {
                    after: self.shared.config.idle_timeout,
                })),
            };
            if let Err(ending) = outcome {
                return (member, ending);
            }
        }
    }
    // ANCHOR_END: chat

    // ANCHOR: deliver
    /// Writes `first`, and every other line the room has already queued for
    /// this member, with one system call: under load a member is woken once
    /// for many lines, not once per line.
    async fn deliver(
        &mut self,
        member: &mut Connection<InRoom>,
        first: Result<Delivery, RecvError>,
    ) -> Result<(), ChatError> {
        let mut batch = String::new();
        let mut next = first.map_err(|error| match error {
            RecvError::Lagged(missed) => TryRecvError::Lagged(missed),
            RecvError::Closed => TryRecvError::Closed,
        });
        loop {
            match next {
                Ok(delivery) => self.add_to_batch(&mut batch, &delivery),
                // The room's ring moved on without this member: say how far.
                Err(TryRecvError::Lagged(missed)) => {
                    self.shared
                        .services
                        .metrics
                        .dropped
                        .fetch_add(missed, Relaxed);
                    batch.push_str(&format!("* you missed {missed} messages\n"));
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => {
                    // Caught up: this member may be the one talkers wait for.
                    member.channel().wake_talkers();
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = member.membership().receiver.try_recv();
        }
        // The buffer is dropped after the write: an idle member holds none.
        self.write(&batch, Some(member.channel())).await
    }
    // ANCHOR_END: deliver

    /// Adds a room line to `batch`, unless this member sent it or was just
    /// replayed it from the history.
    fn add_to_batch(&self, batch: &mut String, delivery: &Delivery) {
        let replayed = delivery.id.is_some_and(|id| self.replayed.contains(&id));
        if delivery.from != self.id && !replayed {
            batch.push_str(&delivery.line);
        }
    }

    // ANCHOR: handle_lines
    /// Handles every complete line received so far.
    async fn handle_lines(&mut self, member: &mut Connection<InRoom>) -> Result<(), Ending> {
        // Split borrow: `lines` borrows `inbox` while the handlers write to
        // `writer`. Each line is still borrowed from the read buffer.
        let Client {
            shared,
            inbox,
            writer,
            rate,
            told_to_slow_down,
            replayed,
            paused,
            ..
        } = self;
        let mut ending = None;
        let mut lines = Lines::new(inbox.pending(), shared.config.max_line_len);
        for line in &mut lines {
            let input = parse(line);
            let result = match input {
                // The session ends after the loop, once the inbox is consumed,
                // and the goodbye must outlive that: made owned (pattern 13).
                Ok(Input::Command(Command::Quit(goodbye))) => {
                    ending = Some(Ending::Quit(goodbye.into_owned()));
                    break;
                }
                Err(error) if is_fatal(&error) => {
                    ending = Some(Ending::Refused(error));
                    break;
                }
                _ if !rate.try_take() => {
                    // Over the limit: the line is dropped, and the client
                    // hears about it once, not once per line.
                    shared.services.metrics.rate_limited.fetch_add(1, Relaxed);
                    if std::mem::replace(told_to_slow_down, true) {
                        continue;
                    }
                    Err(ChatError::SlowDown {
                        rate: shared.config.message_rate,
                        burst: shared.config.message_burst,
                    })
                }
                Ok(input) => {
                    *told_to_slow_down = false;
                    let result = handle(shared, writer, member, replayed, input).await;
                    // Backpressure: stop while the room is full; the lines
                    // after this one stay in the inbox until there is space.
                    if result.is_ok() && member.channel().is_full() {
                        *paused = true;
                        break;
                    }
                    result
                }
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                if let ChatError::Io(_) | ChatError::TooSlow { .. } = error {
                    ending = Some(Ending::Failed(error));
                    break;
                }
                let reply = format!("error: {error}\n");
                if let Err(error) = write(writer, shared, &reply, Some(member.channel())).await {
                    ending = Some(Ending::Failed(error));
                    break;
                }
            }
        }
        let consumed = lines.consumed();
        inbox.consume(consumed);
        ending.map_or(Ok(()), Err)
    }
    // ANCHOR_END: handle_lines

    /// Waits for more bytes from the client, for the idle timeout, for the
    /// name deadline, or for the shutdown.
    async fn read_more(&mut self, name_deadline: Instant) -> Result<(), Ending> {
        let read = tokio::select! {
            read = self.inbox.read_from(&mut self.reader) => read,
            () = sleep_until(self.idle_deadline) => {
                return Err(Ending::Refused(ChatError::Idle {
                    after: self.shared.config.idle_timeout,
                }));
            }
            () = sleep_until(name_deadline) => {
                return Err(Ending::Refused(ChatError::NoName {
                    after: self.shared.config.name_timeout,
                }));
            }
            _ = self.stop.changed() => return Err(Ending::Shutdown),
        };
        match read {
            Ok(0) => Err(Ending::Closed),
            Ok(_) => {
                self.idle_deadline = Instant::now() + self.shared.config.idle_timeout;
                Ok(())
            }
            Err(error) => Err(Ending::Failed(error.into())),
        }
    }

    /// Writes `text` to the client, within the write timeout; `room`, if the
    /// client is in one, learns when the client's socket is full.
    async fn write(&mut self, text: &str, room: Option<&Channel>) -> Result<(), ChatError> {
        write(&mut self.writer, &self.shared, text, room).await
    }

    // ANCHOR: finish
    /// Takes the client out of the chat, tells it why if it can still hear,
    /// and closes the connection without losing that last line.
    async fn finish(&mut self, member: Option<Connection<InRoom>>, ending: Ending) {
        let (reason, last_words) = match &ending {
            Ending::Closed => (String::new(), None),
            Ending::Quit(goodbye) => (goodbye.clone(), Some("* bye\n".to_owned())),
            Ending::Kicked(Kick { by, reason }) => {
                let because = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                (
                    format!("kicked by {by}{because}"),
                    Some(format!("* you were kicked by {by}{because}\n")),
                )
            }
            Ending::Shutdown => (
                String::new(),
                Some("* the server is shutting down; goodbye\n".to_owned()),
            ),
            Ending::Refused(error) => (
                String::new(),
                Some(format!("error: {error}, disconnecting\n")),
            ),
            Ending::Failed(error) => {
                debug!(id = %self.id, %error, "connection failed");
                (String::new(), None)
            }
        };
        if let Some(mut member) = member {
            // A goodbye comes after everything the room had already sent this
            // member: those messages were accepted, so they are owed. They are
            // taken now (pointers, not copies), and the member departs before
            // they are written: however the writing goes, the name, the room
            // and the room's talkers never wait for this client.
            let owed = match ending {
                Ending::Quit(_) | Ending::Shutdown => {
                    let me = member.id();
                    owed_lines(&mut member.membership().receiver, me, &self.replayed)
                }
                _ => Vec::new(),
            };
            let emptied = self.shared.directory().depart(member, &reason);
            if let Some(room) = emptied {
                self.shared.services.history.forget(&room).await;
            }
            if write_lines(&mut self.writer, &self.shared, &owed, None)
                .await
                .is_err()
            {
                return;
            }
        }
        debug!(id = %self.id, "disconnected");
        if let Some(words) = last_words
            && self.write(&words, None).await.is_ok()
        {
            // Close our half, then read and drop what the client still sends:
            // closing with unread input makes the kernel send a reset, which
            // can destroy the last line before the client reads it.
            let _ = self.writer.shutdown().await;
            let _ = timeout(LINGER, self.inbox.discard(&mut self.reader)).await;
        }
    }
    // ANCHOR_END: finish
}

/// Takes every line `receiver` holds for member `me` without writing it:
/// what the room had already sent when the member leaves its room.
fn owed_lines(
    receiver: &mut broadcast::Receiver<Delivery>,
    me: UserId,
    replayed: &[u64],
) -> Vec<Arc<str>> {
    let mut owed = Vec::new();
    loop {
        match receiver.try_recv() {
            Ok(delivery) => {
                let seen = delivery.id.is_some_and(|id| replayed.contains(&id));
                if delivery.from != me && !seen {
                    owed.push(delivery.line);
                }
            }
            Err(TryRecvError::Lagged(missed)) => {
                owed.push(Arc::from(format!("* you missed {missed} messages\n")));
            }
            Err(TryRecvError::Empty | TryRecvError::Closed) => return owed,
        }
    }
}

/// Writes `lines`, at most [`MAX_BATCH`] bytes per system call.
async fn write_lines(
    writer: &mut OwnedWriteHalf,
    shared: &Shared,
    lines: &[Arc<str>],
    room: Option<&Channel>,
) -> Result<(), ChatError> {
    let mut batch = String::new();
    for line in lines {
        batch.push_str(line);
        if batch.len() >= MAX_BATCH {
            write(writer, shared, &batch, room).await?;
            batch.clear();
        }
    }
    write(writer, shared, &batch, room).await
}

/// Tells a connection that the server is full, and closes it as gracefully
/// as [`Client::finish`] does.
pub async fn turn_away(mut stream: TcpStream, max_users: usize) {
    let refusal = format!("error: the server is full ({max_users} users); try again later\n");
    if stream.write_all(refusal.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
        let mut drained = Inbox::new(0);
        let _ = timeout(LINGER, drained.discard(&mut stream)).await;
    }
}

// ANCHOR: handle
/// Handles one parsed line from a member (never `/quit`: that ends the
/// session, which is the caller's business).
async fn handle(
    shared: &Shared,
    writer: &mut OwnedWriteHalf,
    member: &mut Connection<InRoom>,
    replayed: &mut Vec<u64>,
    input: Input<'_>,
) -> Result<(), ChatError> {
    let reply = match input {
        Input::Chat(text) => return say(shared, member, &text).await,
        Input::Command(Command::Join(room)) => {
            let (mut old, emptied) = shared.directory().join(member, &room)?;
            // What the old room had sent before the move is still owed.
            let owed = owed_lines(&mut old.receiver, member.id(), replayed);
            drop(old);
            if let Some(gone) = emptied {
                shared.services.history.forget(&gone).await;
            }
            write_lines(writer, shared, &owed, Some(member.channel())).await?;
            let moved = format!("* you are now in #{room}\n");
            write(writer, shared, &moved, Some(member.channel())).await?;
            return replay_history(shared, writer, member, replayed).await;
        }
        Input::Command(Command::Nick(name)) => {
            shared.directory().rename(member, name)?;
            format!("* you are now {name}\n")
        }
        Input::Command(Command::Kick { user, reason }) => {
            shared.directory().kick(member, user, &reason)?;
            format!("* you kicked {user}\n")
        }
        Input::Command(Command::List) => shared.directory().list(member) + "\n",
        Input::Command(Command::Rooms) => shared.directory().rooms() + "\n",
        Input::Command(Command::Help) => HELP
            .iter()
            .map(|(usage, what)| format!("* {usage}: {what}\n"))
            .collect(),
        Input::Command(Command::Quit(_)) => return Ok(()),
    };
    write(writer, shared, &reply, Some(member.channel())).await
}
// ANCHOR_END: handle

// ANCHOR: say
/// Relays chat text to the member's room: through the filters, into the
/// room's history, then to everyone in the room.
async fn say(
    shared: &Shared,
    member: &mut Connection<InRoom>,
    text: &str,
) -> Result<(), ChatError> {
    /// Gives every chat message an id, unique for the server's life.
    static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);

    // While this task waits for the filters and the history, its own
    // receiver goes unread: it counts as blocked, so that the room's talkers
    // do not pause for it. No lock is held: a slow filter delays this sender.
    let blocked = member.channel().block();
    let text = shared
        .services
        .filters
        .apply(member.name(), text)
        .await
        .map_err(ChatError::Blocked)?;
    let line: Arc<str> = Arc::from(format!("<{}> {text}\n", member.name()));
    let id = NEXT_MESSAGE.fetch_add(1, Relaxed);
    // Recorded before it is sent: a newcomer who subscribes in between finds
    // it in the history and skips the live copy by its id.
    let entry = Entry {
        id,
        line: Arc::clone(&line),
    };
    shared.services.history.record(member.room(), entry).await;
    drop(blocked);
    let delivery = Delivery {
        from: member.id(),
        id: Some(id),
        line,
    };
    member.channel().send(delivery);
    shared.services.metrics.messages.fetch_add(1, Relaxed);
    Ok(())
}
// ANCHOR_END: say

/// Writes the recent messages of the member's room and remembers their ids
/// in `replayed`.
async fn replay_history(
    shared: &Shared,
    writer: &mut OwnedWriteHalf,
    member: &Connection<InRoom>,
    replayed: &mut Vec<u64>,
) -> Result<(), ChatError> {
    let room = member.room();
    let recent = shared.services.history.recent(room).await;
    replayed.clear();
    if recent.is_empty() {
        return Ok(());
    }
    let mut text = match recent.len() {
        1 => format!("* the last message in #{room}:\n"),
        n => format!("* the last {n} messages in #{room}:\n"),
    };
    for entry in &recent {
        replayed.push(entry.id);
        text.push_str(&entry.line);
    }
    write(writer, shared, &text, Some(member.channel())).await
}

// ANCHOR: write
/// Writes all of `text`. A client whose socket accepts nothing for the write
/// timeout is disconnected: waiting longer would only tie up this task. The
/// kernel calls a full socket writable only once a good part of it has
/// drained, so a client must keep reading at a fair pace, not a trickle.
///
/// While the socket is full, `room` (the client's room, if it has one) counts
/// the client as blocked, so that the room's talkers do not wait for it.
async fn write(
    writer: &mut OwnedWriteHalf,
    shared: &Shared,
    text: &str,
    room: Option<&Channel>,
) -> Result<(), ChatError> {
    let limit = shared.config.write_timeout;
    let mut bytes = text.as_bytes();
    let mut blocked = None;
    while !bytes.is_empty() {
        match writer.try_write(bytes) {
            Ok(0) => return Err(ChatError::Io(io::ErrorKind::WriteZero.into())),
            Ok(written) => {
                bytes = &bytes[written..];
                continue;
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error.into()),
        }
        if blocked.is_none() {
            blocked = room.map(Channel::block);
        }
        // Each wait has its own deadline, from the last progress.
        match timeout(limit, writer.writable()).await {
            Ok(ready) => ready?,
            Err(_) => return Err(ChatError::TooSlow { after: limit }),
        }
    }
    Ok(())
}
// ANCHOR_END: write

/// Checks and parses one line.
fn parse(line: Result<&str, LineError>) -> Result<Input<'_>, ChatError> {
    Ok(parse_input(line?)?)
}

/// Whether the connection cannot go on after this error.
fn is_fatal(error: &ChatError) -> bool {
    matches!(error, ChatError::Line(LineError::TooLong { .. }))
}
