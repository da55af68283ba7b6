//! `browser`: a scripted visit in headless Chromium. Opens `url`, then runs `steps` (wait for an
//! element, fill a field, click, check a text, open another URL), each waiting as long as the
//! check's time allows. A failed step fails the check at its `failing` tier, naming the step,
//! and leaves [`Evidence`]: a screenshot and the page's console. Conditions read `[STATUS]` (the
//! first page's), `[RESPONSE_TIME]` (the whole visit), `[BODY]` (the last page's text) and
//! `[CONNECTED]` (the first page opened).
//!
//! Chromium is found when a check runs ([`chromium::find`]: `VIGIL_CHROMIUM`, else `chromium` and
//! its other names on `PATH`); each visit starts its own, with a fresh profile, driven over the
//! DevTools protocol, at most [`MAX_BROWSERS`] at once.

mod cdp;
pub mod chromium;
mod page;
pub mod steps;

use std::time::{Duration, Instant};

use serde::Deserialize;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::principal::Reach;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};
use page::Page;
use steps::{Action, Step};

/// Browsers running at once, over all checks (each holds 100 MB or more while it runs).
pub const MAX_BROWSERS: usize = 2;

/// The `[BODY]` read from the last page, at most.
const MAX_BODY: usize = 16 << 10;

/// Time a browser check may take unless its config says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time beyond the check's own to take the evidence of a failure.
const EVIDENCE_TIME: Duration = Duration::from_secs(5);

/// How much earlier than the visit's timeout its steps stop waiting: an eighth of it, between
/// half a second and five seconds, and never more than half of it.
fn step_margin(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(500), Duration::from_secs(5)).min(timeout / 2)
}

/// What a monitor writes under `source: {browser: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BrowserConfig {
    /// The page opened first: `http://` or `https://`.
    pub url: String,
    /// What to do there, in order (none: the page opening is the check).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Time the whole visit may take, Chromium's start included (default 30s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// The window's size, `WIDTHxHEIGHT` (default 1280x800).
    #[serde(default)]
    pub viewport: Option<String>,
    /// Conditions that must all hold once the steps have; by default `[CONNECTED] == true`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose step or condition fails (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A browser check as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserSource {
    /// The first page, or why not while it still holds a `${...}` reference.
    url: Result<String, String>,
    actions: Vec<Action>,
    timeout: Duration,
    viewport: (u32, u32),
    judge: Judge,
    /// Where its pages may be (guarded when a task's address came from less than an admin).
    reach: Reach,
}

/// What a failed browser check leaves to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Why it failed.
    pub note: String,
    /// The page's console: its messages, uncaught exceptions and failed loads, a line each.
    pub console: String,
    /// A PNG of the page when it failed (empty when none could be taken).
    pub screenshot: Vec<u8>,
}

impl SourceConfig for BrowserConfig {
    type Built = BrowserSource;

    fn build(self) -> Result<BrowserSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let url = if self.url.contains("${") {
            Err(format!("browser: `url` still holds a reference: {}", self.url))
        } else if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(problem("url", format!("`{}` is not an http:// or https:// URL", self.url)));
        } else if let Err(e) = reqwest::Url::parse(&self.url) {
            return Err(problem("url", format!("`{}` is not a URL: {e}", self.url)));
        } else {
            Ok(self.url)
        };
        let viewport = match self.viewport.as_deref() {
            None => (1280, 800),
            Some(v) => v
                .split_once('x')
                .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
                .filter(|&(w, h): &(u32, u32)| (100..=8000).contains(&w) && (100..=8000).contains(&h))
                .ok_or_else(|| problem("viewport", format!("`{v}` is not WIDTHxHEIGHT (100 to 8000 each)")))?,
        };
        let actions = steps::build(self.steps)?;
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), true)?;
        let timeout = super::duration(self.timeout.as_deref(), DEFAULT_TIMEOUT)?;
        Ok(BrowserSource { url, actions, timeout, viewport, judge, reach: Reach::Anywhere })
    }
}

/// Browsers may start (at most [`MAX_BROWSERS`] run at once).
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_BROWSERS);

impl BrowserSource {
    /// Bounds where this visit's pages may be, by the authority that gave its addresses.
    pub fn set_reach(&mut self, reach: Reach) {
        self.reach = reach;
    }

    /// Visits the page: the answer, and what a failure leaves to look at.
    pub async fn visit(&self) -> (Answer, Option<Evidence>) {
        let url = match &self.url {
            Ok(url) => url,
            Err(why) => return (Answer::Failed(why.clone()), None),
        };
        let program = match chromium::find() {
            Ok(path) => path,
            Err(why) => return (Answer::Failed(why), None),
        };
        let Ok(_permit) = BROWSERS.acquire().await else {
            return (Answer::Failed("browser checks are shutting down".into()), None);
        };
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let browser = match tokio::time::timeout_at(deadline, chromium::Chromium::start(&program, self.viewport)).await
        {
            Ok(Ok(browser)) => browser,
            Ok(Err(why)) => return (Answer::Failed(why), None),
            Err(_) => return (Answer::Failed(format!("Chromium did not start within {:?}", self.timeout)), None),
        };
        let mut seen = Observed::default();
        let mut page = None;
        // The steps wait until a little before the visit's end: a step waiting for what never
        // comes then says so itself, rather than losing the race to the visit's timeout (which
        // it did on a busy machine, when one look at the page outlasted the last interval).
        let steps_end = deadline - step_margin(self.timeout);
        let outcome = tokio::time::timeout_at(deadline, self.run(&browser, url, steps_end, &mut seen, &mut page)).await;
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        let (failure, note) = match outcome {
            Ok(Ok(note)) => (None, note),
            Ok(Err(why)) => (Some(why), None),
            Err(_) => (Some(format!("the visit took longer than {:?}", self.timeout)), None),
        };
        let mut answer = match &failure {
            Some(why) => self.judge.fail(seen, why.clone()),
            None => self.judge.judge(seen, note),
        };
        let failed = failure.is_some() || !answer_passes(&answer);
        let evidence = match (failed, page) {
            (true, Some(mut page)) => {
                let note = failure.clone().unwrap_or_else(|| note_of(&answer));
                Some(page.evidence(note, tokio::time::Instant::now() + EVIDENCE_TIME).await)
            }
            _ => None,
        };
        browser.stop().await;
        // Conditions have judged the real text; what is kept and shown has no typed text.
        redact_answer(&mut answer, &self.typed());
        (answer, evidence)
    }

