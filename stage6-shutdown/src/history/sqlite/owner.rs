//! The thread that owns the SQLite connection: it opens and checks the
//! file, then does the queued commands a batch per transaction.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::{Command, HistoryDbError};
use crate::history::Entry;
use crate::metrics::Metrics;

/// The most commands handled in one transaction: one commit, so one sync to
/// disk, for many messages.
const BATCH: usize = 256;

/// How long a statement waits for a lock another connection holds: long
/// enough for a commit or a closing connection's cleanup, short enough that a
/// file locked by another program is an error at start, and never stalls the
/// history for long at run time.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// The one table. `id` is the message's own id, unique across runs because
/// each run's ids start after the largest one stored.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS messages (
        id   INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        line TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);";

/// The database thread's state.
pub(super) struct Owner {
    pub(super) path: PathBuf,
    /// Messages kept per room.
    pub(super) len: i64,
    pub(super) metrics: Arc<Metrics>,
    /// Whether the last command failed: a failure is logged when it starts,
    /// not once per message while it lasts.
    pub(super) failing: bool,
}

impl Owner {
    // ANCHOR: owner_run
    /// Opens the database, tells `opened` how that went, then does the
    /// queued commands until the [`SqliteHistory`] is dropped.
    pub(super) fn run(
        mut self,
        mut queue: mpsc::Receiver<Command>,
        opened: oneshot::Sender<Result<u64, HistoryDbError>>,
    ) {
        let mut db = match self.open() {
            Ok((db, largest)) => {
                let _ = opened.send(Ok(largest));
                db
            }
            Err(error) => {
                let _ = opened.send(Err(error));
                return;
            }
        };
        let mut batch = Vec::with_capacity(BATCH);
        while queue.blocking_recv_many(&mut batch, BATCH) > 0 {
            let closed = self.run_batch(&mut db, &mut batch);
            if let Some(done) = closed {
                drop(db);
                let _ = done.send(());
                return;
            }
        }
    }
    // ANCHOR_END: owner_run

