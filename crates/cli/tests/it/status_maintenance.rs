//! Issue 37, scheduled maintenance: windows scheduled through the API and the CLI, and declared
//! in a page's file, are shown on the public page, held back the pages of the monitors they
//! cover, and are told to a webhook subscriber once each (scheduled, started, completed,
//! cancelled); operators schedule and cancel one in the web UI in headless Chromium.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webdriver::Browser;
use support::*;

/// The `type`s of the maintenance webhooks received, with the window's title.
fn told(hooks: &Recorder) -> Vec<(String, String)> {
    hooks
        .to("/hook")
        .iter()
        .map(|r| {
            (
                r.body["type"].as_str().unwrap_or("").to_string(),
                r.body["maintenance"]["title"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn count(hooks: &Recorder, kind: &str, title: &str) -> usize {
    told(hooks).iter().filter(|(k, t)| k == kind && t == title).count()
}

fn rfc3339(at: jiff::Timestamp) -> String {
    at.round(jiff::Unit::Second).unwrap().to_string()
}

/// A config directory with `checks`, the `ops` webhook notifier (to `hooks`' `/page`) and
/// `page`, served with auth and a public URL; the server, its base URL, a write token and a read
/// token. The page's webhook subscriber, `hooks`' `/hook`, is added.
async fn served(
    dir: &std::path::Path,
    checks: &str,
    page: &str,
    hooks: &Recorder,
) -> (KillOnDrop, String, String, String) {
    let config = dir.join("config");
    for sub in ["monitors", "status-pages", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    std::fs::write(config.join("notifiers/ops.yaml"), format!("name: ops\ntype: webhook\nurl: {}/page\n", hooks.url))
        .unwrap();
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.join("vigil.db");
    let (write, read) = (token(&db, "write"), token(&db, "read"));
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on", "--public-url", &public]).await;
    let added = vigil_connectors::http_client()
        .post(format!("{base}/api/v1/status-pages/acme/subscribers"))
        .bearer_auth(&write)
        .json(&json!({"webhook": format!("{}/hook", hooks.url)}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    (KillOnDrop(child), base, write, read)
}

/// A server the monitors check and the notifiers and subscribers post to: `/health` fails while
/// the flag returned is set, each of `down` always; everything else answers 200.
async fn checked_and_told(down: &'static [&'static str]) -> (Recorder, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let fails = failing.clone();
    let hooks = Recorder::start(move |r| {
        if down.contains(&r.path.as_str()) || (r.path == "/health" && fails.load(Ordering::SeqCst)) {
            return Reply { status: 500, body: json!({"ok": false}), delay: Duration::ZERO };
        }
        Reply::json(json!({"ok": true}))
    })
    .await;
    (hooks, failing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_is_shown_holds_pages_and_is_told_once() {
    let (hooks, failing) = checked_and_told(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {url}/health\n      conditions: [\"[STATUS] == 200\"]\n  notify:\n    critical: [ops]\n\
         - name: billing\n  every: 1s\n  source:\n    http:\n      url: {url}/billing\n      conditions: [\"[STATUS] == 200\"]\n",
        url = hooks.url
    );
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    monitor: billing\nsubscribers:\n  webhooks: true\n";
    let (_child, base, write, read) = served(dir.path(), &checks, page, &hooks).await;
    let config = dir.path().join("config");
    let db = dir.path().join("vigil.db");
    let public = base.clone();
    let http = vigil_connectors::http_client();
    let api = format!("{base}/api/v1/status-pages/acme/maintenance");

    // Bad input is refused, naming the field; nothing is stored.
    let refused = async |body: Value| {
        let res = http.post(&api).bearer_auth(&write).json(&body).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let (status, said) = refused(
        json!({"title": "x", "starts": rfc3339(soon), "ends": rfc3339(soon - jiff::SignedDuration::from_secs(60))}),
    )
    .await;
    assert!(status == 400 && said.contains("ends"), "{status} {said}");
    let (status, said) =
        refused(json!({"title": "x", "components": ["Webiste"], "starts": rfc3339(soon), "ends": rfc3339(soon + jiff::SignedDuration::from_secs(60))})).await;
    assert!(status == 400 && said.contains("components[0]") && said.contains("Website"), "{status} {said}");
    let (status, _) = refused(json!({"title": "x", "starts": "tomorrow", "ends": 1})).await;
    assert_eq!(status, 400);
    let res =
        http.post(&api).bearer_auth(&read).json(&json!({"title": "x", "starts": 1, "ends": 2})).send().await.unwrap();
    assert_eq!(res.status(), 403, "scheduling needs a write token");

    // Window A: the website, from about 3 s from now for two minutes.
    let body = json!({"title": "Database upgrade", "components": ["Website"], "message": "Pages may be **slow**.",
        "starts": rfc3339(soon), "ends": rfc3339(soon + jiff::SignedDuration::from_secs(120))});
    let res = http.post(&api).bearer_auth(&write).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let window: Value = res.json().await.unwrap();
    wait_until(20, "the subscriber was told it is scheduled", async || {
        count(&hooks, "maintenance.scheduled", "Database upgrade") == 1
    })
    .await;
    let scheduled = &hooks.to("/hook")[0].body;
    assert_eq!(scheduled["maintenance"]["id"], window["id"]);
    assert_eq!(scheduled["maintenance"]["components"], json!(["Website"]));
    assert_eq!(scheduled["page"]["url"], format!("{public}/status/acme"));
    let html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Database upgrade") && html.contains("Scheduled") && html.contains("<strong>slow</strong>"),
        "{html}"
    );

    // Under way: the website shows it; its monitor fails and fires, and nobody is paged.
    wait_until(20, "the subscriber was told it started", async || {
        count(&hooks, "maintenance.started", "Database upgrade") == 1
    })
    .await;
    let html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("In progress") && html.contains("Under maintenance"), "{html}");
    failing.store(true, Ordering::SeqCst);
    let firing = async || {
        let res = http.get(format!("{base}/api/v1/alerts")).bearer_auth(&write).send().await.unwrap();
        let listed: Value = res.json().await.unwrap();
        listed["items"].as_array().into_iter().flatten().any(|a| a["name"] == "web" && a["condition"] == "firing")
    };
    wait_until(20, "the website's monitor never fired", firing).await;
    // Three more checks of the failing monitor, held.
    stays(Duration::from_secs(3), "paged during maintenance", async || hooks.to("/page").is_empty()).await;
    // Alertmanager's API shows it held too (issue 61, item 8): suppressed, muted by maintenance.
    let res = http.get(format!("{base}/api/v2/alerts")).bearer_auth(&write).send().await.unwrap();
    let listed: Value = res.json().await.unwrap();
    let web = listed.as_array().unwrap().iter().find(|a| a["labels"]["alertname"] == "web").cloned();
    let web = web.unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(web["status"]["state"], "suppressed", "{web}");
    assert_eq!(web["status"]["mutedBy"], json!(["maintenance"]), "{web}");

    // Ended early while still failing: the held page goes out then.
    let ended_at = Instant::now();
    let res =
        http.post(format!("{api}/{}/end", window["id"].as_str().unwrap())).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 200);
    wait_until(20, "the subscriber was told it ended", async || {
        count(&hooks, "maintenance.completed", "Database upgrade") == 1
    })
    .await;
    wait_until(20, "the held page was not sent at the window's end", async || !hooks.to("/page").is_empty()).await;
    assert!(hooks.to("/page")[0].at >= ended_at, "paged before the window ended");
    failing.store(false, Ordering::SeqCst);

    // Window B, through the CLI, an hour ahead; cancelled through the CLI.
    let server = ["--server", &base, "--token", &write];
    let out = run(
        &db,
        &[&["maintenance", "schedule", "acme", "--title", "Network move", "--from", "1h", "--for", "30m"][..], &server]
            .concat(),
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let id = said.split_whitespace().nth(2).expect("an id").to_string();
    wait_until(20, "window B was not told", async || count(&hooks, "maintenance.scheduled", "Network move") == 1).await;
    let out = run(&db, &[&["maintenance", "list", "acme"][..], &server].concat());
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains("Network move") && listed.contains("scheduled"), "{listed}");
    assert!(listed.contains("Database upgrade") && listed.contains("completed"), "{listed}");
    let out = run(&db, &[&["maintenance", "end", "acme", &id][..], &server].concat());
    assert!(String::from_utf8_lossy(&out.stdout).contains("cancelled"), "{out:?}");
    wait_until(20, "the cancel was not told", async || count(&hooks, "maintenance.cancelled", "Network move") == 1)
        .await;
    let out = run(&db, &[&["maintenance", "end", "acme", &id][..], &server].concat());
    assert!(!out.status.success(), "a cancelled window cannot end again");
    let html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Network move"), "a cancelled window is not shown");

    // A window declared in the page's file (loaded again when it changes) is told too.
    let starts = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let declared = format!(
        "{page}maintenance:\n  - title: Billing migration\n    components: [Billing]\n    starts: {}\n    ends: {}\n",
        rfc3339(starts),
        rfc3339(starts + jiff::SignedDuration::from_secs(600))
    );
    std::fs::write(config.join("status-pages/acme.yaml"), declared).unwrap();
    wait_until(30, "the declared window's start was not told", async || {
        count(&hooks, "maintenance.started", "Billing migration") == 1
    })
    .await;
    let listed: Value = http.get(&api).bearer_auth(&read).send().await.unwrap().json().await.unwrap();
    let file =
        listed["maintenance"].as_array().unwrap().iter().find(|w| w["title"] == "Billing migration").cloned().unwrap();
    assert_eq!((file["declared"].clone(), file["state"].clone()), (json!(true), json!("in_progress")), "{listed}");
    let res =
        http.post(format!("{api}/{}/end", file["id"].as_str().unwrap())).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 409, "a declared window changes in its file");

    // Two more looks: nothing is told twice.
    let sent = told(&hooks).len();
    stays(Duration::from_secs(5), "nothing is told twice", async || told(&hooks).len() == sent).await;
    let mut kinds = told(&hooks);
    kinds.sort();
    let expected: Vec<(String, String)> = [
        ("maintenance.cancelled", "Network move"),
        ("maintenance.completed", "Database upgrade"),
        ("maintenance.scheduled", "Billing migration"),
        ("maintenance.scheduled", "Database upgrade"),
        ("maintenance.scheduled", "Network move"),
        ("maintenance.started", "Billing migration"),
        ("maintenance.started", "Database upgrade"),
    ]
    .iter()
    .map(|(k, t)| (k.to_string(), t.to_string()))
    .collect();
    assert_eq!(kinds, expected);
}

/// Operators schedule maintenance and cancel it from the web UI in headless Chromium; the public
/// page shows it in between; a read token's session sees it and no form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_schedule_and_cancel_maintenance_in_the_ui() {
    let Some(browser) = Browser::start(1280, 900).await else { return };
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {}/health\n      conditions: [\"[STATUS] == 200\"]\n",
        target.url
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    monitor: web\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let read = token(&db, "read");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();

    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.wait_for("form.schedule-maintenance", Duration::from_secs(10)).await;
    browser.type_into(&browser.find("#maintenance-title").await, "Payment provider upgrade").await;
    browser.click(&browser.find("form.schedule-maintenance input[value='Billing']").await).await;
    browser.type_into(&browser.find("#maintenance-starts").await, "2h").await;
    browser.type_into(&browser.find("#maintenance-for").await, "45m").await;
    browser.type_into(&browser.find("#maintenance-message").await, "Payments may fail for a few minutes.").await;
    browser.click(&browser.find("form.schedule-maintenance button[type=submit]").await).await;
    browser.shows("Maintenance scheduled").await;
    let rows =
        browser.script("return [...document.querySelectorAll('#maintenance tbody tr')].map(r => r.innerText)").await;
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].as_str().is_some_and(|r| r.contains("Payment provider upgrade")
            && r.contains("scheduled")
            && r.contains("Billing")),
        "{rows:?}"
    );
    let public = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(public.contains("Payment provider upgrade") && public.contains("Payments may fail"), "{public}");

    // A read token's session sees the window and no form or button.
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;
    browser.sign_in(&base, &read).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.shows("Payment provider upgrade").await;
    let html = browser.html().await;
    assert!(!html.contains("schedule-maintenance") && !html.contains("/end\""), "{html}");
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;

    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.wait_for("#maintenance form button", Duration::from_secs(10)).await;
    browser.click(&browser.find("#maintenance form button").await).await;
    browser.shows("Maintenance ended").await;
    browser.shows("No maintenance to come").await;
    let public = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(!public.contains("Payment provider upgrade"), "cancelled: {public}");

    // A recurring window from the same form (issue 61, item 9): weekly, in Berlin's time.
    browser.wait_for("form.schedule-maintenance", Duration::from_secs(10)).await;
    browser.type_into(&browser.find("#maintenance-title").await, "Weekly patching").await;
    browser.type_into(&browser.find("#maintenance-for").await, "1h").await;
    browser.script("document.querySelector('#maintenance-every').value = 'week'").await;
    browser.type_into(&browser.find("#maintenance-days").await, "mon, thu").await;
    browser.type_into(&browser.find("#maintenance-at").await, "02:00").await;
    browser.type_into(&browser.find("#maintenance-zone").await, "Europe/Berlin").await;
    browser.click(&browser.find("form.schedule-maintenance button[type=submit]").await).await;
    browser.shows("Maintenance scheduled").await;
    browser.shows("repeats every week on mon, thu at 02:00 (Europe/Berlin), for 1h").await;
    browser.shows("Stop repeating").await;
    let public = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(public.contains("Weekly patching") && public.contains("Repeats every week on mon, thu"), "{public}");
}

/// `HH:MM` in UTC, `minutes` from now.
fn clock_in(minutes: i64) -> String {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes);
    at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%H:%M").to_string()
}

/// Issue 61, item 9: recurring windows in a page's API and a monitor's own file hold the alerts
/// of what they cover while an occurrence lasts, show on the page ahead of time with how they
/// repeat, tell subscribers of each occurrence only when asked, and stop when stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurring_maintenance_holds_alerts_and_shows_ahead() {
    let (hooks, failing) = checked_and_told(&["/db"]).await;
    let dir = tempfile::tempdir().unwrap();
    // The database's own window: every day from a minute ago, for an hour (its check fails).
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {url}/health\n      conditions: [\"[STATUS] == 200\"]\n  notify:\n    critical: [ops]\n\
         - name: db\n  every: 1s\n  source:\n    http:\n      url: {url}/db\n      conditions: [\"[STATUS] == 200\"]\n  notify:\n    critical: [ops]\n  \
         maintenance:\n    - title: Nightly backup\n      repeat: {{every: day, at: \"{at}\", for: 1h}}\n",
        url = hooks.url,
        at = clock_in(-1),
    );
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Database\n    monitor: db\nsubscribers:\n  webhooks: true\n";
    let (_child, base, write, _) = served(dir.path(), &checks, page, &hooks).await;
    let db = dir.path().join("vigil.db");
    let http = vigil_connectors::http_client();
    let api = format!("{base}/api/v1/status-pages/acme/maintenance");

    // A wrong repetition is refused at its field; nothing is stored.
    let res = http
        .post(&api)
        .bearer_auth(&write)
        .json(&json!({"title": "x", "repeat": {"every": "fortnight", "for": "1h"}}))
        .send()
        .await
        .unwrap();
    let (status, said) = (res.status().as_u16(), res.text().await.unwrap());
    assert!(status == 400 && said.contains("repeat.every"), "{status} {said}");

    // The website's: every day from a minute ago, for 30 minutes, told to subscribers; and a
    // monthly one on the month's last day, ahead, not told.
    let two_days_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let body = json!({"title": "Daily deploy", "components": ["Website"], "starts": rfc3339(two_days_ago),
        "repeat": {"every": "day", "at": clock_in(-1), "for": "30m", "notify": true}});
    let res = http.post(&api).bearer_auth(&write).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let daily: Value = res.json().await.unwrap();
    let body = json!({"title": "Monthly patching", "components": ["Website"],
        "repeat": {"every": "month", "days": ["last"], "at": "03:00", "timezone": "Europe/Berlin", "for": "2h"}});
    let res = http.post(&api).bearer_auth(&write).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);

    wait_until(20, "the daily window's occurrence was not told as started", async || {
        count(&hooks, "maintenance.started", "Daily deploy") == 1
    })
    .await;
    let html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    for shown in [
        "Daily deploy",
        "Repeats every day at",
        "Nightly backup",
        "Monthly patching",
        "Repeats every month on last at 03:00 (Europe/Berlin), for 2h",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    assert_eq!(html.matches("\"s-maintenance\">Under maintenance").count(), 2, "both components: {html}");

    // Both monitors fail and fire; nobody is paged while their occurrences last.
    failing.store(true, Ordering::SeqCst);
    let firing = async |name: &str| {
        let res = http.get(format!("{base}/api/v1/alerts")).bearer_auth(&write).send().await.unwrap();
        let listed: Value = res.json().await.unwrap();
        listed["items"].as_array().into_iter().flatten().any(|a| a["name"] == name && a["condition"] == "firing")
    };
    wait_until(20, "the website's monitor never fired", async || firing("web").await).await;
    wait_until(20, "the database's monitor never fired", async || firing("db").await).await;
    stays(Duration::from_secs(3), "paged during maintenance", async || hooks.to("/page").is_empty()).await;
    let res = http.get(format!("{base}/api/v2/alerts")).bearer_auth(&write).send().await.unwrap();
    let listed: Value = res.json().await.unwrap();
    for name in ["web", "db"] {
        let alert = listed.as_array().unwrap().iter().find(|a| a["labels"]["alertname"] == name).cloned();
        let alert = alert.unwrap_or_else(|| panic!("{listed}"));
        assert_eq!(alert["status"]["mutedBy"], json!(["maintenance"]), "{alert}");
    }

    // The listing says how each repeats and when next; the monitor's window is its file's.
    let listed: Value = http.get(&api).bearer_auth(&write).send().await.unwrap().json().await.unwrap();
    let by_title =
        |title: &str| listed["maintenance"].as_array().unwrap().iter().find(|w| w["title"] == title).cloned().unwrap();
    let nightly = by_title("Nightly backup");
    assert_eq!((nightly["declared"].clone(), nightly["state"].clone()), (json!(true), json!("in_progress")));
    assert!(nightly["next"]["starts"].as_i64().is_some() && nightly["repeats"].is_string(), "{nightly}");
    let monthly = by_title("Monthly patching");
    assert!(monthly["next"]["starts"].as_i64().unwrap() > jiff::Timestamp::now().as_millisecond() - 7_200_000);
    let res =
        http.post(format!("{api}/{}/end", nightly["id"].as_str().unwrap())).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 409, "a monitor's window changes in its file");
    // The monitor's own view lists it too.
    let monitor: Value =
        http.get(format!("{base}/api/v1/monitors/db")).bearer_auth(&write).send().await.unwrap().json().await.unwrap();
    let own = &monitor["maintenance"][0];
    assert_eq!(
        (own["title"].clone(), own["state"].clone()),
        (json!("Nightly backup"), json!("in_progress")),
        "{monitor}"
    );
    assert!(own["repeats"].as_str().is_some_and(|r| r.starts_with("every day at")), "{monitor}");

    // Stopping the daily series ends its occurrence: the website's held page goes out; the
    // database's window still holds.
    let stopped_at = Instant::now();
    let res =
        http.post(format!("{api}/{}/end", daily["id"].as_str().unwrap())).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 200);
    wait_until(20, "the held page was not sent when the series stopped", async || !hooks.to("/page").is_empty()).await;
    assert!(hooks.to("/page")[0].at >= stopped_at);
    wait_until(20, "the stopped occurrence was not told as completed", async || {
        count(&hooks, "maintenance.completed", "Daily deploy") == 1
    })
    .await;
    let sent = hooks.to("/page").len();
    stays(Duration::from_secs(3), "nothing more is paged", async || hooks.to("/page").len() == sent).await;
    let paged: Vec<String> = hooks
        .to("/page")
        .iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains("\"db\"") || b.contains("db is"))
        .collect();
    assert!(paged.is_empty(), "the database's window still holds: {paged:?}");

    // Through the CLI: a weekly window, listed with its repetition.
    let server = ["--server", &base, "--token", &write];
    let out = run(
        &db,
        &[
            &[
                "maintenance",
                "schedule",
                "acme",
                "--title",
                "Router reboot",
                "--every",
                "week",
                "--day",
                "sun",
                "--at",
                "04:00",
                "--tz",
                "America/New_York",
                "--for",
                "15m",
            ][..],
            &server,
        ]
        .concat(),
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("scheduled recurring maintenance"), "{said}");
    let out = run(&db, &[&["maintenance", "list", "acme"][..], &server].concat());
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.contains("Router reboot (repeats every week on sun at 04:00 (America/New_York), for 15m)"),
        "{listed}"
    );

    // Subscribers heard of the told series only, each thing once.
    let mut kinds = told(&hooks);
    kinds.sort();
    let expected = [("maintenance.completed", "Daily deploy"), ("maintenance.started", "Daily deploy")]
        .map(|(k, t)| (k.to_string(), t.to_string()));
    assert_eq!(kinds, expected);
}
