//! `--history-db PATH`: the history in SQLite survives a restart of the real
//! binary, a bad file is refused at start, and a database that fails at run
//! time degrades the history without disturbing the chat. Run with
//! `cargo test -p stage6-shutdown --test history_db`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chat_harness::{ChildServer, Client, TestServer, run_to_completion};
use stage6_shutdown::history::{History, SqliteHistory};
use stage6_shutdown::metrics::Metrics;
use stage6_shutdown::{Services, run};

pub mod common;
use self::common::{STAGE, relaxed};

const BINARY: &str = env!("CARGO_BIN_EXE_stage6-shutdown");

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{STAGE}-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real binary, keeping its history in `db`.
fn spawn_with(db: &Path) -> ChildServer {
    let db = db.to_str().expect("a UTF-8 temporary path");
    ChildServer::spawn(STAGE, BINARY, &["--history-db", db])
}

/// Connects `name` to a child server and answers the name prompt.
fn join(server: &ChildServer, name: &str) -> Client {
    let mut client = server.connect(name);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

/// SIGTERM, then a clean exit: the graceful shutdown writes the history out.
#[cfg(unix)]
fn stop(mut server: ChildServer) {
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some_and(|status| status.success()),
        "[{STAGE}] after SIGTERM the server should exit with status 0; got {status:?}"
    );
}

/// Runs the first life of a server on `db`: alice says two things in the
/// lobby and one in #rust (bob hears them, so they were handled), then SIGTERM.
#[cfg(unix)]
fn first_run(db: &Path) {
    let server = spawn_with(db);
    let mut alice = join(&server, "alice");
    let mut bob = join(&server, "bob");
    alice.expect("* bob joined #lobby");
    // Once bob's /list is answered, his (empty) replay is behind him: alice's
    // messages reach him live.
    bob.send("/list");
    bob.expect("* in #lobby: alice, bob");
    alice.send("one");
    alice.send("two");
    bob.expect("<alice> one");
    bob.expect("<alice> two");
    alice.send("/join rust");
    alice.expect("* you are now in #rust");
    alice.send("rusty");
    alice.send("/rooms");
    alice.expect("* rooms: #lobby (1), #rust (1)");
    stop(server);
}

#[cfg(unix)]
#[test]
fn history_survives_a_restart_of_the_binary() {
    let dir = TempDir::new("restart");
    let db = dir.path("history.db");
    first_run(&db);
    // A closed SQLite database has folded its write-ahead log back in.
    for leftover in ["history.db-wal", "history.db-shm"] {
        assert!(
            !dir.path(leftover).exists(),
            "[{STAGE}] after a graceful shutdown {leftover} should be gone: the server \
             closes the database before it exits (`SqliteHistory::close` in \
             stage6-shutdown/src/history/sqlite.rs)"
        );
    }

    let server = spawn_with(&db);
    let mut carol = join(&server, "carol");
    carol.hint("--history-db keeps each room's last messages in SQLite across a restart");
    carol.expect("* the last 2 messages in #lobby:");
    carol.expect("<alice> one");
    carol.expect("<alice> two");
    // A room emptied by the shutdown keeps its history too.
    carol.send("/join rust");
    carol.expect("* you are now in #rust");
    carol.hint("a room left empty by the shutdown must not forget its history");
    carol.expect("* the last message in #rust:");
    carol.expect("<alice> rusty");
    stop(server);
}

#[cfg(unix)]
#[test]
fn replayed_ids_from_a_previous_run_never_suppress_a_live_message() {
    let dir = TempDir::new("ids");
    let db = dir.path("history.db");
    first_run(&db);

    // The newcomer remembers the ids of the replayed messages, to skip their
    // live copies. A second run numbering its messages from 1 again would
    // give dave's messages those ids, and carol would never see them.
    let server = spawn_with(&db);
    let mut carol = join(&server, "carol");
    carol.expect("* the last 2 messages in #lobby:");
    carol.expect("<alice> one");
    carol.expect("<alice> two");
    let mut dave = join(&server, "dave");
    carol.expect("* dave joined #lobby");
    dave.send("three");
    dave.send("four");
    carol.hint("this run's message ids must start after the largest id stored");
    carol.expect("<dave> three");
    carol.expect("<dave> four");
    stop(server);
}

