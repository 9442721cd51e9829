//! Choosing a name: the prompt, the answers, and the welcome.

use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};
use tracing::info;

use super::commands::{is_fatal, parse};
use super::{Client, Ending, Session};
use crate::backend::News;
use crate::connection::{Connection, InRoom, Unauthenticated};
use crate::directory::{Kick, Registered};
use crate::{ChatError, Command, Input, Lines, UserId};

impl Client {
    // ANCHOR: choose_name
    /// Asks for a name until the client gives a valid, free one, or until
    /// `deadline`: unnamed connections count against `max_users`, so they
    /// must not linger.
    pub(super) async fn choose_name(
        &mut self,
        connection: Connection<Unauthenticated>,
        deadline: Instant,
    ) -> Result<(Connection<InRoom>, oneshot::Receiver<Kick>), Ending> {
        self.session
            .write("welcome! what is your name?\n", None)
            .await?;
        loop {
            self.read_more(deadline).await?;
            let mut registered = None;
            let max_line_len = self.session.shared.config.max_line_len;
            let mut lines = Lines::new(self.inbox.pending(), max_line_len);
            for line in &mut lines {
                let error = match parse(line) {
                    Ok(Input::Chat(answer)) => {
                        match self.session.register(self.id, &answer).await {
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
                self.session.write(&reply, None).await?;
            }
            let consumed = lines.consumed();
            self.inbox.consume(consumed);
            if let Some((name, admin, membership, kicked)) = registered {
                self.address.named();
                let member = connection.authenticate(name, admin).enter(membership);
                info!(id = %self.id, name = member.name(), "registered");
                self.welcome(&member).await?;
                return Ok((member, kicked));
            }
        }
    }
    // ANCHOR_END: choose_name
}

impl Session {
    /// Checks `answer` here, claims the name on every server, then registers
    /// the user here.
    async fn register<'a>(&self, id: UserId, answer: &'a str) -> Result<Registered<'a>, ChatError> {
        let shared = &self.shared;
        // Each guard is dropped at the end of its statement, long before the
        // next `.await`.
        let name = shared.directory().check_available(answer)?;
        if !shared.services.backend.claim(id, name).await {
            return Err(ChatError::NameTaken(name.to_owned()));
        }
        let registered = shared.directory_mut().register(id, answer);
        if registered.is_err() {
            // Taken here meanwhile: the claim is given back.
            shared
                .services
                .backend
                .tell(News::Released { user: id, name });
        }
        registered
    }
}

impl Client {
    /// Greets a new member, with the message of the day if there is one, and
    /// the room's recent messages.
    async fn welcome(&mut self, member: &Connection<InRoom>) -> Result<(), ChatError> {
        let mut text = format!(
            "welcome, {}! you are in #{}\n",
            member.name(),
            member.room()
        );
        if let Some(motd) = self.session.shared.config.motd.as_deref() {
            for line in motd.lines() {
                text.push_str(&format!("* {line}\n"));
            }
        }
        self.session.write(&text, Some(member.channel())).await?;
        self.session.replay_history(member).await
    }

    /// Waits for more bytes from the client, for the idle timeout, for the
    /// name deadline, or for the shutdown.
    async fn read_more(&mut self, name_deadline: Instant) -> Result<(), Ending> {
        let config = &self.session.shared.config;
        let read = tokio::select! {
            read = self.inbox.read_from(&mut self.reader) => read,
            () = sleep_until(self.idle_deadline) => {
                return Err(Ending::Refused(ChatError::Idle {
                    after: config.idle_timeout,
                }));
            }
            () = sleep_until(name_deadline) => {
                return Err(Ending::Refused(ChatError::NoName {
                    after: config.name_timeout,
                }));
            }
            _ = self.stop.changed() => return Err(Ending::Shutdown),
        };
        match read {
            Ok(0) => Err(Ending::Closed),
            Ok(_) => {
                self.idle_deadline = Instant::now() + config.idle_timeout;
                Ok(())
            }
            Err(error) => Err(Ending::Failed(error.into())),
        }
    }
}
