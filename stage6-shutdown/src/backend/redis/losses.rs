//! Lines lost on their way between servers, counted per room, so that the
//! members who missed them are told, as a slow reader is told what it missed.
//!
//! A burst can outrun the link: its queue to Redis, or its queue to the
//! relay, fills, and lines are dropped rather than waited for (a slow Redis
//! must not hold up a server's own chat). Dropped silently, they would leave
//! a conversation with holes nobody knows about.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// The most rooms counted at once: room names in messages from Redis must
/// not grow the map without bound.
const ROOMS: usize = 1024;

/// How many lines each room lost since it was last told.
#[derive(Default)]
pub(super) struct Losses {
    /// Whether `rooms` holds anything: the link checks on every turn of its
    /// loop, and takes the lock only when there is something to tell.
    any: AtomicBool,
    rooms: Mutex<HashMap<String, u64>>,
}

impl Losses {
    /// Counts `lost` more lines lost in `room`.
    pub(super) fn add(&self, room: &str, lost: u64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = rooms.get_mut(room) {
            *count += lost;
        } else if rooms.len() < ROOMS {
            rooms.insert(room.to_owned(), lost);
        }
        self.any.store(true, Relaxed);
    }

    /// Every room's count since the last call, which starts them again at 0.
    pub(super) fn take(&self) -> Vec<(String, u64)> {
        if !self.any.swap(false, Relaxed) {
            return Vec::new();
        }
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        rooms.drain().collect()
    }
}

/// What the members who missed `lost` lines are told. The load tool
/// (`tests/src/bin/load/payload.rs`) and the cluster tests read this line:
/// a change here is a change there.
pub(super) fn notice(lost: u64) -> String {
    format!("* {lost} messages from other servers were lost on the way (too many at once)\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_add_up_per_room_and_start_again_once_taken() {
        let losses = Losses::default();
        assert!(losses.take().is_empty());
        losses.add("rust", 1);
        losses.add("rust", 2);
        losses.add("lobby", 1);
        let mut taken = losses.take();
        taken.sort();
        assert_eq!(taken, [("lobby".to_owned(), 1), ("rust".to_owned(), 3)]);
        assert!(losses.take().is_empty());
    }

    #[test]
    fn at_most_so_many_rooms_are_counted() {
        let losses = Losses::default();
        for room in 0..ROOMS + 10 {
            losses.add(&room.to_string(), 1);
        }
        assert_eq!(losses.take().len(), ROOMS);
    }
}
