//! The link: the one task that talks to Redis for a server.
//!
//! It owns two connections (one for commands, one subscribed to the rooms'
//! channels), and takes jobs from one bounded queue, in order, a batch at a
//! time in one round trip. When Redis goes away it tells the server, drops
//! what it is told to send (local chat goes on; memory stays bounded), and
//! reconnects with a growing pause; once back, it tells the server again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use ::redis::aio::{MultiplexedConnection, PubSubStream};
use ::redis::{AsyncConnectionConfig, Client, Cmd, Msg, RedisError, Value, cmd, pipe};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, sleep, timeout};
use tracing::{info, warn};

use super::messages::parse;
use super::{RENEW, RedisOptions, eval, name_key, strings};
use crate::backend::{Inbound, Present};
use crate::metrics::Metrics;

/// How long connecting, and each answer, may take before Redis counts as lost.
const PATIENCE: Duration = Duration::from_secs(2);
/// The first pause before reconnecting, and the longest.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3));
/// Jobs waiting for the link; more are dropped.
const QUEUE: usize = 4096;
/// Jobs sent in one round trip.
const BATCH: usize = 256;
/// Lines from other servers waiting for the relay; more are dropped.
const INBOUND: usize = 1024;

/// What the link is asked to do.
enum Job {
    /// Commands whose answers nobody waits for.
    Tell(Vec<Cmd>),
    /// A command whose answer is sent back; `None` if Redis is out of reach.
    Ask(Cmd, oneshot::Sender<Option<Value>>),
    /// Send what is queued, take this server off the lists, and stop.
    Close(oneshot::Sender<()>),
}

/// The handle every part of the backend uses to reach the link.
#[derive(Clone)]
pub(super) struct Link {
    jobs: mpsc::Sender<Job>,
    /// Whether Redis answers: jobs are not even queued while it does not.
    reachable: Arc<AtomicBool>,
    ttl: Duration,
    metrics: Arc<Metrics>,
}

/// The link's two connections to Redis.
pub(super) struct Connections {
    commands: MultiplexedConnection,
    messages: PubSubStream,
}

impl Connections {
    /// Connects, and subscribes to every room and to this server's kicks.
    pub(super) async fn open(client: &Client, server: &str) -> Result<Self, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(PATIENCE))
            .set_response_timeout(Some(PATIENCE));
        let commands = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let subscribing = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe("chat:room:*").await?;
            pubsub.subscribe(format!("chat:kick:{server}")).await?;
            Ok::<_, RedisError>(pubsub.into_on_message())
        };
        let messages = timeout(PATIENCE, subscribing)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        Ok(Connections { commands, messages })
    }
}

impl Link {
    /// Starts the link's task on `connections`; returns its handle, and what
    /// the other servers will say.
    pub(super) fn start(
        client: Client,
        connections: Connections,
        server: Arc<str>,
        options: RedisOptions,
        metrics: Arc<Metrics>,
    ) -> (Link, mpsc::Receiver<Inbound>) {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (inbound, heard) = mpsc::channel(INBOUND);
        let link = Link {
            jobs,
            reachable: Arc::new(AtomicBool::new(true)),
            ttl: options.presence_ttl,
            metrics: Arc::clone(&metrics),
        };
        metrics.backend_reachable(true);
        let task = LinkTask {
            client,
            server,
            options,
            queue,
            inbound,
            reachable: Arc::clone(&link.reachable),
            metrics,
        };
        tokio::spawn(task.run(connections));
        (link, heard)
    }

    /// The presence ttl, in whole seconds (at least one).
    pub(super) fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs().max(1)
    }

    // ANCHOR: link_tell
    /// Queues `commands`; never waits. While Redis is out of reach, or the
    /// queue is full (Redis is slow), they are dropped and counted: the next
    /// refresh rewrites this server's presence and names anyway.
    pub(super) fn tell(&self, commands: Vec<Cmd>) {
        if !self.reachable.load(Relaxed) || self.jobs.try_send(Job::Tell(commands)).is_err() {
            self.metrics.backend_dropped();
        }
    }
    // ANCHOR_END: link_tell

    /// Sends `command` after everything queued before it, and waits for the
    /// answer; `None` if Redis is out of reach.
    pub(super) async fn ask(&self, command: Cmd) -> Option<Value> {
        if !self.reachable.load(Relaxed) {
            return None;
        }
        let (ask, answer) = oneshot::channel();
        let asked = async {
            self.jobs.send(Job::Ask(command, ask)).await.ok()?;
            answer.await.ok().flatten()
        };
        // The queue may be full and Redis slow: a client waits only so long.
        timeout(2 * PATIENCE, asked).await.ok().flatten()
    }

    /// Sends what is queued and takes this server off the lists.
    pub(super) async fn close(&self) {
        let (close, closed) = oneshot::channel();
        let closing = async {
            if self.jobs.send(Job::Close(close)).await.is_ok() {
                let _ = closed.await;
            }
        };
        let _ = timeout(2 * PATIENCE, closing).await;
    }
}

