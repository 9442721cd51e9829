//! Who is where, and what each line a member sends does to the chat.
//!
//! Everything here runs while one user is borrowed from the server's arena,
//! so none of it may touch another `User`: it reaches members through their
//! rooms' outboxes, and a kick is written down for the server to carry out.

use std::collections::HashMap;
use std::mem;

use crate::arena::Arena;
use crate::connection::{Connection, InRoom, Named, Session, Unauthenticated};
use crate::room::Room;
use crate::server::text_line;
use crate::{
    ChatError, Command, FilterChain, HELP, Input, RoomId, ServerConfig, UserId, validate_name,
    validate_room_name,
};

// ANCHOR: directory
/// Who is where, and the rules they play by.
pub(crate) struct Directory {
    config: ServerConfig,
    /// Every room, named by `RoomId`.
    rooms: Arena<RoomId, Room>,
    /// Each room's id by its name, for `/join`.
    by_name: HashMap<String, RoomId>,
    /// Each connected user's id by lowercased name, so that `Alice` cannot
    /// pose as `alice` and `/kick` can find its target.
    names: HashMap<String, UserId>,
    /// The room every user joins first; it always exists.
    default_room: RoomId,
    /// The filters every chat message passes through.
    filters: FilterChain,
    /// Kicks decided while reading, carried out once no user is borrowed.
    kicks: Vec<Kick>,
}

/// A `/kick` waiting to be carried out.
pub(crate) struct Kick {
    /// Who is kicked.
    pub(crate) target: UserId,
    /// The line the target is told.
    pub(crate) told: String,
    /// Why the target left, as its room is told.
    pub(crate) notice: String,
}
// ANCHOR_END: directory

impl Directory {
    /// A directory with only the default room.
    pub(crate) fn new(config: ServerConfig, filters: FilterChain) -> Self {
        let mut rooms = Arena::new();
        let default_room = rooms.insert(Room::new(config.default_room.as_str()));
        let by_name = HashMap::from([(config.default_room.clone(), default_room)]);
        Directory {
            config,
            rooms,
            by_name,
            names: HashMap::new(),
            default_room,
            filters,
            kicks: Vec::new(),
        }
    }

    /// The server's configuration.
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The kicks decided since the last call, to carry out.
    pub(crate) fn take_kicks(&mut self) -> Vec<Kick> {
        mem::take(&mut self.kicks)
    }

    // ANCHOR: handle
    /// Handles one parsed line from `id` (never `/quit`: that ends the
    /// connection, which is the caller's business).
    pub(crate) fn handle(&mut self, id: UserId, input: Input<'_>, session: &mut Session) {
        // Each arm takes the connection by value and puts back the state it
        // ends in: the old one, or the next one after a transition.
        // ANCHOR: handle_match
        *session = match session.take() {
            Session::Unauthenticated(connection) => match input {
                Input::Chat(name) => match self.register(id, &name, connection) {
                    Ok(member) => Session::InRoom(member),
                    Err((connection, error)) => {
                        connection.tell(format_args!("error: {error}. what is your name?"));
                        Session::Unauthenticated(connection)
                    }
                },
                Input::Command(_) => {
                    let error = ChatError::NoNameYet;
                    connection.tell(format_args!("error: {error}. what is your name?"));
                    Session::Unauthenticated(connection)
                }
            },
            Session::InRoom(mut connection) => {
                let result = match input {
                    Input::Chat(text) => self.say(id, &text, &connection),
                    Input::Command(command) => self.run_command(id, command, &mut connection),
                };
                if let Err(error) = result {
                    connection.tell(format_args!("error: {error}"));
                }
                Session::InRoom(connection)
            }
            Session::Departed => Session::Departed,
        };
        // ANCHOR_END: handle_match
    }
    // ANCHOR_END: handle

