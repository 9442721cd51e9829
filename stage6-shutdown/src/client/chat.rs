//! The session loop: a member's task waits for whichever comes first.

use std::io;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

use super::commands::{is_fatal, parse};
use super::{Client, Ending};
use crate::connection::{Connection, InRoom, Membership};
use crate::directory::Kick;
use crate::room::Delivery;
use crate::{ChatError, Command, Input, Lines};

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

impl Client {
    // ANCHOR: chat
    /// Runs a member's session: waits for whichever comes first, a line from
    /// the client, a line from the room, a kick, the shutdown or the idle
    /// timeout.
    pub(super) async fn chat(
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
            // ANCHOR: chat_select
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
            // ANCHOR_END: chat_select
            if let Err(ending) = self.handle_event(&mut member, event).await {
                return (member, ending);
            }
            // The deadline moved only if the client spoke.
            if idle.deadline() != self.idle_deadline {
                idle.as_mut().reset(self.idle_deadline);
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
            Event::Space => {
                // Handle the lines left unhandled when the talker paused.
                self.paused = false;
                self.handle_lines(member).await
            }
            Event::Delivery(first) => self
                .session
                .deliver(member, first)
                .await
                .map_err(Ending::from),
            Event::Kicked(kick) => Err(Ending::Kicked(kick)),
            Event::Shutdown => Err(Ending::Shutdown),
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
                Err(error) if is_fatal(&error) => {
                    ending = Some(Ending::Refused(error));
                    break;
                }
                _ if !self.rate.try_take() => {
                    // Over the limit: the line is dropped, and the client
                    // hears about it once, not once per line.
                    let shared = &self.session.shared;
                    shared.services.metrics.rate_limited();
                    if std::mem::replace(&mut self.told_to_slow_down, true) {
                        continue;
                    }
                    Err(ChatError::SlowDown {
                        rate: shared.config.message_rate,
                        burst: shared.config.message_burst,
                    })
                }
                Ok(input) => {
                    self.told_to_slow_down = false;
                    let result = self.session.handle(member, input).await;
                    // Backpressure: stop while the room is full; the lines
                    // after this one stay in the inbox until there is space.
                    if result.is_ok() && member.channel().is_full() {
                        self.paused = true;
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
                if let Err(error) = self.session.write(&reply, Some(member.channel())).await {
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
