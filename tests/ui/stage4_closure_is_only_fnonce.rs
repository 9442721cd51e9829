// A closure that gives away a value it captured can run only once: it is an
// `FnOnce`, and a filter must be an `FnMut`, which runs for every message.
use stage4_commands::{FilterChain, Verdict};

fn main() {
    let reason = String::from("the chat is closed for the night");
    let closed = move |_sender: &str, _text: &str| Verdict::Block(reason);
    let mut filters = FilterChain::default();
    filters.push(closed);
}
