//! Recent messages per room, behind a pluggable async interface (pattern 21):
//! in memory by default, in SQLite with `--history-db` ([`SqliteHistory`]).

mod sqlite;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

pub use sqlite::{HistoryDbError, SqliteHistory};

/// One remembered chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The message's id, from [`next_message_id`]; a newcomer uses it to
    /// skip a live copy of a message it was just replayed.
    pub id: u64,
    /// The line as members received it, newline included.
    pub line: Arc<str>,
}

// ANCHOR: message_ids
/// The next chat message's id. One counter for the process, so ids are
/// unique across every server in it (the tests run many).
static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);

/// A new chat message id, larger than every id handed out before.
pub fn next_message_id() -> u64 {
    NEXT_MESSAGE.fetch_add(1, Relaxed)
}

/// Makes every id handed out from now on larger than `largest`. A history
/// that outlives the process calls it with the largest id it holds: an
/// earlier run's message replayed with the same id as a live one would make
/// the newcomer skip the live one as already seen.
pub fn ids_after(largest: u64) {
    NEXT_MESSAGE.fetch_max(largest.saturating_add(1), Relaxed);
}
// ANCHOR_END: message_ids

// ANCHOR: history_future
/// The future each [`History`] method returns: boxed, so that the trait can
/// be used as `dyn History`; `Send`, because client tasks await it.
pub type HistoryFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
// ANCHOR_END: history_future

// ANCHOR: history
/// Where rooms remember their recent messages.
///
/// The server holds an `Arc<dyn History>`, so that a backend that keeps them
/// in a database can replace [`InMemoryHistory`] without touching the server.
/// `async fn` in a trait would be simpler to write, but a trait with `async fn`
/// cannot be a `dyn` trait object; methods that return a boxed future can.
pub trait History: Send + Sync {
    /// Remembers `entry` as the newest message of `room`.
    fn record<'a>(&'a self, room: &'a str, entry: Entry) -> HistoryFuture<'a, ()>;

    /// The room's remembered messages, oldest first.
    fn recent<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, Vec<Entry>>;

    /// Forgets a room that no longer exists.
    fn forget<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, ()>;
}
// ANCHOR_END: history

/// The default [`History`]: the last `len` messages of each room, in memory.
pub struct InMemoryHistory {
    len: usize,
    rooms: Mutex<HashMap<String, VecDeque<Entry>>>,
}

impl InMemoryHistory {
    /// Remembers up to `len` messages per room; 0 remembers nothing.
    pub fn new(len: usize) -> Self {
        InMemoryHistory {
            len,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    /// Locks the rooms; the lock is never held across an `.await`.
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Entry>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ANCHOR: in_memory
impl History for InMemoryHistory {
    fn record<'a>(&'a self, room: &'a str, entry: Entry) -> HistoryFuture<'a, ()> {
        if self.len > 0 {
            let mut rooms = self.rooms();
            let messages = rooms.entry(room.to_owned()).or_default();
            if messages.len() == self.len {
                messages.pop_front();
            }
            messages.push_back(entry);
        }
        // Memory answers at once: the future is already finished.
        Box::pin(std::future::ready(()))
    }

    fn recent<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, Vec<Entry>> {
        let recent = self
            .rooms()
            .get(room)
            .map(|messages| messages.iter().cloned().collect())
            .unwrap_or_default();
        Box::pin(std::future::ready(recent))
    }

    fn forget<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, ()> {
        self.rooms().remove(room);
        Box::pin(std::future::ready(()))
    }
}
// ANCHOR_END: in_memory

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64) -> Entry {
        Entry {
            id,
            line: Arc::from(format!("<a> {id}\n")),
        }
    }

    #[tokio::test]
    async fn keeps_the_last_len_messages_per_room() {
        let history = InMemoryHistory::new(2);
        for id in 1..=3 {
            history.record("lobby", entry(id)).await;
        }
        history.record("rust", entry(4)).await;
        assert_eq!(history.recent("lobby").await, [entry(2), entry(3)]);
        assert_eq!(history.recent("rust").await, [entry(4)]);
        history.forget("rust").await;
        assert!(history.recent("rust").await.is_empty());
    }

    #[tokio::test]
    async fn a_length_of_zero_remembers_nothing() {
        let history = InMemoryHistory::new(0);
        history.record("lobby", entry(1)).await;
        assert!(history.recent("lobby").await.is_empty());
    }
}
