//! The chat page (`static/chat.html`) in a real browser: headless Chromium,
//! driven over WebDriver (`webdriver/mod.rs`), against a stage 6 server in
//! this process. Two browser users and one TCP user chat in one room and
//! rename themselves; one browser user moves to another room and is kicked
//! there; the server shuts down; each page says what happened to it. With
//! TLS on, the page comes over HTTPS and talks over `wss:`.
//!
//! It needs Chromium and chromedriver (Debian: `apt-get install chromium
//! chromium-driver`; `.ci/run` installs them). Without them it fails and
//! says how to install them, unless `CHAT_SKIP_BROWSER=1` is set.
//! `CHAT_SCREENSHOT=path.png` saves a screenshot of alice's page (the book's
//! is `book/src/img/browser-chat.png`):
//!
//! ```text
//! CHAT_SCREENSHOT=$PWD/book/src/img/browser-chat.png cargo test -p stage6-shutdown --test browser
//! ```

use std::path::PathBuf;

use chat_harness::{Client, TestServer, read_timeout};
use tokio::sync::oneshot;

pub mod common;
pub mod transports;
pub mod webdriver;
use self::common::{STAGE, join, relaxed};
use self::transports::{Running, Via};
use self::webdriver::{Browser, Page};

/// Where the page's handling of the server's lines is.
const ON_LINE: &str = "onLine() in stage6-shutdown/static/chat.html reads each line the server \
                       sends";

