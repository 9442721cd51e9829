//! What all connections share: the rooms, the names in use, the pending kicks.

mod others;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::backend::{News, RoomBackend};
use crate::connection::{Connection, InRoom, Membership};
use crate::metrics::Metrics;
use crate::room::Room;
use crate::{ChatError, ServerConfig, UserId, validate_name, validate_room_name};

/// A new member, as [`Directory::register`] returns it.
pub struct Registered<'a> {
    /// The name, borrowed from the answer to the prompt.
    pub name: &'a str,
    /// Whether the admin password came with it.
    pub admin: bool,
    /// The member's place in the default room.
    pub membership: Membership,
    /// Fires if another user kicks this one.
    pub kicked: oneshot::Receiver<Kick>,
}

/// What a kicked client's task is told through its kick channel.
#[derive(Debug)]
pub struct Kick {
    /// Who kicked.
    pub by: String,
    /// Why, or empty.
    pub reason: String,
}

// ANCHOR: directory
/// Who is where. One `Directory` lives behind the server's `RwLock`; every
/// method here is quick and never waits for I/O, so the lock is never held
/// across an `.await`.
pub struct Directory {
    config: ServerConfig,
    /// Every room by name.
    rooms: HashMap<String, Room>,
    /// Each connected user's id by lowercased name, so that `Alice` cannot
    /// pose as `alice` and `/kick` can find its target.
    names: HashMap<String, UserId>,
    /// How to reach each named user's task when it is kicked: a one-shot
    /// channel, because a user is kicked at most once.
    kicks: HashMap<UserId, oneshot::Sender<Kick>>,
    /// Set when the server shuts down: departures are no longer announced,
    /// since everyone is leaving.
    closing: bool,
    metrics: Arc<Metrics>,
    /// The other servers, told of every change (nobody, by default).
    backend: Arc<dyn RoomBackend>,
}
// ANCHOR_END: directory

impl Directory {
    /// A directory with only the default room.
    pub fn new(config: ServerConfig, metrics: Arc<Metrics>, backend: Arc<dyn RoomBackend>) -> Self {
        let default_room = Room::new(config.default_room.as_str(), config.room_buffer);
        let rooms = HashMap::from([(config.default_room.clone(), default_room)]);
        metrics.room_opened();
        Directory {
            config,
            rooms,
            names: HashMap::new(),
            kicks: HashMap::new(),
            closing: false,
            metrics,
            backend,
        }
    }

    /// The server is shutting down: stop announcing departures.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Sums up, in each big room, who came and went in the last second.
    pub fn summarize(&mut self) {
        for room in self.rooms.values_mut() {
            if let Some(line) = room.summarize(UserId::SERVER) {
                self.backend.tell(News::Said {
                    room: room.name(),
                    id: None,
                    line: &line,
                });
            }
        }
    }

