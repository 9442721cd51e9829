//! Starts the stage 4 chat server.

use std::net::TcpListener;

use anyhow::Context;
use clap::Parser;
use stage4_commands::filter::{FilterChain, flood_guard, mask_words, max_length};
use stage4_commands::{Server, Settings};

// ANCHOR: args
/// A chat server with rooms and /commands, for people using nc or telnet.
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
// ANCHOR_END: args

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // ANCHOR: config_from_flags
    // `build` checks every setting at once; `?` shows all the problems.
    let config = args.settings.build()?;

    let mut filters = FilterChain::default();
    let max_chars = usize::try_from(args.max_message_chars).unwrap_or(usize::MAX);
    filters.push(max_length(max_chars));
    if !args.masked.is_empty() {
        filters.push(mask_words(args.masked));
    }
    filters.push(flood_guard(3));
    // ANCHOR_END: config_from_flags

    let listener =
        TcpListener::bind(&args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("stage4-commands listening on {}", listener.local_addr()?);
    Server::new(listener, config, filters)?.run()
}
