//! Headless Chromium for `browser.rs`, driven over WebDriver.
//!
//! [`Browser::start`] runs `chromedriver` on a free loopback port (it is
//! killed, with the browsers it started, when the value is dropped); each
//! [`Page`] is one browser session showing the chat page, that a test types
//! into and reads from. Every WebDriver call has a deadline and every wait a
//! timeout, so a stuck browser fails the test instead of hanging it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_harness::read_timeout;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The longest any single WebDriver call may take: starting a browser on a
/// busy two-core machine takes seconds, anything else far less.
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// How to get the two programs, for the failure message.
const INSTALL: &str = "on Debian: sudo apt-get install chromium chromium-driver \
     (.ci/run installs them); elsewhere install Chromium and its matching chromedriver and \
     put both on PATH, or name them with CHROMIUM=/path and CHROMEDRIVER=/path. \
     CHAT_SKIP_BROWSER=1 skips this test";

/// A running `chromedriver`, stopped (with every browser it started) on drop.
pub struct Browser {
    driver: Child,
    url: String,
    chromium: Option<PathBuf>,
}

impl Browser {
    /// Starts chromedriver, or returns `None` if `CHAT_SKIP_BROWSER=1` is set.
    /// Panics, saying how to install them, if chromedriver or Chromium is
    /// missing: a browser test that silently passes would prove nothing.
    pub fn start() -> Option<Browser> {
        if std::env::var("CHAT_SKIP_BROWSER").is_ok_and(|value| value == "1") {
            eprintln!("browser test skipped: CHAT_SKIP_BROWSER=1");
            return None;
        }
        let driver_path = program("CHROMEDRIVER", &["chromedriver"]).unwrap_or_else(|| {
            panic!("the browser test needs chromedriver, which is not on PATH; {INSTALL}")
        });
        // Chromedriver finds Debian's Chromium by itself; it is looked up
        // here too so that a missing browser gets this message, not a
        // "session not created" from deep inside the driver.
        let chromium = std::env::var_os("CHROMIUM").map(PathBuf::from);
        if chromium.is_none() && program("CHROMIUM", &["chromium", "chromium-browser"]).is_none() {
            panic!("the browser test needs Chromium, which is not on PATH; {INSTALL}");
        }
        let port = free_port();
        let mut command = Command::new(&driver_path);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the Browser kills the
        // browsers it started too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", driver_path.display()));
        let mut browser = Browser {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
        };
        browser.wait_listening(port);
        Some(browser)
    }

    /// Waits until chromedriver accepts connections on `port`.
    fn wait_listening(&mut self, port: u16) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + read_timeout() * 2;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited ({status}) before listening on {addr}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr} within {:?}",
                read_timeout() * 2
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens a new headless browser on `url`; `who` names it in failures.
    pub async fn open(&self, url: &str, who: &'static str) -> Page {
        let mut options = json!({ "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=900,600", "--no-first-run",
            // Nothing reaches for the network, which CI does not have.
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ]});
        if let Some(binary) = &self.chromium {
            options["binary"] = json!(binary);
        }
        // The TLS test's certificate is self-signed, made for the test.
        let capabilities = json!({ "goog:chromeOptions": options, "acceptInsecureCerts": true });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("json!({{…}}) is an object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = within(who, "start a browser session", async {
            let connected = builder.connect(&self.url).await;
            connected.map_err(|e| format!("{e}; {INSTALL}"))
        })
        .await;
        let page = Page { client, who };
        page.call("open the page", page.client.goto(url)).await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// What a page shows, read from its DOM in one call.
#[derive(Debug, PartialEq)]
pub struct View {
    /// The room in the header, such as `#lobby`.
    pub room: String,
    /// The status in the header: connected, or why the connection ended.
    pub status: String,
    /// The members list, one entry per name (ours is marked "(you)").
    pub members: Vec<String>,
    /// The log, one entry per line.
    pub log: Vec<String>,
    /// Whether the page shows the connection as closed.
    pub closed: bool,
}

/// The script that reads a [`View`].
const READ_VIEW: &str = r##"
    const texts = (selector) =>
        [...document.querySelectorAll(selector)].map((element) => element.textContent);
    return {
        room: document.getElementById("room").textContent,
        status: document.getElementById("status").textContent,
        members: texts("#members li"),
        log: texts("#log p"),
        closed: document.body.classList.contains("closed"),
    };
"##;

/// One browser session showing the chat page.
pub struct Page {
    client: Client,
    who: &'static str,
}

impl Page {
    /// Types `line` into the page's text box and presses Enter.
    pub async fn type_line(&self, line: &str) {
        let what = format!("type {line:?}");
        let input = self
            .call(&what, self.client.find(Locator::Id("line")))
            .await;
        let keys = format!("{line}{}", char::from(Key::Enter));
        self.call(&what, input.send_keys(&keys)).await;
    }

    /// What the page shows now.
    pub async fn view(&self) -> View {
        let read = self.call("read the page", self.client.execute(READ_VIEW, vec![]));
        let value = read.await;
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        let texts = |key: &str| -> Vec<String> {
            let items = value[key].as_array().map(Vec::as_slice).unwrap_or_default();
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        View {
            room: text("room"),
            status: text("status"),
            members: texts("members"),
            log: texts("log"),
            closed: value["closed"].as_bool().unwrap_or_default(),
        }
    }

    /// Waits until the page shows what `wanted` accepts; `expected` says what
    /// that is, for the failure message, which also shows what the page
    /// showed last and `hint`, where to look.
    pub async fn wait_until(&self, expected: &str, hint: &str, wanted: impl Fn(&View) -> bool) {
        let deadline = Instant::now() + read_timeout();
        loop {
            let view = self.view().await;
            if wanted(&view) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}'s page should show {expected}, but within {:?} it showed:\n  \
                     room: {:?}\n  status: {:?}\n  members: {:?}\n  log: {:#?}\n  hint: {hint}",
                    self.who,
                    read_timeout(),
                    view.room,
                    view.status,
                    view.members,
                    view.log
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's log has the line `expected`.
    pub async fn wait_for_line(&self, expected: &str, hint: &str) {
        let what = format!("the line {expected:?} in its log");
        self.wait_until(&what, hint, |view| {
            view.log.iter().any(|line| line == expected)
        })
        .await;
    }

    /// Saves a PNG of the page at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self
            .call("take a screenshot", self.client.screenshot())
            .await;
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write the screenshot {}: {e}", path.display()));
    }

    /// Ends the browser session (the browser quits).
    pub async fn close(self) {
        let who = self.who;
        within(who, "close the browser", async {
            self.client.close().await.map_err(|e| e.to_string())
        })
        .await;
    }

    /// Runs one WebDriver call with a deadline; failures name the page.
    async fn call<T, E: std::fmt::Display>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> T {
        within(self.who, what, async {
            call.await.map_err(|e| e.to_string())
        })
        .await
    }
}

/// Runs `call` for at most [`CALL_LIMIT`], and panics naming `who` and `what`
/// if it fails or takes longer.
async fn within<T>(who: &str, what: &str, call: impl Future<Output = Result<T, String>>) -> T {
    match tokio::time::timeout(CALL_LIMIT, call).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("{who}'s browser could not {what}: {error}"),
        Err(_) => panic!("{who}'s browser did not {what} within {CALL_LIMIT:?}"),
    }
}

/// `$variable` if set, else the first of `names` found on `PATH`.
fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A loopback port that was free a moment ago, for chromedriver to listen on.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free port for chromedriver: {e}"))
}
