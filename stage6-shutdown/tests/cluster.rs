//! Several real stage 6 binaries sharing their rooms through Redis
//! (`--redis-url`): lines, notices, `/list`, `/rooms`, names, kicks and
//! history cross servers; a lost Redis or a dead server is survived. Each
//! test runs its own `redis-server` (`chat_harness::redis`). Run with
//! `cargo test -p stage6-shutdown --test cluster`.
//!
//! It needs `redis-server` (Debian: `apt-get install redis-server`; `.ci/run`
//! installs it). Without it the tests fail, saying how to install it, unless
//! `CHAT_SKIP_REDIS=1` is set.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chat_harness::redis::{RedisServer, free_port};
use chat_harness::{ChildServer, Client, Received, read_timeout, run_to_completion, run_within};

pub mod common;
use self::common::STAGE;

const BINARY: &str = env!("CARGO_BIN_EXE_stage6-shutdown");

/// The `--presence-ttl` most tests give their servers: short, so that a
/// dead server's users are gone within seconds.
const TTL_SECS: u64 = 2;

/// How often a test asks again while it waits for the cluster to agree.
const POLL: Duration = Duration::from_millis(200);

/// Where a server's Redis traffic is handled, for hints.
const LINK: &str = "stage6-shutdown/src/backend/redis/link.rs";

/// Three users, each on a server of their own in most tests.
const TRIO: [&str; 3] = ["alice", "bob", "carol"];

/// A stage 6 binary that joins the servers on `redis`, with a presence ttl
/// of `ttl` seconds, no rate limit in the way, and `extra` flags.
fn spawn(redis: &RedisServer, ttl: u64, extra: &[&str]) -> ChildServer {
    let (url, ttl) = (redis.url(), ttl.to_string());
    let mut args = vec!["--redis-url", &url, "--presence-ttl", &ttl];
    args.extend(["--message-rate", "1000", "--message-burst", "1000"]);
    args.extend(extra);
    ChildServer::spawn(STAGE, BINARY, &args)
}

/// `spawn` with the short ttl and no extra flags.
fn server(redis: &RedisServer) -> ChildServer {
    spawn(redis, TTL_SECS, &[])
}

/// Connects to `server` as a user who has not chosen a name yet.
fn newcomer(server: &ChildServer, who: &str) -> Client {
    let mut client = server.connect(who);
    client.expect("welcome! what is your name?");
    client
}

