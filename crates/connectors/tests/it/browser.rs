//! The `browser` source against headless Chromium (Debian's `chromium`) and pages served here: a
//! sign-in that passes, a step that fails with its screenshot and console kept (what was typed
//! kept out), and a page that does not open. Skipped with a message when Chromium is missing,
//! unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use axum::response::Html;
use axum::routing::get;
use serde_json::{Value, json};
use vigil_connectors::sources::SourceConfig;
use vigil_connectors::sources::browser::{BrowserConfig, BrowserSource, Evidence, chromium};
use vigil_core::monitor::evaluate::Answer;

fn chromium_here() -> bool {
    match chromium::find() {
        Ok(_) => true,
        Err(why) => {
            assert!(
                !std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"),
                "VIGIL_REQUIRE_SERVICES=1 but {why}"
            );
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// A sign-in form that logs what is typed into its password field (as a careless page might),
/// and the page it leads to, which logs an error of its own.
const SIGN_IN: &str = r#"<!doctype html><title>Sign in</title>
<form action="/welcome" method="get">
  <input id="user" name="user"> <input id="password" name="password" type="password">
  <input id="note" name="note"> <button id="go" type="submit">Sign in</button>
</form>
<script>
  document.querySelector('form').addEventListener('submit', () =>
    console.log('signing in with ' + document.querySelector('#password').value));
</script>"#;

async fn welcome(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Html<String> {
    let user = q.get("user").cloned().unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Home</title><h1>Welcome, {user}</h1>\
         <script>setTimeout(() => console.error('the widget failed to load'), 10)</script>"
    ))
}

/// Serves the pages on a free port; their base URL.
async fn pages() -> String {
    let app = axum::Router::new().route("/signin", get(|| async { Html(SIGN_IN) })).route("/welcome", get(welcome));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn source(v: Value) -> BrowserSource {
    serde_json::from_value::<BrowserConfig>(v).unwrap().build().unwrap()
}

/// Signs in as alice and expects `expect`, within `timeout`.
fn sign_in(base: &str, expect: &str, timeout: &str) -> BrowserSource {
    source(json!({
        "url": format!("{base}/signin"), "timeout": timeout,
        "conditions": ["[STATUS] == 200", "[BODY] == pat(*Welcome*)"],
        "steps": [
            {"waitFor": "#user"},
            {"fill": {"selector": "#user", "text": "alice"}},
            {"fill": {"selector": "#password", "text": "s3cr3t-pw"}},
            {"fill": {"selector": "#note", "text": "s3cr3t-pw"}},
            {"click": "#go"},
            {"expectText": {"selector": "h1", "contains": expect}},
        ]
    }))
}

/// The one sample's tier, note and fields.
fn sample(answer: &Answer) -> (String, String, serde_json::Map<String, Value>) {
    let Answer::Samples(samples) = answer else { panic!("the source failed: {answer:?}") };
    let s = &samples[0];
    (s.tier.map(|t| t.as_str().to_string()).unwrap_or_default(), s.note.clone().unwrap_or_default(), s.fields.clone())
}

#[tokio::test]
async fn a_visit_signs_in_and_finds_the_welcome() {
    if !chromium_here() {
        return;
    }
    let base = pages().await;
    let (answer, evidence) = sign_in(&base, "Welcome, alice", "20s").visit().await;
    let (tier, note, fields) = sample(&answer);
    assert_eq!((tier.as_str(), note.as_str()), ("ok", ""), "{fields:?}");
    assert_eq!((fields["status"].clone(), fields["connected"].clone()), (json!(200), json!(true)));
    // Judged as the page wrote it; kept without what the steps typed.
    assert_eq!(fields["body"], json!("Welcome, ••••"));
    assert!(evidence.is_none(), "a passing visit leaves nothing");
}

#[tokio::test]
async fn a_failed_step_is_named_and_leaves_a_screenshot_and_console_without_what_was_typed() {
    if !chromium_here() {
        return;
    }
    let base = pages().await;
    let (answer, evidence) = sign_in(&base, "Welcome, bob", "8s").visit().await;
    let (tier, note, _) = sample(&answer);
    assert_eq!(tier, "critical");
    assert_eq!(note, "step 6 (expectText `h1` to contain `Welcome, bob`): found `Welcome, ••••`");
    let Evidence { note: kept, console, screenshot } = evidence.expect("a failure leaves evidence");
    assert_eq!(kept, note);
    assert!(screenshot.starts_with(b"\x89PNG\r\n\x1a\n") && screenshot.len() > 1000, "{} bytes", screenshot.len());
    if let Ok(path) = std::env::var("VIGIL_TEST_SCREENSHOT") {
        std::fs::write(path, &screenshot).unwrap();
    }
    assert!(console.contains("error: the widget failed to load"), "{console}");
    assert!(console.contains("log: signing in with ••••"), "{console}");
    // The typed text went into the next page's address too (a GET form), which Chromium's log
    // could name: nowhere in the evidence.
    assert!(!format!("{answer:?} {console} {kept}").contains("s3cr3t-pw"), "{console}");
}

#[tokio::test]
async fn a_page_that_does_not_open_is_not_connected_and_steps_do_not_run() {
    if !chromium_here() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/");
    let (answer, _) = source(json!({"url": url, "steps": [{"click": "#never"}]})).visit().await;
    let (tier, note, fields) = sample(&answer);
    assert_eq!((tier.as_str(), fields["connected"].clone()), ("critical", json!(false)));
    assert!(note.contains("ERR_CONNECTION_REFUSED"), "{note}");
    let (answer, _) = source(json!({"url": url, "conditions": ["[CONNECTED] == false"]})).visit().await;
    assert_eq!(sample(&answer).0, "ok", "a condition may ask for the page to be down");
}

#[tokio::test]
async fn an_element_that_never_shows_fails_within_the_time_allowed() {
    if !chromium_here() {
        return;
    }
    let base = pages().await;
    let s = source(json!({"url": format!("{base}/signin"), "timeout": "3s", "steps": [{"waitFor": "#missing"}]}));
    let (answer, evidence) = s.visit().await;
    let (tier, note, _) = sample(&answer);
    assert_eq!(tier, "critical");
    assert!(
        note.starts_with("step 1 (waitFor `#missing`): no element `#missing` shown in time")
            || note.starts_with("the visit took longer than"),
        "{note}"
    );
    assert!(evidence.is_some_and(|e| !e.screenshot.is_empty()));
}
