// A trait with an `async fn` cannot be used as a trait object: each
// implementation's future has its own type and size, unknown behind `dyn`.
trait History: Send + Sync {
    async fn recent(&self, room: &str) -> Vec<String>;
}

fn replay(history: &dyn History) {
    let _ = history;
}

fn main() {}