/// Connects `name` to `server` and answers the name prompt.
fn welcome(server: &ChildServer, name: &str) -> Client {
    let mut client = newcomer(server, name);
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

/// `welcome`, then `settle`.
fn join(server: &ChildServer, name: &str) -> Client {
    let mut client = welcome(server, name);
    settle(&mut client);
    client
}

/// Waits until `client`'s server has replayed its room's history to it, if
/// any: it answers `/list` only then. A line said before that may reach
/// the newcomer in the replay (it is in Redis) rather than live; after
/// that, only live. Notices still on their way are skipped: `greet` says
/// which may come.
fn settle(client: &mut Client) {
    client.send("/list");
    next_answer(client, "an answer to \"/list\"", is_listing);
}

/// Moves each of `members` to `room`, one after the other: each is in,
/// and settled, before the next sends `/join`. Notices from the old room
/// are skipped.
fn move_all(members: &mut [&mut Client], room: &str) {
    for member in members {
        member.send(&format!("/join {room}"));
        member.expect_eventually(&format!("* you are now in #{room}"));
        settle(member);
    }
}

/// Each of `members` (called `names`, in the order they came into `room`,
/// each once the one before was in) says hello there, and hears every
/// other's hello, after `* X joined #room` for each X who came after it.
///
/// A server says that X joined once X is in, on its own time: a member who
/// came after X, on another server, may hear of it too, but only before X's
/// hello, which X's server says later. Once the hellos are in, no notice of
/// these arrivals is still on its way.
fn greet(members: &mut [&mut Client], names: &[&str], room: &str) {
    for (member, name) in members.iter_mut().zip(names) {
        member.send(&format!("hello from {name}"));
    }
    for (me, member) in members.iter_mut().enumerate() {
        member.hint("what a server says in a room reaches the room on every server, in order");
        let mut others: Vec<Other> = (names.iter().enumerate())
            .filter(|&(other, _)| other != me)
            .map(|(other, &name)| Other {
                notice: format!("* {name} joined #{room}"),
                hello: format!("<{name}> hello from {name}"),
                notice_due: Some(other > me),
                greeted: false,
            })
            .collect();
        while others.iter().any(|other| !other.greeted) {
            let acceptable: Vec<&str> = others.iter().flat_map(Other::acceptable).collect();
            let expected = format!("one of {acceptable:?}");
            let line = member.expect_line(&expected, |line| acceptable.contains(&line));
            for other in &mut others {
                if line == other.hello {
                    other.greeted = true;
                }
                if line == other.hello || line == other.notice {
                    other.notice_due = None;
                }
            }
        }
    }
}

/// Another member, as one member hears of it in `greet`.
struct Other {
    notice: String,
    hello: String,
    /// `Some(true)`: its notice must come (before its hello); `Some(false)`:
    /// it may; `None`: it may not (any more).
    notice_due: Option<bool>,
    greeted: bool,
}

impl Other {
    /// The lines that may come next from or about it.
    fn acceptable(&self) -> Vec<&str> {
        let mut lines = Vec::new();
        if self.notice_due.is_some() {
            lines.push(self.notice.as_str());
        }
        if !self.greeted && self.notice_due != Some(true) {
            lines.push(self.hello.as_str());
        }
        lines
    }
}

/// `client` must receive each of `lines`, in any order, and nothing else.
fn expect_all_of(client: &mut Client, lines: &[String]) {
    let mut due = lines.to_vec();
    while !due.is_empty() {
        let expected = format!("one of {due:?}, in any order");
        let line = client.expect_line(&expected, |line| due.iter().any(|d| d == line));
        due.retain(|d| *d != line);
    }
}

/// The next line `client` gets for which `is_answer` holds, skipping others
/// (notices of arrivals and departures that come while a test polls).
fn next_answer(client: &mut Client, what: &str, is_answer: impl Fn(&str) -> bool) -> String {
    loop {
        match client.recv() {
            Received::Line(line) if is_answer(&line) => return line,
            Received::Line(_) => {}
            other => client.fail(what, &describe(&other)),
        }
    }
}

/// Sends `command` every `POLL` until its answer (the first line for which
/// `is_answer` holds) is `expected`; fails with the last answer once
/// `deadline` has passed. For what the servers learn from one another a
/// little later: presence, freed names.
fn poll_until(
    client: &mut Client,
    command: &str,
    expected: &str,
    is_answer: impl Fn(&str) -> bool,
    deadline: Instant,
) {
    let what = format!("an answer to {command:?}");
    loop {
        client.send(command);
        let answer = next_answer(client, &what, &is_answer);
        if answer == expected {
            return;
        }
        if Instant::now() >= deadline {
            client.fail(
                &format!("{command:?} to be answered {expected:?} in time"),
                &format!("its last answer was {answer:?}"),
            );
        }
        thread::sleep(POLL);
    }
}

/// Whether `line` answers `/list` or `/rooms`.
fn is_listing(line: &str) -> bool {
    line.starts_with("* in #") || line.starts_with("* rooms:")
}

/// Whether `line` answers a name given at the prompt.
fn is_named(line: &str) -> bool {
    line.starts_with("welcome, ") || line.starts_with("error: ")
}

/// Whether `line` answers `/nick`.
fn is_renamed(line: &str) -> bool {
    line.starts_with("* you are now ") || line.starts_with("error: ")
}

/// `poll_until` for `/list` and `/rooms`.
fn poll_listing(client: &mut Client, command: &str, expected: &str, deadline: Instant) {
    poll_until(client, command, expected, is_listing, deadline);
}

/// A deadline for what the servers learn from one another a little later
/// than the lines that announce it.
fn soon() -> Instant {
    Instant::now() + read_timeout()
}

/// The next line must be `expected`, and may take up to `limit` to come.
fn expect_within(client: &mut Client, expected: &str, limit: Duration) {
    let got = match client.recv_within(limit) {
        Received::Line(line) if line == expected => return,
        Received::TimedOut => format!("nothing arrived within {limit:?}"),
        other => describe(&other),
    };
    client.fail(&format!("the line {expected:?}"), &got);
}

/// What a failure report says came instead of the line expected.
fn describe(received: &Received) -> String {
    match received {
        Received::Line(line) => format!("the line {line:?} arrived"),
        Received::Closed => "the server closed the connection".to_owned(),
        Received::Reset => "the server reset the connection".to_owned(),
        Received::TimedOut => format!("nothing arrived within {:?}", read_timeout()),
    }
}

/// The chat text that `name` says as its `i`th line in `room`.
fn text(name: &str, room: &str, i: usize) -> String {
    format!("{name}'s line {i} in #{room}")
}

/// Has each of `talkers`, called `names`, say `count` lines in `room`,
/// taking turns line by line so that their lines cross on their way through
/// the servers; then each must have received the others' lines, and nothing
/// else, each talker's in the order said.
fn talk_in_turns(talkers: &mut [&mut Client], names: &[&str], room: &str, count: usize) {
    for i in 1..=count {
        for (client, name) in talkers.iter_mut().zip(names) {
            client.send(&text(name, room, i));
        }
    }
    for (listener, name) in talkers.iter_mut().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| n != name).collect();
        listener.hint("a line said on one server reaches the room's members on every server");
        expect_in_order(listener, &others, room, count);
    }
}

