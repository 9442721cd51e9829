//! Measures a chat server's throughput, latency and memory with many clients.
//!
//! Every client is a tokio task in this one process: it connects (over TCP,
//! TLS or WebSocket: `--transport`), registers a name, joins its room, and
//! reads everything the server sends; the first `--senders` of them also send
//! numbered, time-stamped messages. Because all clients share one monotonic
//! clock, a receiver computes a message's latency from the send time written
//! inside it. With several servers sharing their rooms (`--servers`, or
//! `--addr` repeated), the clients are spread over them, and the latencies to
//! members on the sender's server and on the others are told apart.
//!
//! Safety: the tool only connects to loopback addresses, and a global deadline
//! ends every run.

mod client;
mod door;
mod json;
mod latency;
mod payload;
mod procfs;
mod progress;
mod report;
mod run;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use chat_tools::connect::Transport;
use clap::{CommandFactory, Parser};

/// The exit status of a run that finished but went wrong: clients failed,
/// deliveries went missing, the server dropped clients or died, or the
/// deadline ran out. Not 2, which clap uses for a command line it refuses,
/// nor 1, which `main` returns when the run could not start: a script tells
/// the three apart.
const EXIT_UNCLEAN: u8 = 3;

/// The longest `--deadline`, in seconds.
const MAX_DEADLINE_SECS: u64 = 3600;

/// What `--help` says after the options: the exit statuses and the JSON line.
fn after_help() -> String {
    format!(
        "Exit status:\n  \
         0  a clean run: every client registered, every message delivered\n  \
         1  the run could not start (no such server, a non-loopback address, too few open files)\n  \
         2  the command line was refused (see the message)\n  \
         {EXIT_UNCLEAN}  the run finished unclean: clients failed, deliveries went missing (even \
         with a notice),\n     the server dropped clients or exited, or the deadline ran out\n\n\
         With --json, the last line of output is one JSON object with every figure;\n\
         its \"clean\" field is true exactly when the status is 0."
    )
}

/// Measures a chat server's throughput, latency and memory with many clients.
///
/// Opens --clients connections, registers them, spreads them over --rooms
/// rooms; then --senders of them send --messages numbered messages each, and
/// every client measures what arrives. Connects to loopback addresses only, and
/// always stops by itself: when every message arrived, 2 s after the last send
/// without progress, or at the deadline.
#[derive(Debug, Parser)]
#[command(name = "load", version, after_help = after_help())]
struct Args {
    /// Address of a running server, as HOST:PORT (loopback only); with
    /// `--transport websocket`, its HTTP address (the one serving `/ws`).
    /// Repeat it for several servers that share their rooms: the clients
    /// are spread over them.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: Vec<String>,

    /// Start this server binary with `--addr 127.0.0.1:0`, measure it, and stop
    /// it at the end (instead of --addr). For `--transport tls` the tool makes
    /// a throwaway certificate and passes `--tls-cert` and `--tls-key`; for
    /// `--transport websocket` it passes `--http-addr` with a free port.
    #[arg(long, value_name = "BIN", conflicts_with_all = ["addr", "pid"])]
    server: Option<PathBuf>,

    /// How many copies of the --server binary to start, each with the same
    /// arguments; the clients are spread over them round-robin, every room's
    /// members over every server. Give them a way to share their rooms
    /// (--redis-url), or most deliveries go missing.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "server", value_parser = clap::value_parser!(u32).range(1..=16))]
    servers: u32,

    /// Start every --server with `--redis-url URL`: the servers share their
    /// rooms through that Redis (stage 6).
    #[arg(long, value_name = "URL", requires = "server")]
    redis_url: Option<String>,

    /// How the clients reach the server: plain `tcp`, `tls` on the same port,
    /// or `websocket` at `/ws` of the HTTP port (one text message per line).
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    transport: Transport,

    /// With `--transport tls` and --addr: a PEM certificate to trust besides
    /// Mozilla's authorities (the server's own, if it is self-signed).
    #[arg(long, value_name = "PATH", conflicts_with = "server")]
    ca: Option<PathBuf>,

    /// One more argument for the --server binary; repeat for several.
    #[arg(
        long = "server-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "server"
    )]
    server_args: Vec<String>,

    /// Process id of the server at --addr, to measure its memory and CPU
    /// time; repeat it for several servers, whose figures are added up.
    #[arg(long, value_name = "PID")]
    pid: Vec<u32>,

    /// Connections to open.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    clients: u32,

    /// How many of the clients send (the first ones, spread over the rooms).
    #[arg(long, value_name = "S", default_value_t = 10)]
    senders: u32,

    /// Messages each sender sends.
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    messages: u32,

    /// Messages per second per sender; 0 sends as fast as the server takes them.
    #[arg(long, value_name = "R", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rate: u32,

    /// Rooms `load0`, `load1`, ... to spread the clients over, round-robin,
    /// with `/join`; 1 stays in the default room and sends no command.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rooms: u32,

    /// Most connection handshakes (connect to registered) in flight at once,
    /// so that thousands of clients do not overflow the server's listen queue
    /// in one burst (a listener from std's or tokio's `TcpListener::bind` queues 128).
    #[arg(long, value_name = "C", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    connect_concurrency: u32,

    /// Seconds after which the run stops, whatever it is doing (clean-up
    /// then takes at most 4 s more).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=MAX_DEADLINE_SECS))]
    deadline: u64,

    /// Only connect the clients, measure the server's memory per idle
    /// connection, and disconnect; send nothing.
    #[arg(long)]
    idle_only: bool,

    /// With --idle-only: keep the silent clients connected this many seconds
    /// before disconnecting, and report the server's CPU time meanwhile (what
    /// connections that do nothing cost it).
    #[arg(long, value_name = "SECS", default_value_t = 0, requires = "idle_only", value_parser = clap::value_parser!(u64).range(0..=3600))]
    idle_secs: u64,

    /// Also print every figure as one JSON object, on the last line.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let mut args = Args::parse();
    if args.ca.is_some() && args.transport != Transport::Tls {
        Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--ca is for --transport tls: only TLS checks a certificate",
            )
            .exit();
    }
    if args.senders > args.clients {
        eprintln!(
            "load: --senders lowered to {}, the number of clients",
            args.clients
        );
        args.senders = args.clients;
    }
    let report = run::measure(&args).await?;
    print!("{report}");
    if args.json {
        println!("{}", report.json());
    }
    Ok(if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNCLEAN)
    })
}
