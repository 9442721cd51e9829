// A filter with state is an `FnMut`: each call may change it, so a call needs
// `&mut`. This chain tries to run its filters through `&self`.
use stage4_commands::Verdict;
use stage4_commands::filter::flood_guard;

struct Chain {
    filters: Vec<Box<dyn FnMut(&str, &str) -> Verdict>>,
}

impl Chain {
    fn allows(&self, sender: &str, text: &str) -> bool {
        self.filters
            .iter()
            .all(|filter| filter(sender, text) == Verdict::Allow)
    }
}

fn main() {
    let chain = Chain {
        filters: vec![Box::new(flood_guard(3))],
    };
    println!("{}", chain.allows("alice", "hello"));
}
