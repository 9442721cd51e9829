//! One run: find or start the server, connect, send, stop, and add it all up.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, sleep_until, timeout};

use crate::Args;
use crate::client::{self, ClientReport, Outcome, Phase, Plan, Unexpected};
use crate::payload::now_micros;
use crate::procfs::{self, Processes};
use crate::progress::Progress;
use crate::report::{Ending, FailureCount, Memory, Report, pids_shown};
use crate::target::Target;

/// How often the main task looks at the clients' counters.
const POLL: Duration = Duration::from_millis(10);

/// The server counts as quiet once no line has reached any client for this
/// long: longer than a second, because a server may sum up arrivals in one
/// notice a second, and that notice belongs to connecting, not to the load.
const QUIET: Duration = Duration::from_millis(1500);

/// A run whose senders are done ends after this long without a delivery.
const STALL_MICROS: u64 = 2_000_000;

/// How long clients get to hand in their figures once told to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the server gets to notice that everyone left before its memory
/// is measured again.
const SETTLE: Duration = Duration::from_millis(500);

/// How often the server's memory is sampled for its peak.
const MEMORY_SAMPLE: Duration = Duration::from_millis(10);

/// Runs the load `args` describe and returns its figures.
pub async fn measure(args: &Args) -> anyhow::Result<Report> {
    let deadline = Instant::now() + Duration::from_secs(args.deadline);
    check_file_limit(args.clients)?;
    let target = Target::find(args, deadline).await?;
    let processes = Processes::new(&target.pids)?;
    let server = target
        .stage
        .clone()
        .or_else(|| processes.name())
        .unwrap_or_else(|| "server".to_owned());
    let addrs: Vec<String> = target.doors.iter().map(|d| d.addr.to_string()).collect();
    let addr = addrs.join(", ");
    eprintln!(
        "load: {} clients -> {server} at {addr}{} over {}",
        args.clients,
        pids_shown(&target.pids).map_or(String::new(), |pids| format!(" ({pids})")),
        args.transport.as_str()
    );

    let mut memory = Memory {
        before: processes.rss_kib(),
        ..Memory::default()
    };
    let peak = (!processes.is_empty()).then(|| PeakMemory::start(processes.clone()));
    let cpu_start = processes.cpu_secs();

    let plan = Arc::new(Plan {
        doors: target.doors.clone(),
        rooms: args.rooms,
        senders: if args.idle_only { 0 } else { args.senders },
        messages: args.messages,
        rate: args.rate,
    });
    let progress = Arc::new(Progress::new(args.rooms));
    let gate = Arc::new(Semaphore::new(args.connect_concurrency as usize));
    let (phase, watcher) = watch::channel(Phase::Connecting);
    let started = now_micros();
    let mut clients = JoinSet::new();
    for index in 0..args.clients {
        let (plan, progress, gate) = (plan.clone(), progress.clone(), gate.clone());
        let watcher = watcher.clone();
        clients.spawn(async move { client::run(index, &plan, &progress, &gate, watcher).await });
    }

    let all_in = wait_until(deadline, || {
        progress.registered.load(Acquire) + progress.failed.load(Relaxed) == args.clients
    })
    .await;
    let registered_at = progress.last_registered_micros.load(Relaxed);
    let register_secs = secs_between(started, registered_at);
    eprintln!(
        "load: {}/{} registered in {register_secs:.3} s",
        progress.registered.load(Relaxed),
        args.clients
    );
    // Every registration is announced to the room: wait for those notices to
    // drain, so that they count neither in the idle memory nor in the
    // latency of the first messages.
    let quiet_from = if all_in {
        wait_quiet(&progress, deadline).await
    } else {
        None
    };
    let quiet = quiet_from.is_some();
    let settle_secs = secs_between(
        registered_at.max(started),
        quiet_from.unwrap_or_else(now_micros),
    );
    memory.connected = processes.rss_kib();
    let cpu_connected = processes.cpu_secs();

    let mut idle_secs = None;
    let ending = if !quiet {
        Ending::Deadline
    } else if args.idle_only {
        let span = Duration::from_secs(args.idle_secs);
        let held = hold_idle(span, deadline).await;
        idle_secs = Some(held.as_secs_f64()).filter(|_| !span.is_zero());
        // Cut short by the deadline, the span no longer means what was asked.
        if held < span {
            Ending::Deadline
        } else {
            Ending::IdleMeasured
        }
    } else if progress.senders.load(Relaxed) == 0 || args.messages == 0 {
        Ending::NothingSent
    } else {
        eprintln!("load: sending");
        phase.send_replace(Phase::Sending);
        wait_for_deliveries(&progress, deadline).await
    };
    let cpu_end = processes.cpu_secs();

    phase.send_replace(Phase::Stopping);
    let reports = gather(clients).await;
    // Every client's socket is closed now.
    sleep(SETTLE).await;
    memory.after = processes.rss_kib();
    memory.peak = peak.map(PeakMemory::finish).map(|peak| {
        [memory.before, memory.connected, memory.after]
            .into_iter()
            .flatten()
            .fold(peak, u64::max)
    });
    let pids = target.pids.clone();
    let server_exit = target.stop().await;

    let totals = Totals::add_up(reports);
    let first_send = progress.first_send_micros.load(Relaxed);
    let report = Report {
        server,
        addr,
        servers: plan.doors.len() as u32,
        redis_url: args.redis_url.clone(),
        transport: args.transport.as_str(),
        pids,
        idle_only: args.idle_only,
        clients: args.clients,
        senders: plan.senders,
        messages: args.messages,
        rate: args.rate,
        rooms: args.rooms,
        registered: progress.registered.load(Relaxed),
        failures: totals.failures,
        register_secs,
        settle_secs,
        sent: progress.sent.iter().map(|sent| sent.load(Relaxed)).sum(),
        send_secs: secs_between(first_send, progress.last_send_micros.load(Relaxed)),
        expected: progress.expected(),
        delivered: totals.delivered,
        told_missed: totals.told_missed,
        duplicates: totals.duplicates,
        delivery_secs: secs_between(first_send, progress.last_delivery_micros.load(Relaxed)),
        latency: progress.latencies.summary(),
        hung_up: totals.hung_up,
        send_errors: totals.send_errors,
        unexpected: totals.unexpected,
        memory,
        cpu_connect_secs: difference(cpu_start, cpu_connected),
        cpu_send_secs: difference(cpu_connected, cpu_end).filter(|_| !args.idle_only),
        idle_secs,
        cpu_idle_secs: difference(cpu_connected, cpu_end).filter(|_| idle_secs.is_some()),
        ending,
        server_exit,
    };
    Ok(report)
}

