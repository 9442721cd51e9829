//! Connections per client address, so that no one host takes every place.
//!
//! `max_users` caps the whole server: without a cap per address, one host
//! could fill it with connections that never choose a name, open new ones as
//! the old ones time out, and lock everyone else out. [`Addresses`] counts
//! each address's connections, and how many of them have no name yet, and
//! refuses a connection over either cap. Each connection it lets in holds an
//! [`AddressPlace`], which gives its place back when dropped (pattern 9).
//! [`Addresses::place_for`] asks for both places a new connection needs: its
//! address's, and one of the server's `max_users`.
//!
//! This file is the same in stages 4, 5 and 6. Stage 4's one thread would not
//! need a lock; the tasks of stages 5 and 6 run on several threads. A
//! `std::sync::Mutex` serves both: it is held for one lookup in a map, never
//! across an `.await`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use thiserror::Error;

/// Each address's connections, shared by the table and its places.
type Counts = Arc<Mutex<HashMap<IpAddr, Count>>>;

/// What one address holds now. An address holding nothing has no entry, so
/// the map never holds more entries than there are connections.
#[derive(Debug, Default)]
struct Count {
    /// Its connections, named or not.
    all: usize,
    /// Those of them that have not chosen a name yet.
    unnamed: usize,
}

/// The connections of every client address, and the two caps they obey.
pub struct Addresses {
    /// Most connections from one address at once, named or not.
    max_per_address: usize,
    /// Most connections from one address that have not chosen a name yet.
    max_unnamed: usize,
    counts: Counts,
}

/// Why a connection got no place: its address holds `limit` connections
/// already (or `limit` unnamed ones), the cap it reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("too many connections from your address ({limit})")]
pub struct TooMany {
    /// The cap the address reached.
    pub limit: usize,
}

/// One connection's place in its address's count (pattern 9, RAII).
#[must_use = "the place is given back as soon as it is dropped"]
pub struct AddressPlace {
    counts: Counts,
    ip: IpAddr,
    /// Whether [`named`](Self::named) took it out of the unnamed count.
    named: bool,
}

impl Addresses {
    /// An empty table with these caps (checked by `Settings::build`).
    pub fn new(max_per_address: usize, max_unnamed: usize) -> Self {
        Addresses {
            max_per_address,
            max_unnamed,
            counts: Counts::default(),
        }
    }

    // ANCHOR: admit
    /// A place for a new, unnamed connection from `ip`, or the cap its
    /// address has reached.
    pub fn admit(&self, ip: IpAddr) -> Result<AddressPlace, TooMany> {
        // An IPv4 client of an IPv6 listener shows as `::ffff:a.b.c.d`.
        let ip = ip.to_canonical();
        let mut counts = lock(&self.counts);
        let count = counts.entry(ip).or_default();
        let limit = if count.all >= self.max_per_address {
            self.max_per_address
        } else if count.unnamed >= self.max_unnamed {
            self.max_unnamed
        } else {
            count.all += 1;
            count.unnamed += 1;
            let counts = Arc::clone(&self.counts);
            return Ok(AddressPlace {
                counts,
                ip,
                named: false,
            });
        };
        // Each cap is at least 1, so an address that reached one had an
        // entry already: a refusal leaves no new entry behind.
        Err(TooMany { limit })
    }
    // ANCHOR_END: admit

    // ANCHOR: place_for
    /// A place for a new connection from `ip` among its address's
    /// connections, and one of the server's `max_users` places from
    /// `server_place` (`None` when the server is full); or why not, to tell
    /// the client. Stage 4 counts its users, stages 5 and 6 take a
    /// semaphore's permit: the closure keeps this file the same in all three.
    pub fn place_for<P>(
        &self,
        ip: IpAddr,
        max_users: usize,
        server_place: impl FnOnce() -> Option<P>,
    ) -> Result<(P, AddressPlace), String> {
        let address = self.admit(ip).map_err(|too_many| too_many.to_string())?;
        let full = || format!("the server is full ({max_users} users)");
        // Returning drops `address`, which gives its place back.
        let place = server_place().ok_or_else(full)?;
        Ok((place, address))
    }
    // ANCHOR_END: place_for
}

// ANCHOR: drop

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.ip) {
            count.all -= 1;
            if !self.named {
                count.unnamed -= 1;
            }
            if count.all == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}
// ANCHOR_END: drop

impl AddressPlace {
    /// The client has chosen a name: it no longer counts against the cap on
    /// unnamed connections. Calling it again does nothing.
    pub fn named(&mut self) {
        if !self.named {
            self.named = true;
            if let Some(count) = lock(&self.counts).get_mut(&self.ip) {
                count.unnamed -= 1;
            }
        }
    }
}

/// Locks the counts. A thread that panicked while holding the lock leaves
/// them as they were (each change is one statement), so go on with them.
fn lock(counts: &Counts) -> MutexGuard<'_, HashMap<IpAddr, Count>> {
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const ONE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const ONE: IpAddr = IpAddr::V4(ONE_V4);
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn unnamed_connections_have_their_own_cap() {
        let addresses = Addresses::new(3, 2);
        let mut first = addresses.admit(ONE).expect("a first place");
        let _second = addresses.admit(ONE).expect("a second unnamed place");
        assert_eq!(addresses.admit(ONE).err(), Some(TooMany { limit: 2 }));
        assert!(
            addresses.admit(TWO).is_ok(),
            "another address is not affected"
        );
        first.named();
        first.named();
        let _third = addresses.admit(ONE).expect("a place once one has a name");
        assert_eq!(addresses.admit(ONE).err(), Some(TooMany { limit: 3 }));
    }

    #[test]
    fn a_dropped_place_is_given_back() {
        let addresses = Addresses::new(1, 1);
        let mut place = addresses.admit(ONE).expect("a first place");
        place.named();
        assert!(addresses.admit(ONE).is_err());
        drop(place);
        assert!(addresses.admit(ONE).is_ok());
        assert!(
            lock(&addresses.counts).is_empty(),
            "no entry for an idle address"
        );
    }

    #[test]
    fn a_full_server_gives_the_address_place_back() {
        let addresses = Addresses::new(1, 1);
        let full = addresses.place_for(ONE, 64, || None::<()>);
        assert_eq!(full.err().as_deref(), Some("the server is full (64 users)"));
        let (_, _place) = (addresses.place_for(ONE, 64, || Some(())))
            .expect("the address's place was given back with the refusal");
        let over_cap = addresses.place_for(ONE, 64, || -> Option<()> {
            panic!("an address over its cap must not take one of the server's places")
        });
        let expected = "too many connections from your address (1)";
        assert_eq!(over_cap.err().as_deref(), Some(expected));
    }

    #[test]
    fn an_ipv4_client_of_an_ipv6_listener_is_one_address() {
        let addresses = Addresses::new(1, 1);
        let _place = addresses.admit(ONE).expect("a first place");
        let mapped = IpAddr::V6(ONE_V4.to_ipv6_mapped());
        assert!(addresses.admit(mapped).is_err(), "{mapped} is {ONE}");
    }
}
