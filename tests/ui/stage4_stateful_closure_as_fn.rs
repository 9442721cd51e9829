// A closure that changes what it captured is only `FnMut`. Returned as an
// `impl Fn`, which promises calls through a shared reference, it is refused.
fn counter() -> impl Fn() -> usize {
    let mut times = 0;
    move || {
        times += 1;
        times
    }
}

fn main() {
    let count = counter();
    println!("{}", count());
}
