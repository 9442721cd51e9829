// `run` polls its shutdown future by `&mut` on every turn of its loop. Once
// polled, a future may hold pointers into itself, so it must never move
// again: `select!` wants it pinned first.
async fn serve_until(mut shutdown: impl Future<Output = ()>) {
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::task::yield_now() => {}
        }
    }
}

#[tokio::main]
async fn main() {
    serve_until(async {}).await;
}
