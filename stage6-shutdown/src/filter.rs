//! Message filters: closures that the server runs over every chat line before
//! relaying it (patterns 15, 16 and 21).
//!
//! Which filters run is up to whoever sets up the server, so, unlike the
//! commands, they are an open set, stored as trait objects. Two things changed
//! since stage 4:
//! - Every client's task runs the chain, on whichever thread tokio picks, so
//!   the chain is shared: filters are `Fn + Send + Sync`, and a filter with
//!   state guards it with a `Mutex` ([`flood_guard`]).
//! - A filter may need to wait (ask a moderation service, look something up),
//!   so a filter returns a *future*. Each closure's future has its own type,
//!   and a `Vec` holds one type: the futures are boxed and pinned, a
//!   [`VerdictFuture`] (pattern 21).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::{self, Future};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

// ANCHOR: verdict
/// What a filter decides about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let the text through unchanged.
    Allow,
    /// Replace the text with this one.
    Modify(String),
    /// Refuse the message; the reason is told to the sender only.
    Block(String),
}
// ANCHOR_END: verdict

// ANCHOR: filter_type
/// The future a filter returns.
///
/// - `Box<dyn Future>`: the chain holds filters whose futures have different
///   types, so it can only hold them behind a pointer, as trait objects.
/// - `Pin`: a future may borrow from itself across an `.await`, so once polled
///   it must not move; `Box::pin` puts it where it will stay.
/// - `Send`: the task awaiting it may move to another thread at any `.await`.
/// - No lifetime, so `'static`: the future owns what it needs. A filter that
///   uses the text after its first `.await` copies it into the future.
pub type VerdictFuture = Pin<Box<dyn Future<Output = Verdict> + Send>>;

/// A filter, given the sender's name and the text: `filter(sender, text)`.
///
/// `Fn`, not stage 4's `FnMut`: many tasks call the same filter, possibly at
/// the same moment, and all they can share is `&self`. `Send + Sync` because
/// the chain is shared between threads.
pub type Filter = Box<dyn Fn(&str, &str) -> VerdictFuture + Send + Sync>;
// ANCHOR_END: filter_type

// ANCHOR: chain
/// Filters that run one after another over each chat message. Start with
/// `FilterChain::default()`, which has none.
#[derive(Default)]
pub struct FilterChain {
    /// The filters, in the order they run.
    filters: Vec<Filter>,
}

impl FilterChain {
    /// Adds a filter that decides at once, without waiting for anything.
    pub fn push(&mut self, filter: impl Fn(&str, &str) -> Verdict + Send + Sync + 'static) {
        // An already-finished future; boxing it costs one small allocation.
        self.push_async(move |sender, text| Box::pin(future::ready(filter(sender, text))));
    }

    /// Adds a filter that may wait before it decides.
    pub fn push_async(
        &mut self,
        filter: impl Fn(&str, &str) -> VerdictFuture + Send + Sync + 'static,
    ) {
        self.filters.push(Box::new(filter));
    }

    /// Runs every filter over `text`, in order: the text to relay, or why the
    /// message is blocked (for the sender's eyes).
    ///
    /// Each filter sees the text as the filters before it left it, and the first
    /// [`Verdict::Block`] stops the chain. When every filter allows, the result
    /// borrows `text`. The caller must not hold a lock while awaiting this: a
    /// slow filter would then stall every task that needs the lock.
    pub async fn apply<'a>(&self, sender: &str, text: &'a str) -> Result<Cow<'a, str>, String> {
        let mut text = Cow::Borrowed(text);
        for filter in &self.filters {
            match filter(sender, &text).await {
                Verdict::Allow => {}
                Verdict::Modify(changed) => text = Cow::Owned(changed),
                Verdict::Block(reason) => return Err(reason),
            }
        }
        Ok(text)
    }
}
// ANCHOR_END: chain

/// Closures cannot be printed, so this shows how many filters there are; it
/// lets a struct that holds a chain still derive `Debug`.
impl fmt::Debug for FilterChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterChain")
            .field("filters", &self.filters.len())
            .finish()
    }
}

// ANCHOR: max_length
/// A filter that blocks messages longer than `limit` characters.
///
/// The closure's type has no name we could write, so the signature names the
/// trait it implements instead. It needs no state, so it is an `Fn`, which
/// promises callers more than `FnMut` would. `move` copies `limit` into the
/// closure, which outlives this call.
pub fn max_length(limit: usize) -> impl Fn(&str, &str) -> Verdict {
    move |_sender, text| {
        if text.chars().count() > limit {
            Verdict::Block(format!("a message is at most {limit} characters long"))
        } else {
            Verdict::Allow
        }
    }
}
// ANCHOR_END: max_length

