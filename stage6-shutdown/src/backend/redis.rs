//! The Redis backend: servers that share a Redis share their rooms.
//!
//! Redis holds what the servers must agree on, and carries what they must
//! all hear (every key and channel starts with `chat:`):
//! - `name:<name>` (lowercase): the token (`<server>/<user>`) of the user
//!   holding the name. Claimed with one atomic script, so that two servers
//!   cannot both hand it out.
//! - `members:<server>`: a hash of that server's users, user → `room name`,
//!   for `/list` and `/rooms`; `servers` is the set of server ids.
//! - `room:<room>`: the pub/sub channel of the room's lines. Each server
//!   publishes a line once, and subscribes once, to `room:*`, whatever the
//!   number of its clients.
//! - `history:<room>`: the room's last messages, a capped list.
//! - `kick:<server>`: the channel where admins elsewhere kick that server's users.
//!
//! Names and presence expire unless their server refreshes them, every
//! third of `presence_ttl`: the users of a server that dies vanish within
//! `presence_ttl`, and so do their claims on their names.
//!
//! One task, the [`link`], owns the connections; everything else sends it
//! jobs through one queue, so that Redis sees them in the order they were
//! made (a sender's lines stay in order, and a room's history is written
//! before the line is published).

mod link;
mod losses;
mod messages;

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::redis::{Cmd, Value, cmd};
use tokio::sync::mpsc;

use super::{BackendFuture, Inbound, News, RoomBackend};
use crate::history::{self, Entry, History, HistoryFuture};
use crate::metrics::Metrics;
use crate::{ChatError, UserId};
use link::Link;

/// How the Redis backend behaves.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// How long a server's users stay listed, and their names claimed, after
    /// the server stops refreshing them.
    pub presence_ttl: Duration,
    /// How many messages each room's history keeps.
    pub history_len: usize,
    /// The longest line a client may send: longer lines from Redis are dropped.
    pub max_line_len: usize,
}

/// Why the backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is not one the Redis client understands.
    #[error("{url} is not a Redis URL: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What the client said.
        reason: ::redis::RedisError,
    },
    /// Redis did not answer.
    #[error("cannot reach Redis at {url}: {reason}")]
    Unreachable {
        /// The URL given.
        url: String,
        /// What went wrong.
        reason: ::redis::RedisError,
    },
}

// ANCHOR: redis_backend
/// Rooms shared with every server that uses the same Redis.
pub struct RedisBackend {
    /// This server's id among them: random, so that no server need hand ids out.
    server: Arc<str>,
    /// The queue to the task that talks to Redis.
    link: Link,
    history_len: usize,
}
// ANCHOR_END: redis_backend

impl RedisBackend {
    /// Connects to the Redis at `url`, and returns the backend and what the
    /// other servers will say (for [`relay`](super::relay)). An unreachable
    /// Redis is an error now, not a surprise later.
    pub async fn connect(
        url: &str,
        options: RedisOptions,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, mpsc::Receiver<Inbound>), RedisError> {
        let client = ::redis::Client::open(url).map_err(|reason| RedisError::BadUrl {
            url: url.to_owned(),
            reason,
        })?;
        let server: Arc<str> = format!("{:016x}", random()).into();
        let connections = link::Connections::open(&client, &server)
            .await
            .map_err(|reason| RedisError::Unreachable {
                url: url.to_owned(),
                reason,
            })?;
        // Message ids are how a newcomer recognises a line it was replayed
        // from the history: they must not repeat across servers. Each server
        // counts from a random start in 2⁶³ ids, so two overlap only if their
        // starts fall within as many messages of each other.
        history::ids_after(random() >> 1);
        let history_len = options.history_len;
        let (link, inbound) =
            Link::start(client, connections, Arc::clone(&server), options, metrics);
        let backend = RedisBackend {
            server,
            link,
            history_len,
        };
        Ok((backend, inbound))
    }

    /// The history of every room, in Redis.
    pub fn history(&self) -> RedisHistory {
        RedisHistory {
            link: self.link.clone(),
            len: self.history_len,
        }
    }