/// `listener` must receive the `count` lines of each of `talkers` in `room`
/// (nothing else), each talker's in the order said; how the talkers' lines
/// interleave is up to the servers.
fn expect_in_order(listener: &mut Client, talkers: &[&str], room: &str, count: usize) {
    let mut next = vec![1; talkers.len()];
    while next.iter().any(|&i| i <= count) {
        let due: Vec<String> = talkers
            .iter()
            .zip(&next)
            .filter(|&(_, &i)| i <= count)
            .map(|(name, &i)| format!("<{name}> {}", text(name, room, i)))
            .collect();
        let expected = format!("one of {due:?} (each sender's lines in the order sent)");
        let line = listener.expect_line(&expected, |line| due.iter().any(|d| d == line));
        let sender = talkers
            .iter()
            .position(|name| line.starts_with(&format!("<{name}> ")))
            .expect("a due line names its sender");
        next[sender] += 1;
    }
}

#[test]
fn three_servers_share_one_rooms_lines_members_and_counts() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b, c) = (server(&redis), server(&redis), server(&redis));
    let mut alice = join(&a, "alice");
    let mut bob = join(&b, "bob");
    let mut carol = join(&c, "carol");
    let mut dave = join(&a, "dave");
    let everyone = ["alice", "bob", "carol", "dave"];
    greet(
        &mut [&mut alice, &mut bob, &mut carol, &mut dave],
        &everyone,
        "lobby",
    );
    talk_in_turns(&mut [&mut alice, &mut bob, &mut carol], &TRIO, "lobby", 5);
    dave.hint("a member hears its own server's talkers and the others' alike");
    expect_in_order(&mut dave, &TRIO, "lobby", 5);

    let order = "/list: this server's members, longest present first, then the others' by name";
    dave.hint(order);
    let (on_a, on_b) = ("alice, dave, bob, carol", "bob, alice, carol, dave");
    poll_listing(&mut dave, "/list", &format!("* in #lobby: {on_a}"), soon());
    bob.hint(order);
    poll_listing(&mut bob, "/list", &format!("* in #lobby: {on_b}"), soon());

    move_all(&mut [&mut alice, &mut bob, &mut carol], "rust");
    dave.hint("a member leaving a room on another server is announced here too");
    expect_all_of(&mut dave, &TRIO.map(|name| format!("* {name} left #lobby")));
    greet(&mut [&mut alice, &mut bob, &mut carol], &TRIO, "rust");
    talk_in_turns(&mut [&mut alice, &mut bob, &mut carol], &TRIO, "rust", 4);
    dave.hint("a line said in #rust on any server reaches #rust's members only");
    dave.send("/list");
    dave.expect("* in #lobby: dave");
    carol.hint("/rooms sums each room's members over every server");
    let rooms = "* rooms: #lobby (1), #rust (3)";
    poll_listing(&mut carol, "/rooms", rooms, soon());
    poll_listing(&mut carol, "/list", "* in #rust: carol, alice, bob", soon());
}

