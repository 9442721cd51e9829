//! What a member's lines do: chat text and commands.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::broadcast::{self, error::TryRecvError};

use super::Session;
use crate::backend::News;
use crate::connection::{Connection, InRoom};
use crate::history::{self, Entry};
use crate::room::Delivery;
use crate::{ChatError, Command, HELP, Input, LineError, UserId, parse_input};

impl Session {
    // ANCHOR: handle
    /// Handles one parsed line from a member (never `/quit`: that ends the
    /// session, which is the caller's business).
    pub(super) async fn handle(
        &mut self,
        member: &mut Connection<InRoom>,
        input: Input<'_>,
    ) -> Result<(), ChatError> {
        let shared = &self.shared;
        let reply = match input {
            Input::Chat(text) => return self.say(member, &text).await,
            Input::Command(Command::Join(room)) => {
                let (mut old, emptied) = shared.directory_mut().join(&room, member)?;
                // What the old room had sent before the move is still owed.
                let owed = owed_lines(&mut old.receiver, member.id(), &self.replayed);
                drop(old);
                if let Some(gone) = emptied {
                    shared.services.history.forget(&gone).await;
                }
                self.write_lines(&owed, Some(member.channel())).await?;
                let moved = format!("* you are now in #{room}\n");
                self.write(&moved, Some(member.channel())).await?;
                return self.replay_history(member).await;
            }
            Input::Command(Command::Nick(name)) => {
                self.rename(name, member).await?;
                format!("* you are now {name}\n")
            }
            Input::Command(Command::Kick { user, reason }) => {
                let kicked = shared.directory_mut().kick(user, &reason, member);
                if let Err(ChatError::NoSuchUser(_)) = kicked {
                    // Not here: perhaps on another server.
                    let backend = &shared.services.backend;
                    let admin = member.is_admin();
                    backend.kick(user, member.name(), &reason, admin).await?;
                } else {
                    kicked?;
                }
                format!("* you kicked {user}\n")
            }
            Input::Command(Command::List) => {
                let elsewhere = shared.services.backend.elsewhere().await;
                shared.directory().list(member, &elsewhere) + "\n"
            }
            Input::Command(Command::Rooms) => {
                let elsewhere = shared.services.backend.elsewhere().await;
                shared.directory().rooms(&elsewhere) + "\n"
            }
            Input::Command(Command::Help) => HELP
                .iter()
                .map(|(usage, what)| format!("* {usage}: {what}\n"))
                .collect(),
            Input::Command(Command::Quit(_)) => return Ok(()),
        };
        self.write(&reply, Some(member.channel())).await
    }
    // ANCHOR_END: handle

    // ANCHOR: say
    /// Relays chat text to the member's room: through the filters, into the
    /// room's history, then to everyone in the room.
    async fn say(&self, member: &mut Connection<InRoom>, text: &str) -> Result<(), ChatError> {
        // While this task waits for the filters and the history, its own
        // receiver goes unread: it counts as blocked, so that the room's talkers
        // do not pause for it. No lock is held: a slow filter delays this sender.
        let blocked = member.channel().block();
        let services = &self.shared.services;
        let text = services
            .filters
            .apply(member.name(), text)
            .await
            .map_err(ChatError::Blocked)?;
        let line: Arc<str> = Arc::from(format!("<{}> {text}\n", member.name()));
        let id = history::next_message_id();
        // Recorded before it is sent: a newcomer who subscribes in between finds
        // it in the history and skips the live copy by its id.
        let entry = Entry {
            id,
            line: Arc::clone(&line),
        };
        services.history.record(member.room(), entry).await;
        drop(blocked);
        let delivery = Delivery {
            from: member.id(),
            id: Some(id),
            line: Arc::clone(&line),
            sent: Instant::now(),
        };
        member.channel().send(delivery);
        // Other servers sharing the room hear it too (`--redis-url`); with
        // none, this does nothing.
        let room = member.room();
        let id = Some(id);
        services.backend.tell(News::Said {
            room,
            id,
            line: &line,
        });
        services.metrics.message_received();
        Ok(())
    }
    // ANCHOR_END: say

    /// `/nick`: claims the new name on every server, then here.
    async fn rename(&self, name: &str, member: &mut Connection<InRoom>) -> Result<(), ChatError> {
        let shared = &self.shared;
        let backend = &shared.services.backend;
        // Changing only the case of one's name keeps one's claim on it.
        if !name.eq_ignore_ascii_case(member.name()) {
            shared.directory().check_available(name)?;
            if !backend.claim(member.id(), name).await {
                return Err(ChatError::NameTaken(name.to_owned()));
            }
        }
        let renamed = shared.directory_mut().rename(name, member);
        if renamed.is_err() && !name.eq_ignore_ascii_case(member.name()) {
            // Refused here (taken, or an admin's): the claim is given back.
            let user = member.id();
            backend.tell(News::Released { user, name });
        }
        renamed
    }

    /// Writes the recent messages of the member's room and remembers their ids
    /// in `replayed`.
    pub(super) async fn replay_history(
        &mut self,
        member: &Connection<InRoom>,
    ) -> Result<(), ChatError> {
        let room = member.room();
        let recent = self.shared.services.history.recent(room).await;
        self.replayed.clear();
        if recent.is_empty() {
            return Ok(());
        }
        let mut text = match recent.len() {
            1 => format!("* the last message in #{room}:\n"),
            n => format!("* the last {n} messages in #{room}:\n"),
        };
        for entry in &recent {
            self.replayed.push(entry.id);
            text.push_str(&entry.line);
        }
        self.write(&text, Some(member.channel())).await
    }
}

/// Takes every line `receiver` holds for member `me` without writing it:
/// what the room had already sent when the member leaves its room.
pub(super) fn owed_lines(
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

/// Checks and parses one line.
pub(super) fn parse(line: Result<&str, LineError>) -> Result<Input<'_>, ChatError> {
    Ok(parse_input(line?)?)
}

/// Whether the connection cannot go on after this error.
pub(super) fn is_fatal(error: &ChatError) -> bool {
    matches!(error, ChatError::Line(LineError::TooLong { .. }))
}
