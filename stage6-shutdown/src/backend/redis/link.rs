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
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, sleep, timeout};
use tracing::{info, warn};

mod presence;

use super::RedisOptions;
use super::losses::{Losses, notice};
use super::messages::parse;
use crate::backend::Inbound;
use crate::metrics::Metrics;

/// How long connecting, and each answer, may take before Redis counts as lost.
const PATIENCE: Duration = Duration::from_secs(2);
/// The first pause before reconnecting, and the longest.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3));
/// Jobs waiting for the link; more are dropped.
const QUEUE: usize = 16_384;
/// Jobs sent in one round trip.
const BATCH: usize = 1024;
/// Lines from other servers waiting for the relay; more are dropped.
const INBOUND: usize = 4096;

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
    /// Lines said here that the queue had no room for, per room.
    unsent: Arc<Losses>,
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
            unsent: Arc::default(),
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
            unsent: Arc::clone(&link.unsent),
            unheard: Losses::default(),
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
    pub(super) fn tell(&self, commands: Vec<Cmd>) -> bool {
        let sent = self.reachable.load(Relaxed) && self.jobs.try_send(Job::Tell(commands)).is_ok();
        if !sent {
            self.metrics.backend_dropped();
        }
        sent
    }
    // ANCHOR_END: link_tell

    /// `tell`s a line said in `room`. If the queue is full, the line's loss
    /// is counted, and the room's members elsewhere are told of it later. (Out
    /// of reach, they have been told already.)
    pub(super) fn tell_line(&self, room: &str, command: Cmd) {
        if !self.tell(vec![command]) && self.reachable.load(Relaxed) {
            self.unsent.add(room, 1);
        }
    }

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
    /// Lines this server could not send, shared with [`Link`].
    unsent: Arc<Losses>,
    /// Lines from other servers the relay had no room for.
    unheard: Losses,
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
            let mut batch = Vec::with_capacity(BATCH);
            let done = tokio::select! {
                // At least one job, and as many more as are waiting.
                taken = self.queue.recv_many(&mut batch, BATCH) => match taken {
                    0 => return Stopped::Closed,
                    _ => self.send(commands, batch).await,
                },
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
            if let Err(error) = self.own_up(commands).await {
                return Stopped::Lost(error);
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

    /// Hands a message from another server to the relay, if it is well formed.
    fn hear(&self, message: &Msg) {
        let heard = parse(
            message.get_channel_name(),
            message.get_payload_bytes(),
            &self.server,
            self.options.max_line_len,
        );
        if let Some(event) = heard
            && let Err(TrySendError::Full(event) | TrySendError::Closed(event)) =
                self.inbound.try_send(event)
        {
            self.metrics.backend_dropped();
            if let Inbound::Said { room, .. } = event {
                self.unheard.add(&room, 1);
            }
        }
    }

    /// Tells the members who missed lines lost on the way: the other
    /// servers', of the lines this one could not send, and this one's, of the
    /// lines it could not hand to its relay.
    async fn own_up(&self, commands: &mut MultiplexedConnection) -> Result<(), RedisError> {
        let unsent = self.unsent.take();
        if !unsent.is_empty() {
            let mut pipeline = pipe();
            for (room, lost) in unsent {
                let told = format!("{} - {}", self.server, notice(lost));
                pipeline
                    .cmd("PUBLISH")
                    .arg(format!("chat:room:{room}"))
                    .arg(told)
                    .ignore();
            }
            pipeline.query_async::<()>(commands).await?;
        }
        for (room, lost) in self.unheard.take() {
            let line = Arc::from(notice(lost));
            let told = Inbound::Said {
                room,
                id: None,
                line,
            };
            if let Err(TrySendError::Full(Inbound::Said { room, .. })) = self.inbound.try_send(told)
            {
                // Still no room: told on a later turn.
                self.unheard.add(&room, lost);
            }
        }
        Ok(())
    }
}
