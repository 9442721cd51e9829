//! Who is where, and what each frame a user sends does to the chat.
//!
//! Everything here runs while one user is borrowed from the server's arena,
//! so none of it may touch another `User`: it reaches members through their
//! rooms' outboxes.

use std::collections::{HashMap, HashSet};

use crate::arena::Arena;
use crate::room::Room;
use crate::server::{LOBBY, MAX_NAME_LEN, Session, text_line};
use crate::{ChatError, Frame, Reply, RoomId, UserId, validate_name, validate_room_name};

// ANCHOR: directory
/// Who is where: the rooms, and the names in use.
pub(crate) struct Directory {
    /// Every room, named by `RoomId`.
    rooms: Arena<RoomId, Room>,
    /// Each room's id by its name, for `JOIN`.
    by_name: HashMap<String, RoomId>,
    /// The names in use, lowercased, so that `Alice` cannot pose as `alice`.
    names: HashSet<String>,
    /// The room every user joins first; it always exists.
    default_room: RoomId,
}
// ANCHOR_END: directory

impl Directory {
    /// A directory with only the lobby.
    pub(crate) fn new() -> Self {
        let mut rooms = Arena::new();
        let default_room = rooms.insert(Room::new(LOBBY));
        let by_name = HashMap::from([(LOBBY.to_owned(), default_room)]);
        Directory {
            rooms,
            by_name,
            names: HashSet::new(),
            default_room,
        }
    }

    // ANCHOR: handle
    /// Handles one frame from `id`. `QUIT` never arrives here: it ends the
    /// connection, which is the caller's business.
    pub(crate) fn handle(&mut self, id: UserId, frame: Frame<'_>, session: &mut Session) {
        let result = match (&frame, &session.name) {
            (Frame::Nick(name), None) => self.register(id, name, session),
            (Frame::Nick(name), Some(_)) => self.rename(id, name, session),
            (_, None) => Err(ChatError::NoNameYet),
            (Frame::Join(room), Some(_)) => self.join(id, room, session),
            (Frame::Msg(text), Some(name)) => {
                if let Some(room) = session.room.and_then(|room| self.rooms.get(room)) {
                    room.broadcast(id, &text_line(Reply::Msg { from: name, text }));
                }
                Ok(())
            }
            (Frame::Quit(_), Some(_)) => Ok(()),
        };
        if let Err(error) = result {
            session.refuse(&error);
        }
    }
    // ANCHOR_END: handle

    /// Gives `id` its first name and puts it in the lobby.
    fn register(&mut self, id: UserId, name: &str, session: &mut Session) -> Result<(), ChatError> {
        validate_name(name, MAX_NAME_LEN).map_err(ChatError::BadName)?;
        self.claim_name(name)?;
        session.name = Some(name.to_owned());
        let room = self.default_room;
        self.add_to_room(id, session, room);
        session.tell(Reply::Ok(&format!("welcome {name}, you are in {LOBBY}")));
        Ok(())
    }

    /// Changes the name of a user who has one, and tells their room.
    fn rename(&mut self, id: UserId, new: &str, session: &mut Session) -> Result<(), ChatError> {
        let Some(old) = session.name.as_deref() else {
            return Err(ChatError::NoNameYet);
        };
        validate_name(new, MAX_NAME_LEN).map_err(ChatError::BadName)?;
        // Changing only the case of one's own name must not look "taken".
        if !old.eq_ignore_ascii_case(new) {
            self.claim_name(new)?;
            self.names.remove(&old.to_ascii_lowercase());
        }
        if let Some(room) = session.room.and_then(|room| self.rooms.get(room)) {
            room.broadcast(id, &text_line(Reply::Nick { old, new }));
        }
        session.name = Some(new.to_owned());
        session.tell(Reply::Ok(&format!("you are now {new}")));
        Ok(())
    }

    /// Moves `id` to `room`, creating the room if nobody is in it yet.
    fn join(&mut self, id: UserId, room: &str, session: &mut Session) -> Result<(), ChatError> {
        validate_room_name(room).map_err(ChatError::BadRoom)?;
        if let Some(current) = session.room.and_then(|room| self.rooms.get(room))
            && current.name() == room
        {
            return Err(ChatError::AlreadyInRoom(room.to_owned()));
        }
        self.remove_from_room(id, session, "");
        let target = match self.by_name.get(room) {
            Some(&existing) => existing,
            None => {
                let created = self.rooms.insert(Room::new(room));
                self.by_name.insert(room.to_owned(), created);
                created
            }
        };
        self.add_to_room(id, session, target);
        session.tell(Reply::Ok(&format!("you are in {room}")));
        Ok(())
    }

    /// Reserves a valid `name`, unless someone has it already.
    fn claim_name(&mut self, name: &str) -> Result<(), ChatError> {
        if self.names.insert(name.to_ascii_lowercase()) {
            Ok(())
        } else {
            Err(ChatError::NameTaken(name.to_owned()))
        }
    }

    /// Adds a named user to `room_id` and tells the members already there.
    fn add_to_room(&mut self, id: UserId, session: &mut Session, room_id: RoomId) {
        let (Some(room), Some(name)) = (self.rooms.get_mut(room_id), &session.name) else {
            return;
        };
        room.broadcast(
            id,
            &text_line(Reply::Joined {
                room: room.name(),
                name,
            }),
        );
        room.add(id, &session.outbox);
        session.room = Some(room_id);
    }

    /// Takes `id` out of its room, tells the room why, and removes the room if
    /// it is now empty; the lobby always stays.
    fn remove_from_room(&mut self, id: UserId, session: &mut Session, reason: &str) {
        let (Some(room_id), Some(name)) = (session.room.take(), &session.name) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(room_id) else {
            return;
        };
        room.remove(id);
        let notice = Reply::Left {
            room: room.name(),
            name,
            reason,
        };
        room.broadcast(id, &text_line(notice));
        if room.is_empty() && room_id != self.default_room {
            self.by_name.remove(room.name());
            self.rooms.remove(room_id);
        }
    }

    /// Takes `id` out of the chat entirely: out of its room, its name freed.
    pub(crate) fn depart(&mut self, id: UserId, session: &mut Session, reason: &str) {
        self.remove_from_room(id, session, reason);
        if let Some(name) = session.name.take() {
            self.names.remove(&name.to_ascii_lowercase());
        }
    }
}
