//! Who is where, and what each line a user sends does to the chat.
//!
//! Everything here runs while one user is borrowed from the server's arena,
//! so none of it may touch another `User`: it reaches members through their
//! rooms' outboxes.

use std::collections::HashSet;

use crate::arena::Arena;
use crate::room::Room;
use crate::server::{LOBBY, Session, tell, text_line};
use crate::{ChatError, Message, RoomId, UserId, clean_text, validate_name};

// ANCHOR: directory
/// Who is where: the rooms, and the names in use.
pub(crate) struct Directory {
    /// Every room, named by `RoomId`. Stage 2 has only the lobby.
    rooms: Arena<RoomId, Room>,
    /// The names in use, lowercased, so that `Alice` cannot pose as `alice`.
    names: HashSet<String>,
    /// The room every user joins first.
    lobby: RoomId,
}
// ANCHOR_END: directory

impl Directory {
    /// A directory with only the lobby.
    pub(crate) fn new() -> Self {
        let mut rooms = Arena::new();
        let lobby = rooms.insert(Room::new(LOBBY));
        Directory {
            rooms,
            names: HashSet::new(),
            lobby,
        }
    }

    // ANCHOR: handle_line
    /// Handles one line from `id`: the name it asked for, or a chat message.
    pub(crate) fn handle_line(&mut self, id: UserId, line: &[u8], session: &mut Session) {
        let Ok(text) = std::str::from_utf8(line) else {
            tell(session, format_args!("error: {}", ChatError::InvalidUtf8));
            return;
        };
        let text = text.trim();
        let (Some(name), Some(room)) = (&session.name, session.room) else {
            self.register(id, text, session);
            return;
        };
        if text.is_empty() {
            return;
        }
        let body = clean_text(text);
        let message = text_line(Message {
            from: name,
            body: &body,
        });
        if let Some(room) = self.rooms.get(room) {
            room.broadcast(id, &message);
        }
    }
    // ANCHOR_END: handle_line

    // ANCHOR: register
    /// Gives `id` the name it asked for and puts it in the lobby, or says why not.
    fn register(&mut self, id: UserId, name: &str, session: &mut Session) {
        let checked = validate_name(name).and_then(|()| {
            if self.names.insert(name.to_ascii_lowercase()) {
                Ok(())
            } else {
                Err(ChatError::NameTaken(name.to_owned()))
            }
        });
        if let Err(error) = checked {
            tell(session, format_args!("error: {error}. what is your name?"));
            return;
        }
        let Some(room) = self.rooms.get_mut(self.lobby) else {
            return;
        };
        tell(
            session,
            format_args!("welcome, {name}! you are in #{}", room.name()),
        );
        room.broadcast(
            id,
            &text_line(format_args!("* {name} joined #{}", room.name())),
        );
        room.add(id, &session.outbox);
        session.name = Some(name.to_owned());
        session.room = Some(self.lobby);
    }
    // ANCHOR_END: register

    // ANCHOR: depart
    /// Takes `id` out of its room and frees its name, telling the room.
    pub(crate) fn depart(&mut self, id: UserId, session: &mut Session) {
        let Some(name) = session.name.take() else {
            return;
        };
        self.names.remove(&name.to_ascii_lowercase());
        if let Some(room) = session
            .room
            .take()
            .and_then(|room| self.rooms.get_mut(room))
        {
            room.remove(id);
            room.broadcast(
                id,
                &text_line(format_args!("* {name} left #{}", room.name())),
            );
        }
    }
    // ANCHOR_END: depart
}
