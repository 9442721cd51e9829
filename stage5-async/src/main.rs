//! Starts the stage 5 chat server.

use anyhow::Context;
use clap::Parser;
use stage5_async::filter::{FilterChain, flood_guard, mask_words, max_length};
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

    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("stage5-async listening on {}", listener.local_addr()?);
    run(listener, config, filters).await;
    Ok(())
}
