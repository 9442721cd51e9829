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
    /// The member's name, for `/list` and `/kick`.
    name: String,
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

    /// Whether the room has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// How many users are in the room.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: UserId) -> bool {
        self.members.iter().any(|member| member.id == id)
    }

    // ANCHOR: operator
    /// The members' names, longest-present first.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.members.iter().map(|member| member.name.as_str())
    }

    /// The member present longest, who may `/kick` the others.
    pub fn operator(&self) -> Option<UserId> {
        self.members.first().map(|member| member.id)
    }
    // ANCHOR_END: operator

    /// Adds a member, last in line to operate the room, who can be reached
    /// through `outbox`.
    pub fn add(&mut self, id: UserId, name: &str, outbox: &Rc<RefCell<Outbox>>) {
        self.members.push(Member {
            id,
            name: name.to_owned(),
            outbox: Rc::downgrade(outbox),
        });
    }

    /// Records a member's new name.
    pub fn rename(&mut self, id: UserId, name: &str) {
        if let Some(member) = self.members.iter_mut().find(|member| member.id == id) {
            member.name = name.to_owned();
        }
    }

    /// Removes a member, keeping the others in order; does nothing if `id` is not one.
    pub fn remove(&mut self, id: UserId) {
        self.members.retain(|member| member.id != id);
    }

    // ANCHOR: broadcast
    /// Queues `line` for every member except `sender`.
    ///
    /// Only `&self` is needed: each outbox is reached through its own
    /// `RefCell`, so the caller may be holding `&mut` to the sender's `User`
    /// (and its read buffer, where the text came from) at the same time.
    pub fn broadcast(&self, sender: UserId, line: &Rc<str>) {
        for member in &self.members {
            if member.id == sender {
                continue;
            }
            if let Some(outbox) = member.outbox.upgrade() {
                // One pointer per member; the text itself is not copied.
                outbox.borrow_mut().push(Rc::clone(line));
            }
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
        room.add(id(1), "gone", &gone);
        room.add(id(2), "here", &here);
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
