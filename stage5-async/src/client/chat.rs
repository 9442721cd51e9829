//! The session loop: a member's task waits for whichever comes first.

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

use super::commands::{is_fatal, parse};
use super::{Client, Ending};
use crate::connection::{Connection, InRoom};
use crate::directory::Kick;
use crate::room::Delivery;
use crate::{ChatError, Command, Input, Lines};

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

impl Client {
    // ANCHOR: chat
    // ANCHOR: chat_select
    /// Runs a member's session: waits for whichever comes first, a line from
    /// the client, a line from the room, a kick or the idle timeout.
    pub(super) async fn chat(
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
            if let Err(ending) = self.handle_event(&mut member, event).await {
                return (member, ending);
            }
        }
    }
    // ANCHOR_END: chat

    /// Does what `event` calls for; an `Err` ends the session.
    async fn handle_event(
        &mut self,
        member: &mut Connection<InRoom>,
        event: Event,
    ) -> Result<(), Ending> {
        match event {
            Event::Read(Ok(0)) => Err(Ending::Closed),
            Event::Read(Ok(_)) => {
                self.idle_deadline = Instant::now() + self.session.shared.config.idle_timeout;
                self.handle_lines(member).await
            }
            Event::Read(Err(error)) => Err(Ending::Failed(error.into())),
            // Exercise 5.1: see "Your job" in chapter 5.
            // ANCHOR: exercise_5_1
            Event::Delivery(Ok(delivery)) if delivery.from == self.id => Ok(()),
            Event::Delivery(Ok(delivery)) => self
                .session
                .write(&delivery.line)
                .await
                .map_err(Ending::from),
            // The room's buffer moved on without us: say how far.
            Event::Delivery(Err(RecvError::Lagged(missed))) => {
                let notice = format!("* you missed {missed} messages\n");
                self.session.write(&notice).await.map_err(Ending::from)
            }
            // Our own membership holds a sender, so the channel stays open.
            Event::Delivery(Err(RecvError::Closed)) => Ok(()),
            // ANCHOR_END: exercise_5_1
            Event::Kicked(kick) => Err(Ending::Kicked(kick)),
            Event::Idle => Err(Ending::Refused(ChatError::Idle {
                after: self.session.shared.config.idle_timeout,
            })),
        }
    }

    // ANCHOR: handle_lines
    /// Handles every complete line received so far.
    async fn handle_lines(&mut self, member: &mut Connection<InRoom>) -> Result<(), Ending> {
        // `lines` borrows `inbox` while `session` answers: two fields, so the
        // borrows do not overlap. Each line is still borrowed from the buffer.
        let mut ending = None;
        let max_line_len = self.session.shared.config.max_line_len;
        let mut lines = Lines::new(self.inbox.pending(), max_line_len);
        for line in &mut lines {
            let result = match parse(line) {
                // The session ends after the loop, once the inbox is consumed,
                // and the goodbye must outlive that: made owned (pattern 13).
                Ok(Input::Command(Command::Quit(goodbye))) => {
                    ending = Some(Ending::Quit(goodbye.into_owned()));
                    break;
                }
                Ok(input) => self.session.handle(member, input).await,
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
                if let Err(error) = self.session.write(&reply).await {
                    ending = Some(Ending::Failed(error));
                    break;
                }
            }
        }
        let consumed = lines.consumed();
        self.inbox.consume(consumed);
        ending.map_or(Ok(()), Err)
    }
    // ANCHOR_END: handle_lines
}
