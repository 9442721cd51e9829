//! Starts the stage 3 chat server.

use std::net::TcpListener;

use anyhow::Context;
use clap::Parser;
use stage3_protocol::{Limits, Server};

/// A chat server that speaks a `TYPE:PAYLOAD` line protocol.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener =
        TcpListener::bind(&args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("stage3-protocol listening on {}", listener.local_addr()?);
    Server::new(listener, Limits::default())?.run()
}
