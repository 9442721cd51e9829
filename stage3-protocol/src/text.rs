//! Cleaning what clients send, copying only what has to change (pattern 11).
//!
//! Each function returns the text borrowed when it is already fine, and an
//! owned copy only when it had to change; a [`Cow`] says which of the two.

use std::borrow::Cow;

// ANCHOR: cow
// ANCHOR: lowercase
/// Returns `text` in ASCII lowercase, copying it only if it has an uppercase
/// letter. Most clients already send lowercase, so most calls allocate nothing.
pub(crate) fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}
// ANCHOR_END: lowercase

// ANCHOR: replace_controls
/// Replaces every control character in `text` with U+FFFD, copying `text` only
/// if it has one.
///
/// The server relays text to everyone in the room, and control characters
/// would reach their terminals: `"\x1b[2J"` clears the screen, and other escape
/// sequences can do worse.
pub(crate) fn replace_controls(text: &str) -> Cow<'_, str> {
    let controls = text.chars().filter(|c| c.is_control()).count();
    if controls == 0 {
        return Cow::Borrowed(text);
    }
    // U+FFFD takes 3 bytes and a control character at least 1, so this is
    // enough room: one allocation, never a second to grow.
    let mut clean = String::with_capacity(text.len() + 2 * controls);
    for c in text.chars() {
        clean.push(if c.is_control() {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        });
    }
    Cow::Owned(clean)
}
// ANCHOR_END: replace_controls
// ANCHOR_END: cow

/// The first `max` bytes of `text` at most, for an error that repeats what a
/// client sent: it may have sent a whole line where one word was expected.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    // Cutting inside a multi-byte character would not be a `str`.
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
