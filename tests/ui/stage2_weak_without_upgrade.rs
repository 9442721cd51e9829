// A `Weak` does not keep its value alive, so it gives no access to it:
// `upgrade` it first, and handle the `None` of a value that is gone.
use std::cell::RefCell;
use std::rc::{Rc, Weak};

fn main() {
    let outbox = Rc::new(RefCell::new(Vec::<String>::new()));
    let member: Weak<RefCell<Vec<String>>> = Rc::downgrade(&outbox);
    member.borrow_mut().push("hello\n".to_owned());
}
