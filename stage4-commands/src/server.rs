//! The server: one thread, many non-blocking sockets, polled in turn.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::mem;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use crate::arena::Arena;
use crate::connection::{Connection, InRoom, Named, Unauthenticated};
use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::room::Room;
use crate::{
    ChatError, Command, FilterChain, HELP, Input, LineError, Lines, RoomId, ServerConfig, UserId,
    parse_input, validate_name, validate_room_name,
};

/// How long the loop sleeps when a whole pass over the sockets found nothing to do.
///
/// This is the price of polling: shorter means quicker replies and more CPU
/// spent asking idle sockets for data they do not have. Stage 5 lets the
/// operating system wake us instead.
const IDLE_SLEEP: Duration = Duration::from_millis(2);

/// How long a client being disconnected gets to read its last line.
const LINGER: Duration = Duration::from_secs(1);

/// How long to stop accepting after `accept` fails (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

// ANCHOR: user
/// One connected client.
struct User {
    /// The socket. The `User` is its only owner (no `try_clone` anywhere), so
    /// removing the user from the arena drops it and closes the connection (pattern 9).
    stream: TcpStream,
    /// Received bytes that do not form a complete line yet.
    inbox: Inbox,
    /// Lines waiting to be written to this client; the same queue the
    /// session's `Connection` and the user's room push to (pattern 6).
    outbox: Rc<RefCell<Outbox>>,
    /// Where the client is in its life, as a typestate `Connection`.
    session: Session,
    /// When the client connected, for the name timeout.
    connected: Instant,
    /// When the client last sent anything, for the idle timeout.
    last_heard: Instant,
    status: Status,
}

/// The typestate connection of one user, in whichever state it is now.
///
/// The server keeps every user in one arena, so it needs one type for all
/// states: this enum. Each transition takes the connection out, consumes it,
/// and puts the next state back.
enum Session {
    /// Connected, asked for a name.
    Unauthenticated(Connection<Unauthenticated>),
    /// Named and in a room: a full member of the chat.
    InRoom(Connection<InRoom>),
    /// Out of the chat: quit, kicked or disconnected; only the socket is left.
    Departed,
}
// ANCHOR_END: user

impl Session {
    /// Takes the connection out for a transition, leaving `Departed` behind.
    fn take(&mut self) -> Session {
        mem::replace(self, Session::Departed)
    }

    /// Queues one line for the client, whatever its state.
    fn tell(&self, text: impl Display) {
        match self {
            Session::Unauthenticated(connection) => connection.tell(text),
            Session::InRoom(connection) => connection.tell(text),
            Session::Departed => {}
        }
    }
}

/// Where a connection is in its life, as far as the socket is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Reading and writing normally.
    Open,
    /// Told why it is being disconnected; we finish writing, close our side and
    /// discard its input until it closes too or [`LINGER`] has passed.
    HangingUp {
        /// When the hang-up started.
        since: Instant,
    },
    /// Done: the user is removed from the arena at the end of this pass.
    Closed,
}

/// How reading a client's lines ended, when it ends the connection.
enum Ending {
    /// `/quit`, with the goodbye the room sees.
    Quit(String),
    /// A line the server cannot get past.
    Refused(ChatError),
}

// ANCHOR: server
/// All chat state, owned by the one thread that runs [`Server::run`].
///
/// Because only one thread ever touches it, `Rc` and `RefCell` are enough:
/// no locks, no atomics.
pub struct Server {
    listener: TcpListener,
    /// Every connected client, named by `UserId` (pattern 8).
    users: Arena<UserId, User>,
    /// Rooms, names, rules: the state users share. A field of its own so that
    /// it can be borrowed while one user is borrowed from `users` (pattern 7).
    directory: Directory,
    /// The users to visit in this pass; kept between passes to reuse its memory.
    pass: Vec<UserId>,
    /// No `accept` before this moment; set after `accept` fails.
    accept_paused_until: Instant,
    /// Connections turned away because the server is full, closing gracefully.
    refused: Vec<Refused>,
}

/// A connection told that the server is full: our side is shut, and its input
/// is drained until it closes or [`LINGER`] passes, so that the refusal is not
/// destroyed by a reset.
struct Refused {
    stream: TcpStream,
    since: Instant,
}

