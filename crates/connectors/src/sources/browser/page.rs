//! One page of a visit, driven over DevTools: opening URLs, the steps' actions, and what the page
//! said on its console, kept for the evidence of a failure.

use base64::Engine;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Evidence;
use super::cdp::Cdp;
use super::steps::{self, Action};
use crate::egress;
use vigil_core::principal::Reach;

/// How often a waiting step looks again.
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// The console kept, at most.
const MAX_CONSOLE: usize = 64 << 10;

/// A page in the browser, attached over DevTools.
pub struct Page {
    cdp: Cdp,
    session: String,
    /// The texts the steps type (kept out of the evidence).
    typed: Vec<String>,
    console: String,
    /// The loader of the last URL opened, and its document's status once answered.
    loader: Option<String>,
    /// The status of the last opened URL's document.
    pub document_status: Option<u16>,
    loaded: bool,
    /// Where the page may go (checked on every URL the top frame opens, redirects included).
    reach: Reach,
    /// URLs the top frame opened since they were last checked.
    opened: Vec<String>,
}

impl Page {
    /// A new page in the browser at `endpoint`, with its events on.
    pub async fn open(endpoint: &str, typed: Vec<String>, reach: Reach) -> Result<Page, String> {
        let mut cdp = Cdp::connect(endpoint).await?;
        let target = cdp.call(None, "Target.createTarget", json!({"url": "about:blank"})).await?;
        let target = target["targetId"].as_str().ok_or("Chromium made no page")?.to_string();
        let attached = cdp.call(None, "Target.attachToTarget", json!({"targetId": target, "flatten": true})).await?;
        let session = attached["sessionId"].as_str().ok_or("Chromium did not attach to its page")?.to_string();
        let mut page = Page {
            cdp,
            session,
            typed,
            console: String::new(),
            loader: None,
            document_status: None,
            loaded: false,
            reach,
            opened: Vec::new(),
        };
        for domain in ["Page.enable", "Runtime.enable", "Network.enable", "Log.enable"] {
            page.call(domain, json!({})).await?;
        }
        Ok(page)
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let answer = self.cdp.call(Some(&self.session), method, params).await;
        self.absorb();
        answer
    }

