//! A small W3C WebDriver client over reqwest, enough to drive Debian's chromium through
//! chromedriver from `cargo test`: open pages, find elements by CSS, click, type, read text,
//! run a script, and save screenshots. No browser, no test: [`Browser::start`] returns `None`
//! with a visible message (a failure under `VIGIL_REQUIRE_SERVICES=1`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use std::os::unix::process::CommandExt;

use super::{free_port, service_binary};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Group,
    _profile: tempfile::TempDir,
}

/// An element found on the page.
#[derive(Clone)]
pub struct Element {
    id: String,
}

/// The narrowest window headless chromium opens (narrower ones are emulated).
const HEADLESS_MIN_WIDTH: u32 = 500;

impl Browser {
    /// Starts chromedriver and a headless chromium of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let chromium = service_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"], "chromium")?;
        let driver = service_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"], "chromedriver")?;
        let port = free_port();
        // Its own process group, so dropping it also ends the chromium it started.
        let child = std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let driver = Group(child, profile.path().display().to_string());
        let http = vigil_connectors::http_client();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({"binary": chromium, "args": args});
        if width < HEADLESS_MIN_WIDTH {
            // Headless windows are at least 500 px wide: a phone's width is emulated instead.
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "accept",
            "goog:chromeOptions": options,
        }}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {res}")).to_string();
        Some(Browser { http, session: format!("{base}/session/{session}"), _driver: driver, _profile: profile })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = res["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        res["value"].clone()
    }

    /// Ends the session: chromium exits.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }

    /// Resizes the window to `width` × `height`.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Opens `url` and waits for the page to load.
    /// axe-core's serious and critical WCAG 2 A/AA violations on `url`, as `id: targets`
    /// strings; `None` (with a note) when axe-core is not installed.
    #[allow(dead_code)]
    pub async fn serious_axe_violations(&self, url: &str) -> Option<Value> {
        let axe = super::axe_core()?;
        self.goto(url).await;
        self.script(&axe).await;
        let run = "return axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations\
            .filter(v => v.impact === 'serious' || v.impact === 'critical')\
            .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))";
        Some(self.script(run).await)
    }

    /// Signs in to the web UI at `base` with API token `token`, from a page without a session.
    #[allow(dead_code)]
    pub async fn sign_in(&self, base: &str, token: &str) {
        self.goto(&format!("{base}/")).await;
        assert!(self.url().await.contains("/ui/signin"), "a page without a session goes to the sign-in page");
        // The token's form is folded under the account's: open it first.
        self.click(&self.find("#token-signin summary").await).await;
        let field = self.find("#token").await;
        self.type_into(&field, token).await;
        self.click(&self.find("#token-signin button[type=submit]").await).await;
        // The click may return before the browser has left the sign-in page (which has an `h1`
        // too): wait for the navigation itself.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while self.url().await.contains("/ui/signin") {
            let page = self.script("return document.body ? document.body.innerText : ''").await;
            assert!(std::time::Instant::now() < deadline, "still on the sign-in page: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.find("h1").await;
        assert_eq!(self.url().await, format!("{base}/"), "signed in, back where it started");
    }

    /// The cookies the browser holds for the page open now, HttpOnly ones included.
    #[allow(dead_code)]
    pub async fn cookies(&self) -> Vec<(String, String)> {
        let all = self.call(reqwest::Method::GET, "/cookie", None).await;
        let pairs = all.as_array().cloned().unwrap_or_default().into_iter();
        pairs
            .map(|c| (c["name"].as_str().unwrap_or("").to_string(), c["value"].as_str().unwrap_or("").to_string()))
            .collect()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The page's URL.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Elements matching `css`, now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        let found =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        let ids = found.as_array().into_iter().flatten().map(|e| e[ELEMENT].as_str().map(str::to_string));
        ids.map(|id| Element { id: id.unwrap_or_else(|| panic!("webdriver elements `{css}`: {found}")) }).collect()
    }

    /// The first element matching `css`, waiting up to `wait` for one to appear.
    pub async fn wait_for(&self, css: &str, wait: Duration) -> Element {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(e) = self.all(css).await.into_iter().next() {
                return e;
            }
            assert!(Instant::now() < deadline, "no `{css}` on {} after {wait:?}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element matching `css` (waiting up to 5 s).
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css, Duration::from_secs(5)).await
    }

    /// Clicks `e`.
    pub async fn click(&self, e: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", e.id), Some(json!({}))).await;
    }

    /// Types `text` into `e`.
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.call(reqwest::Method::POST, &format!("/element/{}/value", e.id), Some(json!({"text": text}))).await;
    }

    /// The visible text of `e`.
    pub async fn text(&self, e: &Element) -> String {
        self.call(reqwest::Method::GET, &format!("/element/{}/text", e.id), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` in the page; its return value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Waits up to 15 s for the page's text to hold `text`: a click returns before the browser
    /// has left the page it was on, so an element both pages have proves nothing.
    pub async fn shows(&self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let body = self.script("return document.body ? document.body.innerText : ''").await;
            if body.as_str().is_some_and(|b| b.contains(text)) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the page never showed `{text}`: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's HTML.
    pub async fn html(&self) -> String {
        self.script("return document.documentElement.outerHTML").await.as_str().unwrap_or_default().to_string()
    }

    /// Saves a screenshot of the viewport as `target/ui-screenshots/NAME.png`; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap()).unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// Where screenshots go: `target/ui-screenshots` in the workspace.
pub fn screenshot_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| super::root().join("target"));
    Path::new(&target).join("ui-screenshots")
}

/// chromedriver's process group, killed whole when dropped, and the chromium processes that
/// use the session's profile directory (`.1`).
struct Group(std::process::Child, String);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = std::process::Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        // Chromium's zygote and helpers sit in groups of their own under the browser.
        if !self.1.is_empty() {
            let _ = std::process::Command::new("pkill").args(["-KILL", "-f", &self.1]).status();
        }
        let _ = self.0.wait();
    }
}