/// Who is where, and the rules they play by.
struct Directory {
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
struct Kick {
    target: UserId,
    /// The line the target is told, and the notice its room gets.
    told: String,
    notice: String,
}
// ANCHOR_END: server

impl Server {
    /// Prepares a server on `listener`; nothing happens until [`run`](Self::run).
    pub fn new(
        listener: TcpListener,
        config: ServerConfig,
        filters: FilterChain,
    ) -> io::Result<Server> {
        // `accept` must return at once when nobody is waiting, or one idle
        // listener would stall every connected client.
        listener.set_nonblocking(true)?;
        let mut rooms = Arena::new();
        let default_room = rooms.insert(Room::new(config.default_room()));
        let by_name = HashMap::from([(config.default_room().to_owned(), default_room)]);
        Ok(Server {
            listener,
            users: Arena::new(),
            directory: Directory {
                config,
                rooms,
                by_name,
                names: HashMap::new(),
                default_room,
                filters,
                kicks: Vec::new(),
            },
            pass: Vec::new(),
            accept_paused_until: Instant::now(),
            refused: Vec::new(),
        })
    }

    // ANCHOR: run
    /// Serves clients forever.
    pub fn run(mut self) -> ! {
        loop {
            let busy = self.poll_once(Instant::now());
            if !busy {
                thread::sleep(IDLE_SLEEP);
            }
        }
    }

    /// One pass over every socket: accept, read and handle, carry out kicks,
    /// write, remove the departed. Returns whether anything happened.
    fn poll_once(&mut self, now: Instant) -> bool {
        let mut busy = self.accept_new(now);
        busy |= self.drain_refused(now);
        let mut pass = mem::take(&mut self.pass);
        pass.clear();
        pass.extend(self.users.keys());
        for &id in &pass {
            busy |= self.read_from(id, now);
        }
        busy |= self.carry_out_kicks(now);
        // Write after all reads, so that a message read in this pass reaches
        // everyone in this pass.
        for &id in &pass {
            busy |= self.write_to(id, now);
        }
        self.pass = pass;
        busy
    }
    // ANCHOR_END: run

