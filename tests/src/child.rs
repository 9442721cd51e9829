//! Running a stage's real binary as a child process.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::ServerWatch;
use crate::{Client, read_timeout};

/// How many of the child's last stderr lines a failure report shows.
const KEPT_STDERR_LINES: usize = 12;

/// A stage's binary started with `--addr 127.0.0.1:0`, killed when dropped.
///
/// Every stage prints `<stage> listening on <addr>` as its first line of
/// standard output; that line tells the test which port the system picked.
pub struct ChildServer {
    stage: &'static str,
    child: Child,
    addr: SocketAddr,
    watch: ServerWatch,
}

impl ChildServer {
    /// Starts `binary` (use `env!("CARGO_BIN_EXE_<name>")`) with `--addr
    /// 127.0.0.1:0` and `extra_args`, and waits for its "listening on" line.
    pub fn spawn(stage: &'static str, binary: &str, extra_args: &[&str]) -> ChildServer {
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("[{stage}] cannot start {binary}: {e}"));
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");

        // Keep the last lines of stderr (a panic message, say) for failure
        // reports; its end means the process has exited.
        let watch = ServerWatch {
            stopped: Arc::new(AtomicBool::new(false)),
            log: Some(Arc::new(Mutex::new(VecDeque::new()))),
        };
        let (stopped, log) = (Arc::clone(&watch.stopped), watch.log.clone());
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(log) = &log {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == KEPT_STDERR_LINES {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            }
            stopped.store(true, Ordering::SeqCst);
        });

        // Read the first line on a helper thread so that a silent binary
        // times out instead of hanging the test.
        let (first_line, arrived) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first_line.send(lines.next());
            // Keep draining so that the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match arrived.recv_timeout(read_timeout()) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                panic!(
                    "[{stage}] expected {binary} to print \"{stage} listening on <addr>\" first, \
                     but got {other:?}"
                )
            }
        };
        let addr = line
            .rsplit(' ')
            .next()
            .and_then(|word| word.parse().ok())
            .unwrap_or_else(|| {
                panic!("[{stage}] expected \"{stage} listening on <addr>\", got {line:?}")
            });
        ChildServer {
            stage,
            child,
            addr,
            watch,
        }
    }

    /// Where the child listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends the child SIGTERM, as a service manager stopping it would.
    #[cfg(unix)]
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("[{}] cannot run kill: {e}", self.stage));
        assert!(status.success(), "[{}] kill -TERM failed", self.stage);
    }

    /// Waits up to `limit` for the child to exit; returns how it exited.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Connects a client; `who` names it in failure messages.
    pub fn connect(&self, who: &str) -> Client {
        Client::connect(self.stage, who, self.addr, self.watch.clone())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `binary` with `args` to completion (for `--help` and bad arguments).
pub fn run_to_completion(binary: &str, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"))
}