/// The link's task: its connections' owner.
struct LinkTask {
    client: Client,
    server: Arc<str>,
    options: RedisOptions,
    queue: mpsc::Receiver<Job>,
    inbound: mpsc::Sender<Inbound>,
    reachable: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

/// Why the link stopped serving its connections.
enum Stopped {
    /// Closed: the server is done with Redis.
    Closed,
    /// Redis went away, or answered too slowly.
    Lost(RedisError),
}

impl LinkTask {
    // ANCHOR: link_run
    /// Serves `connections` until Redis is lost, then reconnects, pausing
    /// longer after each failure, until the link is closed.
    async fn run(mut self, mut connections: Connections) {
        loop {
            match self.serve(&mut connections).await {
                Stopped::Closed => return,
                Stopped::Lost(error) => {
                    warn!(%error, "lost Redis; chat goes on on this server only");
                    self.set_reachable(false);
                }
            }
            let mut pause = BACKOFF.0;
            connections = loop {
                if !self.wait_out(pause).await {
                    return;
                }
                match Connections::open(&self.client, &self.server).await {
                    Ok(connections) => break connections,
                    Err(error) => warn!(%error, "Redis still out of reach"),
                }
                pause = (pause * 2).min(BACKOFF.1);
            };
            info!("connected to Redis again");
            self.set_reachable(true);
        }
    }
    // ANCHOR_END: link_run

    /// Waits `pause`, answering the jobs that arrive meanwhile (none from
    /// Redis); `false` if the link was closed.
    async fn wait_out(&mut self, pause: Duration) -> bool {
        let over = sleep(pause);
        tokio::pin!(over);
        loop {
            tokio::select! {
                () = &mut over => return true,
                job = self.queue.recv() => match job {
                    None => return false,
                    Some(Job::Close(closed)) => {
                        let _ = closed.send(());
                        return false;
                    }
                    // Dropping the sender answers `None`.
                    Some(Job::Ask(..) | Job::Tell(_)) => {}
                },
            }
        }
    }

    /// Tells the server's users when the other servers come and go.
    fn set_reachable(&self, reachable: bool) {
        if self.reachable.swap(reachable, Relaxed) != reachable {
            self.metrics.backend_reachable(reachable);
            let _ = self.inbound.try_send(Inbound::Reachable(reachable));
        }
    }

    /// Sends jobs, hears the other servers, and refreshes this server's
    /// presence, until Redis is lost or the link is closed.
    // ANCHOR: serve
    async fn serve(&mut self, connections: &mut Connections) -> Stopped {
        let Connections { commands, messages } = connections;
        let mut refresh = interval(self.options.presence_ttl / 3);
        loop {
            let done = tokio::select! {
                job = self.queue.recv() => {
                    let Some(job) = job else { return Stopped::Closed };
                    let mut batch = vec![job];
                    while batch.len() < BATCH {
                        let Ok(job) = self.queue.try_recv() else { break };
                        batch.push(job);
                    }
                    self.send(commands, batch).await
                }
                message = messages.next() => match message {
                    Some(message) => {
                        self.hear(&message);
                        Ok(false)
                    }
                    None => Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset).into()),
                },
                _ = refresh.tick() => self.refresh(commands).await.map(|()| false),
            };
            match done {
                Ok(false) => {}
                Ok(true) => return Stopped::Closed,
                Err(error) => return Stopped::Lost(error),
            }
        }
    }
    // ANCHOR_END: serve

    /// Sends a batch of jobs in one round trip, and hands out the answers.
    /// `Ok(true)` if the batch closed the link.
    async fn send(
        &self,
        commands: &mut MultiplexedConnection,
        batch: Vec<Job>,
    ) -> Result<bool, RedisError> {
        let mut pipeline = pipe();
        // A command Redis refuses fails alone, not the whole batch.
        pipeline.ignore_errors();
        let mut asked = Vec::new();
        let mut close = None;
        for job in batch {
            match job {
                Job::Tell(told) => {
                    for command in told {
                        pipeline.add_command(command).ignore();
                    }
                }
                Job::Ask(command, answer) => {
                    pipeline.add_command(command);
                    asked.push(answer);
                }
                Job::Close(closed) => {
                    close = Some(closed);
                    break;
                }
            }
        }
        if let Some(closed) = close {
            self.goodbye(&mut pipeline);
            let _: Result<Value, _> = pipeline.query_async(commands).await;
            let _ = closed.send(());
            return Ok(true);
        }
        let answers: Vec<Value> = pipeline.query_async(commands).await?;
        for (answer, value) in asked.into_iter().zip(answers) {
            let value = match value {
                Value::ServerError(error) => {
                    warn!(%error, "Redis refused a command");
                    None
                }
                value => Some(value),
            };
            let _ = answer.send(value);
        }
        Ok(false)
    }

    /// Takes this server off the lists at once, instead of when they expire.
    fn goodbye(&self, pipeline: &mut ::redis::Pipeline) {
        let server = &*self.server;
        pipeline
            .add_command(cmd("DEL").arg(format!("chat:members:{server}")).clone())
            .ignore();
        pipeline
            .add_command(cmd("SREM").arg("chat:servers").arg(server).clone())
            .ignore();
    }

    /// Rewrites this server's presence and renews its users' claims on their
    /// names, all in one transaction, so that nobody reads a half-written list.
    // ANCHOR: refresh
    async fn refresh(&self, commands: &mut MultiplexedConnection) -> Result<(), RedisError> {
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

    /// Hands a message from another server to the relay, if it is well formed.
    fn hear(&self, message: &Msg) {
        let heard = parse(
            message.get_channel_name(),
            message.get_payload_bytes(),
            &self.server,
            self.options.max_line_len,
        );
        if let Some(event) = heard
            && self.inbound.try_send(event).is_err()
        {
            self.metrics.backend_dropped();
        }
    }
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