#[test]
fn a_name_is_taken_on_every_server_ignoring_case_until_its_holder_quits() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // A long ttl: a name free again within seconds was released by its
    // holder's server, not left to expire.
    let (a, b) = (spawn(&redis, 15, &[]), spawn(&redis, 15, &[]));
    let mut alice = join(&a, "alice");
    let mut bob = newcomer(&b, "bob");
    bob.hint("a name is claimed in Redis (chat:name:<lowercase name>) for every server");
    bob.send("ALICE");
    bob.expect("error: the name ALICE is taken. what is your name?");
    bob.send("bob");
    bob.expect("welcome, bob! you are in #lobby");
    settle(&mut bob);
    let mut carol = join(&a, "carol");
    greet(&mut [&mut alice, &mut bob, &mut carol], &TRIO, "lobby");
    bob.send("/nick Alice");
    bob.expect("error: the name Alice is taken");
    let mut other = newcomer(&a, "newcomer on A");
    other.hint("a name held on another server is taken here too");
    other.send("Bob");
    other.expect("error: the name Bob is taken. what is your name?");

    alice.send("/quit");
    alice.expect("* bye");
    alice.expect_closed();
    // Within seconds, not the ttl.
    let deadline = Instant::now() + Duration::from_secs(3);
    bob.hint("a departing user's server releases its name in Redis at once");
    poll_until(
        &mut bob,
        "/nick alice",
        "* you are now alice",
        is_renamed,
        deadline,
    );
    carol.expect("* alice left #lobby");
    carol.hint("a rename on one server is announced in the room on every server");
    carol.expect("* bob is now known as alice");

    other.hint("alice is now the name of the user on B");
    other.send("alice");
    other.expect("error: the name alice is taken. what is your name?");
    other.hint("a user's old name is released when they take another");
    let welcome = "welcome, bob! you are in #lobby";
    poll_until(&mut other, "bob", welcome, is_named, deadline);
}

/// The flags that make `root` (password `s3cret`) an admin.
const ADMIN: [&str; 4] = ["--admin", "root", "--admin-password", "s3cret"];

#[test]
fn an_admin_kicks_a_user_on_another_server_and_an_operator_may_not() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, c] = [(); 3].map(|()| spawn(&redis, TTL_SECS, &ADMIN));
    let mut root = newcomer(&a, "root");
    root.send("root s3cret");
    root.expect("welcome, root! you are in #lobby");
    let mut alice = join(&a, "alice");
    let mut bob = join(&b, "bob");
    let mut carol = join(&c, "carol");
    let everyone = ["root", "alice", "bob", "carol"];
    greet(
        &mut [&mut root, &mut alice, &mut bob, &mut carol],
        &everyone,
        "lobby",
    );
    // alice comes to #rust first: on A, she is its operator.
    move_all(&mut [&mut alice, &mut bob, &mut carol], "rust");
    expect_all_of(&mut root, &TRIO.map(|name| format!("* {name} left #lobby")));
    greet(&mut [&mut alice, &mut bob, &mut carol], &TRIO, "rust");

    alice.hint("an operator's power ends at its own server");
    alice.send("/kick bob");
    alice.expect("error: bob is on another server; only an admin may kick there");

    root.hint("an admin kicks on another server through Redis (chat:kick:<server>)");
    root.send("/kick bob spam");
    root.expect("* you kicked bob");
    bob.hint("the kick reaches bob's own server, which tells him and disconnects him");
    bob.expect("* you were kicked by root: spam");
    bob.expect_closed();
    for member in [&mut alice, &mut carol] {
        member.hint("bob's server announces the kick to the room on every server");
        member.expect("* bob left #rust (kicked by root: spam)");
    }
    root.send("/kick nobody");
    root.expect("error: nobody here is called nobody");
    poll_listing(&mut carol, "/list", "* in #rust: carol, alice", soon());
}

