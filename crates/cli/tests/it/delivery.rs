//! Issue 32, delivery: notices leave before `vigil run` and a stopping `vigil serve` exit (within
//! a grace, the rest kept for the next start), and once an endpoint that was down accepts a
//! send, the notices waiting out their retry backoff for it go at once.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_store::OutboxStore;

use serde_json::json;
use support::*;

/// A workflow whose ALERT task fires `key` to the webhook notifier `hook` at `receiver`.
fn alerting_config(dir: &std::path::Path, receiver: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["workflows", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {receiver}/hook\n"))
        .unwrap();
    let workflow = json!({"name": "raise", "tasks": [{"name": "page", "taskReferenceName": "page", "type": "ALERT",
        "inputParameters": {"name": "disk full", "dedupKey": "disk/db-1", "status": "firing",
            "summary": "disk full on db-1", "notifiers": ["hook"]}}]});
    std::fs::write(config.join("workflows/raise.json"), workflow.to_string()).unwrap();
    config
}

async fn outbox(db: &std::path::Path, status: vigil_store::OutboxStatus) -> usize {
    let store = vigil_store::SqliteStore::open(db).await.unwrap();
    let n = store.outbox(status, 100).await.unwrap().len();
    store.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_run_sends_what_its_instance_raised_before_it_exits() {
    // A slow receiver: the notice is in flight when the instance has ended.
    let receiver =
        Recorder::start(|_| Reply { status: 200, body: json!({}), delay: Duration::from_millis(1500) }).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = alerting_config(dir.path(), &receiver.url);
    let out =
        run_async(db.clone(), ["run", "raise", "--config", config.to_str().unwrap()].map(String::from).to_vec()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(receiver.to("/hook").len(), 1, "the page left before vigil run exited");
    assert_eq!(outbox(&db, vigil_store::OutboxStatus::Delivered).await, 1, "and its delivery was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_grace_cannot_send_stays_for_the_next_start() {
    let receiver = Recorder::start(|_| Reply { status: 200, body: json!({}), delay: Duration::from_secs(20) }).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = alerting_config(dir.path(), &receiver.url);
    let args = ["run", "raise", "--notify-grace", "1s", "--config", config.to_str().unwrap()];
    let started = Instant::now();
    let out = run_async(db.clone(), args.map(String::from).to_vec()).await;
    assert!(started.elapsed() < Duration::from_secs(15), "the grace bounds the wait (hang guard)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Stopping with notices not yet sent"), "one line says what is left: {stderr}");
    assert_eq!(outbox(&db, vigil_store::OutboxStatus::Pending).await, 1, "the notice stays, durable");
}

/// Twelve alert lanes fail against a receiver that is down long enough for their backoff to
/// grow; when it is back, a new alert's notice is accepted, and the twelve go right after it
/// instead of waiting out their backoff (16 s and more by then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_accepts_again_gets_its_waiting_notices_at_once() {
    const LANES: usize = 12;
    let down = Arc::new(AtomicBool::new(true));
    let thirteenth_fails = Arc::new(AtomicBool::new(false));
    let receiver = Recorder::start({
        let (down, thirteenth_fails) = (down.clone(), thirteenth_fails.clone());
        move |r| {
            let n: usize = r.path.trim_start_matches("/check/").parse().unwrap_or(usize::MAX);
            let status = match r.path.as_str() {
                "/hook" if down.load(Ordering::SeqCst) => 500,
                "/hook" => 200,
                _ if n < LANES => 500,
                _ if n == LANES && thirteenth_fails.load(Ordering::SeqCst) => 500,
                _ => 200,
            };
            Reply { status, body: json!({}), delay: Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(
        config.join("notifiers/hook.yaml"),
        format!("name: hook\ntype: webhook\nurl: {}/hook\n", receiver.url),
    )
    .unwrap();
    let monitors: Vec<serde_json::Value> = (0..=LANES)
        .map(|n| {
            json!({"name": format!("site-{n:02}"), "every": "1s", "repeatInterval": "never", "notify": ["hook"],
                "source": {"http": {"url": format!("{}/check/{n}", receiver.url), "conditions": ["[STATUS] == 200"]}}})
        })
        .collect();
    std::fs::write(config.join("monitors/sites.json"), serde_json::Value::Array(monitors).to_string()).unwrap();
    let (child, _) = serve_api(&db, &config, free_port(), &[]).await;
    let _server = KillOnDrop(child);

    // Down until every lane failed five times (at about 0, 1, 3, 7 and 15 s): each then waits
    // 16 s (±20 %) before its next attempt.
    let lane = |r: &Received| r.body["name"].as_str().unwrap_or_default().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hooks = receiver.to("/hook");
        let fewest = (0..LANES).map(|n| hooks.iter().filter(|r| lane(r) == format!("site-{n:02}")).count()).min();
        if fewest >= Some(5) {
            break;
        }
        assert!(Instant::now() < deadline, "the lanes did not fail five times each: fewest {fewest:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = Instant::now();
    down.store(false, Ordering::SeqCst);
    thirteenth_fails.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (first_accepted, delivered) = loop {
        let accepted: Vec<Received> = receiver.to("/hook").into_iter().filter(|r| r.at >= back).collect();
        let mut lanes: Vec<String> = accepted.iter().map(lane).collect();
        lanes.sort();
        lanes.dedup();
        if lanes.len() == LANES + 1 {
            break (accepted.iter().map(|r| r.at).min().unwrap(), accepted);
        }
        assert!(Instant::now() < deadline, "not every lane was delivered after the endpoint came back: {lanes:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Each of the twelve failed at least five times, so its own next attempt was at least 12.8 s
    // after its last failure; each went far sooner, right behind the first accepted send.
    for r in delivered.iter().filter(|r| lane(r) != "site-12") {
        let failures: Vec<Instant> =
            receiver.to("/hook").into_iter().filter(|f| f.at < back && lane(f) == lane(r)).map(|f| f.at).collect();
        assert!(failures.len() >= 5, "{}: {} failures while down", lane(r), failures.len());
        let last_failure = *failures.iter().max().unwrap();
        let own_retry = last_failure + Duration::from_millis(800 << (failures.len() - 1));
        assert!(r.at < own_retry, "{} waited out its backoff instead of going with the first accepted send", lane(r));
        assert!(r.at >= first_accepted);
    }
}
