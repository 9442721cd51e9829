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
    /// A chat message's id, as kept in the room's history; `None` for a notice.
    pub id: Option<u64>,
    /// The whole line, newline included, ready to write.
    pub line: Arc<str>,
}
// ANCHOR_END: delivery

// ANCHOR: room
/// A named room.
pub struct Room {
    name: String,
    /// Every member holds a receiver of this channel. The channel keeps the
    /// last `room_buffer` lines; a member further behind than that is told
    /// how many it missed (`RecvError::Lagged`), and nobody ever waits for it.
    sender: broadcast::Sender<Delivery>,
    /// Members with their names, longest-present first.
    members: Vec<(UserId, String)>,
    /// Arrivals and departures not announced one by one (the room is big),
    /// to be summed up by [`Room::summarize`].
    unannounced: (usize, usize),
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
            unannounced: (0, 0),
        }
    }

    /// The room's name, without the `#`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many users are in the room.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the room has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: UserId) -> bool {
        self.members.iter().any(|(member, _)| *member == id)
    }

    /// The members' names, longest-present first.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.members.iter().map(|(_, name)| name.as_str())
    }

    /// The member present longest, who may `/kick` the others.
    pub fn operator(&self) -> Option<UserId> {
        self.members.first().map(|(id, _)| *id)
    }

    /// Adds a member and returns its handles on the room's channel.
    pub fn add(
        &mut self,
        id: UserId,
        name: &str,
    ) -> (broadcast::Sender<Delivery>, broadcast::Receiver<Delivery>) {
        self.members.push((id, name.to_owned()));
        (self.sender.clone(), self.sender.subscribe())
    }

    /// Records a member's new name.
    pub fn rename(&mut self, id: UserId, name: &str) {
        if let Some((_, old)) = self.members.iter_mut().find(|(member, _)| *member == id) {
            *old = name.to_owned();
        }
    }

    /// Removes a member, keeping the others in order.
    pub fn remove(&mut self, id: UserId) {
        self.members.retain(|(member, _)| *member != id);
    }

    /// Sends the notice `line` to every member but `from`.
    pub fn announce(&self, from: UserId, line: String) {
        // `send` fails only when nobody is subscribed: then nobody is told.
        let _ = self.sender.send(Delivery {
            from,
            id: None,
            line: Arc::from(line),
        });
    }

    // ANCHOR: summarize
    /// Counts an arrival (`true`) or departure (`false`) to be summed up later,
    /// instead of announcing it: in a room of `n` members, one notice per
    /// arrival costs `n` deliveries, so `n` arrivals cost `n²`.
    pub fn count_unannounced(&mut self, arrival: bool) {
        if arrival {
            self.unannounced.0 += 1;
        } else {
            self.unannounced.1 += 1;
        }
    }

    /// Announces the arrivals and departures counted since the last summary.
    pub fn summarize(&mut self, nobody: UserId) {
        let (joined, left) = std::mem::take(&mut self.unannounced);
        if joined + left > 0 {
            let name = &self.name;
            self.announce(
                nobody,
                format!("* {joined} joined and {left} left #{name} in the last second\n"),
            );
        }
    }
    // ANCHOR_END: summarize
}
