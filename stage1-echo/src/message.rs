//! A chat message, parsed from a line of text with `FromStr`.

use std::fmt;
use std::str::FromStr;

use crate::ChatError;

/// The longest name a client may use, in bytes.
pub const MAX_NAME_LEN: usize = 32;

// ANCHOR: message
/// One chat message: who says it and what they say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's name, already validated by [`validate_name`].
    pub from: String,
    /// The text, trimmed and never empty.
    pub body: String,
}
// ANCHOR_END: message

// ANCHOR: from_str
// ANCHOR: from_str_signature
impl FromStr for Message {
    type Err = ChatError;

    /// Parses `name:body`. Only the first `:` separates, so the body may contain more.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        // ANCHOR_END: from_str_signature
        // Exercise 1.1: see "Your job" in chapter 1.
        // ANCHOR: exercise_1_1
        let (name, body) = line.split_once(':').ok_or(ChatError::MissingSeparator)?;
        let name = name.trim();
        validate_name(name)?;
        let body = body.trim();
        if body.is_empty() {
            return Err(ChatError::EmptyBody);
        }
        Ok(Message {
            from: name.to_owned(),
            body: body.to_owned(),
        })
        // ANCHOR_END: exercise_1_1
    }
}
// ANCHOR_END: from_str

// ANCHOR: display
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}> {}", self.from, self.body)
    }
}
// ANCHOR_END: display

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_body() {
        let msg: Message = "alice: hello: world ".parse().unwrap();
        assert_eq!(msg.from, "alice");
        assert_eq!(msg.body, "hello: world");
        assert_eq!(msg.to_string(), "<alice> hello: world");
    }

    #[test]
    fn rejects_each_malformed_shape() {
        assert!(matches!(
            "no separator".parse::<Message>(),
            Err(ChatError::MissingSeparator)
        ));
        assert!(matches!(
            " :hi".parse::<Message>(),
            Err(ChatError::EmptyName)
        ));
        assert!(matches!(
            "alice:   ".parse::<Message>(),
            Err(ChatError::EmptyBody)
        ));
        assert!(matches!(
            "a b:hi".parse::<Message>(),
            Err(ChatError::InvalidName)
        ));
        let long = format!("{}:hi", "x".repeat(MAX_NAME_LEN + 1));
        assert!(matches!(
            long.parse::<Message>(),
            Err(ChatError::NameTooLong { .. })
        ));
    }
}
