//! The `cert` tool: a self-signed certificate stage 6 accepts, and nothing
//! overwritten. (Every TLS test in `chat_client.rs` and `load_tool.rs` also
//! runs on a certificate it made.)

use std::path::PathBuf;

use chat_harness::run_to_completion;

const TOOL: &str = env!("CARGO_BIN_EXE_cert");

/// A new, empty directory for this test.
fn fresh_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cert-tool-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn it_writes_a_certificate_and_key_that_stage6_accepts() {
    let dir = fresh_dir("writes");
    let out = dir.to_str().expect("a UTF-8 temporary path");
    let made = run_to_completion(TOOL, &["--out", out, "chat.example", "127.0.0.1"]);
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success() && said.contains("for chat.example, 127.0.0.1"),
        "`cert --out {out} chat.example 127.0.0.1` should succeed and name what it wrote; \
         got {:?}, stdout {said:?}, stderr {:?} (see tests/src/bin/cert.rs)",
        made.status,
        String::from_utf8_lossy(&made.stderr)
    );
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if let Err(error) = stage6_shutdown::tls::acceptor(&cert, &key) {
        panic!("stage 6 should accept the files `cert` wrote; it said: {error}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key.pem exists")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "key.pem should be readable by its owner only; its mode is {mode:o}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn it_never_overwrites_a_certificate() {
    let dir = fresh_dir("overwrite");
    let out = dir.to_str().expect("a UTF-8 temporary path");
    assert!(run_to_completion(TOOL, &["--out", out]).status.success());
    let before = std::fs::read(dir.join("cert.pem")).expect("cert.pem was written");
    let again = run_to_completion(TOOL, &["--out", out]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && said.contains("remove it first"),
        "a second `cert --out {out}` should refuse to replace cert.pem, saying how to; \
         got {:?}, stderr {said:?}",
        again.status
    );
    let after = std::fs::read(dir.join("cert.pem")).expect("cert.pem is still there");
    assert_eq!(before, after, "cert.pem changed although `cert` refused");
    let _ = std::fs::remove_dir_all(&dir);
}