    fn accept_new(&mut self, now: Instant) -> bool {
        if now < self.accept_paused_until {
            return false;
        }
        let mut accepted = false;
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(connection) => connection,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return accepted,
                Err(e) => {
                    // Typically "too many open files". Retrying on every pass
                    // would spin and flood the log: pause accepting a while.
                    eprintln!("accept failed: {e}");
                    self.accept_paused_until = now + ACCEPT_BACKOFF;
                    return accepted;
                }
            };
            accepted = true;
            if let Err(e) = stream.set_nonblocking(true) {
                eprintln!("cannot serve {peer}: {e}");
                continue;
            }
            let max_users = self.directory.config.max_users();
            if self.users.len() >= max_users {
                // A fresh socket's send buffer is empty, so this one short
                // write completes at once.
                let _ = writeln!(
                    stream,
                    "error: the server is full ({max_users} users); try again later"
                );
                let _ = stream.shutdown(Shutdown::Write);
                self.refused.push(Refused { stream, since: now });
                continue;
            }
            let max_outbox = self.directory.config.max_outbox_bytes();
            let outbox = Rc::new(RefCell::new(Outbox::new(max_outbox)));
            let connection = Connection::new(Rc::clone(&outbox));
            connection.tell("welcome! what is your name?");
            let id = self.users.insert(User {
                stream,
                inbox: Inbox::new(self.directory.config.max_line_len()),
                outbox,
                session: Session::Unauthenticated(connection),
                connected: now,
                last_heard: now,
                status: Status::Open,
            });
            eprintln!("{id} connected from {peer}, {} online", self.users.len());
        }
    }

    /// Drains the refused connections; drops each once it has closed, failed
    /// or had its [`LINGER`].
    fn drain_refused(&mut self, now: Instant) -> bool {
        let before = self.refused.len();
        let mut scratch = [0; 4096];
        self.refused
            .retain_mut(|refused| match refused.stream.read(&mut scratch) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    now.duration_since(refused.since) < LINGER
                }
                Err(_) => false,
            });
        self.refused.len() != before
    }

    // ANCHOR: read_from
    /// Reads what `id` has sent and handles every complete line.
    fn read_from(&mut self, id: UserId, now: Instant) -> bool {
        // Split borrow (pattern 7): naming the fields separately lets `user`
        // borrow `self.users` mutably while the handlers change
        // `self.directory`.
        let Server {
            users, directory, ..
        } = self;
        let Some(user) = users.get_mut(id) else {
            return false;
        };
        match user.status {
            Status::Open => {}
            Status::HangingUp { .. } => return discard_input(user),
            Status::Closed => return false,
        }
        match user.inbox.read_from(&mut user.stream) {
            Ok(0) => {
                directory.depart(id, &mut user.session, "");
                user.status = Status::Closed;
                return true;
            }
            Ok(_) => user.last_heard = now,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return false,
            Err(e) => {
                eprintln!("{id}: {e}");
                directory.depart(id, &mut user.session, "");
                user.status = Status::Closed;
                return true;
            }
        }
        // ANCHOR: lines
        let mut ending = None;
        let mut lines = Lines::new(user.inbox.pending(), directory.config.max_line_len());
        for line in &mut lines {
            let line = match line {
                Ok(line) => line,
                Err(error @ LineError::TooLong { .. }) => {
                    ending = Some(Ending::Refused(error.into()));
                    break;
                }
                Err(error) => {
                    directory.refuse(&user.session, error.into());
                    continue;
                }
            };
            match parse_input(line) {
                // The session ends after the loop, once the inbox is consumed,
                // and the goodbye must outlive that: made owned (pattern 13).
                Ok(Input::Command(Command::Quit(goodbye))) => {
                    ending = Some(Ending::Quit(goodbye.into_owned()));
                    break;
                }
                Ok(input) => directory.handle(id, input, &mut user.session),
                Err(error) => directory.refuse(&user.session, error.into()),
            }
        }
        let consumed = lines.consumed();
        user.inbox.consume(consumed);
        // ANCHOR_END: lines
        match ending {
            Some(Ending::Quit(goodbye)) => {
                directory.depart(id, &mut user.session, &goodbye);
                let bye = text_line("* bye");
                user.outbox.borrow_mut().push_last(bye);
                user.status = Status::HangingUp { since: now };
            }
            Some(Ending::Refused(error)) => {
                // The rest of the line is unread, so the next line's start
                // is unknown: say why and hang up.
                directory.depart(id, &mut user.session, "");
                hang_up(user, &error, now);
            }
            None => {}
        }
        true
    }
    // ANCHOR_END: read_from

    // ANCHOR: kicks
    /// Disconnects the users kicked in this pass.
    ///
    /// A kick is decided while the kicker's `User` is borrowed from the arena,
    /// and the target lives in the same arena, so it cannot be changed then.
    /// Its id is written down instead, and used here, where nothing is borrowed.
    fn carry_out_kicks(&mut self, now: Instant) -> bool {
        let kicks = mem::take(&mut self.directory.kicks);
        let busy = !kicks.is_empty();
        for kick in kicks {
            let Some(target) = self.users.get_mut(kick.target) else {
                continue;
            };
            if target.status != Status::Open {
                continue;
            }
            self.directory
                .depart(kick.target, &mut target.session, &kick.notice);
            let words = text_line(format_args!("* {}", kick.told));
            target.outbox.borrow_mut().replace_with(words);
            target.status = Status::HangingUp { since: now };
        }
        busy
    }
    // ANCHOR_END: kicks

    /// Writes what is queued for `id`, enforces the write-side limits, and
    /// removes the user once the connection is done.
    fn write_to(&mut self, id: UserId, now: Instant) -> bool {
        let Server {
            users, directory, ..
        } = self;
        let Some(user) = users.get_mut(id) else {
            return false;
        };
        if user.status == Status::Open {
            let config = &directory.config;
            let unnamed = matches!(user.session, Session::Unauthenticated(_));
            let error = if user.outbox.borrow().is_overflowed() {
                let limit = config.max_outbox_bytes();
                Some(ChatError::TooSlow { limit })
            } else if unnamed && now.duration_since(user.connected) >= config.name_timeout() {
                Some(ChatError::NoName {
                    after: config.name_timeout(),
                })
            } else if now.duration_since(user.last_heard) >= config.idle_timeout() {
                Some(ChatError::Idle {
                    after: config.idle_timeout(),
                })
            } else {
                None
            };
            if let Some(error) = error {
                directory.depart(id, &mut user.session, "");
                hang_up(user, &error, now);
            }
        }
        let written = user.outbox.borrow_mut().write_to(&mut user.stream);
        let busy = match written {
            Ok(bytes) => bytes > 0,
            Err(e) => {
                eprintln!("{id}: {e}");
                directory.depart(id, &mut user.session, "");
                user.status = Status::Closed;
                true
            }
        };
        if let Status::HangingUp { since } = user.status {
            if user.outbox.borrow().is_empty() {
                // Everything is written: the client reads end of input after it.
                let _ = user.stream.shutdown(Shutdown::Write);
            }
            if now.duration_since(since) >= LINGER {
                user.status = Status::Closed;
            }
        }
        if user.status == Status::Closed {
            // Dropping the `User` closes its socket.
            users.remove(id);
            eprintln!("{id} disconnected");
            return true;
        }
        busy
    }
}

