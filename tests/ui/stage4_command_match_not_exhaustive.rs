// A `match` over `Command` without a `_` arm must handle every command, so a
// command forgotten here (or added to the enum later) stops the build.
use stage4_commands::Command;

fn needs_a_room(command: &Command<'_>) -> bool {
    match command {
        Command::Join(_) | Command::Kick { .. } | Command::List => true,
        Command::Nick(_) | Command::Help | Command::Quit(_) => false,
    }
}

fn main() {
    println!("{}", needs_a_room(&Command::Rooms));
}