// ANCHOR: mask_words
/// A filter that replaces each of `words` with one `*` per character.
///
/// Matching ignores case and only takes whole words, a word being a run of
/// letters and digits: masking "darn" changes "Darn it" but not "darned".
/// Entries that are not a single such word (empty, or with spaces or
/// punctuation) could never match and are ignored. The text is rebuilt only if
/// it contains a listed word, so a clean message costs no allocation.
pub fn mask_words(words: Vec<String>) -> impl Fn(&str, &str) -> Verdict {
    // Lowercased once here rather than once per message.
    let words: Vec<String> = words
        .iter()
        .filter(|word| !word.is_empty() && word.chars().all(char::is_alphanumeric))
        .map(|word| lowercase(word).collect())
        .collect();

    move |_sender, text| {
        let mut text_words = text.split(|c: char| !c.is_alphanumeric());
        if !text_words.any(|word| is_listed(&words, word)) {
            return Verdict::Allow;
        }
        let mut masked = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(char::is_alphanumeric) {
            masked.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(rest.len());
            let word = &rest[..end];
            if is_listed(&words, word) {
                for _ in word.chars() {
                    masked.push('*');
                }
            } else {
                masked.push_str(word);
            }
            rest = &rest[end..];
        }
        masked.push_str(rest);
        Verdict::Modify(masked)
    }
}
// ANCHOR_END: mask_words

/// The characters of `word` in lowercase, without building a new string.
fn lowercase(word: &str) -> impl Iterator<Item = char> + '_ {
    word.chars().flat_map(char::to_lowercase)
}

/// Whether `word` is one of `listed`, which are already lowercase.
fn is_listed(listed: &[String], word: &str) -> bool {
    listed
        .iter()
        .any(|listed| lowercase(word).eq(listed.chars()))
}

// ANCHOR: flood_guard
/// A filter that blocks a sender who sends the same text more than
/// `max_repeats` times in a row.
///
/// "In a row" means with nobody else speaking in between: the guard remembers
/// only the last message, so its memory stays the same however many people
/// chat.
///
/// In stage 4 this closure was `FnMut` and changed its captured state
/// directly. Shared between tasks it must be `Fn`, so the state moves into a
/// `Mutex`: interior mutability that is safe across threads. The lock is held
/// for a comparison and a copy, never across an `.await`.
///
/// # Panics
/// If `max_repeats` is 0, which would block every message.
pub fn flood_guard(max_repeats: usize) -> impl Fn(&str, &str) -> Verdict + Send + Sync {
    assert!(max_repeats > 0, "flood_guard needs max_repeats >= 1");
    let last = Mutex::new(LastMessage::default());

    move |sender, text| {
        // A filter that panicked while holding the lock leaves it poisoned;
        // the state is two strings and a count, always consistent, so use it.
        let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sender == last.sender && text == last.text {
            last.times += 1;
        } else {
            last.sender.clear();
            last.sender.push_str(sender);
            last.text.clear();
            last.text.push_str(text);
            last.times = 1;
        }
        if last.times > max_repeats {
            Verdict::Block(format!(
                "you sent the same message {} times in a row",
                last.times
            ))
        } else {
            Verdict::Allow
        }
    }
}

/// What [`flood_guard`] remembers. The strings are reused, so they only
/// allocate when a longer message arrives.
#[derive(Default)]
struct LastMessage {
    sender: String,
    text: String,
    times: usize,
}
// ANCHOR_END: flood_guard

// ANCHOR: slow_mode
/// A filter that spaces each sender's messages at least `interval` apart
/// ("slow mode"): a message that comes sooner is held until its turn, not
/// refused.
///
/// # Panics
/// If `interval` is zero, which would hold nothing.
pub fn slow_mode(interval: Duration) -> impl Fn(&str, &str) -> VerdictFuture + Send + Sync {
    assert!(
        !interval.is_zero(),
        "slow_mode needs an interval above zero"
    );
    let turns = Mutex::new(Turns::default());
    move |sender, _text| {
        let now = Instant::now();
        // The lock is held to book a turn, and released before any waiting.
        let turn = turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .book(sender, now, interval);
        if turn <= now {
            return Box::pin(future::ready(Verdict::Allow));
        }
        // The future owns all it needs (a time), so it is `'static`. Awaiting
        // it parks this sender's task alone; the room goes on.
        Box::pin(async move {
            sleep_until(turn).await;
            Verdict::Allow
        })
    }
}
// ANCHOR_END: slow_mode

/// What [`slow_mode`] remembers: each sender's next free turn.
#[derive(Default)]
struct Turns {
    next: HashMap<String, Instant>,
    /// The map is swept of past turns when it grows to this many senders, so
    /// that it holds about as many as spoke in the last `interval`.
    sweep_at: usize,
}

impl Turns {
    /// Books `sender`'s next message: returns when it may go out, and moves
    /// the sender's next free turn `interval` after that.
    fn book(&mut self, sender: &str, now: Instant, interval: Duration) -> Instant {
        if let Some(next) = self.next.get_mut(sender) {
            let turn = (*next).max(now);
            *next = turn + interval;
            return turn;
        }
        if self.next.len() >= self.sweep_at {
            self.next.retain(|_, next| *next > now);
            self.sweep_at = (self.next.len() * 2).max(64);
        }
        self.next.insert(sender.to_owned(), now + interval);
        now
    }
}
