//! Heartbeat monitors through `vigil serve`: Healthchecks-shaped ping URLs, a missing ping pages
//! and a late one resolves, a failure pages at once, and a ping that got its 200 survives a
//! SIGKILL right after it.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

fn config(dir: &std::path::Path, hooks: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {hooks}/pager\n"))
        .unwrap();
    std::fs::write(
        config.join("monitors/backup.yaml"),
        "name: backup\nevery: 2s\nheartbeat:\n  grace: 1s\nnotify: [pager]\nrepeatInterval: never\n",
    )
    .unwrap();
    config
}

/// Waits for `count` notices to the pager whose summary holds `text` and whose notice is
/// `notice`.
async fn wait_for(hooks: &Recorder, notice: &str, text: &str, count: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen: Vec<serde_json::Value> = hooks.to("/pager").into_iter().map(|r| r.body).collect();
        let matching =
            seen.iter().filter(|n| n["notice"] == json!(notice) && n["summary"].as_str().unwrap_or("").contains(text));
        if matching.count() >= count {
            return seen;
        }
        assert!(Instant::now() < deadline, "waiting for a {notice} with `{text}`: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_heartbeat_ok_a_missing_or_failed_one_pages_and_a_ping_survives_sigkill() {
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &hooks.url);
    let port = free_port();
    let (child, base) = serve_api(&db, &config, port, &[]).await;
    let mut vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();

    let shown: serde_json::Value =
        http.get(format!("{base}/api/v1/monitors/backup")).send().await.unwrap().json().await.unwrap();
    let ping_url = format!("{base}{}", shown["pingUrl"].as_str().expect("a ping URL"));
    assert_eq!(ping_url.len(), base.len() + "/ping/".len() + 32, "a derived 32-digit id: {ping_url}");

    // Pinged in time, by GET and by POST with a body: nothing pages.
    for _ in 0..3 {
        let r = http.get(&ping_url).send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert_eq!(r.headers()["ping-body-limit"], "10000");
        assert!(r.headers()["cache-control"].to_str().unwrap().contains("no-cache"));
        assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, "OK".to_string()));
        let r = http.post(&ping_url).body("backup done: 12 GB").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(hooks.to("/pager").is_empty(), "on time: {:?}", hooks.to("/pager"));
    let unknown = http.get(format!("{base}/ping/0123456789abcdef0123456789abcdef")).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let bad = http.get(format!("{ping_url}/reboot")).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 404, "Healthchecks: another word names no check");
    let bad = http.get(format!("{ping_url}/256")).send().await.unwrap();
    assert_eq!((bad.status().as_u16(), bad.text().await.unwrap()), (400, "invalid url format".to_string()));
    let log: serde_json::Value =
        http.get(format!("{base}/api/v1/monitors/backup/pings?limit=2")).send().await.unwrap().json().await.unwrap();
    assert_eq!(log["items"][0]["body"], json!("backup done: 12 GB"), "{log}");
    assert_eq!((log["items"][0]["method"].clone(), log["items"][1]["method"].clone()), (json!("POST"), json!("GET")));
    assert_eq!(log["items"][0]["remoteAddr"], json!("127.0.0.1"));

    // Silence: late (a warning) once the period passes, missing (critical) after the grace; a
    // late ping resolves it.
    let paged = wait_for(&hooks, "change", "the ping is missing", 1).await;
    assert_eq!(paged[0]["notice"], json!("trigger"), "{paged:#?}");
    assert_eq!(paged[0]["severity"], json!("warning"), "late first: {paged:#?}");
    assert_eq!(http.get(&ping_url).send().await.unwrap().status().as_u16(), 200);
    let paged = wait_for(&hooks, "resolve", "pinged on time", 1).await;
    assert_eq!(paged.len(), 3, "trigger (late), change (missing), resolve: {paged:#?}");
    assert_eq!(paged[1]["severity"], json!("critical"));
    assert_eq!(paged[2]["severity"], json!("critical"), "the resolve names the severity it ends: {paged:#?}");

    // A failure (exit code 7) pages at once; SIGKILL right after its 200 loses nothing.
    let r = http.get(format!("{ping_url}/7")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    vigil.0.kill().unwrap();
    let _ = vigil.0.wait();
    let (code, text) = check_async(&db, &config, "backup").await;
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("the job failed (exit code 7)"), "{text}");

    // Paged once for the failure (before the kill or after the restart), resolved by the next ping
    // to the same id.
    let (child, _) = serve_api(&db, &config, port, &[]).await;
    let _vigil = KillOnDrop(child);
    wait_for(&hooks, "trigger", "exit code 7", 1).await;
    assert_eq!(http.get(&ping_url).send().await.unwrap().status().as_u16(), 200, "the same id after a restart");
    let paged = wait_for(&hooks, "resolve", "pinged on time", 2).await;
    let failures = paged.iter().filter(|n| n["summary"].as_str().unwrap_or("").contains("exit code 7")).count();
    assert_eq!((failures, paged.len()), (1, 5), "{paged:#?}");
}
