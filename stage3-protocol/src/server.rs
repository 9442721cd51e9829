//! The server: one thread, many non-blocking sockets, polled in turn.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, Read};
use std::mem;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use crate::arena::Arena;
use crate::directory::Directory;
use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::{ChatError, Frame, FrameError, FrameIter, LineError, Reply, RoomId, UserId};

// ANCHOR: limits
/// The limits that protect the server, and every other client, from one client.
///
/// Every field is public and [`Default`] gives the values `main` uses; tests
/// shorten them. (Nothing stops a caller from setting a limit of zero: stage 4
/// replaces this struct with a builder that validates.)
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest accepted line in bytes, not counting the line ending.
    pub max_line_len: usize,
    /// Most bytes that may wait for a client that is not reading.
    pub max_outbox_bytes: usize,
    /// A client that sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 1024,
            max_outbox_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(300),
        }
    }
}
// ANCHOR_END: limits

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

/// The name of the room every user joins first.
pub const LOBBY: &str = "lobby";

/// The longest name a client may use, in bytes.
pub const MAX_NAME_LEN: usize = 32;

// ANCHOR: user
/// One connected client.
struct User {
    /// The socket. The `User` is its only owner (no `try_clone` anywhere), so
    /// removing the user from the arena drops it and closes the connection (pattern 9).
    stream: TcpStream,
    /// Received bytes that do not form a complete line yet.
    inbox: Inbox,
    /// Everything about the user the chat logic may change while `inbox` is
    /// borrowed; a separate struct so that the two can be borrowed apart.
    session: Session,
    /// When the client last sent anything, for the idle timeout.
    last_heard: Instant,
    status: Status,
}

/// The user as the chat sees them.
pub(crate) struct Session {
    /// `None` until the client has chosen a valid, unused name.
    pub(crate) name: Option<String>,
    /// `None` until the user has a name.
    pub(crate) room: Option<RoomId>,
    /// Lines waiting to be written to this user. Shared with the `Room`, which
    /// queues other members' messages here (pattern 6).
    pub(crate) outbox: Rc<RefCell<Outbox>>,
}

impl Session {
    /// Queues one line for the user.
    pub(crate) fn tell(&self, text: impl Display) {
        self.outbox.borrow_mut().push(text_line(text));
    }

    /// Tells the user what was wrong with its last frame.
    pub(crate) fn refuse(&self, error: &ChatError) {
        self.tell(Reply::Err(&error.to_string()));
    }
}

/// Where a connection is in its life.
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
// ANCHOR_END: user

// ANCHOR: server
/// All chat state, owned by the one thread that runs [`Server::run`].
///
/// Because only one thread ever touches it, `Rc` and `RefCell` are enough:
/// no locks, no atomics.
pub struct Server {
    listener: TcpListener,
    limits: Limits,
    /// Every connected client, named by `UserId` (pattern 8).
    users: Arena<UserId, User>,
    /// Rooms and names: the state users share. A field of its own so that it
    /// can be borrowed while one user is borrowed from `users` (pattern 7).
    directory: Directory,
    /// The users to visit in this pass; kept between passes to reuse its memory.
    pass: Vec<UserId>,
    /// No `accept` before this moment; set after `accept` fails.
    accept_paused_until: Instant,
}

// ANCHOR_END: server

