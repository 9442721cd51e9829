//! The `load` tool, run as a real process against a real server: its idle
//! measurement, its exit statuses, runs over each of stage 6's transports,
//! and a run over two stage 6 servers sharing their rooms through Redis.

mod doors;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use chat_harness::TestServer;
use chat_harness::redis::RedisServer;
use doors::Stage6;
use serde_json::Value;
use stage2_rooms::{Limits, Server};

const STAGE: &str = "load tool";

/// The exit status `load --help` promises for a run that finished unclean.
const UNCLEAN: i32 = 3;

fn load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_load"))
        .args(args)
        .output()
        .expect("the load binary runs")
}

/// The tool's JSON report: the last line it printed, which must be one JSON object.
fn json_report(printed: &str) -> Value {
    let line = printed.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("[{STAGE}] the last line of --json output should be JSON ({e}); printed:\n{printed}")
    })
}

// `/proc` tells the tool the server's CPU time; only Linux has it.
#[cfg(target_os = "linux")]
#[test]
fn idle_clients_are_kept_for_idle_secs_and_the_server_cpu_is_reported() {
    let server = TestServer::start(STAGE, |listener| {
        Server::new(listener, Limits::default())
            .expect("a fresh listener can be made non-blocking")
            .run()
    });
    let addr = server.addr().to_string();
    // The server runs in this process, so this process is the one to measure.
    let pid = std::process::id().to_string();
    let output = load(&[
        "--addr",
        &addr,
        "--pid",
        &pid,
        "--clients",
        "3",
        "--idle-only",
        "--idle-secs",
        "1",
        "--json",
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "[{STAGE}] an idle run against a healthy server should exit 0; got {:?}, printed:\n{printed}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json = json_report(&printed);
    let held = json["idle_secs"].as_f64();
    assert!(
        held.is_some_and(|secs| (1.0..5.0).contains(&secs)),
        "[{STAGE}] --idle-secs 1 should keep the clients about a second; got {held:?} in {json}"
    );
    let cpu = json["cpu_idle_secs"].as_f64();
    assert!(
        cpu.is_some_and(|secs| secs >= 0.0) && json["cpu_idle_percent"].is_f64(),
        "[{STAGE}] the server's CPU time while idle should be reported; got {json}"
    );
    assert!(
        printed.contains("s idle (") && printed.contains("% of one core)"),
        "[{STAGE}] the report should show the idle CPU as a share of one core; printed:\n{printed}"
    );
}

#[test]
fn idle_secs_needs_idle_only() {
    let output = load(&["--idle-secs", "5"]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(2) && said.contains("--idle-only"),
        "[{STAGE}] --idle-secs without --idle-only should be refused as a usage error \
         (exit status 2), naming --idle-only; got {:?}:\n{said}",
        output.status
    );
}

#[test]
fn ca_is_only_for_tls() {
    let output = load(&["--ca", "ca.pem", "--transport", "websocket"]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(2) && said.contains("--ca is for --transport tls"),
        "[{STAGE}] --ca without --transport tls should be refused as a usage error (exit \
         status 2); got {:?}:\n{said}",
        output.status
    );
}

#[test]
fn a_run_whose_clients_fail_exits_with_its_own_status() {
    // A "server" that accepts every connection and closes it at once: every
    // client fails its handshake, and the run ends unclean.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            drop(connection);
        }
    });
    let output = load(&[
        "--addr",
        &addr.to_string(),
        "--clients",
        "2",
        "--deadline",
        "20",
        "--json",
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(UNCLEAN),
        "[{STAGE}] a run whose clients all failed should exit {UNCLEAN}, apart from clap's 2 \
         for a usage error; printed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = json_report(&printed);
    assert!(
        json["failed"] == 2 && json["clean"] == false,
        "[{STAGE}] the JSON should count both clients as failed and the run as unclean; got {json}"
    );
}

#[test]
fn a_run_that_cannot_start_exits_1() {
    // 192.0.2.0/24 is reserved for documentation: never this machine.
    let output = load(&["--addr", "192.0.2.1:8080"]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(1) && said.contains("loopback"),
        "[{STAGE}] a non-loopback address should stop the run before it starts, with exit \
         status 1 and a message about loopback; got {:?}:\n{said}",
        output.status
    );
}

#[test]
fn help_states_every_exit_status_and_version_answers() {
    let help = load(&["--help"]);
    let shown = String::from_utf8_lossy(&help.stdout);
    for status in [
        "0  a clean run",
        "3  the run finished unclean",
        "1  the run could not start",
        "2  the command line was refused",
    ] {
        assert!(
            help.status.success() && shown.contains(status),
            "[{STAGE}] `load --help` should state exit status {status:?}; got {:?}:\n{shown}",
            help.status
        );
    }
    let version = load(&["--version"]);
    let shown = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.status.success() && shown.starts_with("load "),
        "[{STAGE}] `load --version` should print `load <version>`; got {:?}: {shown}",
        version.status
    );
}

