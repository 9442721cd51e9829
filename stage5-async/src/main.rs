//! Starts the stage 5 chat server.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stage5_async::filter::{FilterChain, flood_guard, mask_words, max_length, slow_mode};
use stage5_async::{Settings, run};
use tokio::net::TcpListener;

/// A chat server on tokio: a task per client, a broadcast channel per room.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
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
    // `build` checks every setting at once; `?` shows all the problems.
    let config = args.settings.build()?;

    let mut filters = FilterChain::default();
    let max_chars = usize::try_from(args.max_message_chars).unwrap_or(usize::MAX);
    filters.push(max_length(max_chars));
    if !args.masked.is_empty() {
        filters.push(mask_words(args.masked));
    }
    filters.push(flood_guard(3));
    // Last, so that a message another filter blocks costs its sender no turn.
    if args.slow_mode_ms > 0 {
        filters.push_async(slow_mode(Duration::from_millis(args.slow_mode_ms)));
    }

    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("stage5-async listening on {}", listener.local_addr()?);
    run(listener, config, filters).await;
    Ok(())
}