impl Directory {
    // ANCHOR: handle
    /// Handles one parsed line from `id` (never `/quit`: that ends the
    /// connection, which is the caller's business).
    fn handle(&mut self, id: UserId, input: Input<'_>, session: &mut Session) {
        // Each arm takes the connection by value and puts back the state it
        // ends in: the old one, or the next one after a transition.
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
    }

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
    // ANCHOR_END: handle

    /// Tells the client what was wrong with a line; a client still choosing
    /// a name is asked again.
    fn refuse(&self, session: &Session, error: ChatError) {
        match session {
            Session::Unauthenticated(_) => {
                session.tell(format_args!("error: {error}. what is your name?"));
            }
            _ => session.tell(format_args!("error: {error}")),
        }
    }

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

    // ANCHOR: register
    /// Gives a new connection its name, puts it in the default room and shows
    /// the message of the day: `Unauthenticated` to `Authenticated` to
    /// `InRoom`. If the name is refused, the connection is handed back.
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
            self.config.default_room()
        ));
        if let Some(motd) = self.config.motd() {
            for line in motd.lines() {
                connection.tell(format_args!("* {line}"));
            }
        }
        Ok(connection)
    }
    // ANCHOR_END: register

    /// Checks the answer to the name prompt: a valid name, or an admin's
    /// name followed by the admin password. Returns the name, and whether it
    /// is an admin's.
    fn check_new_name<'a>(&self, answer: &'a str) -> Result<(&'a str, bool), ChatError> {
        let (name, password) = match answer.split_once(char::is_whitespace) {
            Some((name, password)) => (name, Some(password.trim())),
            None => (answer, None),
        };
        if self.is_admin_name(name) {
            return match (password, self.config.admin_password()) {
                (None, _) => Err(ChatError::Reserved(name.to_owned())),
                (Some(given), Some(expected)) if given == expected => Ok((name, true)),
                (Some(_), _) => Err(ChatError::WrongPassword(name.to_owned())),
            };
        }
        // Not an admin's name: the whole answer is the name, so a space in
        // it is refused like any other character a name may not contain.
        validate_name(answer, self.config.max_name_len()).map_err(ChatError::BadName)?;
        Ok((answer, false))
    }

    /// Whether `name` is reserved for an admin.
    fn is_admin_name(&self, name: &str) -> bool {
        self.config
            .admins()
            .iter()
            .any(|admin| admin.eq_ignore_ascii_case(name))
    }

    /// Changes a member's name and tells the room.
    fn rename(
        &mut self,
        id: UserId,
        new: &str,
        connection: &mut Connection<InRoom>,
    ) -> Result<(), ChatError> {
        validate_name(new, self.config.max_name_len()).map_err(ChatError::BadName)?;
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
                let max = self.config.max_rooms();
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
        }
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
    fn depart(&mut self, id: UserId, session: &mut Session, reason: &str) {
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

/// Tells the user why it is being disconnected and starts the hang-up.
fn hang_up(user: &mut User, error: &ChatError, now: Instant) {
    let words = text_line(format_args!("error: {error}, disconnecting"));
    user.outbox.borrow_mut().replace_with(words);
    user.status = Status::HangingUp { since: now };
}

/// Reads and drops input from a client being disconnected. Closing a socket
/// with unread input makes the kernel send a reset, which can destroy the
/// last line before the client reads it.
fn discard_input(user: &mut User) -> bool {
    let mut scratch = [0; 4096];
    match user.stream.read(&mut scratch) {
        Ok(0) => {
            user.status = Status::Closed;
            true
        }
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
        Err(_) => {
            user.status = Status::Closed;
            true
        }
    }
}

/// Formats `text` once, with its newline, as a line that many outboxes can share.
fn text_line(text: impl Display) -> Rc<str> {
    Rc::from(format!("{text}\n"))
}
