//! What the load clients send, and how they sort the lines that arrive.

use std::io::Write as _;
use std::sync::LazyLock;
use std::time::Instant;

/// The instant every send time is measured from.
///
/// All clients live in this one process, so one monotonic clock serves senders
/// and receivers alike: no skew between machines, no wall-clock jumps.
static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Microseconds since the process-wide origin.
pub fn now_micros() -> u64 {
    // u64 microseconds last 584,000 years: the cast cannot truncate in practice.
    ORIGIN.elapsed().as_micros() as u64
}

/// The name client number `index` registers with.
///
/// Short on purpose: the server repeats it in every line it relays.
pub fn client_name(index: u32) -> String {
    format!("c{index}")
}

/// The room number `room` stands for, when the clients use several.
pub fn room_name(room: u32) -> String {
    format!("load{room}")
}

/// What one load message carries: enough to check order and measure latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// The index of the sending client; senders are clients `0..senders`.
    pub sender: u32,
    /// The message's number, counting from 0 for each sender.
    pub seq: u32,
    /// When the sender wrote it, in [`now_micros`].
    pub sent_micros: u64,
}

/// Appends the line for `payload`, newline included, to `out`.
///
/// The sender reuses one buffer, so sending allocates nothing.
pub fn encode(out: &mut Vec<u8>, payload: Payload) {
    let Payload {
        sender,
        seq,
        sent_micros,
    } = payload;
    // Writing into a `Vec` cannot fail.
    let _ = writeln!(out, "L {sender} {seq} {sent_micros}");
}

/// Reads the text of a load message, `L <sender> <seq> <micros>`.
pub fn parse_payload(text: &[u8]) -> Option<Payload> {
    let mut fields = text.strip_prefix(b"L ")?.split(|&b| b == b' ');
    let payload = Payload {
        sender: number(fields.next()?)?,
        seq: number(fields.next()?)?,
        sent_micros: number(fields.next()?)?,
    };
    fields.next().is_none().then_some(payload)
}

/// Parses ASCII digits (and nothing else: no sign, no spaces).
fn number<T: std::str::FromStr>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// One line from the server, as the measurement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A load message relayed as `<name> L <sender> <seq> <micros>`.
    Chat(Payload),
    /// `* you missed N messages`: the server says it dropped N lines for this
    /// client, which read too slowly; or, from stage 6 servers sharing a
    /// Redis, `* N messages from other servers were lost on the way …`.
    /// Told, so not lost silently.
    Missed(u64),
    /// A notice such as `* bob joined #lobby`.
    Notice,
    /// A line starting with `error:`.
    Error,
    /// Anything else, including chat lines that are not load messages.
    Other,
}

/// Sorts one line, given without its `\n` (a trailing `\r` is ignored).
pub fn classify(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let missed = line
        .strip_prefix(b"* you missed ")
        .and_then(|rest| rest.strip_suffix(b" messages"));
    let lost_between_servers = line.strip_prefix(b"* ").and_then(|rest| {
        rest.strip_suffix(b" messages from other servers were lost on the way (too many at once)")
    });
    if let Some(count) = missed.or(lost_between_servers).and_then(number) {
        Line::Missed(count)
    } else if line.starts_with(b"* ") {
        Line::Notice
    } else if line.starts_with(b"error:") {
        Line::Error
    } else {
        match relayed_text(line).and_then(parse_payload) {
            Some(payload) => Line::Chat(payload),
            None => Line::Other,
        }
    }
}

/// The text of a relayed chat line `<name> text`.
///
/// Names cannot contain `>`, so the first `> ` ends the name.
fn relayed_text(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"<")?;
    let end = rest.windows(2).position(|pair| pair == b"> ")?;
    Some(&rest[end + 2..])
}

/// Whether `line` names room `room` as `#room`, as a whole word: `#load1`
/// must not match in `#load10`.
pub fn names_room(line: &[u8], room: &str) -> bool {
    let needle = [b"#", room.as_bytes()].concat();
    line.windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle.as_slice())
        .any(|(at, _)| {
            line.get(at + needle.len())
                .is_none_or(|&next| !(next.is_ascii_alphanumeric() || next == b'_' || next == b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_survives_the_round_trip() {
        let payload = Payload {
            sender: 7,
            seq: 123_456,
            sent_micros: 98_765_432_101,
        };
        let mut line = b"<c7> ".to_vec();
        encode(&mut line, payload);
        assert_eq!(line, b"<c7> L 7 123456 98765432101\n");
        let line = line.strip_suffix(b"\n").unwrap();
        assert_eq!(classify(line), Line::Chat(payload));
    }

    #[test]
    fn malformed_payloads_are_not_chat() {
        for line in [
            "<c1> L 1 2",
            "<c1> L 1 2 3 4",
            "<c1> L 1 -2 3",
            "<c1> L 1  2 3",
            "<c1> L a 2 3",
            "<c1> hello",
            "<c1>L 1 2 3",
            "c1 L 1 2 3",
            "L 1 2 3",
            "<c1> L 1 2 99999999999999999999999",
        ] {
            assert_eq!(classify(line.as_bytes()), Line::Other, "{line:?}");
        }
    }

    #[test]
    fn sorts_notices_and_errors() {
        assert_eq!(classify(b"* bob joined #lobby"), Line::Notice);
        assert_eq!(classify(b"* you missed 12 messages\r"), Line::Missed(12));
        assert_eq!(classify(b"* you missed many messages"), Line::Notice);
        let lost = b"* 312 messages from other servers were lost on the way (too many at once)";
        assert_eq!(classify(lost), Line::Missed(312));
        assert_eq!(classify(b"error: you are too slow"), Line::Error);
        assert_eq!(classify(b"welcome, c1! you are in #lobby"), Line::Other);
        assert_eq!(classify(b""), Line::Other);
    }

    #[test]
    fn a_carriage_return_is_ignored() {
        assert_eq!(
            classify(b"<c2> L 2 0 5\r"),
            Line::Chat(Payload {
                sender: 2,
                seq: 0,
                sent_micros: 5
            })
        );
    }

    #[test]
    fn finds_a_room_as_a_whole_word() {
        assert!(names_room(b"you are now in #load1", "load1"));
        assert!(names_room(b"* #load1 has 3 members", "load1"));
        assert!(names_room(b"joined #load10 and #load1.", "load1"));
        assert!(!names_room(b"you are now in #load10", "load1"));
        assert!(!names_room(b"you are now in load1", "load1"));
    }

    #[test]
    fn the_clock_only_moves_forward() {
        let first = now_micros();
        assert!(now_micros() >= first);
    }
}
