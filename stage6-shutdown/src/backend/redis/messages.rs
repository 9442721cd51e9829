//! What the other servers say, as it arrives on the link's subscription.
//!
//! Anyone who can reach the Redis can publish on its channels, so what
//! arrives is checked for shape, as a client's bytes are: one line, no
//! control characters, a bounded length, valid names. What is not well
//! formed is dropped. (A well-formed lie still gets through: Redis must be
//! reachable by the servers only.)

use std::sync::Arc;

use crate::backend::Inbound;
use crate::{validate_name, validate_room_name};

// ANCHOR: parse
/// What a message on `channel` says, unless it is this server's own (`me`)
/// or not well formed.
pub(super) fn parse(
    channel: &str,
    payload: &[u8],
    me: &str,
    max_line_len: usize,
) -> Option<Inbound> {
    let payload = std::str::from_utf8(payload).ok()?;
    let Some(room) = channel.strip_prefix("chat:room:") else {
        // The only other channel this link subscribes to: its own kicks.
        let mut parts = payload.splitn(3, '\n');
        let (name, by, reason) = (parts.next()?, parts.next()?, parts.next()?);
        // The reason ends up in a notice: one clean line, as a client's.
        let clean = !reason.contains(char::is_control) && reason.len() <= max_line_len;
        let names = validate_name(name, max_line_len).and(validate_name(by, max_line_len));
        return (clean && names.is_ok()).then(|| Inbound::Kick {
            name: name.to_owned(),
            by: by.to_owned(),
            reason: reason.to_owned(),
        });
    };
    validate_room_name(room).ok()?;
    let (server, said) = payload.split_once(' ')?;
    if server == me {
        // Delivered here already, when it was said.
        return None;
    }
    let (id, line) = said.split_once(' ')?;
    let id = match id {
        "-" => None,
        id => Some(id.parse().ok()?),
    };
    // One line, newline last and no other control character, no longer than
    // a name and a client's line.
    let text = line.strip_suffix('\n')?;
    let one_line = !text.contains(char::is_control);
    (one_line && line.len() <= 2 * max_line_len).then(|| Inbound::Said {
        room: room.to_owned(),
        id,
        line: Arc::from(line),
    })
}
// ANCHOR_END: parse

#[cfg(test)]
mod tests {
    use super::*;

    fn said(channel: &str, payload: &str) -> Option<Inbound> {
        parse(channel, payload.as_bytes(), "me", 100)
    }

    #[test]
    fn a_line_from_another_server_is_delivered() {
        let Some(Inbound::Said { room, id, line }) = said("chat:room:rust", "b 7 <bob> hi\n")
        else {
            panic!("expected a line for #rust");
        };
        assert_eq!((room.as_str(), id, &*line), ("rust", Some(7), "<bob> hi\n"));
        let notice = said("chat:room:rust", "b - * bob joined #rust\n");
        assert!(matches!(notice, Some(Inbound::Said { id: None, .. })));
    }

    #[test]
    fn own_and_malformed_messages_are_dropped() {
        for (channel, payload) in [
            ("chat:room:rust", "me 7 <me> hi\n"),
            ("chat:room:rust", "b 7 <bob> hi"),
            ("chat:room:rust", "b 7 <bob> one\ntwo\n"),
            ("chat:room:rust", "b x <bob> hi\n"),
            ("chat:room:Not A Room", "b 7 <bob> hi\n"),
            ("chat:room:rust", &format!("b 7 {}\n", "x".repeat(300))),
            ("chat:room:rust", "b 7 <bob> \x1b[2J\n"),
            ("chat:kick:me", "bob\nroot\nspam)\n<carol> forged"),
            ("chat:kick:me", "bob\nnot a name\nspam"),
        ] {
            assert!(
                said(channel, payload).is_none(),
                "{channel} {payload:?} was accepted"
            );
        }
    }

    #[test]
    fn a_kick_names_the_user_the_kicker_and_the_reason() {
        let Some(Inbound::Kick { name, by, reason }) = said("chat:kick:me", "bob\nroot\nspam")
        else {
            panic!("expected a kick");
        };
        assert_eq!(
            (name.as_str(), by.as_str(), reason.as_str()),
            ("bob", "root", "spam")
        );
    }
}
