// An `Rc` is shared, so nobody may move the value out of it: another `Rc`
// may still point at it. Clone the `Rc` (a pointer) or borrow through it.
use std::rc::Rc;

fn main() {
    let line: Rc<String> = Rc::new("<alice> hi\n".to_owned());
    let for_bob = Rc::clone(&line);
    let text: String = *line;
    println!("{text}{for_bob}");
}
