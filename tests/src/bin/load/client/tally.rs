//! What a registered client makes of the lines it reads.

use std::sync::atomic::Ordering::Relaxed;

use chat_tools::connect::Reader;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use super::{ClientReport, Phase, Plan};
use crate::payload::{self, Line, Payload, now_micros};
use crate::progress::Progress;

/// A line longer than this is not ours; it is counted and dropped.
const MAX_LINE: usize = 16 * 1024;

/// A registered client's view of the lines it reads.
pub struct Tally<'a> {
    plan: &'a Plan,
    room: u32,
    /// The server this client is connected to.
    server: usize,
    /// This client's own index, if it sends: its own messages must not come back.
    own: Option<u32>,
    /// For each sender of this room, the next message number expected.
    /// Grows on demand, so that idle clients spend nothing on it.
    next_seq: Vec<u32>,
    /// The latencies of the read being handled, in microseconds, from
    /// senders on this client's server and on others, until they go into
    /// the run's histograms together.
    same: Vec<u64>,
    other: Vec<u64>,
    report: &'a mut ClientReport,
}

impl<'a> Tally<'a> {
    /// The tally of client `index`, which sends if `sender`.
    pub fn new(
        plan: &'a Plan,
        index: u32,
        sender: bool,
        report: &'a mut ClientReport,
    ) -> Tally<'a> {
        Tally {
            plan,
            room: plan.room_of(index),
            server: plan.server_of(index),
            own: sender.then_some(index),
            next_seq: Vec::new(),
            same: Vec::new(),
            other: Vec::new(),
            report,
        }
    }

    /// Reads until the run stops or the server hangs up.
    ///
    /// Lines are handled in place in the read buffer, without a `String` each;
    /// only a line cut by the end of the buffer is copied, to join its halves.
    pub async fn receive(
        &mut self,
        reader: &mut BufReader<Reader>,
        progress: &Progress,
        mut phase: watch::Receiver<Phase>,
    ) {
        let stopping = phase.wait_for(|p| *p == Phase::Stopping);
        tokio::pin!(stopping);
        let mut cut = Vec::new();
        loop {
            let used = tokio::select! {
                biased;
                _ = &mut stopping => break,
                chunk = reader.fill_buf() => match chunk {
                    Ok([]) | Err(_) => {
                        self.report.hung_up = true;
                        break;
                    }
                    Ok(bytes) => {
                        self.take_chunk(bytes, &mut cut, progress);
                        bytes.len()
                    }
                },
            };
            reader.consume(used);
        }
    }

    /// Handles every complete line in `bytes`; `cut` holds the start of a line
    /// that an earlier chunk ended in the middle of.
    fn take_chunk(&mut self, bytes: &[u8], cut: &mut Vec<u8>, progress: &Progress) {
        // Lines that arrived in one read arrived at the same time.
        let now = now_micros();
        let delivered_before = self.report.delivered;
        let told_before = self.report.told_missed;
        let mut lines = 0;
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..end];
            rest = &rest[end + 1..];
            lines += 1;
            if cut.is_empty() {
                self.take_line(line, now);
            } else {
                cut.extend_from_slice(line);
                self.take_line(cut, now);
                cut.clear();
            }
        }
        cut.extend_from_slice(rest);
        if cut.len() > MAX_LINE {
            self.report.unexpected.other(cut);
            cut.clear();
        }
        progress.lines.fetch_add(lines, Relaxed);
        let told = self.report.told_missed - told_before;
        if told > 0 {
            progress.told_missed.fetch_add(told, Relaxed);
        }
        let delivered = self.report.delivered - delivered_before;
        if delivered > 0 {
            progress.latencies.record(&self.same, &self.other);
            self.same.clear();
            self.other.clear();
            progress.delivered.fetch_add(delivered, Relaxed);
            progress.last_delivery_micros.fetch_max(now, Relaxed);
        }
    }

    fn take_line(&mut self, line: &[u8], now: u64) {
        match payload::classify(line) {
            Line::Chat(payload) => self.deliver(line, payload, now),
            Line::Missed(count) => {
                self.report.told_missed += count;
            }
            Line::Notice => self.report.unexpected.notices += 1,
            Line::Error => self.report.unexpected.error(line),
            Line::Other => self.report.unexpected.other(line),
        }
    }

    fn deliver(&mut self, line: &[u8], payload: Payload, now: u64) {
        let Payload {
            sender,
            seq,
            sent_micros,
        } = payload;
        // Unknown senders, senders of other rooms and this client's own
        // messages are all routing mistakes, not deliveries.
        let plan = self.plan;
        if sender >= plan.senders || plan.room_of(sender) != self.room || self.own == Some(sender) {
            self.report.unexpected.other(line);
            return;
        }
        // The senders of this room are `room`, `room + rooms`, ...
        let slot = (sender / plan.rooms) as usize;
        if slot >= self.next_seq.len() {
            self.next_seq.resize(slot + 1, 0);
        }
        // One sender's messages travel one TCP stream and one server queue, so
        // they arrive in order: a number below the next expected one is a copy.
        if seq < self.next_seq[slot] {
            self.report.duplicates += 1;
            return;
        }
        self.next_seq[slot] = seq + 1;
        let latency = now.saturating_sub(sent_micros);
        if plan.server_of(sender) == self.server {
            self.same.push(latency);
        } else {
            self.other.push(latency);
        }
        self.report.delivered += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Outcome;
    use crate::latency::Summary;
    use chat_tools::connect::Door;

    fn report() -> ClientReport {
        ClientReport::new(Outcome::Registered)
    }

    #[test]
    fn lines_cut_across_reads_are_joined() {
        let progress = Progress::new(2);
        let mut report = report();
        // Client 5 is in room 1 (with senders 1 and 3) on server 0 of 2;
        // sender 1 is on server 0 too, sender 3 on server 1.
        let plan = Plan {
            doors: vec![Door::tcp("127.0.0.1:1".parse().unwrap()); 2],
            rooms: 2,
            senders: 4,
            messages: 1,
            rate: 0,
        };
        let mut tally = Tally::new(&plan, 5, false, &mut report);
        let mut cut = Vec::new();
        tally.take_chunk(b"<c1> L 1 0 0\n<c3> L 3 0", &mut cut, &progress);
        tally.take_chunk(b" 0\n* c9 joined\n<c1> L 1 0 0\n", &mut cut, &progress);
        tally.take_chunk(
            b"<c1> L 1 1 0\r\n<c2> L 2 0 0\nerror: x\n",
            &mut cut,
            &progress,
        );
        assert_eq!(report.delivered, 3);
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.unexpected.notices, 1);
        assert_eq!(report.unexpected.errors, 1);
        // c2 sends in room 0, not in this client's room 1.
        assert_eq!(report.unexpected.others, 1);
        let spread = progress.latencies.summary();
        let samples = |summary: Option<Summary>| summary.map(|s| s.samples);
        assert_eq!(
            (samples(spread.same), samples(spread.other)),
            (Some(2), Some(1)),
            "c1's two messages came from this client's server, c3's from the other"
        );
        assert_eq!(progress.delivered.load(Relaxed), 3);
        assert_eq!(progress.lines.load(Relaxed), 7);
    }
}
