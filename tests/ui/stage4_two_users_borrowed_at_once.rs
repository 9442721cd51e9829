// Deciding a kick borrows the kicker from the arena. The target lives in the
// same arena, so it cannot be borrowed mutably at the same time.
use stage4_commands::UserId;
use stage4_commands::arena::Arena;

fn main() {
    let mut users: Arena<UserId, String> = Arena::new();
    let alice = users.insert("alice".to_owned());
    let carol = users.insert("carol".to_owned());
    let kicker = users.get_mut(alice).unwrap();
    let target = users.get_mut(carol).unwrap();
    target.push_str(" (kicked)");
    kicker.push_str(" (kicked someone)");
}
