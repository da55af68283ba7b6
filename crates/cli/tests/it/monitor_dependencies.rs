//! `dependsOn`: while a monitor's parent fails, the monitor is still checked but its
//! notifications are held; it shows as suppressed, inhibited by the parent; a page never sent is
//! never resolved; when the parent recovers first, a child still failing pages then. A circle of
//! dependencies is refused by `vigil validate`, at each monitor's `dependsOn`.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn config(dir: &std::path::Path, hooks: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {hooks}/pager\n"))
        .unwrap();
    let monitors = format!(
        "- name: gateway\n  every: 1s\n  source:\n    http:\n      url: {hooks}/gw\n      conditions: [\"[STATUS] == 200\"]\n  notify: [pager]\n  repeatInterval: never\n\
         - name: app\n  every: 1s\n  for: 4s\n  dependsOn: [gateway]\n  source:\n    http:\n      url: {hooks}/app\n      conditions: [\"[STATUS] == 200\"]\n  notify: [pager]\n  repeatInterval: never\n"
    );
    std::fs::write(config.join("monitors/checks.yaml"), monitors).unwrap();
    config
}

/// The notices the pager got about monitor `name`, in order.
fn notices(hooks: &Recorder, name: &str) -> Vec<String> {
    hooks
        .to("/pager")
        .iter()
        .filter(|r| r.body["name"].as_str() == Some(name))
        .map(|r| r.body["notice"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn until_notices(hooks: &Recorder, name: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while notices(hooks, name) != want {
        assert!(Instant::now() < deadline, "{name}: expected {want:?}, got {:?}", notices(hooks, name));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn app_alert(base: &str) -> Option<Value> {
    let url = format!("{base}/api/v2/alerts?filter=alertname%3D%22app%22");
    let got: Value = vigil_connectors::http_client().get(url).send().await.ok()?.json().await.ok()?;
    got.as_array()?.first().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_parent_holds_its_dependents_notifications() {
    let gateway_down = Arc::new(AtomicBool::new(false));
    let app_down = Arc::new(AtomicBool::new(false));
    let (gw, app) = (gateway_down.clone(), app_down.clone());
    let hooks = Recorder::start(move |r| {
        let down = match r.path.as_str() {
            "/gw" => gw.load(Ordering::SeqCst),
            "/app" => app.load(Ordering::SeqCst),
            _ => false,
        };
        Reply { status: if down { 503 } else { 200 }, ..Reply::json(json!({"ok": !down})) }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &hooks.url);
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);

    // Both fail: the gateway pages; the app behind it is held, and says why.
    gateway_down.store(true, Ordering::SeqCst);
    app_down.store(true, Ordering::SeqCst);
    until_notices(&hooks, "gateway", &["trigger"]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alert = app_alert(&base).await;
        if let Some(a) = alert.as_ref().filter(|a| a["status"]["state"] == "suppressed") {
            assert_eq!(a["status"]["inhibitedBy"], json!(["gateway"]));
            // The web UI says why it is held.
            let page = vigil_connectors::http_client().get(format!("{base}/ui/alerts")).send().await.unwrap();
            let html = page.text().await.unwrap();
            assert!(html.contains("depends on <b>gateway</b>, which fails"), "{html}");
            break;
        }
        assert!(Instant::now() < deadline, "the app fires, held by the gateway: {alert:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The app recovers while the gateway is still down, then the gateway does: the app was never
    // paged, so nothing is resolved either.
    app_down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app_alert(&base).await.is_some() {
        assert!(Instant::now() < deadline, "the app resolves");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    gateway_down.store(false, Ordering::SeqCst);
    until_notices(&hooks, "gateway", &["trigger", "resolve"]).await;
    assert_eq!(notices(&hooks, "app"), Vec::<String>::new(), "a page never sent is never resolved");

    // Both fail again, and the gateway recovers first: the app, still failing, pages then.
    gateway_down.store(true, Ordering::SeqCst);
    app_down.store(true, Ordering::SeqCst);
    until_notices(&hooks, "gateway", &["trigger", "resolve", "trigger"]).await;
    gateway_down.store(false, Ordering::SeqCst);
    until_notices(&hooks, "app", &["trigger"]).await;
    app_down.store(false, Ordering::SeqCst);
    until_notices(&hooks, "app", &["trigger", "resolve"]).await;
}

#[test]
fn a_circle_of_dependencies_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let monitors = dir.path().join("monitors");
    std::fs::create_dir_all(&monitors).unwrap();
    let m = |name: &str, parent: &str| {
        format!(
            "- name: {name}\n  every: 1m\n  dependsOn: [{parent}]\n  source:\n    http:\n      url: http://127.0.0.1:9/\n"
        )
    };
    std::fs::write(monitors.join("a.yaml"), m("a", "b") + &m("b", "a") + &m("c", "gatewy")).unwrap();
    let out = vigil(&dir.path().join("v.db")).args(["validate", dir.path().to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("[0].dependsOn: monitors depend on each other in a circle: a → b → a"), "{text}");
    assert!(text.contains("[1].dependsOn: monitors depend on each other in a circle"), "{text}");
    assert!(text.contains("warning: [2].dependsOn[0]: monitor `gatewy` is not defined in monitors/"), "{text}");
}
