//! Every tool of this package answers `--version` with its own name, so a
//! learner (or a script) can tell which build they are running.

use std::process::Command;

/// Runs `binary --version` and returns what it printed.
fn version_of(binary: &str) -> String {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {binary}: {error}"));
    assert!(
        output.status.success(),
        "`{binary} --version` exited with {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn every_tool_answers_version_with_its_name() {
    let version = env!("CARGO_PKG_VERSION");
    for (name, binary) in [
        ("book", env!("CARGO_BIN_EXE_book")),
        ("chat", env!("CARGO_BIN_EXE_chat")),
        ("exercise", env!("CARGO_BIN_EXE_exercise")),
        ("load", env!("CARGO_BIN_EXE_load")),
    ] {
        assert_eq!(
            version_of(binary),
            format!("{name} {version}"),
            "`{name} --version` should print its own name and the workspace's version"
        );
    }
}
