//! The counters every client updates and the main task watches.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::latency::ByServer;

/// Counters the clients update as they go, which the main task reads to
/// decide when a phase is over.
///
/// Most fields only count, so relaxed atomics suffice. Two also publish the
/// counts written before them (release here, acquire in the main task):
/// `registered` the room sizes, `senders_done` the messages sent.
#[derive(Debug)]
pub struct Progress {
    /// Clients registered (and joined to their room).
    pub registered: AtomicU32,
    /// Clients that failed before registering.
    pub failed: AtomicU32,
    /// When the last client registered.
    pub last_registered_micros: AtomicU64,
    /// Registered members of each room.
    pub members: Vec<AtomicU64>,
    /// Registered senders.
    pub senders: AtomicU32,
    /// Senders that have sent everything, or given up.
    pub senders_done: AtomicU32,
    /// Messages written by the senders of each room.
    pub sent: Vec<AtomicU64>,
    /// When the first message was written; `u64::MAX` until then.
    pub first_send_micros: AtomicU64,
    /// When the last message was written.
    pub last_send_micros: AtomicU64,
    /// Load messages received, all clients together.
    pub delivered: AtomicU64,
    /// Deliveries the server said it dropped, all clients together.
    pub told_missed: AtomicU64,
    /// When the last of them arrived.
    pub last_delivery_micros: AtomicU64,
    /// Lines of any kind received; the main task waits for it to stop moving.
    pub lines: AtomicU64,
    /// The latency of every delivery, all clients together, kept apart by
    /// whether the receiver was on its sender's server.
    pub latencies: ByServer,
}

impl Progress {
    /// Zeroed counters for `rooms` rooms.
    pub fn new(rooms: u32) -> Progress {
        let per_room = || (0..rooms).map(|_| AtomicU64::new(0)).collect();
        Progress {
            registered: AtomicU32::new(0),
            failed: AtomicU32::new(0),
            last_registered_micros: AtomicU64::new(0),
            members: per_room(),
            senders: AtomicU32::new(0),
            senders_done: AtomicU32::new(0),
            sent: per_room(),
            first_send_micros: AtomicU64::new(u64::MAX),
            last_send_micros: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            told_missed: AtomicU64::new(0),
            last_delivery_micros: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            latencies: ByServer::new(),
        }
    }

    /// Deliveries the messages sent so far should produce: each message
    /// reaches every other member of its sender's room.
    pub fn expected(&self) -> u64 {
        self.members
            .iter()
            .zip(&self.sent)
            .map(|(members, sent)| sent.load(Relaxed) * members.load(Relaxed).saturating_sub(1))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_counts_every_other_member() {
        let progress = Progress::new(2);
        progress.members[0].store(5, Relaxed);
        progress.members[1].store(1, Relaxed);
        progress.sent[0].store(10, Relaxed);
        progress.sent[1].store(7, Relaxed);
        assert_eq!(progress.expected(), 40);
    }
}
