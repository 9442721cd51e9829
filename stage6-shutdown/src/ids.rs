//! Identifiers as newtypes (pattern 1) with `From`/`Into` conversions (pattern 2).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

// ANCHOR: user_id
/// Identifies one connection for as long as the server runs.
///
/// Stage 4's ids were arena keys, handed out by the one thread that owned the
/// arena. Here every task runs on any thread and there is no arena: an atomic
/// counter hands out ids without a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(u64);
// ANCHOR_END: user_id

impl UserId {
    /// No user: the sender of notices that come from the server itself.
    pub const SERVER: UserId = UserId(0);

    /// A new id, different from every id handed out before.
    pub fn next() -> UserId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // `Relaxed` is enough: each id only has to be unique, and
        // `fetch_add` is atomic whatever the ordering.
        UserId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl From<UserId> for u64 {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user #{}", self.0)
    }
}
