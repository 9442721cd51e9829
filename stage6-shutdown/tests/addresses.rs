//! The caps per client address, with clients on 127.0.0.2, 127.0.0.3, …,
//! which the server sees as different hosts: `cargo test -p stage6-shutdown
//! --test addresses`. Linux routes all of 127.0.0.0/8 to the loopback
//! interface; other systems need an alias for each address, so the tests are
//! ignored there.

use std::net::SocketAddr;
use std::thread;
use std::time::Instant;

use chat_harness::{Client, Received, TestServer, read_timeout};
use socket2::{Domain, Socket, Type};
use stage6_shutdown::{ServerConfig, Services, Settings, run};

pub mod common;
use self::common::STAGE;

/// Starts a server with `settings` on its own thread; it never shuts down.
fn start_with(settings: Settings) -> TestServer {
    let config: ServerConfig = settings.build().expect("a valid configuration");
    TestServer::start_tokio(STAGE, move |listener| {
        let services = Services::new(&config);
        run(listener, config, services, std::future::pending())
    })
}

/// Connects `who` from 127.0.0.`host`: to the server, a host of its own.
fn connect_from(server: &TestServer, who: &str, host: u8) -> Client {
    let local = SocketAddr::from(([127, 0, 0, host], 0));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)
        .unwrap_or_else(|e| panic!("[{STAGE}] {who} cannot make a socket: {e}"));
    socket.bind(&local.into()).unwrap_or_else(|e| {
        panic!("[{STAGE}] {who} cannot bind {local}: {e} (is 127.0.0.0/8 all loopback here?)")
    });
    let server_addr = server.addr();
    socket
        .connect_timeout(&server_addr.into(), read_timeout())
        .unwrap_or_else(|e| panic!("[{STAGE}] {who} cannot connect to {server_addr}: {e}"));
    server.client_over(who, socket.into())
}

/// Connects `name` from 127.0.0.`host` and answers the name prompt.
fn join_from(server: &TestServer, name: &str, host: u8) -> Client {
    let mut client = connect_from(server, name, host);
    client.expect("welcome! what is your name?");
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}

/// Expects `client` to be refused because its address holds `limit`
/// connections (or `limit` unnamed ones) already.
fn expect_refused(client: &mut Client, limit: usize) {
    client.hint("addresses.rs: Addresses::admit counts each address's connections");
    client.expect(&format!(
        "error: too many connections from your address ({limit}); try again later"
    ));
    client.expect_closed();
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2 and 127.0.0.3")]
#[test]
fn a_silent_crowd_from_one_address_does_not_lock_out_another() {
    // Without the cap on unnamed connections, ten silent ones would fill
    // all eight places.
    let server = start_with(Settings {
        max_users: 8,
        max_unnamed_per_address: 4,
        ..Settings::default()
    });
    let mut crowd = Vec::new();
    for i in 0..10 {
        let mut silent = connect_from(&server, &format!("silent{i}"), 2);
        if i < 4 {
            silent.expect("welcome! what is your name?");
            crowd.push(silent);
        } else {
            expect_refused(&mut silent, 4);
        }
    }
    let mut alice = join_from(&server, "alice", 3);
    let mut bob = join_from(&server, "bob", 4);
    alice.expect("* bob joined #lobby");
    bob.send("hello from another host");
    alice.expect("<bob> hello from another host");
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2 and 127.0.0.3")]
#[test]
fn named_connections_are_capped_too() {
    let server = start_with(Settings {
        max_per_address: 2,
        max_unnamed_per_address: 1,
        ..Settings::default()
    });
    let _alice = join_from(&server, "alice", 2);
    // Only one unnamed connection is allowed: alice, named, is not one.
    let mut bob = connect_from(&server, "bob", 2);
    bob.hint("a client that chose a name no longer counts as unnamed: AddressPlace::named");
    bob.expect("welcome! what is your name?");
    bob.send("bob");
    bob.expect("welcome, bob! you are in #lobby");
    let mut third = connect_from(&server, "third", 2);
    expect_refused(&mut third, 2);
    let _carol = join_from(&server, "carol", 3);
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs 127.0.0.2")]
#[test]
fn a_client_that_leaves_gives_its_place_back() {
    let server = start_with(Settings {
        max_per_address: 1,
        max_unnamed_per_address: 1,
        ..Settings::default()
    });
    let mut alice = join_from(&server, "alice", 2);
    expect_refused(&mut connect_from(&server, "second", 2), 1);
    alice.send("/quit");
    alice.expect("* bye");
    alice.expect_closed();
    drop(alice);
    let silent = connect_when_admitted(&server, "silent", 2);
    expect_refused(&mut connect_from(&server, "second", 2), 1);
    drop(silent);
    join_when_admitted(&server, "bob", 2);
}

/// Connects from 127.0.0.`host` until the server lets the client in (it
/// may take a moment to notice that the client before it left), and
/// returns the client after the name prompt.
fn connect_when_admitted(server: &TestServer, who: &str, host: u8) -> Client {
    let deadline = Instant::now() + read_timeout();
    loop {
        let mut client = connect_from(server, who, host);
        match client.recv() {
            Received::Line(line) if line == "welcome! what is your name?" => return client,
            Received::Line(line) if line.contains("too many connections") => {}
            other => client.fail("the name prompt", &format!("{other:?}")),
        }
        if Instant::now() >= deadline {
            client.fail(
                "a place once the previous client from this address had left",
                "a refusal until the deadline: is the AddressPlace dropped with its client?",
            );
        }
        thread::sleep(read_timeout() / 100);
    }
}

/// Like [`connect_when_admitted`], then answers the name prompt.
fn join_when_admitted(server: &TestServer, name: &str, host: u8) -> Client {
    let mut client = connect_when_admitted(server, name, host);
    client.send(name);
    client.expect(&format!("welcome, {name}! you are in #lobby"));
    client
}