    // ANCHOR: run_command
    /// Runs one command for a member (pattern 14: enum dispatch). The match
    /// has no `_` arm, so a new `Command` variant does not compile until it is
    /// handled here.
    fn run_command(
        &mut self,
        id: UserId,
        command: Command<'_>,
        connection: &mut Connection<InRoom>,
    ) -> Result<(), ChatError> {
        match command {
            Command::Join(room) => self.join(id, &room, connection),
            Command::Nick(name) => self.rename(id, name, connection),
            Command::Kick { user, reason } => self.kick(id, user, &reason, connection),
            Command::List => {
                let room = self.room(connection);
                let names: Vec<&str> = room.names().collect();
                connection.tell(format_args!("* in #{}: {}", room.name(), names.join(", ")));
                Ok(())
            }
            Command::Rooms => {
                let mut rooms: Vec<(&str, usize)> = self
                    .rooms
                    .iter()
                    .map(|(_, room)| (room.name(), room.len()))
                    .collect();
                rooms.sort_unstable();
                let listed: Vec<String> = rooms
                    .iter()
                    .map(|(name, members)| format!("#{name} ({members})"))
                    .collect();
                connection.tell(format_args!("* rooms: {}", listed.join(", ")));
                Ok(())
            }
            Command::Help => {
                for (usage, what) in HELP {
                    connection.tell(format_args!("* {usage}: {what}"));
                }
                Ok(())
            }
            // The caller takes `/quit` before it gets here, because it ends the
            // connection; answering it here too keeps this match exhaustive.
            Command::Quit(_) => Ok(()),
        }
    }
    // ANCHOR_END: run_command

    /// Tells the client what was wrong with a line; a client still choosing
    /// a name is asked again.
    pub(crate) fn refuse(&self, session: &Session, error: ChatError) {
        match session {
            Session::Unauthenticated(_) => {
                session.tell(format_args!("error: {error}. what is your name?"));
            }
            _ => session.tell(format_args!("error: {error}")),
        }
    }

    // ANCHOR: say
    /// Relays chat text to the sender's room, through the filters.
    fn say(
        &mut self,
        id: UserId,
        text: &str,
        connection: &Connection<InRoom>,
    ) -> Result<(), ChatError> {
        let text = self
            .filters
            .apply(connection.name(), text)
            .map_err(ChatError::Blocked)?;
        let line = text_line(format_args!("<{}> {text}", connection.name()));
        self.room(connection).broadcast(id, &line);
        Ok(())
    }
    // ANCHOR_END: say

    // ANCHOR: register
    /// Gives a new connection its name, puts it in the default room and shows
    /// the message of the day: `Unauthenticated` to `Authenticated` to
    /// `InRoom`. If the name is refused, the connection is handed back.
    // ANCHOR: register_fn
    fn register(
        &mut self,
        id: UserId,
        name: &str,
        connection: Connection<Unauthenticated>,
    ) -> Result<Connection<InRoom>, (Connection<Unauthenticated>, ChatError)> {
        let checked = self
            .check_new_name(name)
            .and_then(|(name, admin)| self.claim_name(id, name).map(|()| (name, admin)));
        let (name, admin) = match checked {
            Ok(accepted) => accepted,
            Err(error) => return Err((connection, error)),
        };
        let connection = connection.authenticate(name.to_owned(), admin);
        let room = self.default_room;
        self.add_to_room(id, &connection, room);
        let connection = connection.enter(room);
        connection.tell(format_args!(
            "welcome, {name}! you are in #{}",
            self.config.default_room.as_str()
        ));
        if let Some(motd) = self.config.motd.as_deref() {
            for line in motd.lines() {
                connection.tell(format_args!("* {line}"));
            }
        }
        Ok(connection)
    }
    // ANCHOR_END: register_fn
    // ANCHOR_END: register

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

    /// Whether `name` is reserved for an admin.
    fn is_admin_name(&self, name: &str) -> bool {
        self.config
            .admins
            .iter()
            .any(|admin| admin.eq_ignore_ascii_case(name))
    }
    // ANCHOR_END: check_new_name

    /// Changes a member's name and tells the room.
    fn rename(
        &mut self,
        id: UserId,
        new: &str,
        connection: &mut Connection<InRoom>,
    ) -> Result<(), ChatError> {
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
        let room = self.room_mut(connection);
        room.rename(id, new);
        room.broadcast(
            id,
            &text_line(format_args!("* {old} is now known as {new}")),
        );
        connection.tell(format_args!("* you are now {new}"));
        Ok(())
    }

