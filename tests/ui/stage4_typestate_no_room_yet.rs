// Only a connection in a room has a room: `room()` does not exist on the
// other states, so asking an `Authenticated` connection for it cannot compile.
use stage4_commands::RoomId;
use stage4_commands::connection::{Authenticated, Connection};

fn room_of(connection: &Connection<Authenticated>) -> RoomId {
    connection.room()
}

fn main() {
    let _ = room_of;
}
