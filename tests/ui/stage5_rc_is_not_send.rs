// A task may move to another worker thread at any `.await`, so everything it
// holds across one must be `Send`. An `Rc` is not.
use std::rc::Rc;

#[tokio::main]
async fn main() {
    let members = Rc::new(vec!["alice", "bob"]);
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        println!("{members:?}");
    });
}