/// Starts the binary on `db`, expects it to exit at once with an error that
/// names the file and says `problem` (one of the words, in SQLite's terms).
fn expect_refused(db: &Path, problem: &[&str]) {
    let shown = db.to_str().expect("a UTF-8 temporary path");
    let output = run_to_completion(BINARY, &["--addr", "127.0.0.1:0", "--history-db", shown]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success()
            && stderr.contains(shown)
            && problem.iter().any(|word| stderr.contains(word)),
        "[{STAGE}] expected --history-db {shown} to be refused at start, naming the file \
         and saying {problem:?}; got {:?} and stderr {stderr:?}",
        output.status
    );
}

#[test]
fn a_corrupt_file_is_a_clear_error_at_start() {
    let dir = TempDir::new("corrupt");
    let db = dir.path("history.db");
    std::fs::write(&db, "these are chat logs, not a database\n".repeat(200))
        .expect("a file written");
    expect_refused(&db, &["not a database"]);
}

#[test]
fn an_unwritable_file_is_a_clear_error_at_start() {
    let dir = TempDir::new("unwritable");
    // A directory where the file should be, and a file where its directory
    // should be: neither can be written, even by root.
    expect_refused(&dir.path(""), &["unable to open"]);
    let plain = dir.path("plain");
    std::fs::write(&plain, "").expect("a file written");
    expect_refused(&plain.join("history.db"), &["unable to open"]);
    // A read-only file, unless the tests run as root (whom permissions do
    // not stop): then it is writable, and the cases above stand for it.
    let read_only = dir.path("read-only.db");
    rusqlite::Connection::open(&read_only).expect("a database made");
    let mut permissions = std::fs::metadata(&read_only)
        .expect("metadata")
        .permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&read_only, permissions).expect("made read-only");
    if std::fs::OpenOptions::new()
        .write(true)
        .open(&read_only)
        .is_err()
    {
        expect_refused(&read_only, &["readonly", "read-only", "unable to open"]);
    } else {
        eprintln!("[{STAGE}] running as root: the read-only file case is not checked");
    }
}

#[test]
fn a_locked_file_is_a_clear_error_at_start() {
    let dir = TempDir::new("locked");
    let db = dir.path("history.db");
    let holder = rusqlite::Connection::open(&db).expect("a database made");
    // Another process in the middle of a write holds the lock: the server
    // must say so rather than wait, or start and lose every record.
    holder
        .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE other (x);")
        .expect("an exclusive lock");
    expect_refused(&db, &["locked"]);
    holder.execute_batch("COMMIT").expect("the lock released");
}

