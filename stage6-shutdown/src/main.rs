//! Starts the stage 6 chat server.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stage6_shutdown::backend::{RedisBackend, RedisOptions};
use stage6_shutdown::filter::{flood_guard, mask_words, max_length, slow_mode};
use stage6_shutdown::history::SqliteHistory;
use stage6_shutdown::{Doors, Services, Settings, bind, metrics, run, tls, web};
use tokio::net::TcpListener;
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
    /// Keep each room's last messages in this SQLite file, so that they are
    /// replayed after a restart (in memory, and lost at exit, if unset).
    #[arg(long, value_name = "PATH", conflicts_with = "redis_url")]
    history_db: Option<PathBuf>,
    /// Share rooms, names and history with every server using this Redis,
    /// as redis://HOST:PORT (this server alone if unset).
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// With --redis-url: how long, in seconds, a server's users stay listed
    /// elsewhere, and their names taken, once it stops refreshing them (if it
    /// dies, say). It refreshes them every third of this.
    #[arg(long, value_name = "SECS", default_value_t = 15, requires = "redis_url",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    presence_ttl: u64,
    /// Serve the chat page, its WebSocket (/ws) and /metrics at this
    /// address, as HOST:PORT (off if unset). HTTPS when TLS is on.
    #[arg(long)]
    http_addr: Option<String>,
    /// TLS certificate chain (PEM): turns on TLS for --addr and --http-addr.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The server's settings, each with its own flag.
    #[command(flatten)]
    settings: Settings,
    /// A word to mask with asterisks in chat (repeat for several).
    #[arg(long = "mask", value_name = "WORD")]
    masked: Vec<String>,
    /// Longest chat message, in characters.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    max_message_chars: u64,
    /// Slow mode: hold each sender's messages until they are at least this
    /// many milliseconds apart. 0, the default, turns it off.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    slow_mode_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging();
    // `build` checks every setting at once; `?` shows all the problems.
    let config = args.settings.build()?;

    let mut services = Services::new(&config);
    let history_db = match &args.history_db {
        Some(path) => {
            let metrics = Arc::clone(&services.metrics);
            let db = SqliteHistory::open(path, config.history_len, metrics).await?;
            let db = Arc::new(db);
            services.history = Arc::clone(&db) as _;
            Some(db)
        }
        None => None,
    };
    // ANCHOR: redis
    let redis = match &args.redis_url {
        Some(url) => {
            let options = RedisOptions {
                presence_ttl: Duration::from_secs(args.presence_ttl),
                history_len: config.history_len,
                max_line_len: config.max_line_len,
            };
            let metrics = Arc::clone(&services.metrics);
            let (redis, inbound) = RedisBackend::connect(url, options, metrics).await?;
            info!(url, "connected to Redis");
            let redis = Arc::new(redis);
            services.history = Arc::new(redis.history());
            services.backend = Arc::clone(&redis) as _;
            services.inbound = Some(inbound);
            Some(redis)
        }
        None => None,
    };
    // ANCHOR_END: redis
    let max_chars = usize::try_from(args.max_message_chars).unwrap_or(usize::MAX);
    services.filters.push(max_length(max_chars));
    if !args.masked.is_empty() {
        services.filters.push(mask_words(args.masked));
    }
    services.filters.push(flood_guard(3));
    // Last, so that a message another filter blocks costs its sender no turn.
    if args.slow_mode_ms > 0 {
        services
            .filters
            .push_async(slow_mode(Duration::from_millis(args.slow_mode_ms)));
    }

    // Certificates are checked before anything listens: a bad one is an
    // error now, not a failure for every client later.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let addr = resolve(&args.addr).await?;
    let tcp = bind(addr, args.backlog).with_context(|| format!("cannot listen on {addr}"))?;
    let http = match &args.http_addr {
        Some(http_addr) => Some(listen(http_addr, "serve the chat page").await?),
        None => None,
    };
    // Signal handlers are installed before anyone is told where we listen,
    // so that a SIGTERM right after that still shuts down gracefully.
    let shutdown = shutdown_signal()?;
    // The first line ends with the address: tests and the load tool read it.
    println!("stage6-shutdown listening on {}", tcp.local_addr()?);
    if let Some(http) = &http {
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("chat page at {scheme}://{}/", http.local_addr()?);
    }

    if let Some(metrics_addr) = &args.metrics_addr {
        serve_metrics(metrics_addr, Arc::clone(&services.metrics)).await?;
    }

    let doors = Doors { tcp, tls, http };
    run(doors, config, services, shutdown).await;
    if let Some(db) = history_db {
        // What the last messages recorded is written before the process ends.
        db.flush().await;
    }
    if let Some(redis) = redis {
        // The other servers stop listing our users now, not when they expire.
        redis.close().await;
    }
    Ok(())
}

/// The first address `addr` (HOST:PORT) resolves to.
async fn resolve(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))
}

/// A listener on `addr`, or an error saying what it was `for_what`.
async fn listen(addr: &str, for_what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot {for_what} on {addr}"))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Serves the metrics over HTTP at `addr`, on a task of their own.
async fn serve_metrics(addr: &str, metrics: Arc<metrics::Metrics>) -> anyhow::Result<()> {
    let listener = listen(addr, "serve metrics").await?;
    info!(addr = %listener.local_addr()?, "metrics at /metrics");
    tokio::spawn(web::serve_metrics(listener, metrics));
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

/// A future that completes on Ctrl+C, the one signal Windows has. As on Unix,
/// the listener is registered now: `tokio::signal::ctrl_c()` would register
/// only when first polled.
#[cfg(windows)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    let mut ctrl_c = tokio::signal::windows::ctrl_c().context("cannot handle Ctrl+C")?;
    Ok(async move {
        ctrl_c.recv().await;
        info!("signal received");
    })
}
// ANCHOR_END: shutdown_signal
