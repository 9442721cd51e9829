//! Starts the stage 1 echo server.

use std::net::TcpListener;

use anyhow::Context;
use clap::Parser;
use stage1_echo::{Limits, run};

/// A blocking echo server that serves one client at a time.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
}

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener =
        TcpListener::bind(&args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("stage1-echo listening on {}", listener.local_addr()?);
    run(listener, &Limits::default())
}
// ANCHOR_END: main
