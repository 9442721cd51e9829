//! One client's task: it alone reads and writes the client's socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{OwnedSemaphorePermit, broadcast, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use crate::connection::{Connection, InRoom, Unauthenticated};
use crate::directory::Kick;
use crate::inbox::Inbox;
use crate::room::Delivery;
use crate::server::Shared;
use crate::{ChatError, Command, HELP, Input, LineError, Lines, UserId, parse_input};

/// How long a client being disconnected gets to read its last line.
const LINGER: Duration = Duration::from_secs(1);

/// How a client's session ended.
enum Ending {
    /// The client closed the connection.
    Closed,
    /// `/quit`, with the goodbye the room sees.
    Quit(String),
    /// Another user kicked this one.
    Kicked(Kick),
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
    Read(std::io::Result<usize>),
    /// The room sent something, or the member fell behind.
    Delivery(Result<Delivery, RecvError>),
    /// Another user kicked this one.
    Kicked(Kick),
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
}
// ANCHOR_END: client

// ANCHOR: serve
/// Serves one client from connection to goodbye.
///
/// `_permit` is the client's place under `max_users`: the task owns it, so
/// it is given back when the task ends, however it ends (pattern 9, RAII).
pub async fn serve(shared: Arc<Shared>, stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let (reader, writer) = stream.into_split();
    let mut client = Client {
        id: UserId::next(),
        inbox: Inbox::new(shared.config.max_line_len),
        idle_deadline: Instant::now() + shared.config.idle_timeout,
        shared,
        reader,
        writer,
    };
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
        self.write("welcome! what is your name?\n").await?;
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
                write(writer, shared, &reply).await?;
            }
            let consumed = lines.consumed();
            inbox.consume(consumed);
            if let Some((name, admin, membership, kicked)) = registered {
                let member = connection.authenticate(name, admin).enter(membership);
                self.welcome(&member).await?;
                return Ok((member, kicked));
            }
        }
    }
    // ANCHOR_END: choose_name

    /// Greets a new member, with the message of the day if there is one.
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
        self.write(&text).await
    }

    // ANCHOR: chat
    // ANCHOR: chat_select
    /// Runs a member's session: waits for whichever comes first, a line from
    /// the client, a line from the room, a kick or the idle timeout.
    async fn chat(
        &mut self,
        mut member: Connection<InRoom>,
        mut kicked: oneshot::Receiver<Kick>,
    ) -> (Connection<InRoom>, Ending) {
        // Once the kick channel has answered, it must not be polled again.
        let mut kick_open = true;
        // Lines that arrived together with the name are waiting already.
        if let Err(ending) = self.handle_lines(&mut member).await {
            return (member, ending);
        }
        loop {
            // `select!` only picks the event; it is handled below, after the
            // other futures (and their borrows of `self`) are gone. Every
            // branch is cancel-safe: a branch that loses loses no data.
            let event = tokio::select! {
                read = self.inbox.read_from(&mut self.reader) => Event::Read(read),
                delivery = member.membership().receiver.recv() => Event::Delivery(delivery),
                kick = &mut kicked, if kick_open => match kick {
                    Ok(kick) => Event::Kicked(kick),
                    Err(_) => {
                        kick_open = false;
                        continue;
                    }
                },
                () = sleep_until(self.idle_deadline) => Event::Idle,
            };
            // ANCHOR_END: chat_select
            let outcome = match event {
                Event::Read(Ok(0)) => Err(Ending::Closed),
                Event::Read(Ok(_)) => {
                    self.idle_deadline = Instant::now() + self.shared.config.idle_timeout;
                    self.handle_lines(&mut member).await
                }
                Event::Read(Err(error)) => Err(Ending::Failed(error.into())),
                // Exercise 5.1: see "Your job" in chapter 5.
                // ANCHOR: exercise_5_1
                Event::Delivery(Ok(delivery)) if delivery.from == self.id => Ok(()),
                Event::Delivery(Ok(delivery)) => {
                    self.write(&delivery.line).await.map_err(Ending::from)
                }
                // The room's buffer moved on without us: say how far.
                Event::Delivery(Err(RecvError::Lagged(missed))) => {
                    let notice = format!("* you missed {missed} messages\n");
                    self.write(&notice).await.map_err(Ending::from)
                }
                // Our own membership holds a sender, so the channel stays open.
                Event::Delivery(Err(RecvError::Closed)) => Ok(()),
                // ANCHOR_END: exercise_5_1
                Event::Kicked(kick) => Err(Ending::Kicked(kick)),
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

    // ANCHOR: handle_lines
    /// Handles every complete line received so far.
    async fn handle_lines(&mut self, member: &mut Connection<InRoom>) -> Result<(), Ending> {
        // Split borrow: `lines` borrows `inbox` while the handlers write to
        // `writer`. Each line is still borrowed from the read buffer.
        let Client {
            shared,
            inbox,
            writer,
            ..
        } = self;
        let mut ending = None;
        let mut lines = Lines::new(inbox.pending(), shared.config.max_line_len);
        for line in &mut lines {
            let result = match parse(line) {
                // The session ends after the loop, once the inbox is consumed,
                // and the goodbye must outlive that: made owned (pattern 13).
                Ok(Input::Command(Command::Quit(goodbye))) => {
                    ending = Some(Ending::Quit(goodbye.into_owned()));
                    break;
                }
                Ok(input) => handle(shared, writer, member, input).await,
                Err(error) if is_fatal(&error) => {
                    ending = Some(Ending::Refused(error));
                    break;
                }
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                if let ChatError::Io(_) | ChatError::TooSlow { .. } = error {
                    ending = Some(Ending::Failed(error));
                    break;
                }
                let reply = format!("error: {error}\n");
                if let Err(error) = write(writer, shared, &reply).await {
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

    /// Waits for more bytes from the client, for the idle timeout, or for
    /// the name deadline.
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

    /// Writes `text` to the client, within the write timeout.
    async fn write(&mut self, text: &str) -> Result<(), ChatError> {
        write(&mut self.writer, &self.shared, text).await
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
            Ending::Refused(error) => (
                String::new(),
                Some(format!("error: {error}, disconnecting\n")),
            ),
            Ending::Failed(error) => {
                eprintln!("{}: {error}", self.id);
                (String::new(), None)
            }
        };
        if let Some(mut member) = member {
            // A polite goodbye comes after everything the room had already
            // sent this member. Those lines are taken now, and the member
            // departs before they are written: however the writing goes, its
            // name and its place in the room are given back.
            let owed = match ending {
                Ending::Quit(_) => {
                    let me = member.id();
                    owed_lines(&mut member.membership().receiver, me)
                }
                _ => String::new(),
            };
            self.shared.directory().depart(member, &reason);
            if self.write(&owed).await.is_err() {
                return;
            }
        }
        if let Some(words) = last_words
            && self.write(&words).await.is_ok()
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
/// session, which is the caller's business). Enum dispatch, as in stage 4;
/// what changed is that answering can wait (`.await`), and that the shared
/// directory is locked only inside one statement at a time.
async fn handle(
    shared: &Shared,
    writer: &mut OwnedWriteHalf,
    member: &mut Connection<InRoom>,
    input: Input<'_>,
) -> Result<(), ChatError> {
    let reply = match input {
        Input::Chat(text) => {
            // No lock is held while the filters run: a slow filter delays
            // only this sender.
            let text = shared
                .filters
                .apply(member.name(), &text)
                .await
                .map_err(ChatError::Blocked)?;
            let line = format!("<{}> {text}\n", member.name());
            let delivery = Delivery {
                from: member.id(),
                line: Arc::from(line),
            };
            // `send` fails only if nobody is subscribed, and we are.
            let _ = member.membership().sender.send(delivery);
            return Ok(());
        }
        Input::Command(Command::Join(room)) => {
            let mut old = shared.directory().join(member, &room)?;
            // What the old room had sent before the move is still owed.
            let owed = owed_lines(&mut old.receiver, member.id());
            format!("{owed}* you are now in #{room}\n")
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
    write(writer, shared, &reply).await
}
// ANCHOR_END: handle

// ANCHOR: write
/// Writes `text` within the configured write timeout. A client whose socket
/// takes nothing for that long is not reading; waiting longer would only tie
/// up this task.
async fn write(writer: &mut OwnedWriteHalf, shared: &Shared, text: &str) -> Result<(), ChatError> {
    let limit = shared.config.write_timeout;
    match timeout(limit, writer.write_all(text.as_bytes())).await {
        Ok(written) => Ok(written?),
        Err(_) => Err(ChatError::TooSlow { after: limit }),
    }
}
// ANCHOR_END: write

// ANCHOR: owed_lines
/// Takes every line `receiver` holds for member `me` without writing it:
/// what the room had already sent when the member leaves its room.
fn owed_lines(receiver: &mut broadcast::Receiver<Delivery>, me: UserId) -> String {
    let mut owed = String::new();
    loop {
        match receiver.try_recv() {
            Ok(delivery) if delivery.from == me => {}
            Ok(delivery) => owed.push_str(&delivery.line),
            Err(TryRecvError::Lagged(missed)) => {
                owed.push_str(&format!("* you missed {missed} messages\n"));
            }
            Err(TryRecvError::Empty | TryRecvError::Closed) => return owed,
        }
    }
}
// ANCHOR_END: owed_lines

/// Checks and parses one line.
fn parse(line: Result<&str, LineError>) -> Result<Input<'_>, ChatError> {
    Ok(parse_input(line?)?)
}

/// Whether the connection cannot go on after this error.
fn is_fatal(error: &ChatError) -> bool {
    matches!(error, ChatError::Line(LineError::TooLong { .. }))
}
