//! Makes a self-signed TLS certificate and its private key, to try stage 6's
//! `--tls-cert` and `--tls-key` on your own machine:
//!
//! ```text
//! cargo cert                          # cert.pem and key.pem here, for localhost and 127.0.0.1
//! cargo cert --out tls chat.example   # in ./tls, for the name chat.example
//! ```
//!
//! Nobody vouches for a self-signed certificate, so clients must be told to
//! trust it: `cargo chat --tls --ca cert.pem localhost:8080`. A browser shows
//! a warning once, which you accept for your own test server. For a server
//! others use, get a certificate from an authority (Let's Encrypt, say).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;

/// Writes a new self-signed certificate (cert.pem) and its key (key.pem).
#[derive(Debug, Parser)]
#[command(name = "cert", version)]
struct Args {
    /// The names the certificate is for: host names or IP addresses.
    #[arg(default_values = ["localhost", "127.0.0.1"])]
    names: Vec<String>,
    /// The directory to write cert.pem and key.pem into (made if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let made = rcgen::generate_simple_self_signed(args.names.clone())
        .context("cannot make a certificate for these names")?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let cert = args.out.join("cert.pem");
    let key = args.out.join("key.pem");
    write_new(&cert, made.cert.pem().as_bytes(), false)?;
    write_new(&key, made.signing_key.serialize_pem().as_bytes(), true)?;
    println!(
        "wrote {} and {} for {}",
        cert.display(),
        key.display(),
        args.names.join(", ")
    );
    println!(
        "try: cargo run -p stage6-shutdown -- --tls-cert {} --tls-key {}",
        cert.display(),
        key.display()
    );
    println!(
        " and: cargo chat --tls --ca {} localhost:8080",
        cert.display()
    );
    Ok(())
}

/// Writes `bytes` to a file that must not exist yet: a certificate or a key
/// someone relies on is never overwritten by accident. A private key is
/// readable by its owner only.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // Elsewhere the directory's permissions apply.
    #[cfg(not(unix))]
    let _ = private;
    let mut file: File = options.open(path).with_context(|| {
        format!(
            "cannot create {} (remove it first to replace it)",
            path.display()
        )
    })?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