    /// Opens and checks the database; returns it with the largest id stored.
    fn open(&self) -> Result<(Connection, u64), HistoryDbError> {
        let sqlite = |reason| HistoryDbError::Sqlite {
            path: self.path.clone(),
            reason,
        };
        let mut db = Connection::open(&self.path).map_err(sqlite)?;
        // A lock that another program keeps is an error now, not a long wait.
        db.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
        let report: String = db
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(sqlite)?;
        if report != "ok" {
            let path = self.path.clone();
            return Err(HistoryDbError::Corrupt { path, report });
        }
        // A write-ahead log: a commit appends to it and syncs less often,
        // without risking corruption.
        db.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(sqlite)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite)?;
        // A write, in a transaction that takes the write lock at once: an
        // unwritable or locked file fails here.
        let start = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        start.execute_batch(SCHEMA).map_err(sqlite)?;
        if self.len > 0 {
            // The limit may be lower than in the last run.
            start
                .execute(
                    "DELETE FROM messages WHERE id IN (SELECT id FROM (SELECT id,
                     row_number() OVER (PARTITION BY room ORDER BY id DESC) AS newer
                     FROM messages) WHERE newer > ?1)",
                    params![self.len],
                )
                .map_err(sqlite)?;
        }
        let largest: Option<i64> = start
            .query_row("SELECT max(id) FROM messages", [], |row| row.get(0))
            .optional()
            .map_err(sqlite)?
            .flatten();
        start.commit().map_err(sqlite)?;
        let largest = largest.map_or(0, |id| u64::try_from(id).unwrap_or(0));
        Ok((db, largest))
    }

    /// Does the commands in `batch` (and empties it) in one transaction.
    /// Returns the reply of a flush that asked to close the database, to be
    /// sent once it is closed.
    fn run_batch(
        &mut self,
        db: &mut Connection,
        batch: &mut Vec<Command>,
    ) -> Option<oneshot::Sender<()>> {
        let mut flushed = Vec::new();
        // The write lock is taken at once (waiting at most `BUSY_TIMEOUT`):
        // while another program holds it, the batch fails as a whole, rather
        // than each command waiting for the lock in turn.
        match db.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => {
                self.apply(&tx, batch.drain(..), &mut flushed);
                let committed = tx.commit();
                self.note(committed);
            }
            Err(error) => {
                for command in batch.drain(..) {
                    match command {
                        Command::Flush { done, close } => flushed.push((done, close)),
                        // Dropping a `Recent` drops its reply: no replay.
                        _ => self.metrics.history_failed(),
                    }
                }
                self.note(Err(error));
            }
        }
        // Told once the batch is committed (or has failed): nothing before
        // the flush is still on its way to the disk.
        let mut closed = None;
        for (done, close) in flushed {
            if close {
                closed = Some(done);
            } else {
                let _ = done.send(());
            }
        }
        closed
    }

    /// Does each command within `tx`; flushes are put in `flushed`, to be
    /// answered after the commit.
    fn apply(
        &mut self,
        tx: &Connection,
        batch: impl Iterator<Item = Command>,
        flushed: &mut Vec<(oneshot::Sender<()>, bool)>,
    ) {
        let mut trimmed: Vec<String> = Vec::new();
        for command in batch {
            let result = match command {
                Command::Record { room, entry } => {
                    let result = record(tx, &room, &entry, self.len);
                    if !trimmed.contains(&room) {
                        trimmed.push(room);
                    }
                    result
                }
                Command::Recent { room, reply } => {
                    // A failed read answers with nothing: no replay, no wait.
                    let (entries, result) = match recent(tx, &room, self.len) {
                        Ok(entries) => (entries, Ok(())),
                        Err(error) => (Vec::new(), Err(error)),
                    };
                    let _ = reply.send(entries);
                    result
                }
                Command::Forget { room } => tx
                    .execute("DELETE FROM messages WHERE room = ?1", params![room])
                    .map(drop),
                Command::Flush { done, close } => {
                    flushed.push((done, close));
                    Ok(())
                }
            };
            self.note(result);
        }
        // Once per room per batch, not once per message.
        for room in &trimmed {
            self.note(trim(tx, room, self.len));
        }
    }

    /// Counts and logs a failure; logs at `warn` when failures start and
    /// `info` when they stop, so a broken database does not flood the log.
    fn note(&mut self, result: rusqlite::Result<()>) {
        match result {
            Ok(()) if self.failing => {
                self.failing = false;
                info!(path = %self.path.display(), "history database works again");
            }
            Ok(()) => {}
            Err(error) => {
                self.metrics.history_failed();
                if !std::mem::replace(&mut self.failing, true) {
                    warn!(path = %self.path.display(), %error,
                        "history database failed; chat goes on, failures are counted");
                }
            }
        }
    }
}

/// Stores one message.
fn record(db: &Connection, room: &str, entry: &Entry, len: i64) -> rusqlite::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // Ids beyond i64::MAX cannot be stored: that would take 290 years at a
    // billion messages a second.
    let id = i64::try_from(entry.id).unwrap_or(i64::MAX);
    let line: &str = &entry.line;
    // OR REPLACE: should two servers ever share one file, their ids can meet;
    // the newer message then wins, rather than the record failing.
    db.prepare_cached("INSERT OR REPLACE INTO messages (id, room, line) VALUES (?1, ?2, ?3)")?
        .execute(params![id, room, line])
        .map(drop)
}

/// Deletes the room's messages older than its newest `len`.
fn trim(db: &Connection, room: &str, len: i64) -> rusqlite::Result<()> {
    db.prepare_cached(
        "DELETE FROM messages WHERE room = ?1 AND id <= (SELECT id FROM messages
         WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![room, len])
    .map(drop)
}

/// The room's newest `len` messages, oldest first.
fn recent(db: &Connection, room: &str, len: i64) -> rusqlite::Result<Vec<Entry>> {
    let mut statement = db.prepare_cached(
        "SELECT id, line FROM (SELECT id, line FROM messages WHERE room = ?1
         ORDER BY id DESC LIMIT ?2) ORDER BY id",
    )?;
    let rows = statement.query_map(params![room, len], |row| {
        let id: i64 = row.get(0)?;
        let line: String = row.get(1)?;
        Ok(Entry {
            id: u64::try_from(id).unwrap_or(0),
            line: Arc::from(line),
        })
    })?;
    rows.collect()
}