impl Server {
    /// Prepares a server on `listener`; nothing happens until [`run`](Self::run).
    pub fn new(listener: TcpListener, limits: Limits) -> io::Result<Server> {
        // `accept` must return at once when nobody is waiting, or one idle
        // listener would stall every connected client.
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            limits,
            users: Arena::new(),
            directory: Directory::new(),
            pass: Vec::new(),
            accept_paused_until: Instant::now(),
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

    /// One pass over every socket: accept, read and handle, write, remove the
    /// departed. Returns whether anything happened.
    fn poll_once(&mut self, now: Instant) -> bool {
        let mut busy = self.accept_new(now);
        let mut pass = mem::take(&mut self.pass);
        pass.clear();
        pass.extend(self.users.keys());
        for &id in &pass {
            busy |= self.read_from(id, now);
        }
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
            let (stream, peer) = match self.listener.accept() {
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
            let outbox = Rc::new(RefCell::new(Outbox::new(self.limits.max_outbox_bytes)));
            outbox
                .borrow_mut()
                .push(text_line(Reply::Ok("welcome! send NICK:<name> to begin")));
            let id = self.users.insert(User {
                stream,
                inbox: Inbox::new(self.limits.max_line_len),
                session: Session {
                    name: None,
                    room: None,
                    outbox,
                },
                last_heard: now,
                status: Status::Open,
            });
            eprintln!("{id} connected from {peer}, {} online", self.users.len());
        }
    }

    // ANCHOR: read_from
    /// Reads what `id` has sent and handles every complete line.
    fn read_from(&mut self, id: UserId, now: Instant) -> bool {
        // Split borrow (pattern 7): naming the fields separately lets `user`
        // borrow `self.users` mutably while the handlers change
        // `self.directory`. A `&mut self` method call here would borrow all of
        // `self`, `user` included, and not compile.
        let Server {
            users,
            directory,
            limits,
            ..
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
        match user.read_frames(id, directory, limits.max_line_len) {
            Some(Ok(Frame::Quit(reason))) => {
                directory.depart(id, &mut user.session, &reason);
                let goodbye = text_line(Reply::Ok("bye"));
                user.session.outbox.borrow_mut().push_last(goodbye);
                user.status = Status::HangingUp { since: now };
            }
            Some(Err(error)) => {
                // The rest of the line is unread, so the next line's start
                // is unknown: say why and hang up.
                directory.depart(id, &mut user.session, "");
                hang_up(user, &error.into(), now);
            }
            Some(Ok(_)) | None => {}
        }
        true
    }
    // ANCHOR_END: read_from

    /// Writes what is queued for `id`, enforces the write-side limits, and
    /// removes the user once the connection is done.
    fn write_to(&mut self, id: UserId, now: Instant) -> bool {
        let Server {
            users,
            directory,
            limits,
            ..
        } = self;
        let Some(user) = users.get_mut(id) else {
            return false;
        };
        if user.status == Status::Open {
            let limit = limits.max_outbox_bytes;
            let error = if user.session.outbox.borrow().is_overflowed() {
                Some(ChatError::TooSlow { limit })
            } else if now.duration_since(user.last_heard) >= limits.idle_timeout {
                Some(ChatError::Idle {
                    after: limits.idle_timeout,
                })
            } else {
                None
            };
            if let Some(error) = error {
                directory.depart(id, &mut user.session, "");
                hang_up(user, &error, now);
            }
        }
        let written = user.session.outbox.borrow_mut().write_to(&mut user.stream);
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
            if user.session.outbox.borrow().is_empty() {
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
    // ANCHOR: frames
    /// Handles every complete frame in the inbox, and returns the one that
    /// ends the connection, if any: a `QUIT`, or a line that is too long.
    fn read_frames(
        &mut self,
        id: UserId,
        directory: &mut Directory,
        max_line_len: usize,
    ) -> Option<Result<Frame<'static>, FrameError>> {
        // ANCHOR: frames_body
        // A QUIT or a line too long ends the connection. The loop only notes
        // it, and `read_from` hangs up in one place, after the inbox is
        // consumed. That choice makes the QUIT frame outlive the buffer it
        // borrows, which `consume` changes: `into_owned` (pattern 13) lets it.
        // (Handling QUIT inside the loop would need no copy; the price would be
        // a hang-up written twice.)
        let mut ending: Option<Result<Frame<'static>, FrameError>> = None;
        // `frames` borrows `self.inbox` while the handlers change
        // `self.session`: the split borrow again, one level down.
        let mut frames = FrameIter::new(self.inbox.pending(), max_line_len);
        for frame in &mut frames {
            match frame {
                Ok(quit @ Frame::Quit(_)) => {
                    ending = Some(Ok(quit.into_owned()));
                    break;
                }
                Ok(frame) => directory.handle(id, frame, &mut self.session),
                Err(error @ FrameError::Line(LineError::TooLong { .. })) => {
                    ending = Some(Err(error));
                    break;
                }
                Err(error) => self.session.refuse(&error.into()),
            }
        }
        let consumed = frames.consumed();
        self.inbox.consume(consumed);
        ending
        // ANCHOR_END: frames_body
    }
    // ANCHOR_END: frames
}

/// Tells the user why it is being disconnected and starts the hang-up.
fn hang_up(user: &mut User, error: &ChatError, now: Instant) {
    let words = text_line(Reply::Err(&format!("{error}, disconnecting")));
    user.session.outbox.borrow_mut().replace_with(words);
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
