// Both ids wrap a `u64`, but they are different types: a room id is refused
// where a user id is expected.
use stage1_echo::{RoomId, UserId};

fn greet(user: UserId) -> String {
    format!("hello, {user}")
}

fn main() {
    let room = RoomId::LOBBY;
    println!("{}", greet(room));
}
