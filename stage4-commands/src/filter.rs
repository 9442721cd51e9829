//! Message filters: closures that the server runs over every chat line before
//! relaying it (patterns 15 and 16).
//!
//! Which filters run is up to whoever sets up the server, so, unlike the
//! commands, they are an open set. Each closure has its own anonymous type, and
//! a `Vec` holds values of one type only: the chain therefore stores them as
//! trait objects, `Box<dyn FnMut…>`. The functions at the bottom of this file
//! go the other way and *return* closures, ready to be pushed onto a chain.

use std::borrow::Cow;
use std::fmt;

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
/// A filter, given the sender's name and the text: `filter(sender, text)`.
///
/// Why `FnMut`:
/// - `FnOnce` could be called only once, and a filter runs for every message.
/// - `Fn` is called through a shared reference, so it cannot change what it
///   captured: no counting, no remembering the last message ([`flood_guard`]
///   shows the compiler refusing exactly that).
/// - `FnMut` may change its captured state. The price is that calling it needs
///   `&mut`, so [`FilterChain::apply`] takes `&mut self`; the server owns its
///   one chain, so that costs nothing. Every `Fn` closure is also `FnMut`, so
///   stateless filters such as [`max_length`] fit as well.
///
/// There is no `+ Send`: in this stage every filter runs on the server's one
/// thread, so nothing needs it. Stage 5 shares the filters between threads and
/// adds the bound there, where the compiler's error shows why. Every filter in
/// this file captures only `Send` data, so none of them will have to change.
pub type Filter = Box<dyn FnMut(&str, &str) -> Verdict>;
// ANCHOR_END: filter_type

// ANCHOR: chain
/// Filters that run one after another over each chat message. Start with
/// `FilterChain::default()`, which has none.
#[derive(Default)]
pub struct FilterChain {
    /// The filters, in the order they run.
    filters: Vec<Filter>,
}

// ANCHOR: chain_impl
impl FilterChain {
    /// Adds `filter` at the end of the chain.
    ///
    /// Taking `impl FnMut` rather than a [`Filter`] lets callers pass a plain
    /// closure; boxing it is this method's job.
    pub fn push(&mut self, filter: impl FnMut(&str, &str) -> Verdict + 'static) {
        self.filters.push(Box::new(filter));
    }

    /// Runs every filter over `text`, in order: the text to relay, or why the
    /// message is blocked (for the sender's eyes).
    ///
    /// Each filter sees the text as the filters before it left it, and the first
    /// [`Verdict::Block`] stops the chain. When every filter allows, the result
    /// borrows `text`: nothing is allocated.
    pub fn apply<'a>(&mut self, sender: &str, text: &'a str) -> Result<Cow<'a, str>, String> {
        let mut text = Cow::Borrowed(text);
        for filter in &mut self.filters {
            match filter(sender, &text) {
                Verdict::Allow => {}
                Verdict::Modify(changed) => text = Cow::Owned(changed),
                Verdict::Block(reason) => return Err(reason),
            }
        }
        Ok(text)
    }
}
// ANCHOR_END: chain_impl
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
/// chat. (Counting per sender would need a map that grows with every name ever
/// used.)
///
/// The closure changes the state it captured on every call, so it is only
/// `FnMut`. Were [`Filter`] a `Box<dyn Fn…>`, this function would have to
/// return `impl Fn`, and the compiler would refuse the closure ("cannot
/// assign to `times`, as it is a captured variable in a `Fn` closure"; the
/// book's chapter 4 shows the whole error).
///
/// # Panics
/// If `max_repeats` is 0, which would block every message.
// ANCHOR: flood_guard_fn
pub fn flood_guard(max_repeats: usize) -> impl FnMut(&str, &str) -> Verdict {
    assert!(max_repeats > 0, "flood_guard needs max_repeats >= 1");
    // The last message and how many times in a row it came. The two strings
    // are reused, so they only allocate when a longer message arrives.
    let mut last_sender = String::new();
    let mut last_text = String::new();
    let mut times = 0;

    move |sender, text| {
        if sender == last_sender && text == last_text {
            times += 1;
        } else {
            last_sender.clear();
            last_sender.push_str(sender);
            last_text.clear();
            last_text.push_str(text);
            times = 1;
        }
        if times > max_repeats {
            Verdict::Block(format!("you sent the same message {times} times in a row"))
        } else {
            Verdict::Allow
        }
    }
}
// ANCHOR_END: flood_guard_fn
// ANCHOR_END: flood_guard
