//! Identifiers as newtypes (pattern 1) with `From`/`Into` conversions (pattern 2).
//!
//! A user id and a room id are both numbers, but a function that expects one must
//! never be handed the other. Wrapping each in its own type makes that mix-up a
//! compile error instead of a bug, and costs nothing at run time.

use std::fmt;

// ANCHOR: user_id
/// Identifies one connection for as long as the server runs.
///
/// The `u64` inside is private: code outside this module cannot do arithmetic on
/// an id or confuse it with a [`RoomId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(u64);
// ANCHOR_END: user_id

// ANCHOR: room_id
/// Identifies a room.
///
/// Stage 1 has a single room, the lobby; the type exists from the start so that
/// the compiler keeps user ids and room ids apart once stage 2 has many of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(u64);

impl RoomId {
    /// The room every user is in.
    pub const LOBBY: RoomId = RoomId(0);
}
// ANCHOR_END: room_id

// ANCHOR: from_into
impl From<u64> for UserId {
    fn from(raw: u64) -> Self {
        UserId(raw)
    }
}

impl From<UserId> for u64 {
    fn from(id: UserId) -> Self {
        id.0
    }
}
// ANCHOR_END: from_into

impl From<u64> for RoomId {
    fn from(raw: u64) -> Self {
        RoomId(raw)
    }
}

impl From<RoomId> for u64 {
    fn from(id: RoomId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user #{}", self.0)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "room #{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_convert_both_ways() {
        let id: UserId = 7.into();
        assert_eq!(u64::from(id), 7);
        assert_eq!(RoomId::from(0), RoomId::LOBBY);
    }

    #[test]
    fn ids_display_their_kind() {
        assert_eq!(UserId::from(3).to_string(), "user #3");
        assert_eq!(RoomId::LOBBY.to_string(), "room #0");
    }
}