/// Collects the figures of every client told to stop.
async fn gather(mut clients: JoinSet<ClientReport>) -> Vec<ClientReport> {
    let expected = clients.len();
    let mut reports = Vec::with_capacity(expected);
    let _ = timeout(STOP_TIMEOUT, async {
        while let Some(joined) = clients.join_next().await {
            reports.extend(joined.ok());
        }
    })
    .await;
    // Whoever did not stop in time is cut off; its figures are lost.
    clients.shutdown().await;
    if reports.len() < expected {
        eprintln!(
            "load: warning: {} clients did not stop in time; their figures are missing",
            expected - reports.len()
        );
    }
    reports
}

/// Refuses a run that would run out of file descriptors halfway.
///
/// The server started with --server inherits the same limit, and needs as
/// many descriptors as the clients.
fn check_file_limit(clients: u32) -> anyhow::Result<()> {
    // One socket per client, plus a few for the runtime, standard streams and
    // the server's pipe.
    let needed = u64::from(clients) + 32;
    if let Some(limit) = procfs::open_files_limit()
        && limit < needed
    {
        anyhow::bail!(
            "{clients} clients need about {needed} open files, but this shell allows {limit}: \
             run `ulimit -n 20000` (at most the hard limit, `ulimit -Hn`) and try again"
        );
    }
    Ok(())
}

/// Checks `done` every [`POLL`] until it holds (true) or `deadline` passes (false).
async fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        sleep_until(deadline.min(now + POLL)).await;
    }
}

/// Keeps the registered clients connected and silent for `span`, or until
/// the deadline; returns how long that was.
async fn hold_idle(span: Duration, deadline: Instant) -> Duration {
    let start = Instant::now();
    sleep_until(deadline.min(start + span)).await;
    start.elapsed()
}