    /// Reads the events that arrived: console lines, the document's status, the load.
    fn absorb(&mut self) {
        while let Some(event) = self.cdp.events.pop_front() {
            if event.get("sessionId").and_then(Value::as_str) != Some(self.session.as_str()) {
                continue;
            }
            let p = &event["params"];
            let line = match event["method"].as_str().unwrap_or_default() {
                "Page.loadEventFired" => {
                    self.loaded = true;
                    None
                }
                "Page.frameNavigated" if p["frame"].get("parentId").is_none() => {
                    self.opened.extend(p["frame"]["url"].as_str().map(str::to_string));
                    None
                }
                "Network.responseReceived"
                    if p["type"] == "Document" && p["loaderId"].as_str() == self.loader.as_deref() =>
                {
                    self.document_status = p["response"]["status"].as_u64().map(|s| s as u16);
                    None
                }
                "Runtime.consoleAPICalled" => {
                    let args: Vec<String> = p["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| match &a["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => a["description"].as_str().unwrap_or("undefined").to_string(),
                            other => other.to_string(),
                        })
                        .collect();
                    Some(format!("{}: {}", p["type"].as_str().unwrap_or("log"), args.join(" ")))
                }
                "Runtime.exceptionThrown" => {
                    let d = &p["exceptionDetails"];
                    let text = d["exception"]["description"].as_str().or(d["text"].as_str()).unwrap_or("an exception");
                    Some(format!("exception: {text}"))
                }
                "Log.entryAdded" => {
                    let e = &p["entry"];
                    let url = e["url"].as_str().map(|u| format!(" ({u})")).unwrap_or_default();
                    Some(format!(
                        "{}: {}{url}",
                        e["level"].as_str().unwrap_or("info"),
                        e["text"].as_str().unwrap_or("")
                    ))
                }
                _ => None,
            };
            if let Some(line) = line
                && self.console.len() + line.len() < MAX_CONSOLE
            {
                self.console.push_str(&line);
                self.console.push('\n');
            }
        }
    }

    /// Evaluates `expression` in the page; its value, or the exception it threw.
    pub async fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        let mut answer =
            self.call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true})).await?;
        if let Some(e) = answer.get("exceptionDetails") {
            let text = e["exception"]["description"].as_str().or(e["text"].as_str()).unwrap_or("an exception");
            return Err(text.to_string());
        }
        Ok(answer["result"].get_mut("value").map(Value::take).unwrap_or(Value::Null))
    }

    /// Refuses the visit when the top frame opened a page it may not (a redirect or a script
    /// took it to `file:`, `data:`, or vigil's own address): nothing of that page is read.
    pub async fn check_opened(&mut self) -> Result<(), String> {
        self.absorb();
        for url in std::mem::take(&mut self.opened) {
            // Chromium's own placeholders: the empty page and the page of a load that failed.
            if url == "about:blank" || url.starts_with("chrome-error://") {
                continue;
            }
            egress::browsable(&url).map_err(|why| format!("the page went to a refused address: {why}"))?;
            egress::check_url(self.reach, &url)
                .await
                .map_err(|why| format!("the page went to a refused address: {why}"))?;
        }
        Ok(())
    }

    /// Opens `url` and waits for it to load (by `deadline`); a URL that is not a web page, or
    /// that the visit's reach does not allow, is refused before anything is opened.
    pub async fn navigate(&mut self, url: &str, deadline: Instant) -> Result<(), String> {
        egress::browsable(url)?;
        egress::check_url(self.reach, url).await?;
        self.loaded = false;
        self.document_status = None;
        let answer = self.cdp.call(Some(&self.session), "Page.navigate", json!({"url": url})).await;
        let answer = answer.inspect_err(|_| self.absorb())?;
        self.loader = answer["loaderId"].as_str().map(str::to_string);
        self.absorb();
        if let Some(error) = answer["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(format!("could not open {url}: {error}"));
        }
        while !self.loaded {
            let event = tokio::time::timeout_at(deadline, self.cdp.next_message())
                .await
                .map_err(|_| format!("{url} did not finish loading in time"))??;
            self.cdp.events.push_back(event);
            self.absorb();
        }
        self.check_opened().await
    }

    /// Evaluates `expression` until `accept` takes its value, or `deadline`; the last value seen
    /// (or the last exception) otherwise.
    async fn until<T>(
        &mut self,
        expression: &str,
        deadline: Instant,
        accept: impl Fn(&Value) -> Option<T>,
    ) -> Result<T, Result<Value, String>> {
        loop {
            let seen = self.evaluate(expression).await;
            if let Some(taken) = seen.as_ref().ok().and_then(&accept) {
                return Ok(taken);
            }
            if Instant::now() + POLL >= deadline {
                return Err(seen);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Does `action`, waiting (by `deadline`) for what it needs.
    pub async fn act(&mut self, action: &Action, deadline: Instant) -> Result<(), String> {
        let missing = |selector: &str| format!("no element `{selector}` shown in time");
        match action {
            Action::WaitFor(selector) => {
                let shown = self.until(&steps::shown(selector), deadline, |v| v.as_bool().filter(|b| *b)).await;
                shown.map(drop).map_err(|_| missing(selector))
            }
            Action::Fill(selector, text) => {
                self.until(&steps::focus_and_clear(selector), deadline, |v| v.as_bool().filter(|b| *b))
                    .await
                    .map_err(|_| format!("no field `{selector}` to type into in time"))?;
                self.call("Input.insertText", json!({"text": text})).await.map(drop)
            }
            Action::Click(selector) => {
                let (x, y) = self
                    .until(&steps::centre(selector), deadline, |v| Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?)))
                    .await
                    .map_err(|_| missing(selector))?;
                for (kind, button) in [("mouseMoved", "none"), ("mousePressed", "left"), ("mouseReleased", "left")] {
                    let event = json!({"type": kind, "x": x, "y": y, "button": button, "clickCount": 1});
                    self.call("Input.dispatchMouseEvent", event).await?;
                }
                Ok(())
            }
            Action::Expect(selector, test) => {
                let found = self
                    .until(&steps::text(selector.as_deref()), deadline, |v| {
                        v.as_str().filter(|t| test.holds(t)).map(drop)
                    })
                    .await;
                found.map_err(|last| match last {
                    Ok(Value::String(text)) => format!("found `{}`", crate::sources::snippet(text.trim().as_bytes())),
                    _ => missing(selector.as_deref().unwrap_or("body")),
                })
            }
            Action::Goto(url) => self.navigate(url, deadline).await,
        }
    }

    /// The screenshot and console of a failure noted `note` (by `deadline`), typed texts kept out.
    pub async fn evidence(&mut self, note: String, deadline: Instant) -> Evidence {
        let typed: Vec<&str> = self.typed.iter().map(String::as_str).collect();
        let hide = steps::hide_typed(&typed);
        let shot = tokio::time::timeout_at(deadline, async {
            let _ = self.evaluate(&hide).await;
            self.call("Page.captureScreenshot", json!({"format": "png"})).await
        })
        .await;
        let screenshot = match shot {
            Ok(Ok(answer)) => answer["data"]
                .as_str()
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        self.absorb();
        Evidence { note: redact(&note, &self.typed), console: redact(&self.console, &self.typed), screenshot }
    }
}

/// `text` with every one of `typed` replaced by dots.
pub fn redact(text: &str, typed: &[String]) -> String {
    typed.iter().filter(|t| !t.is_empty()).fold(text.to_string(), |acc, t| acc.replace(t.as_str(), "••••"))
}