    /// Says goodbye: what is queued is sent, and this server's users are
    /// taken off the lists at once rather than when they expire.
    pub async fn close(&self) {
        self.link.close().await;
    }

    /// The token of `user`'s claim on a name.
    fn token(&self, user: UserId) -> String {
        format!("{}/{}", self.server, u64::from(user))
    }
}

// ANCHOR: claim_script
/// Claims a name unless a user of another server holds it. KEYS[1]: the
/// name's key; ARGV: the claimant's token, this server's prefix, the ttl.
/// A script runs in Redis as one step: no other server can claim in between.
const CLAIM: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[2]) ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
";
// ANCHOR_END: claim_script

/// Gives a name back, if the claim is still this user's. KEYS[1]: the name's
/// key; ARGV[1]: the token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Renews this server's claims on its users' names, unless a user of another
/// server took one while Redis was out of reach; returns those keys.
/// KEYS: the names' keys; ARGV[1]: the ttl; ARGV[i + 1]: the token for KEYS[i].
const RENEW: &str = r"
local taken = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if not holder or holder == ARGV[i + 1] then
    redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1])
  else
    table.insert(taken, key)
  end
end
return taken
";

/// Every member of the other servers, as `room name`; forgets servers whose
/// list has expired. ARGV[1]: this server's id.
const ELSEWHERE: &str = r"
local found = {}
for _, server in ipairs(redis.call('SMEMBERS', 'chat:servers')) do
  if server ~= ARGV[1] then
    local members = redis.call('HVALS', 'chat:members:' .. server)
    if #members == 0 then
      redis.call('SREM', 'chat:servers', server)
    end
    for _, member in ipairs(members) do
      table.insert(found, member)
    end
  end
end
return found
";

/// `EVAL script` with `keys`, then `args`.
fn eval(script: &str, keys: &[&str], args: &[&str]) -> Cmd {
    let mut eval = cmd("EVAL");
    eval.arg(script).arg(keys.len()).arg(keys).arg(args);
    eval
}

/// The key of `name`'s claim: names are unique ignoring case.
fn name_key(name: &str) -> String {
    format!("chat:name:{}", name.to_ascii_lowercase())
}

impl RoomBackend for RedisBackend {
    fn claim<'a>(&'a self, user: UserId, name: &'a str) -> BackendFuture<'a, bool> {
        Box::pin(async move {
            let prefix = format!("{}/", self.server);
            let ttl = self.link.ttl_secs().to_string();
            let claim = eval(
                CLAIM,
                &[&name_key(name)],
                &[&self.token(user), &prefix, &ttl],
            );
            // Out of reach, names are checked on this server only.
            !matches!(self.link.ask(claim).await, Some(Value::Int(0)))
        })
    }

    fn tell(&self, news: News<'_>) {
        let server = &*self.server;
        let members = format!("chat:members:{server}");
        let commands = match news {
            // ANCHOR: publish
            News::Said { room, id, line } => {
                let id = id.map_or_else(|| "-".to_owned(), |id| id.to_string());
                let mut publish = cmd("PUBLISH");
                publish
                    .arg(format!("chat:room:{room}"))
                    .arg(format!("{server} {id} {line}"));
                // Counted if lost, so that the room elsewhere is told.
                return self.link.tell_line(room, publish);
            }
            // ANCHOR_END: publish
            News::Present { user, name, room } => {
                let mut listed = cmd("HSET");
                listed
                    .arg(&members)
                    .arg(u64::from(user))
                    .arg(format!("{room} {name}"));
                // Set with the list, not only by the refresh: a server that
                // dies before its first refresh leaves nothing behind for long.
                let mut expire = cmd("EXPIRE");
                expire.arg(&members).arg(self.link.ttl_secs());
                vec![listed, expire]
            }
            News::Left { user } => {
                let mut delete = cmd("HDEL");
                delete.arg(&members).arg(u64::from(user));
                vec![delete]
            }
            News::Released { user, name } => {
                vec![eval(RELEASE, &[&name_key(name)], &[&self.token(user)])]
            }
        };
        self.link.tell(commands);
    }

