//! Writing to the client, never waiting on it for long, and never making its
//! room wait while its socket is full.

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::timeout;

use super::Session;
use crate::ChatError;
use crate::connection::{Connection, InRoom};
use crate::room::{Channel, Delivery};

/// The most bytes of room lines written with one system call. A burst larger
/// than this goes out in several writes, so that one client's batch buffer
/// stays small.
const MAX_BATCH: usize = 64 * 1024;

impl Session {
    // ANCHOR: deliver
    /// Writes `first`, and every other line the room has already queued for
    /// this member, with one system call: under load a member is woken once
    /// for many lines, not once per line.
    pub(super) async fn deliver(
        &mut self,
        member: &mut Connection<InRoom>,
        first: Result<Delivery, RecvError>,
    ) -> Result<(), ChatError> {
        let mut batch = String::new();
        let mut next = first.map_err(|error| match error {
            RecvError::Lagged(missed) => TryRecvError::Lagged(missed),
            RecvError::Closed => TryRecvError::Closed,
        });
        loop {
            match next {
                Ok(delivery) => self.add_to_batch(&mut batch, &delivery, member),
                // The room's ring moved on without this member: say how far.
                Err(TryRecvError::Lagged(missed)) => {
                    self.shared
                        .services
                        .metrics
                        .dropped
                        .fetch_add(missed, Relaxed);
                    batch.push_str(&format!("* you missed {missed} messages\n"));
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => {
                    // Caught up: this member may be the one talkers wait for.
                    member.channel().wake_talkers();
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = member.membership().receiver.try_recv();
        }
        // The buffer is dropped after the write: an idle member holds none.
        self.write(&batch, Some(member.channel())).await
    }
    // ANCHOR_END: deliver

    /// Adds a room line to `batch`, unless this member sent it or was just
    /// replayed it from the history.
    fn add_to_batch(&self, batch: &mut String, delivery: &Delivery, member: &Connection<InRoom>) {
        let replayed = delivery.id.is_some_and(|id| self.replayed.contains(&id));
        if delivery.from != member.id() && !replayed {
            batch.push_str(&delivery.line);
        }
    }

    /// Writes `lines`, at most [`MAX_BATCH`] bytes per system call.
    pub(super) async fn write_lines(
        &mut self,
        lines: &[Arc<str>],
        room: Option<&Channel>,
    ) -> Result<(), ChatError> {
        let mut batch = String::new();
        for line in lines {
            batch.push_str(line);
            if batch.len() >= MAX_BATCH {
                self.write(&batch, room).await?;
                batch.clear();
            }
        }
        self.write(&batch, room).await
    }

    // ANCHOR: write
    /// Writes all of `text`. A client whose socket accepts nothing for the write
    /// timeout is disconnected: waiting longer would only tie up this task. The
    /// kernel calls a full socket writable only once a good part of it has
    /// drained, so a client must keep reading at a fair pace, not a trickle.
    ///
    /// While the socket is full, `room` (the client's room, if it has one) counts
    /// the client as blocked, so that the room's talkers do not wait for it.
    pub(super) async fn write(
        &mut self,
        text: &str,
        room: Option<&Channel>,
    ) -> Result<(), ChatError> {
        let limit = self.shared.config.write_timeout;
        let mut bytes = text.as_bytes();
        let mut blocked = None;
        while !bytes.is_empty() {
            // First a try that does not wait: the socket usually has room.
            let written = match at_once(self.writer.write(bytes)).await {
                Some(written) => written?,
                None => {
                    blocked = blocked.or_else(|| room.map(Channel::block));
                    // Each wait has its own deadline, from the last progress.
                    patiently(limit, self.writer.write(bytes)).await?
                }
            };
            if written == 0 {
                return Err(ChatError::Io(io::ErrorKind::WriteZero.into()));
            }
            bytes = &bytes[written..];
        }
        // TLS keeps what it has encrypted until it is flushed (TCP and the
        // WebSocket bridge have nothing to flush).
        if at_once(self.writer.flush()).await.is_none() {
            let _blocked = blocked.or_else(|| room.map(Channel::block));
            patiently(limit, self.writer.flush()).await?;
        }
        Ok(())
    }
    // ANCHOR_END: write
}

/// Polls `operation` once: its result if it is done at once, `None` if it
/// would have to wait. A write or a flush that would wait has done nothing
/// (they are cancel-safe), so dropping it loses no byte.
async fn at_once<T>(operation: impl Future<Output = T>) -> Option<T> {
    let mut operation = pin!(operation);
    poll_fn(|context| match operation.as_mut().poll(context) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Waits for `operation` for at most `limit`: a client that takes nothing
/// for that long is too slow to keep.
async fn patiently<T>(
    limit: Duration,
    operation: impl Future<Output = io::Result<T>>,
) -> Result<T, ChatError> {
    match timeout(limit, operation).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ChatError::TooSlow { after: limit }),
    }
}
