//! A generational arena: index-based storage (pattern 8).
//!
//! Values live in a `Vec` and are named by a [`Key`]: the slot's index plus the
//! slot's *generation*. Removing a value frees its slot for reuse and bumps the
//! generation, so a key kept by mistake after its value was removed finds
//! nothing instead of finding whoever reused the slot. Memory stays bounded by
//! the most values ever alive at once, not by how many were ever inserted.

use std::marker::PhantomData;

// ANCHOR: key
/// Names one slot of an [`Arena`] at one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    index: u32,
    generation: u32,
}
// ANCHOR_END: key

impl Key {
    /// The slot's position, for display only.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many values lived in this slot before this one.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

// ANCHOR: slot
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}
// ANCHOR_END: slot

// ANCHOR: arena
// ANCHOR: arena_insert_get
/// Values of type `T` addressed by keys of type `K`.
///
/// `K` is a newtype over [`Key`] (a `UserId`, a `RoomId`), so the compiler
/// refuses to look up a user with a room's key.
pub struct Arena<K, T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots, reused before the `Vec` grows.
    free: Vec<u32>,
    len: usize,
    /// `K` appears only in signatures; this marker ties it to the type.
    _key: PhantomData<fn(K) -> K>,
}

impl<K: From<Key> + Into<Key> + Copy, T> Arena<K, T> {
    /// An empty arena.
    pub fn new() -> Self {
        Arena {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            _key: PhantomData,
        }
    }

    // ANCHOR: arena_insert
    /// Stores `value` and returns the key that names it.
    pub fn insert(&mut self, value: T) -> K {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return Key {
                index,
                generation: slot.generation,
            }
            .into();
        }
        // The operating system runs out of sockets long before 2^32 users.
        let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 live values");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key {
            index,
            generation: 0,
        }
        .into()
    }
    // ANCHOR_END: arena_insert

    // ANCHOR: arena_get
    /// The value named by `key`, unless it has been removed.
    pub fn get(&self, key: K) -> Option<&T> {
        let key = key.into();
        let slot = self.slots.get(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_ref()
    }
    // ANCHOR_END: arena_get

    /// Mutable access to the value named by `key`, unless it has been removed.
    pub fn get_mut(&mut self, key: K) -> Option<&mut T> {
        let key = key.into();
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_mut()
    }
    // ANCHOR_END: arena_insert_get

    // ANCHOR: remove_signature
    /// Takes the value out; `key` and every copy of it stop working.
    pub fn remove(&mut self, key: K) -> Option<T> {
        let key = key.into();
        // ANCHOR_END: remove_signature
        // Exercise 2.2: see "Your job" in chapter 2.
        // ANCHOR: exercise_2_2
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        Some(value)
        // ANCHOR_END: exercise_2_2
    }
    // ANCHOR_END: arena

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The keys of all stored values, in slot order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.iter().map(|(key, _)| key)
    }

    /// All stored values with their keys, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (K, &T)> + '_ {
        self.slots.iter().zip(0..).filter_map(|(slot, index)| {
            let value = slot.value.as_ref()?;
            let key = Key {
                index,
                generation: slot.generation,
            };
            Some((key.into(), value))
        })
    }
}

impl<K: From<Key> + Into<Key> + Copy, T> Default for Arena<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Plain = Arena<Key, &'static str>;

    #[test]
    fn a_removed_key_never_finds_the_slots_next_value() {
        let mut arena = Plain::new();
        let alice = arena.insert("alice");
        assert_eq!(arena.remove(alice), Some("alice"));
        let bob = arena.insert("bob");
        assert_eq!(bob.index(), alice.index(), "the slot is reused");
        assert_eq!(arena.get(alice), None, "the stale key finds nothing");
        assert_eq!(arena.remove(alice), None);
        assert_eq!(arena.get(bob), Some(&"bob"));
        assert_eq!(arena.len(), 1);
    }

    #[test]
    fn memory_is_bounded_by_the_most_values_alive_at_once() {
        let mut arena = Plain::new();
        for _ in 0..1000 {
            let key = arena.insert("x");
            arena.remove(key);
        }
        assert_eq!(arena.slots.len(), 1);
        assert!(arena.is_empty());
    }

    #[test]
    fn keys_lists_live_values_only() {
        let mut arena = Plain::new();
        let a = arena.insert("a");
        let b = arena.insert("b");
        let c = arena.insert("c");
        arena.remove(b);
        assert_eq!(arena.keys().collect::<Vec<_>>(), vec![a, c]);
    }
}