/// A server with its TCP door and its HTTP door (the page and `/ws`, over
/// TLS with a throwaway certificate if `tls`). It shuts down when its
/// `shutdown` is used or dropped.
fn start(tls: bool) -> Running {
    let config = relaxed().build().expect("a valid configuration");
    transports::start(config, tls, Via::Direct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_and_a_tcp_client_chat_change_rooms_and_see_the_shutdown() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let Running {
        server,
        http,
        shutdown: stop,
        ..
    } = start(false);
    let url = format!("http://{http}/");
    let alice = arrive(&browser, &url, "alice").await;
    let bob = arrive(&browser, &url, "bob").await;
    alice
        .wait_until("alice and bob as members", ON_LINE, |view| {
            view.members == ["alice (you)", "bob"]
        })
        .await;
    let mut carol = join(&server, "carol");
    let hint = "the page adds a member when it reads `* NAME joined #ROOM`";
    alice
        .wait_until("carol among the members", hint, |view| {
            view.members == ["alice (you)", "bob", "carol"]
        })
        .await;
    chat(&alice, &bob, &mut carol).await;
    rename(&alice, &bob, &mut carol).await;
    if let Some(path) = std::env::var_os("CHAT_SCREENSHOT").map(PathBuf::from) {
        alice.screenshot(&path).await;
    }
    change_rooms(&alice, &bob, &mut carol).await;
    kick(&alice, &bob, &mut carol).await;
    shut_down(stop, &server, &alice, &mut carol).await;
    alice.close().await;
    bob.close().await;
}

/// Opens the page in a new browser and answers its name prompt.
async fn arrive(browser: &Browser, url: &str, name: &'static str) -> Page {
    let page = browser.open(url, name).await;
    let hint =
        "the page connects to ws://HOST/ws (wss: over https) and shows each line it receives";
    page.wait_for_line("welcome! what is your name?", hint)
        .await;
    page.type_line(name).await;
    let you = format!("{name} (you)");
    let hint = "after the welcome, the page sets the room and sends /list, whose answer fills \
                the members but not the log";
    page.wait_until(
        "the room #lobby, its members, and no /list answer",
        hint,
        |view| {
            view.room == "#lobby"
                && view.members.contains(&you)
                && !view.log.iter().any(|line| line.starts_with("* in #"))
        },
    )
    .await;
    page
}

/// Each user says something; everyone else sees it, the sender's page too.
async fn chat(alice: &Page, bob: &Page, carol: &mut Client) {
    alice.type_line("hello from a browser").await;
    let said = "<alice> hello from a browser";
    let hint = "the server does not echo our own chat: the page shows it itself";
    alice.wait_for_line(said, hint).await;
    bob.wait_for_line(said, ON_LINE).await;
    carol.expect(said);

    bob.type_line("hi both").await;
    alice.wait_for_line("<bob> hi both", ON_LINE).await;
    carol.expect("<bob> hi both");
    // `//` sends a chat line that starts with one `/`.
    bob.type_line("//shrug").await;
    carol.expect("<bob> /shrug");
    let hint = "the page shows a `//` line as the room sees it, with one `/`";
    bob.wait_for_line("<bob> /shrug", hint).await;

    // Chat text is shown as text: markup in it must not become HTML.
    carol.send("<b>am I bold?</b> no, I use nc");
    let said = "<carol> <b>am I bold?</b> no, I use nc";
    let hint = "show() must set textContent, never innerHTML: chat text is untrusted";
    alice.wait_for_line(said, hint).await;
    bob.wait_for_line(said, hint).await;
}

/// alice becomes alicia: her page and bob's rename her in their lists.
async fn rename(alice: &Page, bob: &Page, carol: &mut Client) {
    alice.type_line("/nick alicia").await;
    carol.expect("* alice is now known as alicia");
    let hint = "on `* you are now NAME` the page changes its own name";
    alice
        .wait_until("alicia as our name", hint, |view| {
            view.members == ["alicia (you)", "bob", "carol"]
        })
        .await;
    let hint = "on `* OLD is now known as NEW` the page renames a member";
    bob.wait_until("alicia instead of alice", hint, |view| {
        view.members == ["alicia", "bob (you)", "carol"]
    })
    .await;
}

/// carol, then bob, move to #rust; the rooms and members lists follow.
async fn change_rooms(alice: &Page, bob: &Page, carol: &mut Client) {
    carol.send("/join rust");
    carol.expect("* you are now in #rust");
    let hint = "the page removes a member when it reads `* NAME left #ROOM`";
    bob.wait_until("carol gone from the members", hint, |view| {
        view.members == ["alicia", "bob (you)"]
    })
    .await;

    bob.type_line("/join rust").await;
    carol.expect("* bob joined #rust");
    let hint = "on `* you are now in #ROOM` the page sets the room and asks /list again";
    bob.wait_until("the room #rust, carol first", hint, |view| {
        view.room == "#rust" && view.members == ["carol", "bob (you)"]
    })
    .await;
    alice
        .wait_until("alicia alone", ON_LINE, |view| {
            view.members == ["alicia (you)"]
        })
        .await;
    alice.type_line("only #lobby hears this").await;
}

/// carol, the operator of #rust (its first member), kicks bob: his page says so.
async fn kick(alice: &Page, bob: &Page, carol: &mut Client) {
    carol.send("/kick bob enough for today");
    carol.expect("* you kicked bob");
    carol.expect("* bob left #rust (kicked by carol: enough for today)");
    let kicked = "* you were kicked by carol: enough for today";
    let hint = "on `* you were kicked by …` the page shows why in its status; then the \
                server closes the WebSocket";
    bob.wait_until(
        "that carol kicked him, and the connection closed",
        hint,
        |view| {
            view.log.last().is_some_and(|line| line == kicked)
                && view.status == kicked.trim_start_matches("* ")
                && view.closed
        },
    )
    .await;
    let bob_saw = bob.view().await.log;
    assert!(
        !bob_saw.iter().any(|line| line.contains("only #lobby")),
        "[{STAGE}] bob had moved to #rust, yet his page shows a line said in #lobby: {bob_saw:#?}"
    );
    let alice_saw = alice.view().await.log;
    assert!(
        !alice_saw.iter().any(|line| line.contains("kicked")),
        "[{STAGE}] a kick in #rust reached alicia in #lobby: {alice_saw:#?}"
    );
}

/// The server shuts down: carol is told, and alice's page says it has closed.
async fn shut_down(
    stop: oneshot::Sender<()>,
    server: &TestServer,
    alice: &Page,
    carol: &mut Client,
) {
    let goodbye = "* the server is shutting down; goodbye";
    let _ = stop.send(());
    carol.expect(goodbye);
    carol.expect_closed();
    says_the_server_closed(alice).await;
    assert!(
        server.wait_stopped(read_timeout()),
        "[{STAGE}] run() should return once its clients, the pages included, have said goodbye"
    );
}

/// Waits until `page` shows the server's goodbye and says the server has closed.
async fn says_the_server_closed(page: &Page) {
    let goodbye = "* the server is shutting down; goodbye";
    let hint = "the goodbye line sets the status, and the close event marks the page closed";
    page.wait_until(
        "the server's goodbye, and that it has closed",
        hint,
        |view| {
            view.log.last().is_some_and(|line| line == goodbye)
                && view.status.starts_with("the server has closed")
                && view.closed
        },
    )
    .await;
}

/// With TLS on, the page comes over HTTPS and builds its WebSocket's address
/// from its own: `wss:`, on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_page_comes_over_https_and_talks_over_wss() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let Running {
        server,
        http: https,
        shutdown: stop,
        ..
    } = start(true);

    // Welcomed, named and listed: lines went both ways over wss.
    let alice = arrive(&browser, &format!("https://{https}/"), "alice").await;
    let _ = stop.send(());
    says_the_server_closed(&alice).await;
    assert!(
        server.wait_stopped(read_timeout()),
        "[{STAGE}] run() should return once the page has been told goodbye"
    );
    alice.close().await;
}
