//! A headless Chromium, driven over WebDriver (`chromedriver`) with `fantoccini`.
//!
//! [`Browser::start`] finds chromedriver through `HARBOR_TEST_CHROMEDRIVER`. Unset, the
//! test is skipped with a printed reason, except under `CI=true`, where it fails. The
//! browser binary is chromedriver's own choice (`/usr/bin/chromium` on Debian) unless
//! `HARBOR_TEST_CHROMIUM` names one. Each `Browser` runs its own chromedriver on a free
//! loopback port and kills it when dropped.
//!
//! The helpers panic on failure with the current URL and the start of the page source,
//! so a failing test says what the browser was looking at. `HARBOR_PORTAL_SCREENSHOTS`
//! names a directory for [`Browser::screenshot`]; unset, screenshots are skipped.

// Each test target that includes this module uses a different subset of the helpers.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// How long [`Browser::wait_for`] polls for an element to appear.
const WAIT_FOR: Duration = Duration::from_secs(10);
/// How long [`Browser::wait_for_text`] polls for an element's text.
const WAIT_FOR_TEXT: Duration = Duration::from_secs(30);
/// How often the waits look again.
const POLL: Duration = Duration::from_millis(100);
/// How much page source a failure message shows.
const SNIPPET: usize = 2000;

/// A WebDriver session on a headless Chromium, and the chromedriver serving it.
pub struct Browser {
    client: Client,
    driver: Child,
    port: u16,
}

impl Browser {
    /// Starts chromedriver and opens a session, or returns `None` (with a printed
    /// `SKIPPED` reason) when `HARBOR_TEST_CHROMEDRIVER` is unset. Panics when it is
    /// unset under `CI=true`, or when chromedriver or the browser do not come up.
    pub async fn start() -> Option<Browser> {
        let Some(chromedriver) = std::env::var_os("HARBOR_TEST_CHROMEDRIVER") else {
            let reason = "no chromedriver for the browser tests; set HARBOR_TEST_CHROMEDRIVER \
                          (e.g. /usr/bin/chromedriver from Debian's chromium-driver)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("required browser missing under CI=true: {reason}");
            }
            harbor_storage::testing::skipped(reason);
            return None;
        };
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chromedriver {chromedriver:?}: {e}"));
        let webdriver = format!("http://127.0.0.1:{port}");
        if let Err(e) = wait_ready(&webdriver, &mut driver).await {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("chromedriver {chromedriver:?} on port {port} did not come up: {e}");
        }

