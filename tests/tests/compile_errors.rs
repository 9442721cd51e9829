//! The book's "pitfalls" show real compiler errors. Each program in `tests/ui/`
//! must fail to compile with exactly the output in its `.stderr` file, which the
//! book includes; regenerate them with
//! `TRYBUILD=overwrite cargo test -p chat-tools --test compile_errors`.
//!
//! Compilers word their errors differently from one release to the next, so
//! the outputs are checked only with the release that wrote them, recorded in
//! `tests/ui/rustc-version.txt` (CI uses that release).

use std::process::Command;

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{rustc} --version`: {e}"));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn the_pitfall_programs_fail_with_the_errors_the_book_shows() {
    let recorded_in = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/rustc-version.txt");
    let ours = rustc_version();
    if std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite") {
        std::fs::write(recorded_in, format!("{ours}\n")).expect("tests/ui is writable");
    } else {
        let recorded = std::fs::read_to_string(recorded_in).unwrap_or_default();
        if recorded.trim() != ours {
            eprintln!(
                "NOT CHECKED: the expected errors in tests/ui were written by {:?}, and this \
                 is {ours:?}, whose wording may differ. Regenerate them with \
                 TRYBUILD=overwrite cargo test -p chat-tools --test compile_errors",
                recorded.trim()
            );
            return;
        }
    }
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
