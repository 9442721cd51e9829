//! The servers under test: already running, or copies of a binary this tool
//! starts.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use chat_tools::connect::Door;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::lookup_host;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout, timeout_at};

use crate::Args;
use crate::door::{self, ServerDoor};

/// The servers under test and how the clients reach them.
pub struct Target {
    /// The servers this tool started, if it did.
    spawned: Vec<SpawnedServer>,
    /// What the started servers needed for the transport, kept until the
    /// run ends (a certificate, say).
    _prepared: Vec<ServerDoor>,
    /// Where and how the clients connect: one door per server.
    pub doors: Vec<Door>,
    /// The servers' process ids, when known.
    pub pids: Vec<u32>,
    /// The name the started servers gave themselves.
    pub stage: Option<String>,
}

impl Target {
    /// Starts --servers copies of the --server binary with what
    /// `--transport` needs, or finds the running servers at --addr.
    pub async fn find(args: &Args, deadline: Instant) -> anyhow::Result<Target> {
        let mut target = Target {
            spawned: Vec::new(),
            _prepared: Vec::new(),
            doors: Vec::new(),
            pids: Vec::new(),
            stage: None,
        };
        let Some(binary) = &args.server else {
            for addr in &args.addr {
                let door = door::running(args.transport, addr, args.ca.as_deref()).await?;
                target.doors.push(door);
            }
            target.pids.clone_from(&args.pid);
            return Ok(target);
        };
        let redis = args.redis_url.iter().flat_map(|url| ["--redis-url", url]);
        let shared: Vec<String> = args
            .server_args
            .iter()
            .map(String::as_str)
            .chain(redis)
            .map(str::to_owned)
            .collect();
        for _ in 0..args.servers {
            let prepared = ServerDoor::prepare(args.transport)?;
            let server_args = [shared.as_slice(), prepared.args.as_slice()].concat();
            let spawned = SpawnedServer::start(binary, &server_args, deadline).await?;
            target
                .doors
                .push(prepared.open(spawned.addr, deadline).await?);
            target.pids.push(spawned.pid);
            target.stage = Some(spawned.stage.clone());
            target.spawned.push(spawned);
            target._prepared.push(prepared);
        }
        Ok(target)
    }

    /// Stops the servers this tool started; says how the first of them to
    /// end during the run ended, if one did.
    pub async fn stop(self) -> Option<String> {
        let mut exit = None;
        for mut spawned in self.spawned {
            exit = exit.or_else(|| spawned.exited());
            spawned.stop().await;
        }
        exit
    }
}

/// Whether the tool may connect to `ip`: only this machine's loopback.
///
/// A load tool aimed at someone else's server is an attack; refusing every
/// other address makes that mistake impossible.
pub fn is_loopback(ip: IpAddr) -> bool {
    // `to_canonical` turns `::ffff:127.0.0.1` into `127.0.0.1`.
    ip.to_canonical().is_loopback()
}

/// Resolves `addr` (HOST:PORT) and refuses it unless every address it names
/// is a loopback address.
pub async fn resolve_loopback(addr: &str) -> anyhow::Result<SocketAddr> {
    let resolved: Vec<SocketAddr> = lookup_host(addr)
        .await
        .with_context(|| format!("cannot resolve {addr:?} (expected HOST:PORT)"))?
        .collect();
    if let Some(remote) = resolved.iter().find(|a| !is_loopback(a.ip())) {
        bail!(
            "refusing to connect to {addr} ({}): this tool only drives servers on this \
             machine's loopback interface (127.0.0.0/8 or ::1)",
            remote.ip()
        );
    }
    resolved
        .first()
        .copied()
        .with_context(|| format!("{addr:?} resolves to no address"))
}

/// A server binary started by this tool; killed when dropped, so that no
/// early return leaves it running.
pub struct SpawnedServer {
    child: Child,
    /// Where it listens, from its first line of output.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    /// The name it gave itself in its first line, e.g. `stage2-rooms`.
    pub stage: String,
}