/// Polls `metrics` until `series` is at least `at_least`; returns it.
fn wait_for_count(metrics: &Metrics, series: &str, at_least: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = metrics.render();
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0);
        if value >= at_least || Instant::now() >= deadline {
            return value;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_database_failing_at_run_time_never_blocks_the_chat_and_is_counted() {
    let dir = TempDir::new("failing");
    let db = dir.path("history.db");
    let metrics = Arc::new(Metrics::new());
    let shown = Arc::clone(&metrics);
    let path = db.clone();
    let server = TestServer::start_tokio(STAGE, move |listener| async move {
        let config = relaxed().build().expect("a valid configuration");
        let history = SqliteHistory::open(&path, config.history_len, Arc::clone(&shown))
            .await
            .expect("a fresh database opens");
        let services = Services {
            history: Arc::new(history),
            metrics: shown,
            ..Services::new(&config)
        };
        run(listener, config, services, std::future::pending()).await;
    });
    let mut alice = common::join(&server, "alice");
    let mut bob = common::join(&server, "bob");
    alice.expect("* bob joined #lobby");
    alice.send("before");
    bob.expect("<alice> before");

    // Someone else breaks the database under the running server.
    let vandal = rusqlite::Connection::open(&db).expect("a second connection");
    vandal
        .busy_timeout(Duration::from_secs(5))
        .expect("a busy timeout");
    vandal
        .execute_batch("DROP TABLE messages")
        .expect("the table dropped");

    alice.send("after one");
    alice.send("after two");
    bob.hint("a failing history database must not block or end the chat");
    bob.expect("<alice> after one");
    bob.expect("<alice> after two");
    // The newcomer's replay fails too: no replay, and the chat goes on.
    let mut carol = server.connect("carol");
    carol.expect("welcome! what is your name?");
    carol.send("carol");
    carol.expect("welcome, carol! you are in #lobby");
    alice.expect("* carol joined #lobby");
    alice.send("still here");
    carol.hint("a failed replay is no replay; the chat goes on");
    carol.expect("<alice> still here");
    // Three records and one read failed, at least.
    let failures = wait_for_count(&metrics, "chat_history_failures_total", 4.0);
    assert!(
        failures >= 4.0,
        "[{STAGE}] each failed record and read should count in \
         chat_history_failures_total; got {failures}"
    );
}

/// The SQLite history's own behaviour, through the `History` trait.
#[tokio::test]
async fn the_sqlite_history_keeps_the_last_len_per_room_and_forgets() {
    use stage6_shutdown::history::Entry;
    let dir = TempDir::new("unit");
    let db = dir.path("history.db");
    let entry = |id: u64| Entry {
        id,
        line: Arc::from(format!("<a> {id}\n")),
    };
    let metrics = Arc::new(Metrics::new());
    let history = SqliteHistory::open(&db, 2, Arc::clone(&metrics))
        .await
        .expect("a fresh database opens");
    for id in 1..=3 {
        history.record("lobby", entry(id)).await;
    }
    history.record("rust", entry(4)).await;
    assert_eq!(history.recent("lobby").await, [entry(2), entry(3)]);
    assert_eq!(history.recent("rust").await, [entry(4)]);
    history.forget("rust").await;
    assert!(history.recent("rust").await.is_empty());
    history.flush().await;
    drop(history);
    // Reopened with a lower limit: the older message goes.
    let history = SqliteHistory::open(&db, 1, metrics)
        .await
        .expect("the database opens again");
    assert_eq!(history.recent("lobby").await, [entry(3)]);
    let next = stage6_shutdown::history::next_message_id();
    assert!(
        next > 4,
        "ids after a reopen start past the stored ones; got {next}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_records_without_waiting_and_counts_them() {
    use stage6_shutdown::history::Entry;
    let dir = TempDir::new("full");
    let db = dir.path("history.db");
    let entry = |id: u64| Entry {
        id,
        line: Arc::from(format!("<a> {id}\n")),
    };
    let metrics = Arc::new(Metrics::new());
    let history = SqliteHistory::open(&db, 20, Arc::clone(&metrics))
        .await
        .expect("a fresh database opens");
    // Another program holds the write lock: the database thread writes
    // nothing, and its queue fills up.
    let holder = rusqlite::Connection::open(&db).expect("a second connection");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock");
    let started = Instant::now();
    for id in 1..=10_000 {
        history.record("lobby", entry(id)).await;
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "[{STAGE}] recording must never wait for the database (a talker would \
         wait with it); 10,000 records took {took:?}"
    );
    // The queue holds 4,096 and the thread took a batch or two: thousands
    // were dropped, and each is counted.
    let failures = wait_for_count(&metrics, "chat_history_failures_total", 5_000.0);
    assert!(
        failures >= 5_000.0,
        "[{STAGE}] each dropped record counts in chat_history_failures_total; got {failures}"
    );
    // Once the lock is gone, the history works again.
    holder.execute_batch("COMMIT").expect("the lock released");
    history.flush().await;
    history.record("lobby", entry(20_001)).await;
    let recent = history.recent("lobby").await;
    assert_eq!(
        recent.last(),
        Some(&entry(20_001)),
        "[{STAGE}] the history should record again once the database is free"
    );
}
