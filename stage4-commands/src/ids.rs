//! Identifiers as newtypes (pattern 1) with `From`/`Into` conversions (pattern 2).
//!
//! In stage 2 an id is an [`arena::Key`](crate::arena::Key): where the user or
//! room lives in its arena, plus a generation that makes stale ids harmless.
//! Both kinds of id wrap the same `Key`, and the newtypes are what stop a
//! `RoomId` from being used to look up a user.

use std::fmt;

use crate::arena::Key;

// ANCHOR: user_id
/// Identifies one connected user; stops working once the user has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Key);
// ANCHOR_END: user_id

/// Identifies one room; stops working once the room is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(Key);

// ANCHOR: from_into
// The arena creates keys and the newtypes wrap them; these conversions are
// what `Arena<UserId, _>` and `Arena<RoomId, _>` need.
impl From<Key> for UserId {
    fn from(key: Key) -> Self {
        UserId(key)
    }
}

impl From<UserId> for Key {
    fn from(id: UserId) -> Self {
        id.0
    }
}
// ANCHOR_END: from_into

impl From<Key> for RoomId {
    fn from(key: Key) -> Self {
        RoomId(key)
    }
}

impl From<RoomId> for Key {
    fn from(id: RoomId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user #{}.{}", self.0.index(), self.0.generation())
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "room #{}.{}", self.0.index(), self.0.generation())
    }
}