#[test]
fn a_newcomer_on_one_server_is_replayed_what_was_said_on_another() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let history = ["--history-len", "3"];
    let [a, b, c] = [(); 3].map(|()| spawn(&redis, TTL_SECS, &history));
    let mut alice = join(&a, "alice");
    let mut carol = join(&c, "carol");
    greet(&mut [&mut alice, &mut carol], &["alice", "carol"], "lobby");
    for i in 1..=4 {
        alice.send(&format!("message {i}"));
    }
    // Once carol, on another server, has them, Redis has them.
    for i in 1..=4 {
        carol.expect(&format!("<alice> message {i}"));
    }
    let mut dave = welcome(&b, "dave");
    dave.hint("the history is kept in Redis (chat:history:<room>), capped at --history-len");
    dave.expect("* the last 3 messages in #lobby:");
    for i in 2..=4 {
        dave.expect(&format!("<alice> message {i}"));
    }
    alice.expect("* dave joined #lobby");
    carol.expect("* dave joined #lobby");
    alice.send("message 5");
    dave.hint("a message replayed must not arrive a second time, nor a new one be lost");
    dave.expect("<alice> message 5");
    carol.expect("<alice> message 5");

    // The history follows /join, to a room that dave's server never had.
    move_all(&mut [&mut carol, &mut alice], "rust");
    expect_all_of(
        &mut dave,
        &["carol", "alice"].map(|n| format!("* {n} left #lobby")),
    );
    greet(&mut [&mut carol, &mut alice], &["carol", "alice"], "rust");
    alice.send("in rust");
    carol.expect("<alice> in rust");
    dave.send("/join rust");
    dave.expect("* you are now in #rust");
    dave.expect("* the last 3 messages in #rust:");
    let hellos = ["carol", "alice"].map(|name| format!("<{name}> hello from {name}"));
    expect_all_of(&mut dave, &hellos);
    dave.expect("<alice> in rust");

    drop(a);
    let d = spawn(&redis, TTL_SECS, &history);
    let mut erin = welcome(&d, "erin");
    erin.hint("the history stays in Redis when the server it was said on is gone");
    erin.expect("* the last 3 messages in #lobby:");
    for i in 3..=5 {
        erin.expect(&format!("<alice> message {i}"));
    }
}

/// What every room is told when its server loses Redis, and gets it back.
const OUT_OF_REACH: &str = "* other servers are out of reach; chat on this server goes on";
const REACHABLE: &str = "* other servers are reachable again";

#[test]
fn chat_goes_on_on_each_server_while_redis_is_down_and_across_them_once_it_is_back() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = (server(&redis), server(&redis));
    let mut alice = join(&a, "alice");
    let mut bob = join(&b, "bob");
    let mut amy = join(&a, "amy");
    let mut ben = join(&b, "ben");
    let everyone = ["alice", "bob", "amy", "ben"];
    greet(
        &mut [&mut alice, &mut bob, &mut amy, &mut ben],
        &everyone,
        "lobby",
    );

    redis.kill();
    for member in [&mut alice, &mut amy, &mut bob, &mut ben] {
        member.hint(&format!(
            "a server that loses Redis tells every local room ({LINK})"
        ));
        member.expect(OUT_OF_REACH);
    }
    alice.send("only on A");
    amy.hint("without Redis, a server's own users still chat among themselves");
    amy.expect("<alice> only on A");
    bob.send("only on B");
    ben.expect("<bob> only on B");

    redis.restart();
    // The servers retry with a backoff: allow for a few of its steps.
    let back = Duration::from_secs(10).max(read_timeout());
    for member in [&mut alice, &mut amy, &mut bob, &mut ben] {
        member.hint(&format!("a server reconnects to Redis by itself ({LINK})"));
        expect_within(member, REACHABLE, back);
    }
    // Lines said while Redis was down would arrive before these: they must not.
    talk_in_turns(&mut [&mut alice, &mut bob], &["alice", "bob"], "lobby", 2);
    for member in [&mut amy, &mut ben] {
        expect_in_order(member, &["alice", "bob"], "lobby", 2);
    }

    // The new Redis is empty: each server registered its users again.
    ben.hint("after a reconnection a server registers its users' presence again");
    let on_b = "* in #lobby: bob, ben, alice, amy";
    poll_listing(&mut ben, "/list", on_b, soon());
    let mut other = newcomer(&b, "newcomer on B");
    other.hint("after a reconnection a server claims its users' names again");
    other.send("amy");
    other.expect("error: the name amy is taken. what is your name?");
}

