//! Notifications survive a failing receiver and a crash: retried with backoff, Retry-After
//! honoured, timeouts retried, order kept per dedup key, never lost.

use crate::support;

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

/// A workflow that reports the probe's answer to an ALERT task, every second.
fn write_config(dir: &std::path::Path, base: &str) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let workflow = json!({"name": "flip", "tasks": [
        {"name": "probe", "taskReferenceName": "probe", "type": "HTTP", "inputParameters": {"uri": format!("{base}/probe")}},
        {"name": "probe failing", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "${probe.output.response.body.failing}", "summary": "probe failing", "notifiers": ["oncall"], "repeatInterval": "never"
        }}
    ]});
    std::fs::write(dir.join("workflows/flip.json"), workflow.to_string()).unwrap();
    // Unbounded: the probe decides what each run reports, so startup time cannot change the outcome.
    let schedule = json!({"name": "twice", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "flip"}});
    std::fs::write(dir.join("schedules/twice.json"), schedule.to_string()).unwrap();
    std::fs::write(
        dir.join("notifiers/oncall.yaml"),
        format!("name: oncall\ntype: pagerduty\nrouting_key: {ROUTING_KEY}\nurl: {base}/v2/enqueue\n"),
    )
    .unwrap();
}

/// `vigil serve` with a 1 s send timeout, so a hanging receiver is given up on quickly.
fn serve_fast(db: &std::path::Path, config: &std::path::Path) -> Child {
    vigil(db)
        .env("VIGIL_NOTIFY_TIMEOUT_MS", "1000")
        .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn probe_reply(calls: &AtomicUsize) -> Reply {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    Reply::json(json!({"failing": n == 0}))
}

async fn wait_for(server: &Recorder, what: &str, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while server.to("/v2/enqueue").iter().filter(|r| r.body["event_action"] == json!(what)).count() < n {
        assert!(Instant::now() < deadline, "waiting for {n} {what}: {:?}", actions(server));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn actions(server: &Recorder) -> Vec<String> {
    server.to("/v2/enqueue").iter().map(|r| r.body["event_action"].as_str().unwrap_or("?").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_gets_every_notice_in_order() {
    let probes = Arc::new(AtomicUsize::new(0));
    let sends = Arc::new(AtomicUsize::new(0));
    let (p, s) = (probes.clone(), sends.clone());
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/probe" => probe_reply(&p),
        _ => match s.fetch_add(1, Ordering::SeqCst) {
            0 => Reply { status: 500, body: json!({"status": "error"}), delay: Duration::ZERO },
            1 => Reply { status: 429, body: json!({"status": "throttled"}), delay: Duration::ZERO },
            2 => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::from_secs(5) },
            _ => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_config(&config, &server.url);
    let child = serve_fast(&db, &config);
    wait_for(&server, "resolve", 1, 40).await;
    let sent = server.to("/v2/enqueue").len();
    stays(Duration::from_millis(500), "nothing is sent after the resolve", async || {
        server.to("/v2/enqueue").len() == sent
    })
    .await;
    stop(child);

    let events: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    let seq = actions(&server);
    assert_eq!(
        seq,
        ["trigger", "trigger", "trigger", "trigger", "resolve"],
        "500, 429, timeout, 202, then the resolve"
    );
    assert!(events.iter().all(|e| e["dedup_key"] == events[0]["dedup_key"]));
    let listed = String::from_utf8(run(&db, &["alerts", "--all"]).stdout).unwrap();
    assert!(!listed.contains("failed for good"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_commit_before_the_send_completes_still_delivers() {
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let h = hang.clone();
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/probe" => Reply::json(json!({"failing": true})),
        _ if h.load(Ordering::SeqCst) => Reply { status: 202, body: json!({}), delay: Duration::from_secs(60) },
        _ => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_config(&config, &server.url);
    let mut first = serve(&db, &config, &[]);
    wait_for(&server, "trigger", 1, 20).await;
    first.kill().unwrap();
    first.wait().unwrap();
    hang.store(false, Ordering::SeqCst);

    let second = serve_fast(&db, &config);
    wait_for(&server, "trigger", 2, 20).await;
    stays(Duration::from_millis(500), "nothing is sent after the repeat", async || server.to("/v2/enqueue").len() == 2)
        .await;
    stop(second);
    let events: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    assert_eq!(events.len(), 2, "sent once before the kill, once after: {:?}", actions(&server));
    assert_eq!(events[0], events[1], "the repeat is the same event with the same dedup key");
    let listed = String::from_utf8(run(&db, &["alerts"]).stdout).unwrap();
    assert!(listed.contains("firing"), "{listed}");
}

/// A webhook with `batch` gets many alerts per request; a failed request is retried whole, and in
/// the end every alert was accepted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_webhook_retries_a_failed_batch_and_accepts_each_alert_once() {
    const ALERTS: usize = 40;
    let sends = Arc::new(AtomicUsize::new(0));
    let s = sends.clone();
    let server = Recorder::start(move |_| match s.fetch_add(1, Ordering::SeqCst) {
        0 => Reply { status: 500, body: json!({"error": "busy"}), delay: Duration::ZERO },
        _ => Reply::json(json!({"ok": true})),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    // Parallel branches, so the alerts change state together and are ready to send together.
    let branches: Vec<Value> = (0..ALERTS)
        .map(|i| json!([{"name": "disk full", "taskReferenceName": format!("a{i}"), "type": "ALERT", "inputParameters": {
            "status": "firing", "dedupKey": format!("disk/{i}"), "summary": format!("disk {i} full"), "notifiers": ["hook"], "repeatInterval": "never"
        }}]))
        .collect();
    let join_on: Vec<String> = (0..ALERTS).map(|i| format!("a{i}")).collect();
    let tasks = json!([
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": branches},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": join_on}
    ]);
    std::fs::write(config.join("workflows/many.json"), json!({"name": "many", "tasks": tasks}).to_string()).unwrap();
    let schedule = json!({"name": "often", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "many"}});
    std::fs::write(config.join("schedules/often.json"), schedule.to_string()).unwrap();
    std::fs::write(
        config.join("notifiers/hook.yaml"),
        format!("name: hook\ntype: webhook\nurl: {}/hook\nbatch: 16\n", server.url),
    )
    .unwrap();
    let child = serve_fast(&dir.path().join("vigil.db"), &config);
    let accepted = |server: &Recorder| -> Vec<String> {
        server
            .to("/hook")
            .iter()
            .skip(1)
            .flat_map(|r| r.body["alerts"].as_array().cloned().unwrap_or_default())
            .map(|a| a["dedup_key"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted(&server).len() < ALERTS {
        assert!(Instant::now() < deadline, "accepted so far: {:?}", accepted(&server));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stays(Duration::from_millis(1500), "no alert is accepted twice", async || accepted(&server).len() == ALERTS).await;
    stop(child);

    let requests = server.to("/hook");
    assert!(requests.iter().all(|r| r.body["alerts"].is_array()), "a batching hook always sends a list");
    assert!(requests.iter().any(|r| r.body["alerts"].as_array().unwrap().len() > 1), "alerts were batched");
    assert!(requests.iter().all(|r| r.body["alerts"].as_array().unwrap().len() <= 16), "batch size is a limit");
    let mut keys = accepted(&server);
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!((before, keys.len()), (ALERTS, ALERTS), "each alert accepted exactly once");
    assert!(requests.len() >= 2, "the failed batch was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_pauses_the_whole_webhook_notifier() {
    // The first notice is answered 429 Retry-After: 3; nothing may reach the receiver for 3 s.
    let first = Arc::new(AtomicUsize::new(0));
    let seen = first.clone();
    let server = Recorder::start(move |r| {
        if r.path == "/hook" && seen.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply {
                status: 429,
                body: json!({"__headers": {"retry-after": "3"}, "body": {"error": "slow down"}}),
                delay: Duration::ZERO,
            };
        }
        Reply::json(json!({"ok": true}))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["workflows", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let alert = |key: &str| {
        json!({"name": key, "taskReferenceName": key, "type": "ALERT", "inputParameters": {
        "status": "firing", "dedupKey": key, "notifiers": ["hook"], "repeatInterval": "never"}})
    };
    let keys = ["k1", "k2", "k3"];
    // k2 and k3 become ready a second after k1's 429: inside the pause.
    let nap = json!({"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "1s"}});
    let workflow = json!({"name": "many", "tasks": [alert("k1"), nap, alert("k2"), alert("k3")]});
    std::fs::write(config.join("workflows/many.json"), workflow.to_string()).unwrap();
    std::fs::write(
        config.join("notifiers/hook.yaml"),
        format!("name: hook\ntype: webhook\nurl: {}/hook\n", server.url),
    )
    .unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    http.post(format!("{base}/api/v1/workflows/many/instances")).json(&json!({})).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.to("/hook").len() < 1 + keys.len() {
        assert!(Instant::now() < deadline, "not every notice arrived: {}", server.to("/hook").len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hooks = server.to("/hook");
    let (limited, paused_key) = (hooks[0].at, hooks[0].body["dedup_key"].clone());
    // A request already on its way when the 429 came back may land just after it; after that, the
    // pause is a lower bound, so this holds however slow the machine is.
    for later in &hooks[1..] {
        let after = later.at.duration_since(limited);
        assert!(
            after < Duration::from_millis(500) || after >= Duration::from_millis(2_900),
            "sent during the pause: {after:?}"
        );
        if later.body["dedup_key"] == paused_key {
            assert!(after >= Duration::from_millis(2_900), "the limited notice came back early: {after:?}");
        }
    }
    let mut delivered: Vec<&str> = hooks[1..].iter().map(|r| r.body["dedup_key"].as_str().unwrap()).collect();
    delivered.sort();
    assert_eq!(delivered, keys, "each notice once after the pause");
}
