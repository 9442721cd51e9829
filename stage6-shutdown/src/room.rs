//! A room: its members, and the channel that carries its messages.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use tokio::sync::{Notify, broadcast};

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
    /// When it entered the room: the delivery latency metric starts here.
    pub sent: Instant,
}
// ANCHOR_END: delivery

// ANCHOR: channel
/// A room's fan-out, with backpressure (flow control) on its talkers.
///
/// Lines go into a `broadcast` ring that never waits for anyone: a member
/// more than a ringful behind misses the oldest lines and is told how many.
/// Left at that, a flood would lap members whose tasks are merely waiting
/// for a CPU: the task reading a talker's socket turns one read into hundreds
/// of lines, while each member's task copies every one of them out. So a
/// talker pauses (stops reading its socket, and TCP slows its client down)
/// while some member is more than half a ring behind, and members wake the
/// talkers as they catch up.
///
/// Nobody waits for a member that cannot catch up: while any member's socket
/// is full (its client is not reading), talkers do not pause, and members that
/// fall behind are told what they missed. A slow reader never slows the room.
pub struct Channel {
    sender: broadcast::Sender<Delivery>,
    /// Notified whenever the ring may have become less full.
    space: Notify,
    /// How many members are waiting for their socket to accept bytes.
    blocked: AtomicUsize,
    /// Talkers pause while some member has more unread lines than this.
    high_water: usize,
}
// ANCHOR_END: channel

impl Channel {
    /// A channel whose ring keeps `buffer` lines.
    fn new(buffer: usize) -> Self {
        Channel {
            sender: broadcast::Sender::new(buffer),
            space: Notify::new(),
            blocked: AtomicUsize::new(0),
            high_water: buffer / 2,
        }
    }

    /// Sends `delivery` to every member; never waits.
    pub fn send(&self, delivery: Delivery) {
        // `send` fails only when nobody is subscribed: then nobody is told.
        let _ = self.sender.send(delivery);
    }

    // ANCHOR: is_full
    /// Whether talkers should pause: some member is more than half a ring
    /// behind, and no member is blocked on its socket.
    pub fn is_full(&self) -> bool {
        // `Relaxed`: a stale count makes one talker pause once too often or
        // too rarely, and the next wake-up corrects it.
        self.blocked.load(Relaxed) == 0 && self.sender.len() > self.high_water
    }

    /// Waits until the ring is no longer full.
    pub async fn space(&self) {
        loop {
            // Registered before the check, so that a member catching up in
            // between cannot be missed.
            let mut notified = pin!(self.space.notified());
            notified.as_mut().enable();
            if !self.is_full() {
                return;
            }
            notified.await;
        }
    }
    // ANCHOR_END: is_full

    /// Wakes the paused talkers, to check again: called when a member has read
    /// everything, stops being blocked, or leaves.
    pub fn wake_talkers(&self) {
        self.space.notify_waiters();
    }

    // ANCHOR: block
    /// Counts a member as blocked on its socket until the guard is dropped.
    pub fn block(&self) -> Blocked<'_> {
        self.blocked.fetch_add(1, Relaxed);
        // Talkers paused for this member must not wait for it.
        self.wake_talkers();
        Blocked { channel: self }
    }
    // ANCHOR_END: block
}

// ANCHOR: blocked
/// A member blocked on its socket, from [`Channel::block`] (RAII: dropping
/// the guard ends the block, however the write ends).
pub struct Blocked<'a> {
    channel: &'a Channel,
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.channel.blocked.fetch_sub(1, Relaxed);
        self.channel.wake_talkers();
    }
}
// ANCHOR_END: blocked

// ANCHOR: room
/// A named room: who is in it, and how to reach each of them.
pub struct Room {
    name: String,
    /// Every member holds this channel and a receiver of it.
    channel: Arc<Channel>,
    /// Longest-present first.
    members: Vec<Member>,
    /// Arrivals and departures not announced one by one (the room is big),
    /// to be summed up by [`Room::summarize`].
    unannounced: (usize, usize),
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
        Room {
            name: name.to_owned(),
            channel: Arc::new(Channel::new(buffer)),
            members: Vec::new(),
            unannounced: (0, 0),
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
    pub fn add(&mut self, id: UserId, name: &str) -> (Arc<Channel>, broadcast::Receiver<Delivery>) {
        self.members.push(Member {
            id,
            name: name.to_owned(),
        });
        (Arc::clone(&self.channel), self.channel.sender.subscribe())
    }

    /// Records a member's new name.
    pub fn rename(&mut self, id: UserId, name: &str) {
        if let Some(member) = self.members.iter_mut().find(|member| member.id == id) {
            member.name = name.to_owned();
        }
    }

    /// Removes a member, keeping the others in order; does nothing if `id` is
    /// not one. Talkers paused for it need not wait any longer.
    pub fn remove(&mut self, id: UserId) {
        self.members.retain(|member| member.id != id);
        self.channel.wake_talkers();
    }

    /// Sends the notice `line` to every member but `from`.
    pub fn announce(&self, from: UserId, line: String) {
        self.send(from, None, Arc::from(line));
    }

    /// Sends `line` to every member but `from`: a notice, or a chat message
    /// with its `id`.
    pub fn send(&self, from: UserId, id: Option<u64>, line: Arc<str>) {
        self.channel.send(Delivery {
            from,
            id,
            line,
            sent: Instant::now(),
        });
    }

    /// Every member's id and name, longest present first.
    pub fn members(&self) -> impl Iterator<Item = (UserId, &str)> + '_ {
        self.members
            .iter()
            .map(|member| (member.id, member.name.as_str()))
    }

    // ANCHOR: summarize
    /// Counts an arrival (`true`) or departure (`false`) to be summed up later,
    /// instead of announcing it: each arrival's notice goes to everyone already
    /// there, so `n` arrivals cost about `n²/2` deliveries.
    pub fn count_unannounced(&mut self, arrival: bool) {
        if arrival {
            self.unannounced.0 += 1;
        } else {
            self.unannounced.1 += 1;
        }
    }

    /// Announces the arrivals and departures counted since the last summary;
    /// returns the summary, if there was one.
    pub fn summarize(&mut self, nobody: UserId) -> Option<String> {
        let (joined, left) = std::mem::take(&mut self.unannounced);
        if joined + left == 0 {
            return None;
        }
        let name = &self.name;
        let line = format!("* {joined} joined and {left} left #{name} in the last second\n");
        self.announce(nobody, line.clone());
        Some(line)
    }
    // ANCHOR_END: summarize
}
