//! Running a stage's real binary as a child process.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::ServerWatch;
use crate::workspace_root;
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
    /// Whether the child leads a process group of its own (a shell command
    /// and whatever it started), to be killed as a whole.
    group: bool,
}

impl ChildServer {
    /// Starts `binary` (use `env!("CARGO_BIN_EXE_<name>")`) with `--addr
    /// 127.0.0.1:0` and `extra_args`, and waits for its "listening on" line.
    pub fn spawn(stage: &'static str, binary: &str, extra_args: &[&str]) -> ChildServer {
        let mut command = Command::new(binary);
        command.args(["--addr", "127.0.0.1:0"]).args(extra_args);
        let (mut child, watch, stdout) = spawn_watched(stage, command, binary);

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
                let _ = child.wait();
                // Its stderr says why, once the reader has collected it.
                let collected = Instant::now() + Duration::from_millis(500);
                while !watch.stopped.load(Ordering::SeqCst) && Instant::now() < collected {
                    thread::sleep(Duration::from_millis(10));
                }
                let mut report = format!(
                    "[{stage}] expected {binary} to print \"{stage} listening on <addr>\" first, \
                     but got {other:?}\n"
                );
                watch.describe(&mut report);
                panic!("{report}")
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
            group: false,
        }
    }

    /// Runs `command` through the shell (`sh -c`, or `cmd /C` on Windows) in
    /// the workspace's root directory, with `{addr}` replaced by a free
    /// `127.0.0.1` address, and waits until the server accepts a connection
    /// there. Returns the server and that connection, which the test's first
    /// client should use: a server that numbers its clients then numbers the
    /// test's first one 1.
    pub(crate) fn spawn_command(stage: &'static str, command: &str) -> (ChildServer, TcpStream) {
        assert!(
            command.contains("{addr}"),
            "[{stage}] CHAT_SERVER_CMD must contain {{addr}}, which each test replaces with \
             the address its own server must listen on; it is {command:?}"
        );
        let addr = free_address(stage);
        let line = command.replace("{addr}", &addr.to_string());
        let mut shell = shell(&line);
        // Where `cargo test` is usually typed, rather than the directory of
        // the package under test, where cargo runs the tests.
        shell.current_dir(workspace_root());
        let (child, mut watch, stdout) = spawn_watched(stage, shell, &line);
        thread::spawn(move || {
            // Drained so that the child never blocks on a full pipe.
            for _ in BufReader::new(stdout).lines() {}
        });
        watch.under_test =
            Some(format!("`{line}` (CHAT_SERVER_CMD), started for this test").into());
        watch.external = true;
        let mut server = ChildServer {
            stage,
            child,
            addr,
            watch,
            group: true,
        };
        let limit = read_timeout() * 2;
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                return (server, stream);
            }
            let status = server.child.try_wait().ok().flatten();
            if status.is_some() || Instant::now() >= deadline {
                let what = match status {
                    Some(status) => format!("exited ({status}) before accepting connections"),
                    None => format!("accepted no connection within {limit:?}"),
                };
                // Give the stderr reader a moment to collect the last words.
                let collected = Instant::now() + Duration::from_millis(500);
                while status.is_some()
                    && !server.watch.stopped.load(Ordering::SeqCst)
                    && Instant::now() < collected
                {
                    thread::sleep(Duration::from_millis(10));
                }
                let mut report = format!(
                    "[{stage}] the server command {what} on {addr}; it must listen on the \
                     address that replaces {{addr}} (build a compiled server before the tests)\n"
                );
                server.watch.describe(&mut report);
                // A reaped child's id may already belong to someone else.
                server.group = status.is_none();
                drop(server);
                panic!("{report}");
            }
            thread::sleep(Duration::from_millis(20));
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

    /// Kills the child at once (SIGKILL on Unix), as a crash or the
    /// out-of-memory killer would: it gets no chance to say goodbye or to
    /// tidy up after itself. Returns once it has exited.
    pub fn kill(&mut self) {
        if self.group {
            kill_group(&mut self.child);
            // Reaped below: its id may then be reused, and must not be killed again.
            self.group = false;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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

    /// What failure reports say about this server.
    pub(crate) fn watch(&self) -> &ServerWatch {
        &self.watch
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if self.group {
            kill_group(&mut self.child);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` with piped output, and keeps the last lines of its
/// stderr (a panic message, say) for failure reports; the end of stderr
/// means the process has exited. Returns its stdout for the caller to read.
fn spawn_watched(
    stage: &'static str,
    mut command: Command,
    shown: &str,
) -> (Child, ServerWatch, ChildStdout) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("[{stage}] cannot start {shown}: {e}"));
    let stdout = child.stdout.take().expect("stdout was piped");
    let stderr = child.stderr.take().expect("stderr was piped");
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let watch = ServerWatch {
        log: Some(Arc::clone(&log)),
        ..ServerWatch::new()
    };
    let stopped = Arc::clone(&watch.stopped);
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            if log.len() == KEPT_STDERR_LINES {
                log.pop_front();
            }
            log.push_back(line);
        }
        stopped.store(true, Ordering::SeqCst);
    });
    (child, watch, stdout)
}

/// A free address on 127.0.0.1 for a server to listen on: the system picks
/// a port, which is released at once for the server to take. Ports already
/// handed out by this process are not handed out again, so that two tests
/// running at once never start their servers on the same one.
fn free_address(stage: &'static str) -> SocketAddr {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("[{stage}] cannot find a free port on 127.0.0.1: {e}"));
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&addr.port()) {
            handed_out.push(addr.port());
            return addr;
        }
    }
}

/// `line` run by the shell, in a process group of its own, so that
/// `kill_group` also ends what the shell started (`cd dir && ./server`
/// leaves the shell waiting for the server).
#[cfg(unix)]
fn shell(line: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("sh");
    command.arg("-c").arg(line).process_group(0);
    command
}

/// `line` run by `cmd /C`, passed as it was written: `cmd` has quoting rules
/// of its own.
#[cfg(windows)]
fn shell(line: &str) -> Command {
    use std::os::windows::process::CommandExt;
    let mut command = Command::new("cmd");
    command.arg("/C").raw_arg(line);
    command
}

/// Kills the process group that `child` leads (it was started with
/// `process_group(0)`). The standard library can signal one process only,
/// so this asks the `kill` program (a shell's built-in `kill`, dash's for
/// one, may not take a group). Without that program, only `child` dies.
#[cfg(unix)]
fn kill_group(child: &mut Child) {
    let killed = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !killed {
        let _ = child.kill();
    }
}

/// Kills `child` and every process it started.
#[cfg(windows)]
fn kill_group(child: &mut Child) {
    let _ = Command::new("taskkill")
        .args(["/T", "/F", "/PID", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Runs `binary` with `args` to completion (for `--help` and bad arguments).
///
/// A binary that should exit at once but serves instead is killed after
/// twice the read timeout, and the test fails saying so: no test can hang.
pub fn run_to_completion(binary: &str, args: &[&str]) -> Output {
    let mut command = Command::new(binary);
    command.args(args);
    let limit = read_timeout() * 2;
    let ran =
        run_within(command, Some(limit)).unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    if ran.timed_out {
        panic!(
            "`{binary} {}` was expected to exit by itself, but it was still running \
             after {limit:?} (killed).\n  its stdout: {:?}\n  its stderr: {:?}\n  \
             hint: a binary should refuse a bad argument or configuration and exit, \
             not start serving",
            args.join(" "),
            String::from_utf8_lossy(&ran.output.stdout),
            String::from_utf8_lossy(&ran.output.stderr),
        );
    }
    ran.output
}

/// A command run by [`run_within`].
pub struct Ran {
    /// How it ended, and everything it printed.
    pub output: Output,
    /// Whether it was still running at the time limit, and so was killed.
    pub timed_out: bool,
}

/// Runs `command` with no input and its output captured, in a process
/// group of its own, until it exits or `limit` has passed; then it is
/// killed with every process it started (a `cargo test`, say, and the test
/// binary it runs).
pub fn run_within(mut command: Command, limit: Option<Duration>) -> io::Result<Ran> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes while waiting: a child whose pipe is full cannot exit.
    let stdout = read_all(child.stdout.take().expect("stdout was piped"));
    let stderr = read_all(child.stderr.take().expect("stderr was piped"));
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if limit.is_some_and(|limit| started.elapsed() > limit) {
            kill_group(&mut child);
            timed_out = true;
            break child.wait()?;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    Ok(Ran { output, timed_out })
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_limit_is_killed_with_what_it_started() {
        let mut command = Command::new("sh");
        // The background `sleep` holds standard output open: unless it dies
        // too, reading the output would wait the whole 30 s.
        command.args(["-c", "echo started; sleep 30 & wait"]);
        let began = Instant::now();
        let ran = run_within(command, Some(Duration::from_millis(300))).expect("sh runs");
        assert!(ran.timed_out, "the command outlived its limit");
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the process the command started was left running ({:?})",
            began.elapsed()
        );
        assert_eq!(String::from_utf8_lossy(&ran.output.stdout), "started\n");
    }
}
