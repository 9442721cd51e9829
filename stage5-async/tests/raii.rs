//! Stage 2's RAII check, alone in its own test binary: it counts this
//! process's open files, which tests running in parallel would disturb.

use std::thread;
use std::time::Duration;

use chat_harness::TestServer;
use stage5_async::{FilterChain, ServerConfig, run};

pub mod common;
use self::common::{STAGE, join};

#[cfg(target_os = "linux")]
#[test]
fn removing_a_user_closes_its_socket() {
    fn open_files() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd lists this process's open files")
            .count()
    }
    let server = TestServer::start_tokio(STAGE, |listener| {
        run(listener, ServerConfig::default(), FilterChain::default())
    });
    let mut watcher = join(&server, "watcher");
    let before = open_files();
    for round in 0..50 {
        let name = format!("guest{round}");
        let guest = join(&server, &name);
        watcher.expect(&format!("* {name} joined #lobby"));
        drop(guest);
        watcher.expect(&format!("* {name} left #lobby"));
    }
    // Both ends of each connection live in this process: the test client's
    // and the server's. Give the server a pass to drop its last user.
    thread::sleep(Duration::from_millis(50));
    let after = open_files();
    assert!(
        after <= before + 2,
        "[{STAGE}] after 50 clients came and went, this process had {after} open files \
         instead of about {before}: each client's task must end, dropping its socket halves"
    );
}
