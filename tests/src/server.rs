//! Running a stage's server inside the test process.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::Client;
use crate::client::ServerWatch;

/// A server running on its own thread in the test process, on a free port.
///
/// The thread is not stopped when the test ends; the test process exits soon after.
pub struct TestServer {
    stage: &'static str,
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
}

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
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = StopFlag(Arc::clone(&stopped));
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
            stopped,
        }
    }

    /// Like [`start`](Self::start), for a tokio server: runs `serve` with a
    /// tokio listener on a runtime of the server thread's own.
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

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits up to `limit` for the server's function to return; returns
    /// whether it did.
    pub fn wait_stopped(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.stopped.load(Ordering::SeqCst) {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Connects a client; `who` names it in failure messages (use the chat name).
    pub fn connect(&self, who: &str) -> Client {
        let watch = ServerWatch {
            stopped: Arc::clone(&self.stopped),
            log: None,
        };
        Client::connect(self.stage, who, self.addr, watch)
    }
}

/// Raises the flag when dropped: when `serve` returns or unwinds.
struct StopFlag(Arc<AtomicBool>);

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
