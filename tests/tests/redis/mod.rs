//! A `redis-server` of one test's own, for the load tool's runs over
//! several stage 6 servers sharing their rooms: on a free loopback port,
//! saving nothing, in a directory of its own; killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long Redis may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it
    /// answers PING; `None` when `CHAT_SKIP_REDIS=1` says to do without.
    pub fn start() -> Option<RedisServer> {
        if std::env::var("CHAT_SKIP_REDIS").is_ok_and(|value| value == "1") {
            eprintln!("skipped: CHAT_SKIP_REDIS=1");
            return None;
        }
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "load-tool-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // Free a moment ago; Redis binds it at once.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it (on Debian: apt-get install \
                     redis-server; .ci/run does), or set CHAT_SKIP_REDIS=1 to skip this test"
                )
            });
        let redis = RedisServer { child, port, dir };
        redis.wait_for_pong();
        Some(redis)
    }

    /// The address the chat servers are given with `--redis-url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn wait_for_pong(&self) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < START_TIMEOUT {
            match ping(self.port) {
                Ok(answer) if answer.starts_with("+PONG") => return,
                Ok(answer) => last = format!("answered {answer:?}"),
                Err(e) => last = e.to_string(),
            }
            sleep(Duration::from_millis(50));
        }
        panic!(
            "redis-server on port {} did not answer PING with +PONG within {START_TIMEOUT:?}; \
             last: {last}",
            self.port
        );
    }
}

/// Sends `PING` in Redis's inline form and returns the answer.
fn ping(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(b"PING\r\n")?;
    let mut answer = [0; 16];
    let read = stream.read(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer[..read]).into_owned())
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
