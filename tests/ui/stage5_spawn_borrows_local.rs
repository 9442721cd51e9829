// A spawned task may outlive the function that spawned it, so its future must
// be `'static`: it cannot borrow that function's locals.
#[tokio::main]
async fn main() {
    let room = String::from("lobby");
    tokio::spawn(async {
        println!("serving #{room}");
    });
}
