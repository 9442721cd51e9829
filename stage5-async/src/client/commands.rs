//! What a member's lines do: chat text and commands.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::TryRecvError};

use super::Session;
use crate::connection::{Connection, InRoom};
use crate::room::Delivery;
use crate::{ChatError, Command, HELP, Input, LineError, UserId, parse_input};

impl Session {
    // ANCHOR: handle
    /// Handles one parsed line from a member (never `/quit`: that ends the
    /// session, which is the caller's business). Enum dispatch, as in stage 4;
    /// what changed is that answering can wait (`.await`), and that the shared
    /// directory is locked only inside one statement at a time.
    pub(super) async fn handle(
        &mut self,
        member: &mut Connection<InRoom>,
        input: Input<'_>,
    ) -> Result<(), ChatError> {
        let shared = &self.shared;
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
            // ANCHOR: directory_calls
            Input::Command(Command::Join(room)) => {
                let mut old = shared.directory_mut().join(&room, member)?;
                // What the old room had sent before the move is still owed.
                let owed = owed_lines(&mut old.receiver, member.id());
                format!("{owed}* you are now in #{room}\n")
            }
            Input::Command(Command::Nick(name)) => {
                shared.directory_mut().rename(name, member)?;
                format!("* you are now {name}\n")
            }
            Input::Command(Command::Kick { user, reason }) => {
                shared.directory_mut().kick(user, &reason, member)?;
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
        self.write(&reply).await
        // ANCHOR_END: directory_calls
    }
    // ANCHOR_END: handle
}

// ANCHOR: owed_lines
/// Takes every line `receiver` holds for member `me` without writing it:
/// what the room had already sent when the member leaves its room.
pub(super) fn owed_lines(receiver: &mut broadcast::Receiver<Delivery>, me: UserId) -> String {
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
pub(super) fn parse(line: Result<&str, LineError>) -> Result<Input<'_>, ChatError> {
    Ok(parse_input(line?)?)
}

/// Whether the connection cannot go on after this error.
pub(super) fn is_fatal(error: &ChatError) -> bool {
    matches!(error, ChatError::Line(LineError::TooLong { .. }))
}
