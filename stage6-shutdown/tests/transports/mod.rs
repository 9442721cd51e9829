//! Helpers for the tests of stage 6's other doors, TLS and WebSocket: a
//! throwaway certificate, the reference server with every door open, and a
//! relay through which the harness's plain TCP `Client` reaches those doors.
//!
//! The relay is what lets the conformance cases run unchanged over each
//! transport: the harness writes lines to a TCP socket, and the relay carries
//! them over TLS, or as one WebSocket text message per line, and back.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use chat_harness::TestServer;
use futures_util::{SinkExt, StreamExt};
use stage6_shutdown::{Doors, ServerConfig, Services, run, tls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;

use super::common::STAGE;

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM
/// files into a temporary directory that lives as long as this value.
pub struct Certificate {
    /// The certificate's file.
    pub cert: PathBuf,
    /// The private key's file.
    pub key: PathBuf,
    /// The certificate, for clients to trust.
    pub der: CertificateDer<'static>,
    /// Keeps the files until the test ends.
    pub dir: tempfile::TempDir,
}

impl Certificate {
    /// Makes a new certificate and key with rcgen.
    pub fn generate() -> Certificate {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let made = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).expect("cert.pem written");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("key.pem written");
        Certificate {
            cert,
            key,
            der: made.cert.der().clone(),
            dir,
        }
    }

    /// A TLS client that trusts this certificate, and only it.
    pub fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.der.clone())
            .expect("the certificate is a valid root");
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

/// The reference server with its TCP port (plain or TLS) and its HTTP port.
pub struct Running {
    /// The harness's view: its address is the TCP port, or the relay's.
    pub server: TestServer,
    /// The server's own TCP port (TLS if `certificate` is set).
    pub tcp: SocketAddr,
    /// The HTTP port: the page, `/ws`, `/metrics`.
    pub http: SocketAddr,
    /// The certificate both ports use, if TLS is on.
    pub certificate: Option<Arc<Certificate>>,
    /// Shuts the server down when used (or dropped).
    pub shutdown: oneshot::Sender<()>,
}

/// How the harness's clients reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Straight to the TCP port.
    Direct,
    /// Through the relay, over TLS to the TCP port.
    Tls,
    /// Through the relay, as WebSocket messages to the HTTP port.
    WebSocket,
}

/// Starts the reference server with `config`, TLS on if `tls`, and the
/// harness's clients reaching it `via` the given way.
pub fn start(config: ServerConfig, tls: bool, via: Via) -> Running {
    let certificate = (tls || via == Via::Tls).then(|| Arc::new(Certificate::generate()));
    let acceptor = certificate.as_ref().map(|certificate| {
        tls::acceptor(&certificate.cert, &certificate.key).expect("a valid certificate")
    });
    let connector = certificate
        .as_ref()
        .map(|certificate| certificate.connector());
    let (trigger, triggered) = oneshot::channel::<()>();
    let (addresses, learned) = mpsc::channel();
    let server = TestServer::start_tokio(STAGE, move |listener| async move {
        let (tcp, relayed) = match via {
            Via::Direct => (listener, None),
            _ => (bind().await, Some(listener)),
        };
        let http = bind().await;
        let tcp_addr = tcp.local_addr().expect("an address");
        let http_addr = http.local_addr().expect("an address");
        addresses
            .send((tcp_addr, http_addr))
            .expect("the test waits");
        if let Some(relayed) = relayed {
            let upstream = match via {
                Via::Tls => Upstream::Tls(tcp_addr, connector.expect("TLS is on")),
                _ => Upstream::WebSocket(http_addr),
            };
            tokio::spawn(relay(relayed, upstream));
        }
        let doors = Doors {
            tcp,
            tls: acceptor,
            http: Some(http),
        };
        let services = Services::new(&config);
        run(doors, config, services, async {
            let _ = triggered.await;
        })
        .await;
    });
    let (tcp, http) = learned
        .recv_timeout(2 * chat_harness::read_timeout())
        .expect("the server thread tells its addresses");
    Running {
        server,
        tcp,
        http,
        certificate,
        shutdown: trigger,
    }
}

/// A listener on a free loopback port.
async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1")
}

/// Where the relay carries each connection.
#[derive(Clone)]
enum Upstream {
    /// Over TLS to this address.
    Tls(SocketAddr, TlsConnector),
    /// As WebSocket messages to `/ws` at this address.
    WebSocket(SocketAddr),
}

/// Carries every connection to `listener` to the server, `upstream`.
async fn relay(listener: TcpListener, upstream: Upstream) {
    while let Ok((client, _)) = listener.accept().await {
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            match upstream {
                Upstream::Tls(addr, connector) => relay_tls(client, addr, connector).await,
                Upstream::WebSocket(addr) => relay_websocket(client, addr).await,
            }
        });
    }
}

/// Copies bytes both ways between `client` and a TLS connection to `addr`.
async fn relay_tls(mut client: TcpStream, addr: SocketAddr, connector: TlsConnector) {
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return;
    };
    let name = ServerName::try_from("localhost").expect("a valid name");
    let Ok(mut server) = connector.connect(name, tcp).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Sends each line from `client` as a text message to `ws://addr/ws`, and
/// each text message from there as a line; closes each side when the other
/// closes. A line that is not UTF-8 goes as U+FFFD: a text message cannot
/// carry it (the server's own rule for that is tested in websocket.rs).
async fn relay_websocket(client: TcpStream, addr: SocketAddr) {
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://{addr}/ws");
    let Ok((socket, _)) = tokio_tungstenite::client_async(url, tcp).await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    let (from_client, mut to_client) = client.into_split();
    let up = async {
        let mut from_client = BufReader::new(from_client);
        let mut line = Vec::new();
        // An unfinished last line is not sent: the server would drop it too.
        while let Ok(1..) = from_client.read_until(b'\n', &mut line).await {
            if line.pop() != Some(b'\n') {
                break;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
            line.clear();
        }
        let _ = sink.send(Message::Close(None)).await;
    };
    let down = async {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Text(text) = message {
                let line = format!("{}\n", text.as_str());
                if to_client.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
        let _ = to_client.shutdown().await;
    };
    // The server closing ends the relay; the client closing waits for the
    // server's last lines and its close.
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut down => {}
        () = &mut up => down.await,
    }
}
