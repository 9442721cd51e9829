//! The rules for user names and room names.

use crate::ChatError;

/// The longest name a client may use, in bytes.
pub const MAX_NAME_LEN: usize = 32;

// ANCHOR: validate_name
/// Checks a name: 1 to [`MAX_NAME_LEN`] bytes of ASCII letters, digits, `_` or `-`.
///
/// The narrow alphabet keeps names readable in every terminal, and keeps `:`
/// out of them: replies such as `MSG:<from>:<text>` use it as a separator.
pub fn validate_name(name: &str) -> Result<(), ChatError> {
    if name.is_empty() {
        return Err(ChatError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ChatError::NameTooLong { max: MAX_NAME_LEN });
    }
    if !name.bytes().all(is_name_byte) {
        return Err(ChatError::InvalidName);
    }
    Ok(())
}
// ANCHOR_END: validate_name

/// Checks a room name, which the protocol has already lowercased: the same
/// rule as for user names.
pub fn validate_room(room: &str) -> Result<(), ChatError> {
    if room.is_empty() || room.len() > MAX_NAME_LEN || !room.bytes().all(is_name_byte) {
        return Err(ChatError::InvalidRoom { max: MAX_NAME_LEN });
    }
    Ok(())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names() {
        assert!(validate_name("alice_2-b").is_ok());
        assert!(matches!(validate_name(""), Err(ChatError::EmptyName)));
        assert!(matches!(validate_name("a:b"), Err(ChatError::InvalidName)));
        assert!(matches!(
            validate_name(&"x".repeat(MAX_NAME_LEN + 1)),
            Err(ChatError::NameTooLong { .. })
        ));
    }

    #[test]
    fn validates_rooms() {
        assert!(validate_room("rust-2024").is_ok());
        assert!(validate_room("no spaces").is_err());
        assert!(validate_room(&"r".repeat(MAX_NAME_LEN + 1)).is_err());
    }
}
