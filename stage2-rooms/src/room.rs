//! A room and its members.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::UserId;
use crate::outbox::Outbox;

// ANCHOR: room
/// A named room: who is in it, and how to reach each of them.
pub struct Room {
    name: String,
    members: Vec<Member>,
}

/// One member, as the room sees it.
struct Member {
    id: UserId,
    /// The member's outbox, shared with the member's `User` (pattern 6).
    ///
    /// `Weak`, not `Rc`: the user owns its outbox, and a room that still listed
    /// a departed user must not keep that user's queue alive (pattern 5).
    outbox: Weak<RefCell<Outbox>>,
}
// ANCHOR_END: room

impl Room {
    /// An empty room.
    pub fn new(name: &str) -> Self {
        Room {
            name: name.to_owned(),
            members: Vec::new(),
        }
    }

    /// The room's name, without the `#`.
    pub fn name(&self) -> &str {
        &self.name
    }

    // ANCHOR: add_remove
    /// Adds a member who can be reached through `outbox`.
    pub fn add(&mut self, id: UserId, outbox: &Rc<RefCell<Outbox>>) {
        self.members.push(Member {
            id,
            outbox: Rc::downgrade(outbox),
        });
    }

    /// Removes a member; does nothing if `id` is not one.
    pub fn remove(&mut self, id: UserId) {
        self.members.retain(|member| member.id != id);
    }
    // ANCHOR_END: add_remove

    // ANCHOR: broadcast
    // ANCHOR: broadcast_signature
    /// Queues `line` for every member except `sender`.
    ///
    /// Only `&self` is needed: each outbox is reached through its own
    /// `RefCell`, so the caller may be holding `&mut` to the sender's `User`
    /// (and its read buffer, where the text came from) at the same time.
    pub fn broadcast(&self, sender: UserId, line: &Rc<str>) {
        for member in &self.members {
            // ANCHOR_END: broadcast_signature
            // Exercise 2.1: see "Your job" in chapter 2.
            // ANCHOR: exercise_2_1
            if member.id == sender {
                continue;
            }
            if let Some(outbox) = member.outbox.upgrade() {
                // One pointer per member; the text itself is not copied.
                outbox.borrow_mut().push(Rc::clone(line));
            }
            // ANCHOR_END: exercise_2_1
        }
    }
    // ANCHOR_END: broadcast
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::Arena;

    #[test]
    fn a_member_whose_user_is_gone_is_skipped() {
        // Ids from an arena of nothing, just to have two distinct ones.
        let mut ids: Arena<UserId, ()> = Arena::new();
        let mut id = |_: u8| ids.insert(());
        let gone = Rc::new(RefCell::new(Outbox::new(1024)));
        let here = Rc::new(RefCell::new(Outbox::new(1024)));
        let mut room = Room::new("lobby");
        room.add(id(1), &gone);
        room.add(id(2), &here);
        // The user owned the only `Rc`: dropping it leaves the room a `Weak`
        // that no longer upgrades, and that nothing keeps alive.
        drop(gone);
        room.broadcast(id(3), &Rc::from("hello\n"));
        assert!(
            !here.borrow().is_empty(),
            "the member still here gets the line"
        );
    }
}
