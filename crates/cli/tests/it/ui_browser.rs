//! The web UI driven in headless Chromium through chromedriver, against the real binary serving
//! the shipped quickstart example (its port rewritten) with auth on: sign in, start an instance
//! and watch it complete live, watch a monitor's checks arrive on its page, open its timeline, ack an alert, create and expire a silence,
//! pause and resume a schedule, and check that a read token sees no mutating action (and that
//! the server refuses one anyway). Each step saves a screenshot under `target/ui-screenshots/`;
//! `VIGIL_UPDATE_SCREENSHOTS=1` also copies the README's two into `docs/screenshots/`.
//!
//! Skipped with a message when chromium or chromedriver is missing (a failure under
//! `VIGIL_REQUIRE_SERVICES=1`, as in CI).

use crate::support;

use std::path::Path;
use std::time::Duration;

use support::webdriver::Browser;
use support::*;

/// The quickstart example, with its health check pointed at `port`, plus a failing monitor, a
/// healthy one, and a workflow slow enough to watch.
fn config(dir: &Path, port: u16, hooks: &str) -> std::path::PathBuf {
    let cfg = dir.join("cfg");
    for sub in ["schedules", "workflows", "monitors", "notifiers"] {
        std::fs::create_dir_all(cfg.join(sub)).unwrap();
    }
    for sub in ["schedules", "workflows"] {
        for entry in std::fs::read_dir(root().join("examples/quickstart").join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap().replace("127.0.0.1:7700", &format!("127.0.0.1:{port}"));
            std::fs::write(cfg.join(sub).join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let monitors = format!(
        "- name: vigil-health\n  every: 2s\n  labels: {{team: platform}}\n  source:\n    http:\n      url: http://127.0.0.1:{port}/healthz\n      conditions: [\"[STATUS] == 200\"]\n\
         - name: checkout-api\n  every: 2s\n  labels: {{team: payments}}\n  source:\n    http:\n      url: http://127.0.0.1:9/health\n      timeout: 1s\n      conditions: [\"[STATUS] == 200\"]\n  summary: \"checkout-api is down: ${{error}}\"\n  notify: [chat, pager]\n"
    );
    // The chat hook takes notices; the pager's endpoint refuses them (a failed send to show).
    std::fs::write(cfg.join("notifiers/chat.yaml"), format!("name: chat\ntype: webhook\nurl: {hooks}/chat\n")).unwrap();
    std::fs::write(cfg.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {hooks}/refuse\n"))
        .unwrap();
    std::fs::write(cfg.join("monitors/checks.yaml"), monitors).unwrap();
    let slow = "name: slow_check\ndescription: Waits 4 seconds, then reports.\ntasks:\n  - {name: nap, taskReferenceName: nap, type: WAIT, inputParameters: {duration: 4s}}\n  - name: report\n    taskReferenceName: report\n    type: INLINE\n    inputParameters:\n      evaluatorType: javascript\n      expression: \"({ok: true})\"\n";
    std::fs::write(cfg.join("workflows/slow_check.yaml"), slow).unwrap();
    cfg
}

/// The text of the first element matching `css`, once it contains `want` (15 s at most).
async fn wait_text(b: &Browser, css: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    // Read in one script call: the live region may be swapped between a find and a read.
    let script = format!("const e = document.querySelector({}); return e ? e.innerText : ''", serde_json::json!(css));
    loop {
        let text = b.script(&script).await.as_str().unwrap_or_default().to_string();
        if text.contains(want) {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "`{css}` never showed `{want}`: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reloads `url` until the page holds `css` (30 s at most).
async fn reload_until(b: &Browser, url: &str, css: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        b.goto(url).await;
        if !b.all(css).await.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no `{css}` on {url}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_real_browser() {
    let Some(b) = Browser::start(1280, 900).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let port = free_port();
    let hooks = Recorder::start(|r| Reply {
        status: if r.path == "/refuse" { 400 } else { 200 },
        ..Reply::json(serde_json::json!({}))
    })
    .await;
    let cfg = config(dir.path(), port, &hooks.url);
    let (write, read) = (token(&db, "write"), token(&db, "read"));
    let (child, base) = serve_api(&db, &cfg, port, &["--auth", "on"]).await;
    let _server = KillOnDrop(child);

    // Sign in.
    b.sign_in(&base, &write).await;
    wait_text(&b, "[data-monitor=checkout-api]", "critical").await;
    reload_until(&b, &format!("{base}/"), "tr[data-alert='monitor/checkout-api']").await;
    b.screenshot("overview").await;

    // At a phone's width nothing sticks out sideways, and the grid is one column.
    b.resize(390, 844).await;
    for page in ["/", "/ui/alerts", "/ui/instances", "/ui/schedules"] {
        b.goto(&format!("{base}{page}")).await;
        let overflow = b.script("return document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().unwrap_or(1) <= 0, "{page} is wider than a phone: {overflow}");
    }
    b.goto(&format!("{base}/")).await;
    b.screenshot("overview-phone").await;
    b.resize(1280, 900).await;

    // A monitor's page shows its last checks at once, and more as they come without a reload:
    // a bar per check with when, how and how long in its tooltip, and a 24-hour chart from the
    // history memory holds (the store gets it every ten minutes).
    // (Its first check, every 2 s, may not have run yet: the page is loaded until it has one.)
    reload_until(&b, &format!("{base}/ui/monitors/vigil-health"), "svg.beats rect.beat:not(.empty)").await;
    // The newest check's tooltip: when, how it ended, how long it took.
    let newest = "const all = document.querySelectorAll('svg.beats rect.beat:not(.empty) title'); \
                  return all.length ? all[all.length - 1].textContent : ''";
    let first = b.script(newest).await;
    assert!(!b.all("svg.chart").await.is_empty(), "the 24-hour chart draws the checks not written yet");
    let tip = first.as_str().unwrap_or_default();
    assert!(tip.split(" · ").count() == 3 && (tip.ends_with("ms") || tip.ends_with(" s")), "{tip}");
    b.script("window.vigilMarker = 7").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while b.script(newest).await == first {
        assert!(std::time::Instant::now() < deadline, "no new check appeared on the page");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.script("return window.vigilMarker").await, 7, "the bar grew live, without reloading");
    b.goto(&format!("{base}/ui/monitors/checkout-api")).await;
    let failed = b.all("svg.beats rect.beat.error, svg.beats rect.beat.critical").await;
    assert!(!failed.is_empty(), "the failing monitor's checks show as failed");
    b.screenshot("monitor-beats").await;

    // Start an instance and watch it complete without a reload.
    b.goto(&format!("{base}/ui/workflows/slow_check")).await;
    b.click(&b.find("section.panel details summary").await).await;
    b.click(&b.find("form[action$='/start'] button").await).await;
    wait_text(&b, "#status", "Running").await;
    assert!(b.url().await.contains("/ui/instances/"), "the start lands on the instance's page");
    b.script("window.vigilMarker = 42").await;
    wait_text(&b, "#status", "Completed").await;
    assert_eq!(b.script("return window.vigilMarker").await, 42, "the page updated live, without reloading");
    assert_ne!(
        b.script("return document.querySelector('#live').getAttribute('data-updated')").await,
        serde_json::Value::Null,
        "an SSE update arrived"
    );

    // Its timeline: one row per task execution.
    let rows = b.all("svg.gantt g.row").await;
    assert_eq!(rows.len(), 2, "nap and report");
    assert_eq!(b.all("svg.graph g.node.completed").await.len(), 2, "the graph coloured by task state");
    b.screenshot("instance-live").await;

    // A quickstart instance's timeline, for the README.
    // The schedule fires every 10 s: the first run may not have happened yet.
    reload_until(&b, &format!("{base}/ui/instances?workflow=self_check"), "#instances tbody a").await;
    b.click(&b.find("#instances tbody a").await).await;
    b.find("svg.gantt").await;
    b.screenshot("instance-timeline").await;

    // Who was told what: the chat hook's delivery and the pager's refused send.
    reload_until(&b, &format!("{base}/ui/alerts"), "#told td").await;
    let told = wait_text(&b, "#told", "failed").await;
    assert!(told.contains("chat") && told.contains("delivered") && told.contains("trigger"), "{told}");
    assert!(told.contains("pager") && told.contains("400"), "the failed send and its error: {told}");
    assert!(!hooks.to("/chat").is_empty(), "the chat hook was told");

    // Ack the firing alert.
    b.goto(&format!("{base}/ui/alerts")).await;
    let ack = "#active tr[data-alert='monitor/checkout-api'] form[action='/ui/alerts/ack'] button";
    b.click(&b.find(ack).await).await;
    wait_text(&b, "p.flash", "Acknowledged").await;
    wait_text(&b, "#active tr[data-alert='monitor/checkout-api']", "acknowledged").await;
    b.screenshot("alert-acked").await;

    // Create a silence from the alert's labels, then expire it.
    b.click(&b.find("#active tr[data-alert='monitor/checkout-api'] details.silence summary").await).await;
    b.click(&b.find("#active tr[data-alert='monitor/checkout-api'] details.silence button").await).await;
    wait_text(&b, "p.flash", "Silence created").await;
    let silence = wait_text(&b, "#silences tbody tr", "team=payments").await;
    assert!(silence.contains("alertname=checkout-api"), "{silence}");
    wait_text(&b, "#active tr[data-alert='monitor/checkout-api'] .silence-note", "silenced").await;
    b.screenshot("silence").await;
    b.click(&b.find("#silences form[action$='/expire'] button").await).await;
    wait_text(&b, "p.flash", "Silence expired").await;
    wait_text(&b, "#silences", "No active silence").await;

    // A maintenance window to come, from the monitor's page: shown there and on the alerts page.
    b.goto(&format!("{base}/ui/monitors/checkout-api")).await;
    b.click(&b.find("details.silence summary").await).await;
    b.type_into(&b.find("details.silence input[name=starts]").await, "3h").await;
    b.click(&b.find("details.silence button").await).await;
    wait_text(&b, "p.flash", "Silence created").await;
    let facts = wait_text(&b, "dl.facts", "maintenance").await;
    assert!(facts.contains("starts in 3 h") || facts.contains("starts in 2 h"), "{facts}");
    b.goto(&format!("{base}/ui/alerts")).await;
    wait_text(&b, "#silences tbody tr", "to come").await;
    wait_text(&b, "#active tr[data-alert='monitor/checkout-api'] .silence-note", "maintenance").await;
    b.click(&b.find("#silences form[action$='/expire'] button").await).await;
    wait_text(&b, "#silences", "No active silence").await;

    // Pause and resume the quickstart's schedule.
    b.goto(&format!("{base}/ui/schedules")).await;
    let row = "tr[data-schedule=self_check_every_10s]";
    b.click(&b.find(&format!("{row} form[action$='/pause'] button")).await).await;
    wait_text(&b, row, "paused").await;
    b.screenshot("schedule-paused").await;
    b.click(&b.find(&format!("{row} form[action$='/resume'] button")).await).await;
    wait_text(&b, "p.flash", "Schedule resumed").await;
    assert!(!b.text(&b.find(row).await).await.contains("paused"), "resumed");

    // A read token sees no action, and the server refuses one anyway.
    b.click(&b.find("form[action='/ui/signout'] button").await).await;
    b.find("#token").await;
    b.sign_in(&base, &read).await;
    for page in ["/", "/ui/alerts", "/ui/schedules", "/ui/workflows/slow_check", "/ui/monitors/checkout-api"] {
        b.goto(&format!("{base}{page}")).await;
        b.find("h1").await;
        let forms = b
            .script("return [...document.querySelectorAll('form[method=post]')].map(f => f.getAttribute('action'))")
            .await;
        assert_eq!(forms, serde_json::json!(["/ui/signout"]), "{page} offers a read token only sign-out");
    }
    let status = b
        .script(
            "const csrf = document.querySelector('input[name=csrf]').value; \
             const x = new XMLHttpRequest(); x.open('POST', '/ui/schedules/self_check_every_10s/pause', false); \
             x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded'); x.send('csrf=' + csrf); return x.status",
        )
        .await;
    assert_eq!(status, 403, "a read token's POST is refused");
    b.screenshot("read-only").await;

    b.quit().await;
    if std::env::var("VIGIL_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = root().join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        for name in ["overview", "instance-timeline"] {
            std::fs::copy(
                support::webdriver::screenshot_dir().join(format!("{name}.png")),
                docs.join(format!("{name}.png")),
            )
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_from_another_site_and_without_a_csrf_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let port = free_port();
    let cfg = config(dir.path(), port, "http://127.0.0.1:9");
    let write = token(&db, "write");
    let (child, base) = serve_api(&db, &cfg, port, &["--auth", "on"]).await;
    let _server = KillOnDrop(child);
    let http = vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{base}/ui/schedules")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 303, "no session: to the sign-in page");
    assert!(page.headers()["location"].to_str().unwrap().starts_with("/ui/signin?next="));
    let bad = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", "vgl_nope_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let good = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={write}"))
        .send()
        .await
        .unwrap();
    let cookie = good.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let pause = format!("{base}/ui/schedules/self_check_every_10s/pause");
    let no_csrf = http
        .post(&pause)
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("x={}", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status().as_u16(), 403, "no CSRF token");
    let html =
        http.get(format!("{base}/ui/schedules")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let cross = http
        .post(&pause)
        .header("cookie", &session)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403, "another site's form");
    let ok = http
        .post(&pause)
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 303, "{}", ok.text().await.unwrap());
    let page = http.get(format!("{base}/ui/alerts")).header("cookie", &session).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let api = http.get(format!("{base}/api/v1/schedules")).header("cookie", &session).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 401, "the cookie opens the UI, not the API");
}
