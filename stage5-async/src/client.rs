//! One client's task: it alone reads and writes the client's socket.
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
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, timeout};

use crate::addresses::AddressPlace;
use crate::connection::{Connection, InRoom};
use crate::directory::Kick;
use crate::inbox::Inbox;
use crate::server::Shared;
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
    reader: OwnedReadHalf,
    inbox: Inbox,
    /// When the idle timeout runs out, unless the client sends something.
    idle_deadline: Instant,
    /// Its place among its address's connections; told when it has a name.
    address: AddressPlace,
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
    writer: OwnedWriteHalf,
}
// ANCHOR_END: client

// ANCHOR: serve
/// Serves one client from connection to goodbye.
///
/// The task owns `_permit`, its place under `max_users`, and `address`:
/// both are given back when the task ends, however it ends (pattern 9, RAII).
pub async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    address: AddressPlace,
) {
    let (reader, writer) = stream.into_split();
    let mut client = Client {
        id: UserId::next(),
        inbox: Inbox::new(shared.config.max_line_len),
        idle_deadline: Instant::now() + shared.config.idle_timeout,
        address,
        reader,
        session: Session { shared, writer },
    };
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
            // A polite goodbye comes after everything the room had already
            // sent this member. Those lines are taken now, and the member
            // departs before they are written: however the writing goes, its
            // name and its place in the room are given back.
            let owed = match ending {
                Ending::Quit(_) => {
                    let me = member.id();
                    commands::owed_lines(&mut member.membership().receiver, me)
                }
                _ => String::new(),
            };
            self.session.shared.directory_mut().depart(member, &reason);
            if self.session.write(&owed).await.is_err() {
                return;
            }
        }
        if let Some(words) = last_words
            && self.session.write(&words).await.is_ok()
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
            Ending::Refused(error) => (
                String::new(),
                Some(format!("error: {error}, disconnecting\n")),
            ),
            Ending::Failed(error) => {
                eprintln!("{}: {error}", self.id);
                (String::new(), None)
            }
        }
    }
}

/// Tells a connection why it gets no place (the server is full, or its
/// address holds too many connections), and closes it as gracefully as
/// [`Client::finish`] does.
pub async fn turn_away(mut stream: TcpStream, reason: String) {
    let refusal = format!("error: {reason}; try again later\n");
    if stream.write_all(refusal.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
        let mut drained = Inbox::new(0);
        let _ = timeout(LINGER, drained.discard(&mut stream)).await;
    }
}