/// How long a starting server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);

impl SpawnedServer {
    /// Starts `binary --addr 127.0.0.1:0 <args>` and reads its first line,
    /// `<stage> listening on <addr>`, to learn the port it was given.
    pub async fn start(
        binary: &Path,
        args: &[String],
        deadline: Instant,
    ) -> anyhow::Result<SpawnedServer> {
        let shown = binary.display();
        let caps = per_address_caps(binary, args).await;
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(caps)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Servers log a line per connection: thousands of them would bury
            // the report.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {shown}"))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("stdout was piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = timeout_at(
            deadline.min(Instant::now() + START_TIMEOUT),
            lines.next_line(),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
        let Some(first) = first else {
            let status = child.try_wait().ok().flatten();
            bail!(
                "{shown} did not print \"<stage> listening on <addr>\" (exit status: {status:?}); \
                 run it by hand to see its error messages"
            );
        };
        // Keep reading, so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (stage, addr) = parse_listening(&first)
            .with_context(|| format!("expected \"<stage> listening on <addr>\", got {first:?}"))?;
        if !is_loopback(addr.ip()) {
            bail!("{shown} listens on {addr}, which is not a loopback address");
        }
        Ok(SpawnedServer {
            child,
            addr,
            pid,
            stage: stage.to_owned(),
        })
    }

    /// Says how the server ended if it already has: a crash during the run
    /// must not go unnoticed.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok()??;
        Some(format!(
            "the server at {} exited during the run ({status})",
            self.addr
        ))
    }

    /// Kills the server and waits for it, at most a second.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = timeout(Duration::from_secs(1), self.child.wait()).await;
    }
}

/// Arguments that lift the caps per client address of stages 4-6, which
/// would turn away all but a few of this tool's clients: they all connect
/// from 127.0.0.1. Only for a binary whose `--help` lists the flags (stages
/// 1-3 have none), and only if `args` sets neither of them.
async fn per_address_caps(binary: &Path, args: &[String]) -> Vec<String> {
    const FLAGS: [&str; 2] = ["--max-per-address", "--max-unnamed-per-address"];
    let mut help = Command::new(binary);
    help.arg("--help")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let help = match timeout(START_TIMEOUT, help.kill_on_drop(true).output()).await {
        Ok(Ok(output)) => String::from_utf8_lossy(&output.stdout).into_owned(),
        _ => return Vec::new(),
    };
    let given = args
        .iter()
        .any(|arg| FLAGS.iter().any(|f| arg.starts_with(f)));
    if given || !FLAGS.iter().all(|flag| help.contains(flag)) {
        return Vec::new();
    }
    let unlimited = usize::MAX.to_string();
    FLAGS
        .iter()
        .flat_map(|flag| [flag.to_string(), unlimited.clone()])
        .collect()
}

/// Splits `<stage> listening on <addr>`.
fn parse_listening(line: &str) -> Option<(&str, SocketAddr)> {
    let (stage, addr) = line.trim().split_once(" listening on ")?;
    Some((stage, addr.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_allowed() {
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.1.1",
            "8.8.8.8",
            "::",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn refuses_a_remote_address() {
        let error = resolve_loopback("192.0.2.1:8080").await.unwrap_err();
        assert!(error.to_string().contains("refusing"), "{error}");
        let local = resolve_loopback("127.0.0.1:8080").await.unwrap();
        assert_eq!(local, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn reads_the_listening_line() {
        let (stage, addr) = parse_listening("stage2-rooms listening on 127.0.0.1:4100\n").unwrap();
        assert_eq!(
            (stage, addr),
            ("stage2-rooms", "127.0.0.1:4100".parse().unwrap())
        );
        assert!(parse_listening("listening").is_none());
        assert!(parse_listening("x listening on nowhere").is_none());
    }
}
