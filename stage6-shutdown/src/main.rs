//! Starts the stage 6 chat server.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stage6_shutdown::filter::{flood_guard, mask_words, max_length};
use stage6_shutdown::{ServerConfig, Services, bind, metrics, run};
use tracing::info;
use tracing_subscriber::EnvFilter;

/// The production chat server: graceful shutdown, limits, history, metrics.
///
/// Logs go to stderr, filtered by RUST_LOG (default "info"). Ctrl+C or
/// SIGTERM shut the server down gracefully.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// How many connections the kernel may queue before they are accepted
    /// (capped by net.core.somaxconn).
    #[arg(long, default_value_t = 16384)]
    backlog: u32,
    /// Serve metrics over HTTP at this address, as HOST:PORT (off if unset).
    #[arg(long)]
    metrics_addr: Option<String>,
    /// Most users connected at once.
    #[arg(long, default_value_t = ServerConfig::default().max_users())]
    max_users: usize,
    /// Most rooms at once, the default room included.
    #[arg(long, default_value_t = ServerConfig::default().max_rooms())]
    max_rooms: usize,
    /// Longest line a client may send, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().max_line_len())]
    max_line_len: usize,
    /// Longest user name, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().max_name_len())]
    max_name_len: usize,
    /// Lines a client may send per second, on average.
    #[arg(long, default_value_t = ServerConfig::default().message_rate())]
    message_rate: u32,
    /// Lines a client may send at once after being quiet.
    #[arg(long, default_value_t = ServerConfig::default().message_burst())]
    message_burst: u32,
    /// Messages each room keeps for members that are behind.
    #[arg(long, default_value_t = ServerConfig::default().room_buffer())]
    room_buffer: usize,
    /// Chat messages each room replays to newcomers (0: no history).
    #[arg(long, default_value_t = ServerConfig::default().history_len())]
    history_len: usize,
    /// Rooms with more members than this sum up arrivals and departures once
    /// a second instead of announcing each.
    #[arg(long, default_value_t = ServerConfig::default().announce_limit())]
    announce_limit: usize,
    /// Disconnect a client that has not chosen a name after this many seconds.
    #[arg(long, default_value_t = ServerConfig::default().name_timeout().as_secs())]
    name_timeout_secs: u64,
    /// Disconnect a client silent for this many seconds.
    #[arg(long, default_value_t = ServerConfig::default().idle_timeout().as_secs())]
    idle_timeout_secs: u64,
    /// Disconnect a client whose socket accepts nothing for this many seconds.
    #[arg(long, default_value_t = ServerConfig::default().write_timeout().as_secs())]
    write_timeout_secs: u64,
    /// Seconds a graceful shutdown may take before connections are cut.
    #[arg(long, default_value_t = ServerConfig::default().shutdown_timeout().as_secs())]
    shutdown_timeout_secs: u64,
    /// Message of the day, shown to each user after they pick a name.
    #[arg(long)]
    motd: Option<String>,
    /// A name reserved for an admin, who may /kick anyone (repeat for
    /// several). An admin answers the name prompt with: NAME PASSWORD.
    #[arg(long = "admin", value_name = "NAME")]
    admins: Vec<String>,
    /// The admin password; better given in the environment than on the
    /// command line, where other users of the machine can see it.
    #[arg(long, env = "CHAT_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// A word to mask with asterisks in chat (repeat for several).
    #[arg(long = "mask", value_name = "WORD")]
    masked: Vec<String>,
    /// Longest chat message, in characters.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    max_message_chars: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    // The builder checks every value at once; `?` shows all the problems.
    let mut config = ServerConfig::builder()
        .max_users(args.max_users)
        .max_rooms(args.max_rooms)
        .max_line_len(args.max_line_len)
        .max_name_len(args.max_name_len)
        .message_rate(args.message_rate)
        .message_burst(args.message_burst)
        .room_buffer(args.room_buffer)
        .history_len(args.history_len)
        .announce_limit(args.announce_limit)
        .name_timeout(Duration::from_secs(args.name_timeout_secs))
        .idle_timeout(Duration::from_secs(args.idle_timeout_secs))
        .write_timeout(Duration::from_secs(args.write_timeout_secs))
        .shutdown_timeout(Duration::from_secs(args.shutdown_timeout_secs));
    if let Some(motd) = args.motd {
        config = config.motd(motd);
    }
    for admin in args.admins {
        config = config.admin(admin);
    }
    if let Some(password) = args.admin_password {
        config = config.admin_password(password);
    }
    let config = config.build()?;

    let mut services = Services::new(&config);
    let max_chars = usize::try_from(args.max_message_chars).unwrap_or(usize::MAX);
    services.filters.push(max_length(max_chars));
    if !args.masked.is_empty() {
        services.filters.push(mask_words(args.masked));
    }
    services.filters.push(flood_guard(3));

    let addr = tokio::net::lookup_host(&args.addr)
        .await
        .with_context(|| format!("cannot resolve {}", args.addr))?
        .next()
        .with_context(|| format!("{} resolves to no address", args.addr))?;
    let listener = bind(addr, args.backlog).with_context(|| format!("cannot listen on {addr}"))?;
    // Signal handlers are installed before anyone is told where we listen,
    // so that a SIGTERM right after that still shuts down gracefully.
    let shutdown = shutdown_signal()?;
    println!("stage6-shutdown listening on {}", listener.local_addr()?);

    if let Some(metrics_addr) = &args.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot serve metrics on {metrics_addr}"))?;
        info!(addr = %metrics_listener.local_addr()?, "metrics at /metrics");
        tokio::spawn(metrics::serve(
            metrics_listener,
            Arc::clone(&services.metrics),
        ));
    }

    run(listener, config, services, shutdown).await;
    Ok(())
}

// ANCHOR: shutdown_signal
/// A future that completes on Ctrl+C (SIGINT) or, on Unix, SIGTERM, the
/// signal service managers send to stop a program. The handlers are
/// installed now, not when the future is first polled.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle Ctrl+C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        info!("signal received");
    })
}

/// A future that completes on Ctrl+C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    Ok(async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl+C");
            std::future::pending::<()>().await;
        }
        info!("signal received");
    })
}
// ANCHOR_END: shutdown_signal
