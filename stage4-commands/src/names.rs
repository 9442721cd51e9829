//! The rules for user names and room names.
//!
//! Everything that accepts a name checks it here, so the rules live in one
//! place, and every refusal says which character broke them.

use thiserror::Error;

/// The longest room name, in bytes.
pub const MAX_ROOM_NAME_LEN: usize = 32;

// ANCHOR: name_error
/// Why a name was refused.
///
/// The messages are written to follow the thing being named, as in
/// "a room name must not be empty".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name has no characters at all.
    #[error("must not be empty")]
    Empty,
    /// The name is longer than allowed.
    #[error("must be at most {max} bytes long")]
    TooLong {
        /// The limit that was exceeded, in bytes.
        max: usize,
    },
    /// The name contains a character outside its alphabet.
    ///
    /// `{found:?}` prints the character quoted and escaped, so a control
    /// character in a name cannot reach anyone's terminal through this message.
    #[error("may contain only {allowed}, not {found:?}")]
    InvalidChar {
        /// The first character that is not allowed.
        found: char,
        /// The allowed characters, described for humans.
        allowed: &'static str,
    },
}
// ANCHOR_END: name_error

// ANCHOR: validate
/// Checks a user name: 1 to `max_len` bytes of ASCII letters, digits, `_` or `-`.
///
/// The narrow alphabet keeps names readable in every terminal, free of the
/// punctuation that frames them in what the server sends (such as `:` or `<`),
/// and impossible to confuse with a control sequence.
pub fn validate_name(name: &str, max_len: usize) -> Result<(), NameError> {
    check(
        name,
        max_len,
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        "ASCII letters, digits, '_' and '-'",
    )
}

/// Checks a room name: 1 to [`MAX_ROOM_NAME_LEN`] bytes of lowercase ASCII
/// letters, digits, `_` or `-`.
///
/// Room names are case-insensitive (`Rust` and `rust` are the same room).
/// They are stored lowercase so that comparing two of them is a plain
/// string comparison, which is why this check refuses uppercase letters.
pub fn validate_room_name(name: &str) -> Result<(), NameError> {
    check(
        name,
        MAX_ROOM_NAME_LEN,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-',
        "lowercase ASCII letters, digits, '_' and '-'",
    )
}
// ANCHOR_END: validate

/// The checks both kinds of name share; `is_allowed` and `allowed` describe the
/// alphabet, once for the computer and once for the error message.
fn check(
    name: &str,
    max_len: usize,
    is_allowed: fn(char) -> bool,
    allowed: &'static str,
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > max_len {
        return Err(NameError::TooLong { max: max_len });
    }
    match name.chars().find(|&c| !is_allowed(c)) {
        Some(found) => Err(NameError::InvalidChar { found, allowed }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        assert_eq!(validate_name("Alice_2-b", 16), Ok(()));
        assert_eq!(validate_name(&"x".repeat(16), 16), Ok(()));
        assert_eq!(validate_room_name("rust-beginners_2"), Ok(()));
        assert_eq!(validate_room_name(&"r".repeat(MAX_ROOM_NAME_LEN)), Ok(()));
    }

    #[test]
    fn rejects_empty_and_long_names() {
        assert_eq!(validate_name("", 16), Err(NameError::Empty));
        assert_eq!(
            validate_name(&"x".repeat(17), 16),
            Err(NameError::TooLong { max: 16 })
        );
        assert_eq!(validate_room_name(""), Err(NameError::Empty));
        assert_eq!(
            validate_room_name(&"r".repeat(MAX_ROOM_NAME_LEN + 1)),
            Err(NameError::TooLong {
                max: MAX_ROOM_NAME_LEN
            })
        );
    }

    #[test]
    fn reports_the_first_bad_character() {
        assert!(matches!(
            validate_name("al ice", 16),
            Err(NameError::InvalidChar { found: ' ', .. })
        ));
        assert!(matches!(
            validate_name("zoë", 16),
            Err(NameError::InvalidChar { found: 'ë', .. })
        ));
        // Room names must already be lowercase.
        assert!(matches!(
            validate_room_name("Lobby"),
            Err(NameError::InvalidChar { found: 'L', .. })
        ));
    }

    #[test]
    fn messages_escape_control_characters() {
        let error = validate_name("a\u{1b}[2J", 16).unwrap_err();
        assert_eq!(
            error.to_string(),
            r"may contain only ASCII letters, digits, '_' and '-', not '\u{1b}'"
        );
    }
}
