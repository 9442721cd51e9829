//! A sender's side: numbered, time-stamped messages, at a rate or flat out.

use std::sync::atomic::Ordering::{Relaxed, Release};
use std::time::Duration;

use chat_tools::connect::Writer;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::{Phase, Plan};
use crate::payload::{self, Payload, now_micros};
use crate::progress::Progress;

/// Sends this sender's messages once the run reaches [`Phase::Sending`];
/// returns why it stopped early, if it did.
pub async fn send(
    writer: &mut Writer,
    index: u32,
    plan: &Plan,
    progress: &Progress,
    mut phase: watch::Receiver<Phase>,
) -> Option<String> {
    let started = phase.wait_for(|p| *p != Phase::Connecting).await;
    if started.map_or(true, |p| *p == Phase::Stopping) {
        return None;
    }
    let error = send_all(writer, index, plan, progress, phase).await;
    progress.senders_done.fetch_add(1, Release);
    error
}

async fn send_all(
    writer: &mut Writer,
    index: u32,
    plan: &Plan,
    progress: &Progress,
    mut phase: watch::Receiver<Phase>,
) -> Option<String> {
    let stopping = phase.wait_for(|p| *p == Phase::Stopping);
    tokio::pin!(stopping);
    let mut ticker = (plan.rate > 0).then(|| {
        let period = Duration::from_secs(1) / plan.rate;
        // Senders take turns within each period instead of all writing at
        // the same instant.
        let offset = period * index / plan.senders.max(1);
        let mut ticker = interval_at(Instant::now() + offset, period);
        // Burst: a sender that fell behind (this process or the server was
        // busy) catches up, so the load offered over the run stays `rate`.
        // Delay would quietly lower the load exactly when the server struggles.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        ticker
    });
    let room = plan.room_of(index) as usize;
    let mut line = Vec::with_capacity(64);
    for seq in 0..plan.messages {
        if let Some(ticker) = &mut ticker {
            tokio::select! {
                biased;
                _ = &mut stopping => return None,
                _ = ticker.tick() => {}
            }
        }
        line.clear();
        let sent_micros = now_micros();
        payload::encode(
            &mut line,
            Payload {
                sender: index,
                seq,
                sent_micros,
            },
        );
        tokio::select! {
            biased;
            _ = &mut stopping => return None,
            // A no-op for TCP; TLS and WebSocket may hold a line until flushed.
            written = async {
                writer.write_all(&line).await?;
                writer.flush().await
            } => if let Err(e) = written {
                return Some(e.to_string());
            },
        }
        progress.sent[room].fetch_add(1, Relaxed);
        progress.first_send_micros.fetch_min(sent_micros, Relaxed);
        progress.last_send_micros.fetch_max(now_micros(), Relaxed);
    }
    None
}