    /// Claims the name in `answer` (as `check_new_name` checks it)
    /// for `id` and adds it to the default room. Returns the name, whether it
    /// is an admin's, the membership, and the receiver that tells the user's
    /// task if it is kicked.
    pub fn register<'a>(
        &mut self,
        id: UserId,
        answer: &'a str,
    ) -> Result<Registered<'a>, ChatError> {
        let (name, admin) = self.check_new_name(answer)?;
        self.claim_name(id, name)?;
        let (kick, kicked) = oneshot::channel();
        self.kicks.insert(id, kick);
        let room = self.config.default_room.clone();
        let membership = self.add_to_room(id, name, &room);
        Ok(Registered {
            name,
            admin,
            membership,
            kicked,
        })
    }

    // ANCHOR: check_new_name
    /// Checks the answer to the name prompt: a valid name, or an admin's
    /// name followed by the admin password. Returns the name, and whether it
    /// is an admin's.
    fn check_new_name<'a>(&self, answer: &'a str) -> Result<(&'a str, bool), ChatError> {
        let (name, password) = match answer.split_once(char::is_whitespace) {
            Some((name, password)) => (name, Some(password.trim())),
            None => (answer, None),
        };
        if self.is_admin_name(name) {
            return match (password, self.config.admin_password.as_deref()) {
                (None, _) => Err(ChatError::Reserved(name.to_owned())),
                (Some(given), Some(expected)) if given == expected => Ok((name, true)),
                (Some(_), _) => Err(ChatError::WrongPassword(name.to_owned())),
            };
        }
        // Not an admin's name: the whole answer is the name, so a space in
        // it is refused like any other character a name may not contain.
        validate_name(answer, self.config.max_name_len).map_err(ChatError::BadName)?;
        Ok((answer, false))
    }

    /// Checks a name before it is claimed on the other servers: as
    /// [`Directory::register`] will, and that nobody here has it.
    pub fn check_available<'a>(&self, answer: &'a str) -> Result<&'a str, ChatError> {
        let (name, _admin) = self.check_new_name(answer)?;
        if self.names.contains_key(&name.to_ascii_lowercase()) {
            return Err(ChatError::NameTaken(name.to_owned()));
        }
        Ok(name)
    }

    /// Whether `name` is reserved for an admin.
    fn is_admin_name(&self, name: &str) -> bool {
        self.config
            .admins
            .iter()
            .any(|admin| admin.eq_ignore_ascii_case(name))
    }
    // ANCHOR_END: check_new_name

    /// Changes a member's name and tells the room.
    pub fn rename(
        &mut self,
        new: &str,
        connection: &mut Connection<InRoom>,
    ) -> Result<(), ChatError> {
        let id = connection.id();
        validate_name(new, self.config.max_name_len).map_err(ChatError::BadName)?;
        let old = connection.name().to_owned();
        if self.is_admin_name(new) && !old.eq_ignore_ascii_case(new) {
            return Err(ChatError::Reserved(new.to_owned()));
        }
        // Changing only the case of one's own name must not look "taken".
        if !old.eq_ignore_ascii_case(new) {
            self.claim_name(id, new)?;
            self.names.remove(&old.to_ascii_lowercase());
        }
        connection.rename(new.to_owned());
        self.room_mut(connection).rename(id, new);
        self.announce(
            connection.room(),
            id,
            format!("* {old} is now known as {new}\n"),
        );
        let room = connection.room();
        self.backend.tell(News::Present {
            user: id,
            name: new,
            room,
        });
        if !old.eq_ignore_ascii_case(new) {
            self.backend.tell(News::Released {
                user: id,
                name: &old,
            });
        }
        Ok(())
    }

    /// Moves a member to `room`, creating it if nobody is in it yet. Returns
    /// its old membership, which may hold lines still owed to the member,
    /// and the name of the room it left if that room is now gone, so that its
    /// history can be forgotten.
    pub fn join(
        &mut self,
        room: &str,
        connection: &mut Connection<InRoom>,
    ) -> Result<(Membership, Option<String>), ChatError> {
        validate_room_name(room).map_err(ChatError::BadRoom)?;
        let current = self.room(connection);
        if current.name() == room {
            return Err(ChatError::AlreadyInRoom(room.to_owned()));
        }
        if !self.rooms.contains_key(room) {
            // Leaving a room where one is alone removes that room.
            let default_room = self.config.default_room.as_str();
            let freed = usize::from(current.len() == 1 && connection.room() != default_room);
            let max = self.config.max_rooms;
            if self.rooms.len() - freed >= max {
                return Err(ChatError::TooManyRooms { max });
            }
        }
        let emptied = self.remove_from_room(connection, "");
        let membership = self.add_to_room(connection.id(), connection.name(), room);
        let old = connection.move_to(membership);
        Ok((old, emptied))
    }

    // ANCHOR: list
    /// `/list`: who is in the member's room: its members here, longest
    /// present first, then those of other servers (`elsewhere`, as
    /// `(room, name)`), in name order.
    pub fn list(&self, connection: &Connection<InRoom>, elsewhere: &[(String, String)]) -> String {
        let room = self.room(connection);
        let mut others: Vec<&str> = elsewhere
            .iter()
            .filter(|(their_room, _)| their_room == room.name())
            .map(|(_, name)| name.as_str())
            .collect();
        others.sort_unstable();
        let names: Vec<&str> = room.names().chain(others).collect();
        format!("* in #{}: {}", room.name(), names.join(", "))
    }

    /// `/rooms`: every room with its member count here and on the other
    /// servers (`elsewhere`), sorted by name.
    pub fn rooms(&self, elsewhere: &[(String, String)]) -> String {
        let mut counts: HashMap<&str, usize> = self
            .rooms
            .values()
            .map(|room| (room.name(), room.len()))
            .collect();
        for (room, _) in elsewhere {
            *counts.entry(room.as_str()).or_default() += 1;
        }
        let mut rooms: Vec<(&str, usize)> = counts.into_iter().collect();
        rooms.sort_unstable();
        let listed: Vec<String> = rooms
            .iter()
            .map(|(name, members)| format!("#{name} ({members})"))
            .collect();
        format!("* rooms: {}", listed.join(", "))
    }
    // ANCHOR_END: list

    // ANCHOR: kick
    /// Decides a `/kick`: admins may kick anyone; in any room but the default
    /// one, the member present longest (the operator) may kick the others.
    /// The target's own task is told, and leaves by itself.
    pub fn kick(
        &mut self,
        target_name: &str,
        reason: &str,
        connection: &Connection<InRoom>,
    ) -> Result<(), ChatError> {
        let id = connection.id();
        let &target = self
            .names
            .get(&target_name.to_ascii_lowercase())
            .ok_or_else(|| ChatError::NoSuchUser(target_name.to_owned()))?;
        if target == id {
            return Err(ChatError::KickSelf);
        }
        let kicker = connection.name();
        let room = self.room(connection);
        if !connection.is_admin() {
            if !room.contains(target) {
                return Err(ChatError::NotInYourRoom(target_name.to_owned()));
            }
            if connection.room() == self.config.default_room.as_str() {
                return Err(ChatError::AdminsOnly(room.name().to_owned()));
            }
            if room.operator() != Some(id) {
                return Err(ChatError::OperatorOnly {
                    room: room.name().to_owned(),
                    operator: room.names().next().unwrap_or_default().to_owned(),
                });
            }
        }
        let kick = Kick {
            by: kicker.to_owned(),
            reason: reason.to_owned(),
        };
        self.tell_kicked(target, kick);
        Ok(())
    }
    // ANCHOR_END: kick

    /// Tells a user's task it is kicked; its task leaves by itself.
    fn tell_kicked(&mut self, target: UserId, kick: Kick) {
        if let Some(kicked) = self.kicks.remove(&target) {
            // If the target's task has just ended, nobody is left to tell.
            let _ = kicked.send(kick);
        }
    }

    /// Sends the notice `line` to `room`'s members, here and on the other
    /// servers, but `from`.
    fn announce(&self, room: &str, from: UserId, line: String) {
        self.backend.tell(News::Said {
            room,
            id: None,
            line: &line,
        });
        if let Some(here) = self.rooms.get(room) {
            here.announce(from, line);
        }
    }

    /// Reserves a valid `name` for `id`, unless someone has it already.
    fn claim_name(&mut self, id: UserId, name: &str) -> Result<(), ChatError> {
        let key = name.to_ascii_lowercase();
        if self.names.contains_key(&key) {
            return Err(ChatError::NameTaken(name.to_owned()));
        }
        self.names.insert(key, id);
        Ok(())
    }

    // ANCHOR: add_to_room
    /// Adds a named user to `room`, creating it if needed, and tells the
    /// members already there.
    fn add_to_room(&mut self, id: UserId, name: &str, room: &str) -> Membership {
        let buffer = self.config.room_buffer;
        let target = self.rooms.entry(room.to_owned()).or_insert_with(|| {
            self.metrics.room_opened();
            Room::new(room, buffer)
        });
        let announced = target.len() < self.config.announce_limit;
        if !announced {
            target.count_unannounced(true);
        }
        let (channel, receiver) = target.add(id, name);
        if announced {
            self.announce(room, id, format!("* {name} joined #{room}\n"));
        }
        // Other servers list it too (`--redis-url`; nobody by default).
        self.backend.tell(News::Present {
            user: id,
            name,
            room,
        });
        Membership {
            room: room.to_owned(),
            channel,
            receiver,
        }
    }
    // ANCHOR_END: add_to_room

    /// Takes a member out of its room, tells the room (with `reason`, if any),
    /// and removes the room if it is now empty; the default room always stays.
    /// Returns the name of a removed room, whose history is to be forgotten.
    fn remove_from_room(
        &mut self,
        connection: &Connection<InRoom>,
        reason: &str,
    ) -> Option<String> {
        let id = connection.id();
        let room = self.rooms.get_mut(connection.room())?;
        let announced = room.len() <= self.config.announce_limit;
        room.remove(id);
        let name = connection.name();
        let notice = if self.closing {
            // Everyone is leaving: a notice for each would be noise.
            None
        } else if !announced {
            room.count_unannounced(false);
            None
        } else if reason.is_empty() {
            Some(format!("* {name} left #{}\n", room.name()))
        } else {
            Some(format!("* {name} left #{} ({reason})\n", room.name()))
        };
        let emptied = room.is_empty() && connection.room() != self.config.default_room.as_str();
        if let Some(notice) = notice {
            self.announce(connection.room(), id, notice);
        }
        if emptied {
            self.rooms.remove(connection.room());
            self.metrics.room_closed();
            // Not at shutdown: a history kept on disk replays it after a restart.
            return (!self.closing).then(|| connection.room().to_owned());
        }
        None
    }

    /// Takes a member out of the chat entirely: out of its room, its name
    /// freed, its membership dropped so that no talker waits for it. Returns
    /// the name of its room if that room is now gone.
    pub fn depart(&mut self, connection: Connection<InRoom>, reason: &str) -> Option<String> {
        let emptied = self.remove_from_room(&connection, reason);
        self.kicks.remove(&connection.id());
        let (connection, _membership) = connection.leave();
        self.names.remove(&connection.name().to_ascii_lowercase());
        let user = connection.id();
        self.backend.tell(News::Left { user });
        let name = connection.name();
        self.backend.tell(News::Released { user, name });
        emptied
    }

    /// The member's room, which exists for as long as it has a member.
    fn room(&self, connection: &Connection<InRoom>) -> &Room {
        self.rooms
            .get(connection.room())
            .expect("a member's room exists while it has members")
    }

    /// The member's room, mutably.
    fn room_mut(&mut self, connection: &Connection<InRoom>) -> &mut Room {
        self.rooms
            .get_mut(connection.room())
            .expect("a member's room exists while it has members")
    }
}
