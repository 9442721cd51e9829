//! A room: its members, and the channel that carries its messages.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::UserId;

// ANCHOR: delivery
/// One line sent to a room.
///
/// A `broadcast` channel hands every receiver its own clone of each value, so
/// the text is an `Arc<str>`: cloning it costs a counter increment, not a copy
/// (stage 2's `Rc<str>`, made safe to share between threads).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Who caused it; that member's own task skips it.
    pub from: UserId,
    /// The whole line, newline included, ready to write.
    pub line: Arc<str>,
}
// ANCHOR_END: delivery

// ANCHOR: room
/// A named room: who is in it, and how to reach each of them.
pub struct Room {
    name: String,
    /// Every member holds a receiver of this channel. The channel keeps the
    /// last `room_buffer` lines; a member further behind than that is told
    /// how many it missed (`RecvError::Lagged`), and nobody ever waits for it.
    sender: broadcast::Sender<Delivery>,
    /// Longest-present first.
    members: Vec<Member>,
}

/// One member, as the room sees it.
struct Member {
    id: UserId,
    /// The member's name, for `/list` and `/kick`.
    name: String,
}
// ANCHOR_END: room

impl Room {
    /// An empty room whose channel keeps `buffer` lines.
    pub fn new(name: &str, buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer);
        Room {
            name: name.to_owned(),
            sender,
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

    /// Adds a member, last in line to operate the room, and returns its
    /// handles on the room's channel.
    pub fn add(
        &mut self,
        id: UserId,
        name: &str,
    ) -> (broadcast::Sender<Delivery>, broadcast::Receiver<Delivery>) {
        self.members.push(Member {
            id,
            name: name.to_owned(),
        });
        (self.sender.clone(), self.sender.subscribe())
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

    /// Sends `line` to every member but `from`.
    pub fn announce(&self, from: UserId, line: String) {
        // `send` fails only when nobody is subscribed: then nobody is told.
        let _ = self.sender.send(Delivery {
            from,
            line: Arc::from(line),
        });
    }
}
