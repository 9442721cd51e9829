//! The accept loop and the state every client's task shares.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::addresses::Addresses;
use crate::directory::Directory;
use crate::{FilterChain, ServerConfig, client};

/// What every client's task shares, behind one `Arc` (pattern 19).
///
/// Stage 4 kept this on one thread in `Rc`s and `RefCell`s. tokio runs tasks
/// on several threads and `tokio::spawn` demands `Send + 'static`: a task may
/// move to another thread, and may outlive whoever spawned it. So: `Arc`
/// instead of `Rc`, and a lock instead of a `RefCell`.
// ANCHOR: shared
pub struct Shared {
    /// The limits, read-only: no lock needed.
    pub config: ServerConfig,
    /// The filters, shared read-only (a filter with state locks it itself).
    pub filters: FilterChain,
    /// Rooms and names.
    ///
    /// A `std` lock, not tokio's: it is held for a few microseconds and never
    /// across an `.await`, where a blocking lock is the fast choice. An
    /// `RwLock`, so that `/list` and `/rooms` read side by side, and a chat
    /// message needs no lock at all (it goes through the room's channel).
    /// Measured against a `Mutex` (`cargo bench -p stage5-async --bench
    /// directory_lock`, measurements/RESULTS.md): a tie when one operation in
    /// two writes, 0.66 of the time when one in a hundred does.
    directory: RwLock<Directory>,
    /// How many connections each client address holds.
    addresses: Addresses,
}
// ANCHOR_END: shared

// ANCHOR: lock
impl Shared {
    /// Locks the directory for reading (`/list`, `/rooms`), which other
    /// readers may do at the same time, for one statement or block.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        // A task that panicked while holding the lock "poisons" it. Every
        // change to the directory is a few plain assignments, and the server
        // should go on serving the others, so the lock is taken anyway.
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the directory for changing it: nobody else holds it meanwhile.
    pub fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        self.directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
// ANCHOR_END: lock

// ANCHOR: run
/// Serves clients forever: a task per client.
pub async fn run(listener: TcpListener, config: ServerConfig, filters: FilterChain) {
    // One permit per allowed user; each client's task holds one.
    let places = Arc::new(Semaphore::new(config.max_users));
    let shared = Arc::new(Shared {
        directory: RwLock::new(Directory::new(config.clone())),
        addresses: Addresses::new(config.max_per_address, config.max_unnamed_per_address),
        config,
        filters,
    });
    // ANCHOR: accept_loop
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                // Typically "too many open files": back off instead of spinning.
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let max_users = shared.config.max_users;
        let free_place = || Arc::clone(&places).try_acquire_owned().ok();
        let (place, address) = match shared.addresses.place_for(peer.ip(), max_users, free_place) {
            Ok(places) => places,
            Err(refusal) => {
                // Its own short task, so that the accept loop never waits.
                tokio::spawn(client::turn_away(stream, refusal));
                continue;
            }
        };
        // Chat lines are small and latency matters: send each at once.
        let _ = stream.set_nodelay(true);
        eprintln!("{peer} connected");
        // The task gets its own handle on the shared state: `Arc::clone`
        // makes the task `'static`, as `tokio::spawn` requires.
        tokio::spawn(client::serve(Arc::clone(&shared), stream, place, address));
    }
    // ANCHOR_END: accept_loop
}
// ANCHOR_END: run