    /// Moves a member to `room`, creating it if nobody is in it yet.
    fn join(
        &mut self,
        id: UserId,
        room: &str,
        connection: &mut Connection<InRoom>,
    ) -> Result<(), ChatError> {
        validate_room_name(room).map_err(ChatError::BadRoom)?;
        let current = self.room(connection);
        if current.name() == room {
            return Err(ChatError::AlreadyInRoom(room.to_owned()));
        }
        let target = match self.by_name.get(room) {
            Some(&existing) => existing,
            None => {
                // Leaving a room where one is alone removes that room.
                let freed =
                    usize::from(current.len() == 1 && connection.room() != self.default_room);
                let max = self.config.max_rooms;
                if self.rooms.len() - freed >= max {
                    return Err(ChatError::TooManyRooms { max });
                }
                let created = self.rooms.insert(Room::new(room));
                self.by_name.insert(room.to_owned(), created);
                created
            }
        };
        self.remove_from_room(id, connection, "");
        self.add_to_room(id, connection, target);
        connection.move_to(target);
        connection.tell(format_args!("* you are now in #{room}"));
        Ok(())
    }

    // ANCHOR: kick
    // ANCHOR: kick_head
    /// Decides a `/kick`: admins may kick anyone; in any room but the default
    /// one, the member present longest (the operator) may kick the others.
    fn kick(
        &mut self,
        id: UserId,
        target_name: &str,
        reason: &str,
        connection: &Connection<InRoom>,
    ) -> Result<(), ChatError> {
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
            // ANCHOR_END: kick_head
            // Exercise 4.3: see "Your job" in chapter 4.
            // ANCHOR: exercise_4_3
            if !room.contains(target) {
                return Err(ChatError::NotInYourRoom(target_name.to_owned()));
            }
            if connection.room() == self.default_room {
                return Err(ChatError::AdminsOnly(room.name().to_owned()));
            }
            if room.operator() != Some(id) {
                return Err(ChatError::OperatorOnly {
                    room: room.name().to_owned(),
                    operator: room.names().next().unwrap_or_default().to_owned(),
                });
            }
            // ANCHOR_END: exercise_4_3
        }
        // ANCHOR: kick_tail
        let because = if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        };
        self.kicks.push(Kick {
            target,
            told: format!("you were kicked by {kicker}{because}"),
            notice: format!("kicked by {kicker}{because}"),
        });
        connection.tell(format_args!("* you kicked {target_name}"));
        Ok(())
    }
    // ANCHOR_END: kick_tail
    // ANCHOR_END: kick

    /// Reserves a valid `name` for `id`, unless someone has it already.
    fn claim_name(&mut self, id: UserId, name: &str) -> Result<(), ChatError> {
        let key = name.to_ascii_lowercase();
        if self.names.contains_key(&key) {
            return Err(ChatError::NameTaken(name.to_owned()));
        }
        self.names.insert(key, id);
        Ok(())
    }

    /// Adds a named user to `room_id` and tells the members already there.
    fn add_to_room(&mut self, id: UserId, connection: &Connection<impl Named>, room_id: RoomId) {
        if let Some(room) = self.rooms.get_mut(room_id) {
            let name = connection.name();
            room.broadcast(
                id,
                &text_line(format_args!("* {name} joined #{}", room.name())),
            );
            room.add(id, name, connection.outbox());
        }
    }

    /// Takes a member out of its room, tells the room (with `reason`, if any),
    /// and removes the room if it is now empty; the default room always stays.
    fn remove_from_room(&mut self, id: UserId, connection: &Connection<InRoom>, reason: &str) {
        let room_id = connection.room();
        let Some(room) = self.rooms.get_mut(room_id) else {
            return;
        };
        room.remove(id);
        let name = connection.name();
        let notice = if reason.is_empty() {
            text_line(format_args!("* {name} left #{}", room.name()))
        } else {
            text_line(format_args!("* {name} left #{} ({reason})", room.name()))
        };
        room.broadcast(id, &notice);
        if room.is_empty() && room_id != self.default_room {
            self.by_name.remove(room.name());
            self.rooms.remove(room_id);
        }
    }

    /// Takes `id` out of the chat entirely: out of its room, its name freed.
    pub(crate) fn depart(&mut self, id: UserId, session: &mut Session, reason: &str) {
        if let Session::InRoom(connection) = session.take() {
            self.remove_from_room(id, &connection, reason);
            let connection = connection.leave();
            self.names.remove(&connection.name().to_ascii_lowercase());
        }
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
