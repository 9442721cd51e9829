//! The client side of stage 6's three doors: connects to a chat server over
//! plain TCP, TLS or WebSocket and hands back the same two halves every time,
//! a byte [`Reader`] and a byte [`Writer`] that speak the line protocol.
//!
//! The `chat` client and the `load` tool both use it, so that a load run over
//! WebSocket measures the server's WebSocket door with the very code a person
//! chats through. Over WebSocket each text message is one line (see
//! [`websocket`]); over TLS the bytes are the ones TCP would carry.

pub mod websocket;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How a client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Plain TCP: the line protocol as bytes.
    Tcp,
    /// The same bytes inside TLS.
    Tls,
    /// One WebSocket text message per line, at the server's `/ws`.
    #[value(name = "websocket")]
    WebSocket,
}

impl Transport {
    /// The name the command line and the JSON report use.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }
}

/// The reading half of a connection, whatever carries it.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection, whatever carries it. Flush after each
/// line: over WebSocket a line leaves only when flushed (or when the next
/// one is written).
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connection itself failed; the error is kept whole, so that
    /// callers can tell local limits (out of files, of ports) apart.
    Connect(io::Error),
    /// Connected, but the TLS handshake or the WebSocket upgrade failed.
    Handshake(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Connect(error) => error.fmt(f),
            ConnectError::Handshake(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Everything needed to open connections of one kind to one server; cheap
/// to clone, and shared by every client of a load run.
#[derive(Clone)]
pub struct Door {
    /// Where the TCP connection goes.
    pub addr: SocketAddr,
    /// The name the certificate must carry (a DNS name or an IP address).
    host: String,
    kind: Kind,
}

impl fmt::Debug for Door {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The TLS settings have no `Debug`; the transport says enough.
        f.debug_struct("Door")
            .field("addr", &self.addr)
            .field("host", &self.host)
            .field("transport", &self.transport())
            .finish()
    }
}

/// What a door adds on top of TCP.
#[derive(Clone)]
enum Kind {
    Tcp,
    Tls(TlsConnector),
    /// A WebSocket at this URL, inside TLS for `wss:`.
    WebSocket(String, Option<TlsConnector>),
}

impl Door {
    /// Plain TCP to `addr`.
    pub fn tcp(addr: SocketAddr) -> Door {
        Door {
            addr,
            host: addr.ip().to_string(),
            kind: Kind::Tcp,
        }
    }

    /// TLS to `addr`, checking that the server's certificate names `host`.
    pub fn tls(addr: SocketAddr, host: &str, connector: TlsConnector) -> Door {
        Door {
            addr,
            host: host.to_owned(),
            kind: Kind::Tls(connector),
        }
    }

    /// A WebSocket at `url` (`ws://`, or `wss://` with `tls`), reached
    /// through a TCP connection to `addr`.
    pub fn websocket(addr: SocketAddr, url: &str, tls: Option<TlsConnector>) -> Door {
        let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = authority.split(['/', '?']).next().unwrap_or_default();
        Door {
            addr,
            host: strip_port(authority).to_owned(),
            kind: Kind::WebSocket(url.to_owned(), tls),
        }
    }

    /// Which transport this door uses.
    pub fn transport(&self) -> Transport {
        match self.kind {
            Kind::Tcp => Transport::Tcp,
            Kind::Tls(_) => Transport::Tls,
            Kind::WebSocket(..) => Transport::WebSocket,
        }
    }

    /// Opens one connection: TCP, then the TLS handshake and the WebSocket
    /// upgrade where this door needs them.
    pub async fn connect(&self) -> Result<(Reader, Writer), ConnectError> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(ConnectError::Connect)?;
        // Lines are small and latency matters: Nagle's algorithm would hold
        // one back until the previous one is acknowledged.
        let _ = stream.set_nodelay(true);
        match &self.kind {
            Kind::Tcp => {
                let (read, write) = stream.into_split();
                Ok((Box::new(read), Box::new(write)))
            }
            Kind::Tls(connector) => {
                let stream = self.handshake(connector, stream).await?;
                let (read, write) = tokio::io::split(stream);
                Ok((Box::new(read), Box::new(write)))
            }
            Kind::WebSocket(url, Some(connector)) => {
                let stream = self.handshake(connector, stream).await?;
                websocket::upgrade(stream, url).await
            }
            Kind::WebSocket(url, None) => websocket::upgrade(stream, url).await,
        }
    }

    async fn handshake(
        &self,
        connector: &TlsConnector,
        stream: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ConnectError> {
        let name = ServerName::try_from(self.host.clone()).map_err(|e| {
            ConnectError::Handshake(format!("{:?} is no name for TLS: {e}", self.host))
        })?;
        connector
            .connect(name, stream)
            .await
            .map_err(|e| ConnectError::Handshake(format!("TLS handshake failed: {e}")))
    }
}

/// `host` without its `:port`; an IPv6 address loses its brackets too.
pub fn strip_port(host: &str) -> &str {
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// A TLS client that trusts Mozilla's root authorities and, with `ca`, the
/// certificates in that PEM file too (a self-signed server certificate, or
/// the authority that signed it).
pub fn tls_connector(ca: Option<&Path>) -> anyhow::Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca {
        let shown = path.display();
        let mut found = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read the certificates in {shown}"))?
        {
            let cert = cert.with_context(|| format!("{shown} is not valid PEM"))?;
            roots
                .add(cert)
                .with_context(|| format!("{shown} holds a certificate rustls cannot use"))?;
            found += 1;
        }
        if found == 0 {
            bail!("{shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
        }
    }
    // The ring provider, named here: rustls would otherwise look for a
    // process-wide default.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the ring provider supports TLS 1.2 and 1.3")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls::ServerConfig;
    use rustls::pki_types::PrivateKeyDer;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::time::timeout;
    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// A TLS server for one client that echoes one line, and the PEM file
    /// of its self-signed certificate for 127.0.0.1.
    async fn tls_echo_server() -> (SocketAddr, std::path::PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let path = std::env::temp_dir().join(format!("echo-cert-{}.pem", std::process::id()));
        std::fs::write(&path, made.cert.pem()).unwrap();
        let key = PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(acceptor.accept(stream).await.unwrap());
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            stream
                .write_all(format!("echo {line}").as_bytes())
                .await
                .unwrap();
            stream.flush().await.unwrap();
        });
        (addr, path)
    }

    #[tokio::test]
    async fn a_tls_door_trusts_the_ca_file_and_carries_lines() {
        let (addr, cert) = tls_echo_server().await;
        let door = Door::tls(addr, "127.0.0.1", tls_connector(Some(&cert)).unwrap());
        let (reader, mut writer) = door.connect().await.unwrap();
        std::fs::remove_file(&cert).unwrap();
        writer.write_all(b"hello\n").await.unwrap();
        writer.flush().await.unwrap();
        let mut line = String::new();
        timeout(
            Duration::from_secs(5),
            BufReader::new(reader).read_line(&mut line),
        )
        .await
        .expect("an answer within 5 s")
        .unwrap();
        assert_eq!(line, "echo hello\n");
    }

    #[test]
    fn the_port_comes_off_a_host() {
        assert_eq!(strip_port("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(strip_port("localhost"), "localhost");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("[::1]"), "::1");
    }

    #[test]
    fn a_websocket_door_knows_its_host() {
        let addr = "127.0.0.1:1".parse().unwrap();
        let door = Door::websocket(addr, "ws://localhost:8081/ws", None);
        assert_eq!(door.host, "localhost");
        assert_eq!(door.transport(), Transport::WebSocket);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("no-cert-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = tls_connector(Some(&path)).err().expect("refused");
        std::fs::remove_file(&path).unwrap();
        assert!(
            error.to_string().contains("no PEM certificate"),
            "{error:#}"
        );
        let missing = tls_connector(Some(Path::new("/nonexistent/ca.pem")))
            .err()
            .expect("refused");
        assert!(
            format!("{missing:#}").contains("cannot read"),
            "{missing:#}"
        );
    }
}
