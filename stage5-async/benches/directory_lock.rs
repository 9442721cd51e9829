//! `Mutex` or `RwLock` around the directory? Measured, not guessed.
//!
//! One worker thread per core, as tokio starts, each plays members who ask
//! `/list` and `/rooms` (readers) and `/join` another room (a writer): one
//! operation in 2, in 10 or in 100 is a `/join`, the others are reads. All
//! share one [`Directory`]: first behind a
//! `std::sync::Mutex`, then behind a `std::sync::RwLock`, alternately, for
//! `RUNS` runs of each mix. It prints the median time per operation of each
//! lock and their ratio. Run with
//!
//! ```text
//! cargo bench -p stage5-async --bench directory_lock
//! ```
//!
//! It takes a few seconds. The ratio is what to compare: the machine's other
//! work moves the times, but both locks run under the same conditions.

use std::hint::black_box;
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use stage5_async::connection::{Connection, InRoom};
use stage5_async::directory::Directory;
use stage5_async::{Settings, UserId};

/// Rooms the members spread over, so that `/rooms` lists this many.
const ROOMS: usize = 40;
/// Members each thread plays.
const MEMBERS_PER_THREAD: usize = 50;
/// Operations each thread does in one run.
const OPS_PER_THREAD: usize = 20_000;
/// Runs of each lock for each mix; the median is reported.
const RUNS: usize = 9;

/// The two ways to share the directory, behind one interface.
trait Lock: Sync {
    fn new(directory: Directory) -> Self;
    fn read<R>(&self, f: impl FnOnce(&Directory) -> R) -> R;
    fn write<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R;
}

impl Lock for Mutex<Directory> {
    fn new(directory: Directory) -> Self {
        Mutex::new(directory)
    }
    fn read<R>(&self, f: impl FnOnce(&Directory) -> R) -> R {
        f(&self.lock().expect("no thread panics"))
    }
    fn write<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut self.lock().expect("no thread panics"))
    }
}

impl Lock for RwLock<Directory> {
    fn new(directory: Directory) -> Self {
        RwLock::new(directory)
    }
    fn read<R>(&self, f: impl FnOnce(&Directory) -> R) -> R {
        f(&self.read().expect("no thread panics"))
    }
    fn write<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut self.write().expect("no thread panics"))
    }
}

/// The room `i` of the `ROOMS`.
fn room(i: usize) -> String {
    format!("room{}", i % ROOMS)
}

/// Time per operation of one run: `threads` threads, each doing
/// `OPS_PER_THREAD` operations of which one in `join_every` is a `/join`.
fn run<L: Lock>(threads: usize, join_every: usize) -> Duration {
    let settings = Settings {
        max_users: threads * MEMBERS_PER_THREAD,
        max_rooms: ROOMS + 1,
        ..Settings::default()
    };
    let lock = L::new(Directory::new(settings.build().expect("valid settings")));
    // Every thread's members, registered and spread over the rooms first.
    let mut casts: Vec<Vec<Connection<InRoom>>> = (0..threads)
        .map(|t| {
            (0..MEMBERS_PER_THREAD)
                .map(|m| {
                    let id = UserId::next();
                    let name = format!("u{t}x{m}");
                    let mut member = lock.write(|directory| {
                        let joined = directory.register(id, &name).expect("a free name");
                        let (admin, membership) = (joined.admin, joined.membership);
                        Connection::new(id)
                            .authenticate(name.clone(), admin)
                            .enter(membership)
                    });
                    let _ = lock.write(|directory| directory.join(&room(m), &mut member));
                    member
                })
                .collect()
        })
        .collect();
    let start = Barrier::new(threads + 1);
    let began = thread::scope(|scope| {
        for members in &mut casts {
            let (lock, start) = (&lock, &start);
            scope.spawn(move || {
                start.wait();
                for op in 0..OPS_PER_THREAD {
                    let member = &mut members[op % MEMBERS_PER_THREAD];
                    let (turn, kind) = (op / join_every, op % join_every);
                    if kind == join_every - 1 {
                        // Moves on to the next room; its old membership is dropped.
                        let next = room(op / MEMBERS_PER_THREAD + 1);
                        let _ = black_box(lock.write(|d| d.join(&next, member).is_ok()));
                    } else if (turn + kind) % 2 == 0 {
                        black_box(lock.read(|d| d.list(member)));
                    } else {
                        black_box(lock.read(Directory::rooms));
                    }
                }
            });
        }
        start.wait();
        Instant::now()
    });
    began.elapsed() / u32::try_from(OPS_PER_THREAD * threads).expect("a small count")
}

/// The median of `times`.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let threads = thread::available_parallelism()
        .map_or(2, usize::from)
        .max(2);
    println!("{threads} threads, {ROOMS} rooms, {MEMBERS_PER_THREAD} members a thread");
    for join_every in [2, 10, 100] {
        let (mut mutex, mut rwlock) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            mutex.push(run::<Mutex<Directory>>(threads, join_every));
            rwlock.push(run::<RwLock<Directory>>(threads, join_every));
        }
        let (mutex, rwlock) = (median(mutex), median(rwlock));
        let ratio = rwlock.as_secs_f64() / mutex.as_secs_f64();
        println!(
            "L-lock 1/{join_every}-joins mutex {} ns rwlock {} ns rwlock/mutex {ratio:.2}",
            mutex.as_nanos(),
            rwlock.as_nanos(),
        );
    }
}
