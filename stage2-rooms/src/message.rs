//! A chat message, and the rules for names and text.

use std::fmt;

use crate::ChatError;

/// The longest name a client may use, in bytes.
pub const MAX_NAME_LEN: usize = 32;

/// One chat message: who says it and what they say.
///
/// In stage 1 the client wrote its own name into every line. Now the server
/// knows which connection a line came from, so the name comes from there and a
/// client cannot speak for someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The sender's name, as registered.
    pub from: &'a str,
    /// The text, already cleaned by [`clean_text`].
    pub body: &'a str,
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}> {}", self.from, self.body)
    }
}

// ANCHOR: validate_name
/// Checks a name: 1 to [`MAX_NAME_LEN`] bytes of ASCII letters, digits, `_` or `-`.
///
/// The narrow alphabet keeps names readable in every terminal and impossible to
/// confuse with the `<name>` framing or with a control sequence.
pub fn validate_name(name: &str) -> Result<(), ChatError> {
    if name.is_empty() {
        return Err(ChatError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ChatError::NameTooLong { max: MAX_NAME_LEN });
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ChatError::InvalidName);
    }
    Ok(())
}
// ANCHOR_END: validate_name

// ANCHOR: clean_text
/// Replaces control characters with U+FFFD.
///
/// Text goes to other people's terminals, where an escape sequence could clear
/// the screen or rewrite what they see. This copies every message; stage 3
/// copies only the rare message that needs a change.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}
// ANCHOR_END: clean_text

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_message() {
        let msg = Message {
            from: "alice",
            body: "hi: there",
        };
        assert_eq!(msg.to_string(), "<alice> hi: there");
    }

    #[test]
    fn validates_names() {
        assert!(validate_name("alice_2-b").is_ok());
        assert!(matches!(validate_name(""), Err(ChatError::EmptyName)));
        assert!(matches!(validate_name("a b"), Err(ChatError::InvalidName)));
        assert!(matches!(
            validate_name(&"x".repeat(MAX_NAME_LEN + 1)),
            Err(ChatError::NameTooLong { .. })
        ));
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(
            clean_text("hi\x1b[2Jthere\x07"),
            "hi\u{FFFD}[2Jthere\u{FFFD}"
        );
        assert_eq!(clean_text("héllo"), "héllo");
    }
}
