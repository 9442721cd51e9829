//! What the other servers ask of this server's directory, through the
//! [relay](crate::backend::relay): lines said elsewhere, kicks decided
//! elsewhere, notices about Redis, and the roll of this server's users.

use std::sync::Arc;

use super::{Directory, Kick};
use crate::UserId;
use crate::backend::Present;

impl Directory {
    /// Kicks `name`, a user of this server, as an admin of another server
    /// decided; does nothing if nobody here has that name any longer.
    pub fn kick_here(&mut self, name: &str, by: String, reason: String) {
        if let Some(&target) = self.names.get(&name.to_ascii_lowercase()) {
            self.tell_kicked(target, Kick { by, reason });
        }
    }

    /// Delivers a line said on another server to the room's members here,
    /// if it has any.
    pub fn deliver(&self, room: &str, id: Option<u64>, line: Arc<str>) {
        if let Some(room) = self.rooms.get(room) {
            room.send(UserId::SERVER, id, line);
        }
    }

    /// Tells every room here, and only here, `line`.
    pub fn announce_everywhere(&self, line: &str) {
        for room in self.rooms.values() {
            room.send(UserId::SERVER, None, Arc::from(line));
        }
    }

    /// Every user of this server, for the other servers' lists.
    pub fn roll(&self) -> Vec<Present> {
        let mut roll = Vec::with_capacity(self.names.len());
        for room in self.rooms.values() {
            for (user, name) in room.members() {
                roll.push(Present {
                    user,
                    name: name.to_owned(),
                    room: room.name().to_owned(),
                });
            }
        }
        roll
    }
}