    fn elsewhere(&self) -> BackendFuture<'_, Vec<(String, String)>> {
        Box::pin(async move {
            let answer = self.link.ask(eval(ELSEWHERE, &[], &[&self.server])).await;
            strings(answer)
                .into_iter()
                .filter_map(|member| {
                    let (room, name) = member.split_once(' ')?;
                    Some((room.to_owned(), name.to_owned()))
                })
                .collect()
        })
    }

    // ANCHOR: redis_kick
    fn kick<'a>(
        &'a self,
        name: &'a str,
        by: &'a str,
        reason: &'a str,
        admin: bool,
    ) -> BackendFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let nobody = || ChatError::NoSuchUser(name.to_owned());
            let mut get = cmd("GET");
            get.arg(name_key(name));
            let holder = match self.link.ask(get).await {
                None => return Err(ChatError::OthersOutOfReach),
                Some(Value::BulkString(token)) => String::from_utf8_lossy(&token).into_owned(),
                Some(_) => return Err(nobody()),
            };
            let server = holder.split('/').next().unwrap_or_default();
            if server == &*self.server {
                return Err(nobody());
            }
            if !admin {
                return Err(ChatError::OnAnotherServer(name.to_owned()));
            }
            let mut publish = cmd("PUBLISH");
            publish
                .arg(format!("chat:kick:{server}"))
                .arg(format!("{name}\n{by}\n{reason}"));
            // PUBLISH answers how many subscribers heard: none, the server is gone.
            match self.link.ask(publish).await {
                Some(Value::Int(heard)) if heard > 0 => Ok(()),
                Some(_) => Err(nobody()),
                None => Err(ChatError::OthersOutOfReach),
            }
        })
    }
    // ANCHOR_END: redis_kick
}

/// The history of every room, kept in Redis as a capped list per room, so
/// that a newcomer on any server is replayed what was said on all of them.
pub struct RedisHistory {
    link: Link,
    len: usize,
}

/// A room's history outlives its last member by a day: the room may live on
/// on another server, and the list's expiry keeps dead rooms from piling up.
const HISTORY_TTL_SECS: u64 = 24 * 60 * 60;

impl History for RedisHistory {
    fn record<'a>(&'a self, room: &'a str, entry: Entry) -> HistoryFuture<'a, ()> {
        if self.len > 0 {
            let key = format!("chat:history:{room}");
            let mut push = cmd("RPUSH");
            push.arg(&key).arg(format!("{} {}", entry.id, entry.line));
            let mut trim = cmd("LTRIM");
            trim.arg(&key)
                .arg(-i64::try_from(self.len).unwrap_or(i64::MAX))
                .arg(-1);
            let mut expire = cmd("EXPIRE");
            expire.arg(&key).arg(HISTORY_TTL_SECS);
            // Queued, not awaited: a slow Redis does not delay the line. The
            // queue is ordered, so a newcomer's `recent`, queued after this,
            // finds it.
            self.link.tell(vec![push, trim, expire]);
        }
        Box::pin(std::future::ready(()))
    }

    fn recent<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, Vec<Entry>> {
        Box::pin(async move {
            let mut range = cmd("LRANGE");
            range.arg(format!("chat:history:{room}")).arg(0).arg(-1);
            let answer = self.link.ask(range).await;
            strings(answer)
                .into_iter()
                .filter_map(|text| {
                    let (id, line) = text.split_once(' ')?;
                    let id = id.parse().ok()?;
                    line.ends_with('\n').then(|| Entry {
                        id,
                        line: Arc::from(line),
                    })
                })
                .collect()
        })
    }

    fn forget<'a>(&'a self, _room: &'a str) -> HistoryFuture<'a, ()> {
        // Empty here, the room may have members on another server.
        Box::pin(std::future::ready(()))
    }
}

/// The strings in an array answer; none for anything else.
fn strings(answer: Option<Value>) -> Vec<String> {
    match answer {
        Some(Value::Array(values)) => values
            .into_iter()
            .filter_map(|value| match value {
                Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// 64 random bits: `RandomState` is seeded from the operating system's
/// randomness once per process, and differs for each instance.
fn random() -> u64 {
    RandomState::new().hash_one(SystemTime::now())
}
