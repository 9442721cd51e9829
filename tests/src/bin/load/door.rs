//! Which door of the server the clients use (`--transport`), and what a
//! server this tool starts needs to open that door: a throwaway certificate
//! for TLS, an HTTP port for WebSocket.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context;
use chat_tools::connect::{Door, Transport, strip_port, tls_connector};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep};

use crate::target::resolve_loopback;

/// What the server this tool starts needs for `--transport`, kept until the
/// run ends.
pub struct ServerDoor {
    /// Arguments that open the door, for the server's command line.
    pub args: Vec<String>,
    /// The HTTP address whose `/ws` the WebSocket clients use.
    http: Option<SocketAddr>,
    /// The throwaway certificate that the server shows and the clients trust.
    certificate: Option<Throwaway>,
}

impl ServerDoor {
    /// Prepares `transport`'s door: nothing for TCP; for TLS a new
    /// self-signed certificate for 127.0.0.1; for WebSocket a free port.
    pub fn prepare(transport: Transport) -> anyhow::Result<ServerDoor> {
        let mut door = ServerDoor {
            args: Vec::new(),
            http: None,
            certificate: None,
        };
        match transport {
            Transport::Tcp => {}
            Transport::Tls => {
                let certificate = Throwaway::make()?;
                door.args = vec![
                    "--tls-cert".to_owned(),
                    certificate.cert.display().to_string(),
                    "--tls-key".to_owned(),
                    certificate.key.display().to_string(),
                ];
                door.certificate = Some(certificate);
            }
            Transport::WebSocket => {
                // A port free a moment ago: the server binds it at once, and
                // a port taken meanwhile makes it exit with a clear error.
                let http = TcpListener::bind("127.0.0.1:0")
                    .and_then(|listener| listener.local_addr())
                    .context("no free loopback port for the server's HTTP door")?;
                door.args = vec!["--http-addr".to_owned(), http.to_string()];
                door.http = Some(http);
            }
        }
        Ok(door)
    }

    /// The door of the started server listening (its TCP port) at `addr`;
    /// waits for the HTTP port to take connections, at most until `deadline`.
    pub async fn open(&self, addr: SocketAddr, deadline: Instant) -> anyhow::Result<Door> {
        if let Some(certificate) = &self.certificate {
            let connector = tls_connector(Some(&certificate.cert))?;
            return Ok(Door::tls(addr, &addr.ip().to_string(), connector));
        }
        let Some(http) = self.http else {
            return Ok(Door::tcp(addr));
        };
        // The TCP port's line comes first; the HTTP port may open a moment later.
        while TcpStream::connect(http).await.is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the server never took connections at --http-addr {http}: does it serve \
                 WebSocket (stage 6 does)?"
            );
            sleep(Duration::from_millis(20)).await;
        }
        Ok(Door::websocket(http, &format!("ws://{http}/ws"), None))
    }
}

/// The door of a running server at `addr` (HOST:PORT; for WebSocket, its
/// HTTP address), trusting the certificates in `ca` too for TLS.
pub async fn running(transport: Transport, addr: &str, ca: Option<&Path>) -> anyhow::Result<Door> {
    let resolved = resolve_loopback(addr).await?;
    Ok(match transport {
        Transport::Tcp => Door::tcp(resolved),
        Transport::Tls => Door::tls(resolved, strip_port(addr), tls_connector(ca)?),
        Transport::WebSocket => Door::websocket(resolved, &format!("ws://{addr}/ws"), None),
    })
}

/// A self-signed certificate and its key, in PEM files of a directory of
/// their own, removed when dropped.
struct Throwaway {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Throwaway {
    fn make() -> anyhow::Result<Throwaway> {
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let made = rcgen::generate_simple_self_signed(names).context("making a certificate")?;
        // One directory per server this run starts.
        static MADE: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "load-tls-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let throwaway = Throwaway {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        std::fs::write(&throwaway.cert, made.cert.pem())
            .and_then(|()| std::fs::write(&throwaway.key, made.signing_key.serialize_pem()))
            .with_context(|| format!("cannot write to {}", throwaway.dir.display()))?;
        Ok(throwaway)
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_server_gets_a_certificate_that_the_clients_trust() {
        let door = ServerDoor::prepare(Transport::Tls).unwrap();
        let certificate = door.certificate.as_ref().unwrap();
        assert_eq!(door.args[0], "--tls-cert");
        assert_eq!(door.args[3], certificate.key.display().to_string());
        let pem = std::fs::read_to_string(&certificate.cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(tls_connector(Some(&certificate.cert)).is_ok());
        let dir = certificate.dir.clone();
        drop(door);
        assert!(!dir.exists(), "the certificate is removed with the run");
    }

    #[test]
    fn a_websocket_server_gets_an_http_port() {
        let door = ServerDoor::prepare(Transport::WebSocket).unwrap();
        assert_eq!(door.args[0], "--http-addr");
        assert_eq!(door.args[1], door.http.unwrap().to_string());
        assert!(ServerDoor::prepare(Transport::Tcp).unwrap().args.is_empty());
    }
}
