//! Issue 37: a public status page declared in `status-pages/`, served at `/status/{slug}` without
//! a token while the API needs one, showing its components' states and nothing of the monitors
//! behind them.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use support::webdriver::Browser;
use support::*;

/// Monitor names, URLs, labels and error text a public page must never show.
const INTERNAL: [&str; 4] = ["internal-billing-db", "secret-team-label", "/private/health", "billing down: disk"];

fn config(dir: &std::path::Path, target: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let monitors = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {target}/public/health\n      conditions: [\"[STATUS] == 200\"]\n\
         - name: internal-billing-db\n  every: 1s\n  labels:\n    team: secret-team-label\n  source:\n    http:\n      url: {target}/private/health\n      conditions: [\"[STATUS] == 200\"]\n"
    );
    std::fs::write(config.join("monitors/checks.yaml"), monitors).unwrap();
    let page = "slug: acme\ntitle: Acme status\ndescription: How Acme's services are doing\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    description: Invoices and payments\n    monitor: internal-billing-db\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_is_public_and_shows_only_what_it_declares() {
    let billing_down = Arc::new(AtomicBool::new(false));
    let target = Recorder::start({
        let billing_down = billing_down.clone();
        move |r| {
            let down = r.path == "/private/health" && billing_down.load(Ordering::SeqCst);
            let body = if down { json!({"error": "billing down: disk full"}) } else { json!({"ok": true}) };
            Reply { status: if down { 500 } else { 200 }, body, delay: std::time::Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &target.url);

    let validated = run(&db, &["validate", config.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&validated.stdout).to_string();
    assert!(validated.status.success() && said.contains("1 status page(s)"), "{said}");

    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let api = http.get(format!("{base}/api/v1/monitors")).send().await.unwrap();
    assert_eq!(api.status(), 401, "the API needs a token");

    let page = async || {
        let answer = http.get(format!("{base}/status/acme")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "the page needs no token");
        answer.text().await.unwrap()
    };
    let mut html = String::new();
    until_async(async || {
        html = page().await;
        html.matches(">Operational<").count() == 2
    })
    .await;
    assert!(html.contains("All systems operational") && html.contains("Invoices and payments"), "{html}");

    billing_down.store(true, Ordering::SeqCst);
    until_async(async || {
        html = page().await;
        html.contains("class=\"overall b-major_outage\"")
    })
    .await;
    let billing = html.split(">Billing<").nth(1).expect("the Billing component");
    assert!(billing.starts_with("/span><span class=\"s-major_outage\">Major outage<"), "{billing}");
    for internal in INTERNAL {
        assert!(!html.contains(internal), "`{internal}` is on the public page");
    }

    // Asked again with its tag, an unchanged page is a 304 without a body.
    let first = http.get(format!("{base}/status/acme")).send().await.unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let again = http.get(format!("{base}/status/acme")).header("if-none-match", &tag).send().await.unwrap();
    if again.headers().get("etag").and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
        assert_eq!(again.status(), 304);
        assert!(again.bytes().await.unwrap().is_empty());
    } else {
        assert_eq!(again.status(), 200, "the page changed in between (a new minute): sent whole");
    }

    let missing = http.get(format!("{base}/status/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

/// Three components (one up, one down, a group of two with one down) in headless Chromium on a
/// phone's width: their states, 90 bars each filling the width, nothing wider than the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_reads_on_a_phone_in_chromium() {
    let Some(browser) = Browser::start(390, 844).await else { return };
    let target = Recorder::start(|r| {
        let down = r.path.starts_with("/down");
        Reply { status: if down { 503 } else { 200 }, body: json!({}), delay: std::time::Duration::ZERO }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let monitor = |name: &str, path: &str| {
        format!(
            "- name: {name}\n  every: 1s\n  source:\n    http:\n      url: {}{path}\n      conditions: [\"[STATUS] == 200\"]\n",
            target.url
        )
    };
    let monitors =
        [monitor("web", "/up/web"), monitor("pay", "/down/pay"), monitor("s1", "/up/s1"), monitor("s2", "/down/s2")];
    std::fs::write(config.join("monitors/m.yaml"), monitors.concat()).unwrap();
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Payments\n    monitor: pay\n  - name: Search\n    monitors: [s1, s2]\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);

    let states = "return [...document.querySelectorAll('.components li .row span:last-child')].map(e => e.textContent)";
    let mut shown = json!(null);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while shown != json!(["Operational", "Major outage", "Partial outage"]) {
        assert!(std::time::Instant::now() < deadline, "the states never showed: {shown}");
        browser.goto(&format!("{base}/status/acme")).await;
        shown = browser.script(states).await;
    }
    let overall = browser.text(&browser.find(".overall").await).await;
    assert_eq!(overall, "Major outage");
    let bars = browser.script("return [...document.querySelectorAll('svg.bars')].map(s => [s.querySelectorAll('rect').length, Math.round(s.getBoundingClientRect().width)])").await;
    let bars: Vec<(u64, u64)> = serde_json::from_value(bars).unwrap();
    assert_eq!(bars.len(), 3, "a bar chart per component");
    let viewport = browser.script("return [window.innerWidth, document.querySelector('main').getBoundingClientRect().width, document.querySelector('.components li').getBoundingClientRect().width]").await;
    for (count, width) in bars {
        assert_eq!(count, 90, "90 days");
        assert!((300..=390).contains(&width), "the bars fill the phone's width: {width} px ({viewport})");
    }
    // A bar's size comes from the style: drawn, not collapsed to nothing.
    let bar = browser.script("const r = document.querySelector('svg.bars rect').getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]").await;
    let bar: (u64, u64) = serde_json::from_value(bar).unwrap();
    assert!(bar.0 >= 2 && bar.1 >= 30, "a bar of {bar:?} px");
    let wide = browser.script("return document.documentElement.scrollWidth").await;
    assert!(wide.as_u64().is_some_and(|w| w <= 390), "nothing is wider than the screen: {wide}");
    browser.screenshot("status-page-390").await;
    browser.quit().await;
}

/// Waits up to 20 s for `done`.
async fn until_async(mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