#[test]
fn a_slow_redis_never_holds_up_chat_on_one_server() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = (server(&redis), server(&redis));
    let mut alice = join(&a, "alice");
    let mut bob = join(&b, "bob");
    let mut amy = join(&a, "amy");
    let everyone = ["alice", "bob", "amy"];
    greet(&mut [&mut alice, &mut bob, &mut amy], &everyone, "lobby");

    // Shorter than the link's patience (2 s): Redis is slow, not lost.
    let pause = Duration::from_millis(1500);
    redis.pause(pause);
    let paused = Instant::now();
    alice.send("while Redis is slow");
    amy.hint(&format!(
        "a line reaches its room on its own server without waiting for Redis: only the \
         link task waits for it ({LINK})"
    ));
    amy.expect("<alice> while Redis is slow");
    let waited = paused.elapsed();
    assert!(
        waited < pause - Duration::from_millis(500),
        "[{STAGE}] amy, on alice's server, got alice's line {waited:?} after Redis stopped \
         answering for {pause:?}: local delivery waited for Redis; only the link task \
         ({LINK}) may"
    );
    bob.hint("once Redis answers again, the queued line crosses to the other server");
    expect_within(
        &mut bob,
        "<alice> while Redis is slow",
        pause + read_timeout(),
    );
    amy.hint("a slow Redis is not a lost one: nobody is told the others are out of reach");
    amy.expect_silence(Duration::from_millis(300));
}

/// How many lines a member was told it missed, if `line` says so: lines
/// lost between servers, or lines its own room moved past.
fn told_missed(line: &str) -> Option<u64> {
    let lost = line.strip_prefix("* ").and_then(|rest| {
        rest.strip_suffix(" messages from other servers were lost on the way (too many at once)")
    });
    let missed = line
        .strip_prefix("* you missed ")
        .and_then(|rest| rest.strip_suffix(" messages"));
    lost.or(missed)?.parse().ok()
}

#[test]
fn every_line_of_a_flood_arrives_on_another_server_or_is_owned_up_to() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // Flat out: no rate limit, and nobody on alice's server to pause her.
    let url = redis.url();
    let flat_out = [
        "--redis-url",
        &url,
        "--message-rate",
        "1000000",
        "--message-burst",
        "1000000",
    ];
    let (a, b) = (
        ChildServer::spawn(STAGE, BINARY, &flat_out),
        ChildServer::spawn(STAGE, BINARY, &flat_out),
    );
    let mut alice = join(&a, "alice");
    let mut bob = join(&b, "bob");
    greet(&mut [&mut alice, &mut bob], &["alice", "bob"], "lobby");

    const FLOOD: u64 = 20_000;
    let flood: String = (0..FLOOD).map(|i| format!("flood {i}\n")).collect();
    alice
        .send_bytes(flood.as_bytes())
        .expect("alice's flood is written");
    bob.hint(&format!(
        "a line lost between servers (a queue full in {LINK}) is owned up to: its room \
         elsewhere is told how many were lost"
    ));
    let (mut arrived, mut owned_up) = (0, 0);
    while arrived + owned_up < FLOOD {
        let line = match bob.recv() {
            Received::Line(line) => line,
            other => bob.fail(
                &format!(
                    "{} more flood lines or notices of their loss",
                    FLOOD - arrived - owned_up
                ),
                &describe(&other),
            ),
        };
        if line.starts_with("<alice> flood ") {
            arrived += 1;
        } else if let Some(missed) = told_missed(&line) {
            owned_up += missed;
        } else {
            bob.fail(
                "alice's flood lines, or a notice of their loss",
                &format!("{line:?}"),
            );
        }
    }
    assert_eq!(
        arrived + owned_up,
        FLOOD,
        "[{STAGE}] bob got {arrived} of alice's {FLOOD} lines and was told of {owned_up} lost: \
         more than were sent"
    );
    bob.expect_silence(Duration::from_millis(300));
}

