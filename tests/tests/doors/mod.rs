//! A stage 6 server in this process with all its doors open: the TCP port
//! (TLS, when asked for, with a throwaway certificate) and the HTTP port
//! with the WebSocket at `/ws`. The client-side tests (`chat_client.rs`,
//! `load_tool.rs`) talk to it over real sockets.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use chat_harness::TestServer;
use stage6_shutdown::{Doors, Services, Settings, run, tls};

/// What failure reports call this server.
pub const STAGE: &str = "stage6-shutdown";

/// A running stage 6 server and what its clients need to reach it.
pub struct Stage6 {
    /// The server; its `addr()` is the TCP (or TLS) port.
    pub server: TestServer,
    /// The HTTP port, with the WebSocket at `/ws` (HTTPS when TLS is on).
    pub http: SocketAddr,
    /// The certificate to trust, when TLS is on.
    pub cert: Option<PathBuf>,
    /// The directory of the certificate and its key, removed on drop.
    dir: Option<PathBuf>,
}

impl Stage6 {
    /// Starts a server, with TLS on both ports if `with_tls`. Its rate limit
    /// is lifted, as the load tool's runs need.
    pub fn start(with_tls: bool) -> Stage6 {
        let http = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let http_addr = http.local_addr().expect("a bound listener has an address");
        let dir = with_tls.then(throwaway_certificate);
        let acceptor = dir.as_ref().map(|dir| {
            tls::acceptor(&dir.join("cert.pem"), &dir.join("key.pem"))
                .unwrap_or_else(|e| panic!("[{STAGE}] the throwaway certificate was refused: {e}"))
        });
        let server = TestServer::start_tokio(STAGE, move |tcp| async move {
            http.set_nonblocking(true).expect("a non-blocking listener");
            let http = tokio::net::TcpListener::from_std(http).expect("tokio takes the listener");
            let config = Settings {
                message_rate: 1_000_000,
                message_burst: 1_000_000,
                ..Settings::default()
            }
            .build()
            .expect("the default settings with a high rate are valid");
            let services = Services::new(&config);
            let doors = Doors {
                tcp,
                tls: acceptor,
                http: Some(http),
            };
            run(doors, config, services, std::future::pending()).await;
        });
        Stage6 {
            server,
            http: http_addr,
            cert: dir.as_ref().map(|dir| dir.join("cert.pem")),
            dir,
        }
    }
}

impl Drop for Stage6 {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes a new self-signed certificate for 127.0.0.1 and localhost, and its
/// key, as `cert.pem` and `key.pem` in a new directory, with the `cert` tool
/// the book tells readers to use: every TLS test checks its output too.
fn throwaway_certificate() -> PathBuf {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chat-tools-tls-{}-{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    ));
    let out = dir.to_str().expect("a UTF-8 temporary path");
    let made = chat_harness::run_to_completion(env!("CARGO_BIN_EXE_cert"), &["--out", out]);
    assert!(
        made.status.success(),
        "[{STAGE}] `cert --out {out}` should write cert.pem and key.pem; it exited with {:?}, \
         stderr {:?} (see tests/src/bin/cert.rs)",
        made.status,
        String::from_utf8_lossy(&made.stderr)
    );
    dir
}
