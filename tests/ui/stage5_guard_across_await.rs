// Writing to a socket while holding a `std::sync::MutexGuard`: the guard lives
// across the `.await`, so the task's future holds it, and the guard must be
// released on the thread that took it. A task may resume on another thread.
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() {
    let names = Arc::new(Mutex::new(vec!["alice".to_owned()]));
    tokio::spawn(async move {
        let names = names.lock().unwrap();
        let mut out = tokio::io::stdout();
        out.write_all(names.join(", ").as_bytes()).await.unwrap();
    });
}