        let mut chrome = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
            ],
        });
        if let Some(binary) = std::env::var_os("HARBOR_TEST_CHROMIUM") {
            chrome["binary"] = Value::String(binary.to_string_lossy().into_owned());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        let session = async {
            ClientBuilder::rustls()
                .map_err(|e| e.to_string())?
                .capabilities(caps)
                .connect(&webdriver)
                .await
                .map_err(|e| e.to_string())
        };
        match session.await {
            Ok(client) => Some(Browser {
                client,
                driver,
                port,
            }),
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver {chromedriver:?} could not open a browser session: {e}");
            }
        }
    }

    /// The underlying fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail(&format!("goto {url}: {e}")).await;
        }
    }

    /// Clears the field matched by `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        if let Err(e) = field.clear().await {
            self.fail(&format!("clear {css:?}: {e}")).await;
        }
        if let Err(e) = field.send_keys(text).await {
            self.fail(&format!("type into {css:?}: {e}")).await;
        }
    }

    /// Clicks the element matched by `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        if let Err(e) = element.click().await {
            self.fail(&format!("click {css:?}: {e}")).await;
        }
    }

    /// Submits a form: a `<form>` matched by `css` is submitted as by its submit button
    /// (`requestSubmit()`, so validation and submit handlers run); anything else (a
    /// button) is clicked.
    pub async fn submit_form(&self, css: &str) {
        let element = self.find(css).await;
        let tag = match element.tag_name().await {
            Ok(tag) => tag,
            Err(e) => self.fail(&format!("tag name of {css:?}: {e}")).await,
        };
        let done = if tag.eq_ignore_ascii_case("form") {
            let arg = serde_json::to_value(&element).expect("element as JSON");
            self.client
                .execute("arguments[0].requestSubmit()", vec![arg])
                .await
                .map(drop)
        } else {
            element.click().await
        };
        if let Err(e) = done {
            self.fail(&format!("submit {css:?}: {e}")).await;
        }
    }

    /// The rendered text of the element matched by `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        match element.text().await {
            Ok(text) => text,
            Err(e) => self.fail(&format!("text of {css:?}: {e}")).await,
        }
    }

    /// The rendered texts of all elements matched by `css`, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let elements = match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => elements,
            Err(e) => self.fail(&format!("find all {css:?}: {e}")).await,
        };
        let mut texts = Vec::with_capacity(elements.len());
        for element in elements {
            match element.text().await {
                Ok(text) => texts.push(text),
                Err(e) => self.fail(&format!("text of {css:?}: {e}")).await,
            }
        }
        texts
    }

    /// Waits up to 10 s for an element matching `css` to exist.
    pub async fn wait_for(&self, css: &str) {
        let deadline = Instant::now() + WAIT_FOR;
        while !self.exists(css).await {
            if Instant::now() >= deadline {
                self.fail(&format!("no {css:?} after {WAIT_FOR:?}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to 30 s, without reloading, until the element matched by `css` exists
    /// and its text contains `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) {
        let deadline = Instant::now() + WAIT_FOR_TEXT;
        let mut last = None;
        loop {
            // Looked up afresh each time: the page may replace the element.
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(needle) {
                    return;
                }
                last = Some(text);
            }
            if Instant::now() >= deadline {
                let seen = match last {
                    Some(text) => format!("its text is {text:?}"),
                    None => "it never appeared".to_owned(),
                };
                self.fail(&format!(
                    "{css:?} did not contain {needle:?} after {WAIT_FOR_TEXT:?}: {seen}"
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The URL the browser is on.
    pub async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => panic!("browser: current URL: {e}"),
        }
    }

    /// The current page's HTML, as the DOM serializes it now.
    pub async fn source(&self) -> String {
        match self.client.source().await {
            Ok(source) => source,
            Err(e) => panic!("browser: page source: {e}"),
        }
    }

    /// Whether an element matching `css` exists (displayed or not).
    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => !elements.is_empty(),
            Err(e) => self.fail(&format!("find all {css:?}: {e}")).await,
        }
    }

    /// Makes `confirm()` dialogs on the current page answer OK. Lasts until the next
    /// navigation: call it after `goto`, before the click that asks.
    pub async fn accept_confirms(&self) {
        if let Err(e) = self
            .client
            .execute("window.confirm = () => true", vec![])
            .await
        {
            self.fail(&format!("override window.confirm: {e}")).await;
        }
    }

    /// Resizes the browser window, e.g. to check a narrow layout.
    pub async fn set_window(&self, width: u32, height: u32) {
        if let Err(e) = self.client.set_window_size(width, height).await {
            self.fail(&format!("resize the window to {width}x{height}: {e}"))
                .await;
        }
    }

    /// Writes a PNG of the viewport to `$HARBOR_PORTAL_SCREENSHOTS/<name>.png` when that
    /// variable names a directory (created if missing); does nothing otherwise.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("HARBOR_PORTAL_SCREENSHOTS") else {
            return;
        };
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => self.fail(&format!("screenshot {name}: {e}")).await,
        };
        let dir = std::path::PathBuf::from(dir);
        let path = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, png))
            .unwrap_or_else(|e| panic!("browser: write {}: {e}", path.display()));
    }

    /// Ends the WebDriver session (closing the browser); chromedriver goes on drop.
    pub async fn close(self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("browser: closing the session: {e}");
        }
    }

    /// The element matched by `css`, or a failure.
    async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => self.fail(&format!("find {css:?}: {e}")).await,
        }
    }

    /// Panics with `what`, the current URL, the page's visible text (which also tells
    /// Chromium's own error pages, "HTTP ERROR 500" and the like) and the start of its
    /// source.
    async fn fail(&self, what: &str) -> ! {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(unknown: {e})"),
        };
        let script = "return document.body ? document.body.innerText : ''";
        let text = match self.client.execute(script, vec![]).await {
            Ok(Value::String(text)) => snippet(text.trim()),
            Ok(other) => other.to_string(),
            Err(e) => format!("(unavailable: {e})"),
        };
        let source = match self.client.source().await {
            Ok(source) => snippet(&source),
            Err(e) => format!("(unavailable: {e})"),
        };
        panic!("browser: {what}\n  at {url}\n  page text:\n{text}\n  page source:\n{source}");
    }
}

impl Drop for Browser {
    /// Asks chromedriver to shut down (it quits the browsers it started), then kills it.
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.driver.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// Polls chromedriver's `/status` until it reports ready, for up to 10 s.
async fn wait_ready(webdriver: &str, driver: &mut Child) -> Result<(), String> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("it exited: {status}"));
        }
        match http.get(format!("{webdriver}/status")).send().await {
            Ok(resp) => match resp.json::<Value>().await {
                Ok(body) if body["value"]["ready"] == json!(true) => return Ok(()),
                Ok(body) => last = format!("not ready: {body}"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("no ready /status within 10 s ({last})"))
}

/// The first `SNIPPET` bytes of `source` (on a character boundary).
fn snippet(source: &str) -> String {
    if source.len() <= SNIPPET {
        return source.to_owned();
    }
    let mut end = SNIPPET;
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} bytes more)", &source[..end], source.len() - end)
}