    /// Opens the first page (keeping it in `page` for the evidence), runs the steps and reads the
    /// last page's text. A first page that does not open is left to the conditions
    /// (`[CONNECTED]`), with why as the note; a step that fails is the error.
    async fn run(
        &self,
        browser: &chromium::Chromium,
        url: &str,
        deadline: tokio::time::Instant,
        seen: &mut Observed,
        page: &mut Option<Page>,
    ) -> Result<Option<String>, String> {
        let page = page.insert(Page::open(&browser.endpoint, self.typed(), self.reach).await?);
        let opened = page.navigate(url, deadline).await;
        seen.status = page.document_status.unwrap_or(0);
        if let Err(why) = opened {
            return Ok(Some(why));
        }
        seen.connected = true;
        for (i, action) in self.actions.iter().enumerate() {
            let step = |why: String| format!("step {} ({}): {why}", i + 1, action.describe());
            page.act(action, deadline).await.map_err(step)?;
            page.check_opened().await.map_err(step)?;
        }
        let text = page.evaluate(&steps::text(None)).await.unwrap_or_default();
        let mut body = text.as_str().unwrap_or_default().to_string();
        if body.len() > MAX_BODY {
            let mut end = MAX_BODY;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            body.truncate(end);
        }
        seen.body = serde_json::Value::String(body);
        Ok(None)
    }

    /// The texts the steps type, kept out of the evidence.
    fn typed(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Fill(_, text) if !text.is_empty() => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Whether every sample of `answer` is at tier ok.
fn answer_passes(answer: &Answer) -> bool {
    match answer {
        Answer::Samples(samples) => samples.iter().all(|s| s.tier.is_none_or(|t| t == vigil_core::alert::Tier::Ok)),
        Answer::Failed(_) => false,
    }
}

/// The note of `answer`'s first sample (or its failure).
fn note_of(answer: &Answer) -> String {
    match answer {
        Answer::Samples(samples) => samples.iter().find_map(|s| s.note.clone()).unwrap_or_default(),
        Answer::Failed(why) => why.clone(),
    }
}

/// Replaces every typed text in `answer`'s notes and body.
fn redact_answer(answer: &mut Answer, typed: &[String]) {
    if let Answer::Samples(samples) = answer {
        for sample in samples {
            if let Some(note) = &mut sample.note {
                *note = page::redact(note, typed);
            }
            if let Some(serde_json::Value::String(body)) = sample.fields.get_mut("body") {
                *body = page::redact(body, typed);
            }
        }
    }
}

impl Ask for BrowserSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        Box::pin(self.visit()).await.0
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn source(v: Value) -> Result<BrowserSource, SourceProblem> {
        serde_json::from_value::<BrowserConfig>(v).unwrap().build()
    }

    #[test]
    fn settings_are_read_and_faults_named() {
        let s = source(json!({"url": "https://shop.test/login", "viewport": "800x600", "timeout": "20s",
            "steps": [{"click": "#go"}]}))
        .unwrap();
        assert_eq!((s.viewport, s.timeout, s.actions.len()), ((800, 600), Duration::from_secs(20), 1));
        let path = |v: Value| source(v).unwrap_err().path;
        assert_eq!(path(json!({"url": "ftp://shop.test/"})), "url");
        assert_eq!(path(json!({"url": "https://shop.test/", "viewport": "big"})), "viewport");
        assert_eq!(path(json!({"url": "https://shop.test/", "viewport": "10x10"})), "viewport");
        assert_eq!(path(json!({"url": "https://shop.test/", "steps": [{"waitFor": ""}]})), "steps[0]");
        assert_eq!(path(json!({"url": "https://shop.test/", "conditions": ["[STATUS] =="]})), "conditions[0]");
        assert!(source(json!({"url": "https://${env.SHOP}/"})).unwrap().url.is_err());
        assert!(serde_json::from_value::<BrowserConfig>(json!({"url": "https://x.test/", "step": []})).is_err());
    }

    #[test]
    fn typed_texts_are_kept_out_of_notes_and_bodies() {
        let s =
            source(json!({"url": "https://shop.test/", "steps": [{"fill": {"selector": "#pw", "text": "hunter22"}}]}))
                .unwrap();
        let mut answer = s.judge.fail(
            Observed { body: json!("you typed hunter22"), ..Observed::default() },
            "step 2: found `hunter22`".into(),
        );
        redact_answer(&mut answer, &s.typed());
        let Answer::Samples(samples) = &answer else { panic!() };
        assert_eq!(samples[0].note.as_deref(), Some("step 2: found `••••`"));
        assert_eq!(samples[0].fields["body"], json!("you typed ••••"));
        assert!(!answer_passes(&answer));
    }
}
