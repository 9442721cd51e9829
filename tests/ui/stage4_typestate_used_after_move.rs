// A transition consumes the old state: after `enter`, the
// `Connection<Authenticated>` is gone, and only the `Connection<InRoom>` is left.
use stage4_commands::RoomId;
use stage4_commands::connection::{Authenticated, Connection};

fn enter(connection: Connection<Authenticated>, room: RoomId) {
    let member = connection.enter(room);
    connection.tell("you are in a room now");
    member.tell("welcome");
}

fn main() {
    let _ = enter;
}