#[test]
fn a_killed_servers_users_vanish_and_their_names_are_freed_within_the_ttl() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, mut b) = (server(&redis), server(&redis));
    let mut alice = join(&a, "alice");
    let _bob = join(&b, "bob");
    poll_listing(&mut alice, "/list", "* in #lobby: alice, bob", soon());

    b.kill();
    let deadline = Instant::now() + Duration::from_secs(2 * TTL_SECS + 2);
    alice.hint(&format!(
        "a server that stops refreshing its users' presence (every ttl/3) loses them \
         from the others' /list within the ttl ({LINK})"
    ));
    poll_listing(&mut alice, "/list", "* in #lobby: alice", deadline);
    poll_listing(&mut alice, "/rooms", "* rooms: #lobby (1)", deadline);
    let mut other = newcomer(&a, "newcomer on A");
    other.hint("the names of a dead server's users expire within the ttl");
    let welcome = "welcome, bob! you are in #lobby";
    poll_until(&mut other, "bob", welcome, is_named, deadline);
}

#[test]
fn a_server_that_cannot_reach_redis_at_start_says_so_and_exits() {
    // Nothing listens there, and no Redis is needed to find out.
    let url = format!("redis://127.0.0.1:{}", free_port());
    let mut command = Command::new(BINARY);
    command.args(["--addr", "127.0.0.1:0", "--redis-url", &url]);
    let started = Instant::now();
    let ran = run_within(command, Some(Duration::from_secs(8))).expect("the binary runs");
    let (took, output) = (started.elapsed(), &ran.output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let how = match ran.timed_out {
        true => "was still running (killed)".to_owned(),
        false => format!("exited ({})", output.status),
    };
    assert!(
        !ran.timed_out && !output.status.success(),
        "[{STAGE}] with --redis-url {url} and nothing listening there, the binary should \
         exit with an error within about 5 s; it {how} after {took:?}.\n  its stderr: {stderr:?}"
    );
    let said = format!("cannot reach Redis at {url}");
    assert!(
        stderr.contains(&said),
        "[{STAGE}] the binary's stderr should say {said:?}; it was {stderr:?}"
    );
    assert!(
        stdout.is_empty(),
        "[{STAGE}] nothing may go to stdout before Redis answered (tests and the load tool \
         take its first line to mean \"listening\"); it was {stdout:?}"
    );
}

#[test]
fn history_on_disk_and_redis_are_refused_together() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("history.db");
    let db = db.to_str().expect("a UTF-8 temporary path");
    // Refused before Redis is asked: nothing listens on this port.
    let url = format!("redis://127.0.0.1:{}", free_port());
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--history-db",
        db,
        "--redis-url",
        &url,
    ];
    let output = run_to_completion(BINARY, &args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // clap refuses the pair, naming both flags.
    let refused = ["--history-db", "--redis-url", "cannot be used with"];
    assert!(
        !output.status.success() && refused.iter().all(|said| stderr.contains(said)),
        "[{STAGE}] `{}` should exit with an error naming both flags ({refused:?}); it \
         exited ({}) with stderr {stderr:?}; see `history_db` in stage6-shutdown/src/main.rs",
        args.join(" "),
        output.status,
    );
}
