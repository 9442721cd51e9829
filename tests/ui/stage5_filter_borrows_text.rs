// A filter's future is `'static`: the chain may await it after the call that
// made it returns, so it cannot keep borrowing the message text.
use stage5_async::{FilterChain, Verdict};

fn main() {
    let mut filters = FilterChain::default();
    filters.push_async(|_sender, text| {
        Box::pin(async move {
            tokio::task::yield_now().await;
            if text.contains("spam") {
                Verdict::Block("no spam".to_owned())
            } else {
                Verdict::Allow
            }
        })
    });
}
