//! The link's refresh: this server's presence and names, rewritten every
//! third of the presence ttl so that they expire only if the server dies.

use ::redis::aio::MultiplexedConnection;
use ::redis::{Cmd, RedisError, Value, cmd, pipe};
use tokio::sync::oneshot;
use tokio::time::timeout;
use tracing::warn;

use super::{LinkTask, PATIENCE};
use crate::backend::redis::{RENEW, eval, name_key, strings};
use crate::backend::{Inbound, Present};

impl LinkTask {
    /// Rewrites this server's presence and renews its users' claims on their
    /// names, all in one transaction, so that nobody reads a half-written list.
    // ANCHOR: refresh
    pub(super) async fn refresh(
        &self,
        commands: &mut MultiplexedConnection,
    ) -> Result<(), RedisError> {
        let (ask, answer) = oneshot::channel();
        if self.inbound.try_send(Inbound::Roll(ask)).is_err() {
            return Ok(());
        }
        // The relay answers at once, unless the server is starting or stopping:
        // then this refresh is skipped, and the next one does it.
        let Ok(Ok(roll)) = timeout(PATIENCE / 2, answer).await else {
            return Ok(());
        };
        let server = &*self.server;
        let members = format!("chat:members:{server}");
        let ttl = self.options.presence_ttl.as_secs().max(1);
        let mut transaction = pipe();
        transaction.atomic();
        transaction
            .cmd("SADD")
            .arg("chat:servers")
            .arg(server)
            .ignore();
        transaction.cmd("DEL").arg(&members).ignore();
        if !roll.is_empty() {
            let mut listed = cmd("HSET");
            listed.arg(&members);
            for Present { user, name, room } in &roll {
                listed.arg(u64::from(*user)).arg(format!("{room} {name}"));
            }
            transaction.add_command(listed).ignore();
            transaction.cmd("EXPIRE").arg(&members).arg(ttl).ignore();
            transaction.add_command(renewal(server, ttl, &roll));
        }
        let answers: Vec<Value> = transaction.query_async(commands).await?;
        for taken in strings(answers.into_iter().next()) {
            // While Redis was out of reach, a user of another server took it.
            warn!(key = taken, "a name is now held on two servers");
        }
        Ok(())
    }
    // ANCHOR_END: refresh
}

/// The script that renews every name in `roll` for `server`.
fn renewal(server: &str, ttl: u64, roll: &[Present]) -> Cmd {
    let keys: Vec<String> = roll.iter().map(|present| name_key(&present.name)).collect();
    let tokens: Vec<String> = roll
        .iter()
        .map(|present| format!("{server}/{}", u64::from(present.user)))
        .collect();
    let ttl = ttl.to_string();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut args = vec![ttl.as_str()];
    args.extend(tokens.iter().map(String::as_str));
    eval(RENEW, &keys, &args)
}
