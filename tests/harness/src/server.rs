//! Running a stage's server inside the test process, or finding the server
//! that a conformance test should check.

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::ServerWatch;
use crate::{ChildServer, Client};

/// The server a test talks to: usually the stage's reference server on its
/// own thread in the test process, on a free port; for conformance tests,
/// possibly someone else's (see [`conformance`](Self::conformance)).
///
/// An in-process server's thread is not stopped when the test ends; the test
/// process exits soon after.
pub struct TestServer {
    stage: &'static str,
    addr: SocketAddr,
    watch: ServerWatch,
    /// A connection opened while waiting for a command's server to start,
    /// kept for the first client.
    opened: Mutex<Option<TcpStream>>,
    /// A command's server, killed with this value.
    _child: Option<ChildServer>,
    /// This test's turn on a shared server, held until the test ends.
    _turn: Option<MutexGuard<'static, ()>>,
}

/// Serialises the tests that use a shared server (`CHAT_SERVER`).
static SHARED_TURN: Mutex<()> = Mutex::new(());

/// The stage whose suite first used `CHAT_SERVER` or `CHAT_SERVER_CMD` in
/// this process: those name one server, for one stage's suite.
static STAGE_UNDER_TEST: OnceLock<&'static str> = OnceLock::new();

impl TestServer {
    /// Binds `127.0.0.1:0` (the operating system picks a free port) and runs
    /// `serve` with that listener on a new thread.
    ///
    /// `stage` names the crate under test in every failure message.
    pub fn start<F>(stage: &'static str, serve: F) -> TestServer
    where
        F: FnOnce(TcpListener) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("[{stage}] cannot bind a free port on 127.0.0.1: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("[{stage}] the listener has no local address: {e}"));
        let watch = ServerWatch::new();
        let flag = StopFlag(watch.clone());
        thread::Builder::new()
            .name(format!("{stage} server"))
            .spawn(move || {
                // Set even if `serve` panics, so that failures can say so.
                let _flag = flag;
                serve(listener);
            })
            .unwrap_or_else(|e| panic!("[{stage}] cannot start the server thread: {e}"));
        TestServer {
            stage,
            addr,
            watch,
            opened: Mutex::new(None),
            _child: None,
            _turn: None,
        }
    }

    /// Like [`start`](Self::start), for a tokio server: runs `serve` with a
    /// tokio listener on a runtime of the server thread's own. (Cargo
    /// feature `tokio`.)
    #[cfg(feature = "tokio")]
    pub fn start_tokio<F, Fut>(stage: &'static str, serve: F) -> TestServer
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        TestServer::start(stage, move |listener| {
            let runtime = tokio::runtime::Runtime::new()
                .unwrap_or_else(|e| panic!("[{stage}] cannot start a tokio runtime: {e}"));
            runtime.block_on(async move {
                listener.set_nonblocking(true).unwrap_or_else(|e| {
                    panic!("[{stage}] cannot make the listener non-blocking: {e}")
                });
                let listener = tokio::net::TcpListener::from_std(listener)
                    .unwrap_or_else(|e| panic!("[{stage}] tokio refused the listener: {e}"));
                serve(listener).await;
            });
        })
    }

    /// The server a conformance test checks (the tests in a stage's
    /// `tests/conformance.rs`, which look only at what crosses the wire):
    ///
    /// - by default, the stage's reference server, started like
    ///   [`start`](Self::start) with `serve`;
    /// - if `CHAT_SERVER_CMD` is set, a server started for this test by that
    ///   command (run by `sh -c`, or `cmd /C` on Windows), in which `{addr}`
    ///   is replaced by a free `127.0.0.1:PORT` for it to listen on; the test
    ///   waits until it accepts connections (at most twice the read timeout)
    ///   and kills it when this value is dropped;
    /// - if `CHAT_SERVER=HOST:PORT` is set, the server already running there.
    ///   Tests then take turns: this value holds the turn until it is
    ///   dropped. Each client closes gracefully when dropped, so that the
    ///   next test hears nothing of it; and [`is_shared`](Self::is_shared)
    ///   tells tests that the server may remember earlier ones.
    ///
    /// Either variable names one server, so a process may run only one
    /// stage's suite with it: `cargo conformance stage4`. Every failure
    /// report names the server under test.
    pub fn conformance<F>(stage: &'static str, serve: F) -> TestServer
    where
        F: FnOnce(TcpListener) + Send + 'static,
    {
        TestServer::under_test(stage, || TestServer::start(stage, serve))
    }

    /// Like [`conformance`](Self::conformance), for a tokio server: the
    /// reference starts like [`start_tokio`](Self::start_tokio). (Cargo
    /// feature `tokio`.)
    #[cfg(feature = "tokio")]
    pub fn conformance_tokio<F, Fut>(stage: &'static str, serve: F) -> TestServer
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        TestServer::under_test(stage, || TestServer::start_tokio(stage, serve))
    }

    /// The server that the environment names, or the reference.
    fn under_test(stage: &'static str, reference: impl FnOnce() -> TestServer) -> TestServer {
        let set = |name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        match (set("CHAT_SERVER"), set("CHAT_SERVER_CMD")) {
            (Some(_), Some(_)) => {
                panic!("[{stage}] set CHAT_SERVER or CHAT_SERVER_CMD, not both")
            }
            (None, None) => {
                let mut server = reference();
                let described = format!(
                    "this workspace's {stage} (your code, if you started an exercise), \
                     in the test process"
                );
                server.watch.under_test = Some(described.into());
                server
            }
            (None, Some(command)) => {
                claim_stage(stage, "CHAT_SERVER_CMD");
                let (child, opened) = ChildServer::spawn_command(stage, &command);
                TestServer {
                    stage,
                    addr: child.addr(),
                    watch: child.watch().clone(),
                    opened: Mutex::new(Some(opened)),
                    _child: Some(child),
                    _turn: None,
                }
            }
            (Some(address), None) => {
                claim_stage(stage, "CHAT_SERVER");
                let addr = address
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .unwrap_or_else(|| {
                        panic!("[{stage}] CHAT_SERVER={address:?} is not a HOST:PORT address")
                    });
                let turn = SHARED_TURN.lock().unwrap_or_else(PoisonError::into_inner);
                let watch = ServerWatch {
                    under_test: Some(
                        format!(
                            "{address} (CHAT_SERVER), a running server that the tests use \
                             one at a time"
                        )
                        .into(),
                    ),
                    shared: true,
                    external: true,
                    ..ServerWatch::new()
                };
                TestServer {
                    stage,
                    addr,
                    watch,
                    opened: Mutex::new(None),
                    _child: None,
                    _turn: Some(turn),
                }
            }
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether this is a running server that earlier tests may have used
    /// (`CHAT_SERVER`), rather than one started for this test. A test whose
    /// checks depend on a fresh server says what it checks instead.
    pub fn is_shared(&self) -> bool {
        self.watch.shared
    }

    /// Waits up to `limit` for the server's function (or process) to end;
    /// returns whether it did. A shared server is never seen to end.
    pub fn wait_stopped(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.watch.stopped.load(Ordering::SeqCst) {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Connects a client; `who` names it in failure messages (use the chat name).
    pub fn connect(&self, who: &str) -> Client {
        let opened = self
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match opened {
            Some(stream) => Client::over(self.stage, who, stream, self.watch.clone()),
            None => Client::connect(self.stage, who, self.addr, self.watch.clone()),
        }
    }
}

impl TestServer {
    /// A client on a connection the test opened itself, for example from a
    /// chosen local address; `who` names it in failure messages.
    pub fn client_over(&self, who: &str, stream: TcpStream) -> Client {
        Client::over(self.stage, who, stream, self.watch.clone())
    }
}

/// Makes sure that a process uses `CHAT_SERVER` or `CHAT_SERVER_CMD` for one
/// stage's suite only: the server it names speaks one stage's protocol.
fn claim_stage(stage: &'static str, variable: &str) {
    let first = *STAGE_UNDER_TEST.get_or_init(|| stage);
    if first != stage {
        let short = stage.split('-').next().unwrap_or(stage);
        panic!(
            "[{stage}] {variable} names one server, and this run already tested it with \
             {first}'s suite; run one stage's suite at a time: cargo conformance {short}"
        );
    }
}

/// Raises the stopped flag when dropped: when `serve` returns or unwinds
/// (and then the panicked flag too).
struct StopFlag(ServerWatch);

impl Drop for StopFlag {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.panicked.store(true, Ordering::SeqCst);
        }
        self.0.stopped.store(true, Ordering::SeqCst);
    }
}