/// Runs a small load (4 clients, 2 senders, 20 messages each) over
/// `transport` at `addr`, with `extra` arguments.
fn small_run(transport: &str, addr: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--addr",
        addr,
        "--transport",
        transport,
        "--clients",
        "4",
        "--senders",
        "2",
        "--messages",
        "20",
        "--deadline",
        "30",
        "--json",
    ];
    args.extend_from_slice(extra);
    load(&args)
}

/// Checks that a small run over `transport` was clean and says so in its JSON.
fn assert_clean_over(transport: &str, output: &Output) {
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "[{STAGE}] a small run over {transport} against stage 6 should be clean (exit 0); \
         got {:?}, printed:\n{printed}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json = json_report(&printed);
    // 2 senders x 20 messages, each to the 3 other members of the lobby.
    assert!(
        json["transport"] == transport && json["expected"] == 120 && json["delivered"] == 120,
        "[{STAGE}] the JSON should name the transport {transport:?} and count 120 deliveries \
         of 120; got {json}"
    );
}

#[test]
fn a_run_over_tls_is_clean_and_names_its_transport() {
    let stage6 = Stage6::start(true);
    let cert = stage6.cert.as_ref().expect("TLS is on");
    let cert = cert.to_str().expect("a UTF-8 temporary path");
    let addr = stage6.server.addr().to_string();
    assert_clean_over("tls", &small_run("tls", &addr, &["--ca", cert]));
}

#[test]
fn a_run_over_websocket_is_clean_and_names_its_transport() {
    let stage6 = Stage6::start(false);
    let http = stage6.http.to_string();
    assert_clean_over("websocket", &small_run("websocket", &http, &[]));
}

#[test]
fn a_tls_run_that_does_not_trust_the_certificate_fails_its_handshakes() {
    let stage6 = Stage6::start(true);
    let addr = stage6.server.addr().to_string();
    let output = small_run("tls", &addr, &[]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(UNCLEAN),
        "[{STAGE}] clients that cannot trust the server's certificate fail, and the run is \
         unclean; printed:\n{printed}"
    );
    assert!(
        printed.contains("(handshake): TLS handshake failed")
            && json_report(&printed)["failed"] == 4,
        "[{STAGE}] the report should count all 4 clients as failed in the TLS handshake; \
         printed:\n{printed}"
    );
}

/// The stage 6 binary, which the load tool starts itself for a run over
/// several servers. Only a package's own binaries get a `CARGO_BIN_EXE_`
/// path, so cargo builds it (at once, when it is fresh) and says where it is.
fn stage6_binary() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "-p", "stage6-shutdown", "--bin", "stage6-shutdown"]);
    cargo.args(["--message-format", "json"]);
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let built = cargo.output().expect("cargo runs");
    let printed = String::from_utf8_lossy(&built.stdout);
    let executable = printed
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| message["executable"].as_str().map(PathBuf::from));
    match executable {
        Some(path) if built.status.success() => path,
        _ => panic!(
            "[{STAGE}] `cargo build -p stage6-shutdown` should build the stage 6 binary and \
             name it; got {:?}:\n{}",
            built.status,
            String::from_utf8_lossy(&built.stderr)
        ),
    }
}

#[test]
fn a_run_over_two_servers_sharing_redis_delivers_across_them() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let binary = stage6_binary();
    let binary = binary.to_str().expect("a UTF-8 target path");
    let url = redis.url();
    // 6 clients on 2 servers, alternately: clients 0, 2, 4 on the first,
    // 1, 3, 5 on the second. Senders 0 and 1 send 20 messages each to the
    // 5 other members of the lobby: 2 on the sender's server, 3 on the other.
    let output = load(&[
        "--server",
        binary,
        "--servers",
        "2",
        "--redis-url",
        &url,
        "--server-arg=--message-rate",
        "--server-arg=1000000",
        "--server-arg=--message-burst",
        "--server-arg=1000000",
        "--clients",
        "6",
        "--senders",
        "2",
        "--messages",
        "20",
        "--deadline",
        "30",
        "--json",
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "[{STAGE}] a small run over 2 stage 6 servers sharing {url} should be clean (exit 0); \
         got {:?}, printed:\n{printed}\n{said}\n(if lines went missing across servers, look \
         at stage6-shutdown/src/backend; if the run did not start, at tests/src/bin/load/target.rs)",
        output.status
    );
    let json = json_report(&printed);
    assert!(
        json["servers"] == 2
            && json["expected"] == 200
            && json["delivered"] == 200
            && json["delivered_same_server"] == 80
            && json["delivered_other_server"] == 120,
        "[{STAGE}] of 200 deliveries, 80 should reach members on the sender's server and 120 \
         members on the other server; got {json}"
    );
    assert!(
        json["hop_p50_us"].is_i64()
            && printed.contains("remote      p50 ")
            && printed.contains("(120 deliveries to another server)")
            && printed.contains("sharing rooms through redis://127.0.0.1:"),
        "[{STAGE}] the report should show the latency to another server and the hop; \
         printed:\n{printed}"
    );
}
