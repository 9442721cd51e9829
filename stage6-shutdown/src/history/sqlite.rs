//! `--history-db PATH`: each room's last messages in SQLite, kept across restarts.
//!
//! SQLite's calls block, and blocking code must not run on tokio's threads: it
//! would stall every task waiting for that thread. So the connection belongs
//! to one thread of its own, which does what the async side asks through a
//! bounded `mpsc` channel of commands; a command that needs an answer carries
//! a `oneshot` for it. The async side never waits on the database for long: a
//! record is queued, not awaited (the queue's order alone makes a later
//! `recent` see it), a full queue drops the record, and a read that takes too
//! long gives up. Each failure is logged and counted in
//! `chat_history_failures_total`, and the chat goes on without history.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tracing::{info, warn};

mod owner;

use super::{Entry, History, HistoryFuture, ids_after};
use crate::metrics::Metrics;
use owner::Owner;

/// How many commands may wait for the database thread; records beyond are dropped.
const QUEUE: usize = 4096;
/// How long a newcomer's replay waits for the database before going without.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// What the async side asks the database thread to do, in order.
enum Command {
    /// Store a message, and drop the room's older ones beyond the limit.
    Record { room: String, entry: Entry },
    /// Answer with the room's messages, oldest first.
    Recent {
        room: String,
        reply: oneshot::Sender<Vec<Entry>>,
    },
    /// Delete the room's messages.
    Forget { room: String },
    /// Answer once every command before this one is committed; with
    /// `close`, once the database is closed too (the last command).
    Flush {
        done: oneshot::Sender<()>,
        close: bool,
    },
}

/// Why `--history-db` cannot be used: the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum HistoryDbError {
    /// SQLite refused the file: corrupt, locked by another process, or not
    /// writable (its message says which).
    #[error("cannot use the history database {}: {reason}", path.display())]
    Sqlite {
        /// The file given to `--history-db`.
        path: PathBuf,
        /// What SQLite said.
        reason: rusqlite::Error,
    },
    /// SQLite's integrity check found damage.
    #[error("the history database {} is corrupt: {report}", path.display())]
    Corrupt {
        /// The file given to `--history-db`.
        path: PathBuf,
        /// The first problem the check reported.
        report: String,
    },
    /// The thread that owns the connection could not start, or died.
    #[error("cannot run the history database's thread: {0}")]
    Thread(String),
}

// ANCHOR: sqlite_history
/// A [`History`] in a SQLite file, owned by a thread of its own.
pub struct SqliteHistory {
    /// The queue to the database thread; the thread ends once this is dropped.
    commands: mpsc::Sender<Command>,
    /// Where failures are counted.
    metrics: Arc<Metrics>,
    /// Whether records are being dropped now: logged once per run of drops,
    /// not once per message.
    dropping: AtomicBool,
}
// ANCHOR_END: sqlite_history

impl SqliteHistory {
    /// Opens (or creates) the database at `path`, keeping up to `len`
    /// messages per room, and checks now that it is usable: a corrupt,
    /// locked or unwritable file is an error here, at start, not a surprise
    /// at the first message. Message ids of this run start after the
    /// largest one stored.
    pub async fn open(
        path: &Path,
        len: usize,
        metrics: Arc<Metrics>,
    ) -> Result<SqliteHistory, HistoryDbError> {
        let (commands, queue) = mpsc::channel(QUEUE);
        let (opened, result) = oneshot::channel();
        let owner = Owner {
            path: path.to_owned(),
            // SQLite's integers are i64; `history_len` is at most 1000.
            len: i64::try_from(len).unwrap_or(i64::MAX),
            metrics: Arc::clone(&metrics),
            failing: false,
        };
        // The connection is made on the thread that will own it.
        thread::Builder::new()
            .name("history-db".into())
            .spawn(move || owner.run(queue, opened))
            .map_err(|error| HistoryDbError::Thread(error.to_string()))?;
        let largest = result
            .await
            .map_err(|_| HistoryDbError::Thread("it ended while opening".into()))??;
        ids_after(largest);
        info!(path = %path.display(), "history in SQLite");
        Ok(SqliteHistory {
            commands,
            metrics,
            dropping: AtomicBool::new(false),
        })
    }

    /// Waits (at most a few seconds) until everything recorded so far is on
    /// disk.
    pub async fn flush(&self) {
        self.flush_and(false).await;
    }

    /// Writes everything recorded so far, and closes the database: called
    /// once the server has stopped, before the process exits. Closing folds
    /// SQLite's write-ahead log back into the file (`chat.db-wal` and
    /// `chat.db-shm` are gone). Nothing is recorded after it.
    pub async fn close(&self) {
        self.flush_and(true).await;
    }

    async fn flush_and(&self, close: bool) {
        let (done, flushed) = oneshot::channel();
        if self
            .commands
            .send(Command::Flush { done, close })
            .await
            .is_ok()
            && timeout(READ_TIMEOUT * 5, flushed).await.is_err()
        {
            warn!("the history database did not finish writing in time");
        }
    }

    /// Queues `command` without waiting; a full queue or a dead thread drops
    /// it, and that is counted and logged (once per run of drops).
    fn queue(&self, command: Command) -> bool {
        match self.commands.try_send(command) {
            Ok(()) => {
                self.dropping.store(false, Relaxed);
                true
            }
            Err(error) => {
                self.metrics.history_failed();
                if !self.dropping.swap(true, Relaxed) {
                    warn!(%error, "history database behind; dropping records until it catches up");
                }
                false
            }
        }
    }
}

// ANCHOR: sqlite_impl
impl History for SqliteHistory {
    fn record<'a>(&'a self, room: &'a str, entry: Entry) -> HistoryFuture<'a, ()> {
        let room = room.to_owned();
        // Not awaited: the thread takes commands in order, so a `recent`
        // queued after this record sees it, and a talker never waits for disk.
        self.queue(Command::Record { room, entry });
        Box::pin(std::future::ready(()))
    }

    // ANCHOR: sqlite_recent
    fn recent<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, Vec<Entry>> {
        let (reply, answer) = oneshot::channel();
        let queued = self.queue(Command::Recent {
            room: room.to_owned(),
            reply,
        });
        Box::pin(async move {
            if !queued {
                return Vec::new();
            }
            match timeout(READ_TIMEOUT, answer).await {
                Ok(Ok(entries)) => entries,
                // The thread failed (and counted it), or it is too slow.
                Ok(Err(_)) => Vec::new(),
                Err(_) => {
                    self.metrics.history_failed();
                    warn!(room, "history database too slow; no replay");
                    Vec::new()
                }
            }
        })
    }
    // ANCHOR_END: sqlite_recent

    fn forget<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, ()> {
        let room = room.to_owned();
        self.queue(Command::Forget { room });
        Box::pin(std::future::ready(()))
    }
}
// ANCHOR_END: sqlite_impl