/// Waits until no line has arrived for [`QUIET`]; returns when the last one
/// was seen, in [`now_micros`], or `None` if the deadline came first.
async fn wait_quiet(progress: &Progress, deadline: Instant) -> Option<u64> {
    let mut seen = progress.lines.load(Relaxed);
    let mut since = now_micros();
    let quiet = wait_until(deadline, || {
        let lines = progress.lines.load(Relaxed);
        if lines != seen {
            (seen, since) = (lines, now_micros());
        }
        now_micros() - since >= QUIET.as_micros() as u64
    })
    .await;
    quiet.then_some(since)
}

/// Waits until every expected delivery arrived, or the senders are done and
/// nothing arrives any more, or the deadline.
async fn wait_for_deliveries(progress: &Progress, deadline: Instant) -> Ending {
    let mut ending = Ending::Deadline;
    let mut seen = 0;
    let mut moved = now_micros();
    wait_until(deadline, || {
        // A delivery the server said it dropped will never come.
        let delivered = progress.delivered.load(Relaxed) + progress.told_missed.load(Relaxed);
        let now = now_micros();
        if delivered != seen {
            (seen, moved) = (delivered, now);
        }
        if progress.senders_done.load(Acquire) < progress.senders.load(Relaxed) {
            return false;
        }
        if delivered >= progress.expected() {
            ending = Ending::AllDelivered;
            return true;
        }
        let last_event = moved.max(progress.last_send_micros.load(Relaxed));
        if now.saturating_sub(last_event) >= STALL_MICROS {
            ending = Ending::Stalled;
            return true;
        }
        false
    })
    .await;
    ending
}

/// Seconds from `from` to `to`, both in [`now_micros`]; 0 if `to` is not later.
fn secs_between(from: u64, to: u64) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

fn difference(from: Option<f64>, to: Option<f64>) -> Option<f64> {
    Some(to? - from?)
}

/// The clients' own figures, added up.
struct Totals {
    failures: Vec<FailureCount>,
    delivered: u64,
    duplicates: u64,
    told_missed: u64,
    hung_up: u32,
    send_errors: (u32, Option<String>),
    unexpected: Unexpected,
}

impl Totals {
    fn add_up(reports: Vec<ClientReport>) -> Totals {
        let mut totals = Totals {
            failures: Vec::new(),
            delivered: 0,
            duplicates: 0,
            told_missed: 0,
            hung_up: 0,
            send_errors: (0, None),
            unexpected: Unexpected::default(),
        };
        for report in reports {
            match report.outcome {
                Outcome::Registered => totals.hung_up += u32::from(report.hung_up),
                Outcome::Failed(failure) => totals.count_failure(failure.kind(), failure.detail()),
                Outcome::Stopped => totals.count_failure(
                    "deadline",
                    "still connecting when the run stopped".to_owned(),
                ),
            }
            totals.delivered += report.delivered;
            totals.duplicates += report.duplicates;
            totals.told_missed += report.told_missed;
            totals.unexpected.merge(report.unexpected);
            if let Some(why) = report.send_error {
                totals.send_errors.0 += 1;
                totals.send_errors.1.get_or_insert(why);
            }
        }
        totals
    }

    fn count_failure(&mut self, kind: &'static str, example: String) {
        match self.failures.iter_mut().find(|f| f.kind == kind) {
            Some(failure) => failure.count += 1,
            None => self.failures.push(FailureCount {
                kind,
                count: 1,
                example,
            }),
        }
    }
}

/// Samples the server's memory every [`MEMORY_SAMPLE`], keeping the highest.
struct PeakMemory {
    peak: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl PeakMemory {
    fn start(processes: Processes) -> PeakMemory {
        let peak = Arc::new(AtomicU64::new(0));
        let highest = peak.clone();
        let task = tokio::spawn(async move {
            let mut ticks = interval(MEMORY_SAMPLE);
            // A late sample is taken once, not made up for.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                if let Some(kib) = processes.rss_kib() {
                    highest.fetch_max(kib, Relaxed);
                }
            }
        });
        PeakMemory { peak, task }
    }

    fn finish(self) -> u64 {
        self.task.abort();
        self.peak.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_kind() {
        let failed = |why: &str| {
            ClientReport::new(Outcome::Failed(client::Failure::Connect(why.to_owned())))
        };
        let totals = Totals::add_up(vec![failed("refused"), failed("reset")]);
        assert_eq!(
            totals.failures,
            vec![FailureCount {
                kind: "connect",
                count: 2,
                example: "refused".to_owned()
            }]
        );
    }
}
