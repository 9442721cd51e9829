//! Real Redis servers, for stage 6's cluster tests and the load tool's runs
//! over several servers: each test starts its own `redis-server` on a free
//! loopback port, saving nothing to disk, and may kill it and start it again
//! on the same port. It is killed when dropped.
//!
//! Without `redis-server` on PATH the tests fail, saying how to install it,
//! unless `CHAT_SKIP_REDIS=1` is set: a cluster test that silently passed
//! would prove nothing.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::read_timeout;

/// How to get `redis-server`, for the failure message.
const INSTALL: &str = "on Debian: sudo apt-get install redis-server (.ci/run installs it); \
     elsewhere install Redis and put redis-server on PATH. CHAT_SKIP_REDIS=1 skips these tests";

/// How many free ports `start` tries: another test may take the one picked
/// between the moment it is found free and the moment Redis binds it.
const ATTEMPTS: usize = 5;

/// A `redis-server` of one test's own.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Its working directory, where it would save if asked to, and its log;
    /// removed when dropped.
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a Redis server on a free loopback port and waits until it
    /// answers PING, or returns `None` if `CHAT_SKIP_REDIS=1` is set.
    pub fn start() -> Option<RedisServer> {
        if std::env::var("CHAT_SKIP_REDIS").is_ok_and(|value| value == "1") {
            eprintln!("cluster test skipped: CHAT_SKIP_REDIS=1");
            return None;
        }
        // One directory per server of this process: the tests run in parallel.
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let started = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("chat-redis-{}-{started}", std::process::id()));
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make {} for redis-server: {e}", dir.display()));
        let mut redis = RedisServer {
            port: 0,
            child: None,
            dir,
        };
        for _ in 0..ATTEMPTS {
            redis.port = free_port();
            if redis.run().is_ok() {
                return Some(redis);
            }
        }
        redis.fail(&format!("did not start on any of {ATTEMPTS} free ports"))
    }

    /// The address the chat servers are given with `--redis-url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis at once (SIGKILL): its clients see their connections
    /// drop, and whatever it held is gone (it saves nothing).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port, empty, and waits until it
    /// answers PING.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(why) = self.run() {
            self.fail(&format!("did not start again on port {}: {why}", self.port));
        }
    }

    /// Makes Redis hold every client's commands for `pause` (`CLIENT PAUSE`),
    /// as a Redis too busy to answer would.
    pub fn pause(&self, pause: Duration) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let command = format!("CLIENT PAUSE {} ALL\r\n", pause.as_millis());
        let mut answer = String::new();
        let paused = TcpStream::connect_timeout(&addr, read_timeout()).and_then(|mut stream| {
            stream.set_read_timeout(Some(read_timeout()))?;
            stream.write_all(command.as_bytes())?;
            BufReader::new(stream).read_line(&mut answer)
        });
        if paused.is_err() || !answer.starts_with("+OK") {
            self.fail(&format!(
                "did not pause its clients: {paused:?}, answer {answer:?}"
            ));
        }
    }

    /// Runs `redis-server` on `self.port` until it answers PING; says why
    /// not if it exits first (its port was taken, say) or stays silent.
    fn run(&mut self) -> Result<(), String> {
        let log = self.log_path();
        let output = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let errors = output
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", log.display()));
        let port = self.port.to_string();
        let dir = self.dir.to_str().expect("a UTF-8 temporary path");
        let spawned = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--dir", dir])
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("the cluster tests need redis-server, which is not on PATH; {INSTALL}")
            }
            Err(e) => panic!("cannot start redis-server: {e}; {INSTALL}"),
        };
        let child = self.child.insert(child);
        let limit = read_timeout() * 2;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if answers_ping(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("it exited ({status}) before answering PING"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err(format!("it did not answer PING within {limit:?}"))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Panics with `what` happened and the end of Redis's log.
    fn fail(&self, what: &str) -> ! {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let last = lines[lines.len().saturating_sub(12)..].join("\n    ");
        panic!("redis-server {what}; the end of its log:\n    {last}")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether a Redis server on `port` answers `PING` with `+PONG` (plain TCP:
/// Redis takes commands as inline text too).
fn answers_ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let limit = Some(Duration::from_millis(500));
    if stream.set_read_timeout(limit).is_err() || stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    // `-LOADING` or nothing yet: not ready.
    BufReader::new(stream).read_line(&mut answer).is_ok() && answer.starts_with("+PONG")
}

/// A loopback port that nothing listens on, found by letting the system
/// pick one and releasing it.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free port on 127.0.0.1: {e}"))
}
