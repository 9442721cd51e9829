//! One client's task: it alone reads and writes the client's socket.
//!
//! The socket is any byte stream: a [`Reader`] and a [`Writer`] from
//! [`transport`](crate::transport), so TCP, TLS and WebSocket clients run
//! this one session, under the same limits.
//!
//! One concern per file: [`naming`] asks for a name, [`chat`] is the session
//! loop that waits for whatever happens next, [`commands`] does what a
//! member's lines say, and [`output`] writes to the client.

mod chat;
mod commands;
mod naming;
mod output;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::{Instant, timeout};
use tracing::debug;

use crate::addresses::AddressPlace;
use crate::connection::{Connection, InRoom};
use crate::directory::Kick;
use crate::inbox::Inbox;
use crate::rate::RateLimit;
use crate::server::Shared;
use crate::transport::{Reader, Transport, Writer};
use crate::{ChatError, UserId};

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

// ANCHOR: client
/// The parts of a client's task that outlive any one line.
struct Client {
    id: UserId,
    reader: Reader,
    inbox: Inbox,
    /// When the idle timeout runs out, unless the client sends something.
    idle_deadline: Instant,
    /// Its place among its address's connections; told when it has a name.
    address: AddressPlace,
    /// How many more lines the client may send now.
    rate: RateLimit,
    /// Whether the client has been told it is over the rate limit since it
    /// last sent a line that passed; it is told once, not once per line.
    told_to_slow_down: bool,
    /// Turns `true` when the server shuts down.
    stop: watch::Receiver<bool>,
    /// Whether this client, as a talker, waits for its room to catch up
    /// before reading more from its socket (see [`Channel`](crate::room::Channel)).
    paused: bool,
    /// What answering a line uses. A field of its own because the lines are
    /// borrowed from `inbox` while they are answered (pattern 13): borrowing
    /// `inbox` and `session`, two fields, at once is allowed; borrowing all of
    /// `self` twice is not.
    session: Session,
}

/// What every command shares: the server's state and the client's socket.
struct Session {
    shared: Arc<Shared>,
    /// Only this task writes to the socket, so lines are never interleaved.
    writer: Writer,
    /// Ids of the messages replayed from the room's history, so that a live
    /// copy of one of them is not written twice.
    replayed: Vec<u64>,
}
// ANCHOR_END: client

// ANCHOR: serve
/// Serves one client from connection to goodbye.
///
/// The task owns `_place`, its place under `max_users`, and `address`:
/// both are given back when the task ends, however it ends (pattern 9, RAII).
pub async fn serve(
    shared: Arc<Shared>,
    transport: Transport,
    (reader, writer): (Reader, Writer),
    _place: OwnedSemaphorePermit,
    address: AddressPlace,
) {
    // ANCHOR: counted
    // Counted as open until the task ends, however it ends (RAII).
    let _counted = shared.services.metrics.connection_opened(transport);
    // ANCHOR_END: counted
    let config = &shared.config;
    let mut client = Client {
        id: UserId::next(),
        inbox: Inbox::new(config.max_line_len),
        idle_deadline: Instant::now() + config.idle_timeout,
        address,
        rate: RateLimit::new(config.message_rate, config.message_burst),
        told_to_slow_down: false,
        stop: shared.stop.clone(),
        paused: false,
        reader,
        session: Session {
            shared: Arc::clone(&shared),
            writer,
            replayed: Vec::new(),
        },
    };
    debug!(id = %client.id, transport = transport.as_str(), "connected");
    let connection = Connection::new(client.id);
    let name_deadline = Instant::now() + client.session.shared.config.name_timeout;
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
    // ANCHOR: finish
    /// Takes the client out of the chat, tells it why if it can still hear,
    /// and closes the connection without losing that last line.
    async fn finish(&mut self, member: Option<Connection<InRoom>>, ending: Ending) {
        let (reason, last_words) = self.last_words(&ending);
        if let Some(mut member) = member {
            // A goodbye comes after everything the room had already sent this
            // member: those messages were accepted, so they are owed. They are
            // taken now (pointers, not copies), and the member departs before
            // they are written: however the writing goes, the name, the room
            // and the room's talkers never wait for this client.
            let owed = match ending {
                Ending::Quit(_) | Ending::Shutdown => {
                    let me = member.id();
                    let receiver = &mut member.membership().receiver;
                    commands::owed_lines(receiver, me, &self.session.replayed)
                }
                _ => Vec::new(),
            };
            let shared = &self.session.shared;
            let emptied = shared.directory_mut().depart(member, &reason);
            if let Some(room) = emptied {
                shared.services.history.forget(&room).await;
            }
            if self.session.write_lines(&owed, None).await.is_err() {
                return;
            }
        }
        debug!(id = %self.id, "disconnected");
        if let Ending::Closed = ending {
            // The client closed its half: close ours too, rather than just
            // drop it, so that TLS ends with close_notify, not a cut.
            let _ = timeout(LINGER, self.session.writer.shutdown()).await;
        }
        if let Some(words) = last_words
            && self.session.write(&words, None).await.is_ok()
        {
            // Close our half, then read and drop what the client still sends:
            // closing with unread input makes the kernel send a reset, which
            // can destroy the last line before the client reads it.
            let _ = self.session.writer.shutdown().await;
            let _ = timeout(LINGER, self.inbox.discard(&mut self.reader)).await;
        }
    }
    // ANCHOR_END: finish

    /// What the room is told when the client leaves, and what the client is
    /// told last, if anything.
    fn last_words(&self, ending: &Ending) -> (String, Option<String>) {
        match ending {
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
        }
    }
}

/// Tells a connection why it gets no place (the server is full, or its
/// address holds too many connections), and closes it as gracefully as
/// [`Client::finish`] does.
pub async fn turn_away(mut reader: Reader, mut writer: Writer, reason: String) {
    let refusal = format!("error: {reason}; try again later\n");
    // A refusal waits for nobody: it gets the linger's time.
    let told = async {
        writer.write_all(refusal.as_bytes()).await?;
        writer.shutdown().await
    };
    if let Ok(Ok(())) = timeout(LINGER, told).await {
        let mut drained = Inbox::new(0);
        let _ = timeout(LINGER, drained.discard(&mut reader)).await;
    }
}
