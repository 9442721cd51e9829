//! Recent messages per room, behind a pluggable async interface (pattern 21),
//! kept by an owner that tasks send requests to (pattern 20).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::thread;

use tokio::sync::{mpsc, oneshot};

/// One remembered chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The message's id, unique for the server's life; a newcomer uses it to
    /// skip a live copy of a message it was just replayed.
    pub id: u64,
    /// The line as members received it, newline included.
    pub line: Arc<str>,
}

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

// ANCHOR: in_memory
/// The default [`History`]: the last `len` messages of each room, in memory.
///
/// The messages belong to one owner, a thread of their own; this handle only
/// sends it requests through an `mpsc` channel (pattern 20), and a `oneshot`
/// brings each answer back. Cloning the handle clones the sender.
#[derive(Clone)]
pub struct InMemoryHistory {
    requests: mpsc::Sender<Request>,
}

/// What a task asks of the history's owner.
enum Request {
    Record {
        room: String,
        entry: Entry,
    },
    Recent {
        room: String,
        reply: oneshot::Sender<Vec<Entry>>,
    },
    Forget {
        room: String,
    },
}
// ANCHOR_END: in_memory

/// How many requests may wait for the owner; a sender waits beyond that.
const QUEUED_REQUESTS: usize = 1024;

impl InMemoryHistory {
    /// Remembers up to `len` messages per room; 0 remembers nothing. Starts
    /// the owner's thread, which ends when the last handle is dropped.
    ///
    /// # Panics
    /// If the operating system refuses a new thread.
    pub fn new(len: usize) -> Self {
        let (requests, queue) = mpsc::channel(QUEUED_REQUESTS);
        thread::Builder::new()
            .name("history".to_owned())
            .spawn(move || own(queue, len))
            .expect("the history's thread starts");
        InMemoryHistory { requests }
    }
}

// ANCHOR: owner
/// The owner: the only code that touches the messages, one request at a time,
/// in the order the requests were queued. A thread, not a task, because its
/// work may block: a database's calls would, and must not stall tokio's
/// workers. `blocking_recv` returns `None` once every sender is gone.
fn own(mut queue: mpsc::Receiver<Request>, len: usize) {
    let mut rooms: HashMap<String, VecDeque<Entry>> = HashMap::new();
    while let Some(request) = queue.blocking_recv() {
        match request {
            Request::Record { room, entry } if len > 0 => {
                let messages = rooms.entry(room).or_default();
                if messages.len() == len {
                    messages.pop_front();
                }
                messages.push_back(entry);
            }
            Request::Record { .. } => {}
            Request::Recent { room, reply } => {
                let recent = rooms.get(&room).map(|messages| messages.iter().cloned());
                // The asker may have gone (its client left): nobody to answer.
                let _ = reply.send(recent.map(Iterator::collect).unwrap_or_default());
            }
            Request::Forget { room } => {
                rooms.remove(&room);
            }
        }
    }
}
// ANCHOR_END: owner

// ANCHOR: handle
impl History for InMemoryHistory {
    fn record<'a>(&'a self, room: &'a str, entry: Entry) -> HistoryFuture<'a, ()> {
        let room = room.to_owned();
        // Done once queued: the owner takes requests in order, so a `recent`
        // queued after this returns (by any task) sees the entry.
        Box::pin(async move {
            let _ = self.requests.send(Request::Record { room, entry }).await;
        })
    }

    fn recent<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, Vec<Entry>> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Recent {
            room: room.to_owned(),
            reply,
        };
        Box::pin(async move {
            // Either fails only if the owner is gone: then there is no history.
            if self.requests.send(request).await.is_err() {
                return Vec::new();
            }
            answer.await.unwrap_or_default()
        })
    }
    // ANCHOR_END: handle

    fn forget<'a>(&'a self, room: &'a str) -> HistoryFuture<'a, ()> {
        let room = room.to_owned();
        Box::pin(async move {
            let _ = self.requests.send(Request::Forget { room }).await;
        })
    }
}

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recent_queued_after_a_record_sees_it_whichever_task_asks() {
        // What sending after recording rests on: once `record` returns, a
        // `recent` from any task is answered after the record is applied.
        let history = InMemoryHistory::new(1000);
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..8 {
            let history = history.clone();
            tasks.spawn(async move {
                for n in 0..50 {
                    let id = task * 100 + n;
                    history.record("lobby", entry(id)).await;
                    let asker = history.clone();
                    let recent = tokio::spawn(async move { asker.recent("lobby").await });
                    let recent = recent.await.expect("the asking task ends");
                    assert!(
                        recent.iter().any(|seen| seen.id == id),
                        "message {id} was recorded before it was asked for, yet missing"
                    );
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("every task found its own messages");
        }
    }
}
