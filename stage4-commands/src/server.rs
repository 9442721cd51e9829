//! The server: one thread, many non-blocking sockets, polled in turn.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::mem;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use crate::addresses::{AddressPlace, Addresses};
use crate::arena::Arena;
use crate::connection::{Connection, Session};
use crate::directory::Directory;
use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::{
    ChatError, Command, FilterChain, Input, LineError, Lines, ServerConfig, UserId, parse_input,
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
    /// Its place among its address's connections, given back when the
    /// `User` is dropped.
    address: AddressPlace,
    status: Status,
}
// ANCHOR_END: user

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
    /// How many connections each client address holds.
    addresses: Addresses,
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
        let addresses = Addresses::new(config.max_per_address, config.max_unnamed_per_address);
        Ok(Server {
            listener,
            users: Arena::new(),
            addresses,
            directory: Directory::new(config, filters),
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
            // ANCHOR: max_users
            let max_users = self.directory.config().max_users;
            let below_max = || (self.users.len() < max_users).then_some(());
            let address = match self.addresses.place_for(peer.ip(), max_users, below_max) {
                Ok(((), address)) => address,
                Err(reason) => {
                    // A fresh socket's send buffer is empty, so this one
                    // short write completes at once.
                    let _ = writeln!(stream, "error: {reason}; try again later");
                    let _ = stream.shutdown(Shutdown::Write);
                    self.refused.push(Refused { stream, since: now });
                    continue;
                }
            };
            // ANCHOR_END: max_users
            let max_outbox = self.directory.config().max_outbox_bytes;
            let outbox = Rc::new(RefCell::new(Outbox::new(max_outbox)));
            let connection = Connection::new(Rc::clone(&outbox));
            connection.tell("welcome! what is your name?");
            let id = self.users.insert(User {
                stream,
                inbox: Inbox::new(self.directory.config().max_line_len),
                outbox,
                session: Session::Unauthenticated(connection),
                connected: now,
                last_heard: now,
                address,
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
        // `self.directory`. A `&mut self` method call here would borrow all of
        // `self`, `user` included, and not compile.
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
        match user.read_lines(id, directory) {
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
        let kicks = self.directory.take_kicks();
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
        // ANCHOR: write_limits
        if user.status == Status::Open {
            let config = directory.config();
            let unnamed = matches!(user.session, Session::Unauthenticated(_));
            let error = if user.outbox.borrow().is_overflowed() {
                let limit = config.max_outbox_bytes;
                Some(ChatError::TooSlow { limit })
            } else if unnamed && now.duration_since(user.connected) >= config.name_timeout {
                Some(ChatError::NoName {
                    after: config.name_timeout,
                })
            } else if now.duration_since(user.last_heard) >= config.idle_timeout {
                Some(ChatError::Idle {
                    after: config.idle_timeout,
                })
            } else {
                None
            };
            if let Some(error) = error {
                directory.depart(id, &mut user.session, "");
                hang_up(user, &error, now);
            }
        }
        // ANCHOR_END: write_limits
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

impl User {
    // ANCHOR: lines
    /// Handles every complete line in the inbox, and returns how the
    /// connection ends, if one of them ends it.
    fn read_lines(&mut self, id: UserId, directory: &mut Directory) -> Option<Ending> {
        let mut ending = None;
        let mut lines = Lines::new(self.inbox.pending(), directory.config().max_line_len);
        for line in &mut lines {
            let line = match line {
                Ok(line) => line,
                Err(error @ LineError::TooLong { .. }) => {
                    ending = Some(Ending::Refused(error.into()));
                    break;
                }
                Err(error) => {
                    directory.refuse(&self.session, error.into());
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
                Ok(input) => directory.handle(id, input, &mut self.session),
                Err(error) => directory.refuse(&self.session, error.into()),
            }
        }
        let consumed = lines.consumed();
        self.inbox.consume(consumed);
        if matches!(self.session, Session::InRoom(_)) {
            // It chose a name: one fewer unnamed connection from its address.
            self.address.named();
        }
        ending
    }
    // ANCHOR_END: lines
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
pub(crate) fn text_line(text: impl Display) -> Rc<str> {
    Rc::from(format!("{text}\n"))
}
