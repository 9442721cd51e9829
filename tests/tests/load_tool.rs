//! The `load` tool's idle measurement, run as a real process against a real server.

use std::process::{Command, Output};

use chat_harness::TestServer;
use stage2_rooms::{Limits, Server};

const STAGE: &str = "load tool";

fn load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_load"))
        .args(args)
        .output()
        .expect("the load binary runs")
}

/// The number after `"key":` in the tool's one-line JSON report.
fn figure(json: &str, key: &str) -> Option<f64> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &json[start..];
    let end = rest.find([',', '}'])?;
    rest[..end].parse().ok()
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
    let json = printed.lines().last().unwrap_or_default();
    let held = figure(json, "idle_secs");
    assert!(
        held.is_some_and(|secs| (1.0..5.0).contains(&secs)),
        "[{STAGE}] --idle-secs 1 should keep the clients about a second; got {held:?} in {json}"
    );
    let cpu = figure(json, "cpu_idle_secs");
    assert!(
        cpu.is_some_and(|secs| secs >= 0.0) && figure(json, "cpu_idle_percent").is_some(),
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
        !output.status.success() && said.contains("--idle-only"),
        "[{STAGE}] --idle-secs without --idle-only should be refused, naming --idle-only; \
         got {:?}:\n{said}",
        output.status
    );
}
