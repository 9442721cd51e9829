//! Starts the stage 4 chat server.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stage4_commands::filter::{FilterChain, flood_guard, mask_words, max_length};
use stage4_commands::{Server, ServerConfig};

/// A chat server with rooms and /commands, for people using nc or telnet.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Most users connected at once.
    #[arg(long, default_value_t = ServerConfig::default().max_users())]
    max_users: usize,
    /// Most rooms at once, the default room included.
    #[arg(long, default_value_t = ServerConfig::default().max_rooms())]
    max_rooms: usize,
    /// Longest line a client may send, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().max_line_len())]
    max_line_len: usize,
    /// Disconnect a client silent for this many seconds.
    #[arg(long, default_value_t = ServerConfig::default().idle_timeout().as_secs())]
    idle_timeout_secs: u64,
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
    /// Disconnect a client that has not chosen a name after this many seconds.
    #[arg(long, default_value_t = ServerConfig::default().name_timeout().as_secs())]
    name_timeout_secs: u64,
    /// A word to mask with asterisks in chat (repeat for several).
    #[arg(long = "mask", value_name = "WORD")]
    masked: Vec<String>,
    /// Longest chat message, in characters.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    max_message_chars: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // ANCHOR: config_from_flags
    // The builder checks every value at once; `?` shows all the problems.
    let mut config = ServerConfig::builder()
        .max_users(args.max_users)
        .max_rooms(args.max_rooms)
        .max_line_len(args.max_line_len)
        .idle_timeout(Duration::from_secs(args.idle_timeout_secs));
    if let Some(motd) = args.motd {
        config = config.motd(motd);
    }
    for admin in args.admins {
        config = config.admin(admin);
    }
    if let Some(password) = args.admin_password {
        config = config.admin_password(password);
    }
    config = config.name_timeout(Duration::from_secs(args.name_timeout_secs));
    let config = config.build()?;

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
