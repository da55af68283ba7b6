//! Regression: after a restart the late fires of a schedule run concurrently, so their ALERT
//! tasks report out of slot order. An older slot must never override a newer one: 100 schedules
//! every second, a source that flaps by slot, three `kill -9`s, and every key ends with exactly
//! the triggers and resolves that its slots imply.

use crate::support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use vigil_core::instance::WorkflowStatus;

const SCHEDULES: usize = 100;
/// The source fails for one phase, passes for the next. A phase is longer than an outage, so a
/// catch-up burst holds at most one change (then a newest-wins reading implies the same pages).
const PHASE_MS: i64 = 5_000;
const WINDOW_MS: i64 = 27_000;
/// How long each outage lasts: its slots run late, together, at the restart.
const OUTAGE_MS: u64 = 2_500;

fn failing(slot: i64) -> bool {
    (slot / PHASE_MS) % 2 == 0
}

fn write_config(dir: &std::path::Path, base: &str, start: i64) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let workflow = json!({"name": "flap", "tasks": [
        {"name": "jitter", "taskReferenceName": "jitter", "type": "HTTP", "inputParameters": {"uri": format!("{base}/jitter")}},
        {"name": "decide", "taskReferenceName": "decide", "type": "INLINE", "inputParameters": {
            "evaluatorType": "javascript", "slot": "${workflow.input._scheduledTime}",
            "expression": format!("Math.floor($.slot / {PHASE_MS}) % 2 == 0 ? 'firing' : 'resolved'")}},
        {"name": "source down", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "${decide.output.result}", "dedupKey": "${workflow.input.key}", "notifiers": ["hook"],
            "repeatInterval": "never", "flapThreshold": 1000}}
    ]});
    std::fs::write(dir.join("workflows/flap.json"), workflow.to_string()).unwrap();
    let schedules: Vec<_> = (0..SCHEDULES)
        .map(|i| {
            json!({"name": format!("s{i}"), "cronExpression": "* * * * * *", "zoneId": "UTC",
                "scheduleStartTime": start, "scheduleEndTime": start + WINDOW_MS,
                "startWorkflowRequest": {"name": "flap", "input": {"key": format!("k{i}")}}})
        })
        .collect();
    std::fs::write(dir.join("schedules/all.json"), serde_json::Value::Array(schedules).to_string()).unwrap();
    std::fs::write(dir.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {base}/hook\n")).unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The triggers and resolves a key's slots imply, evaluated in slot order.
fn implied(mut slots: Vec<i64>) -> (usize, usize) {
    slots.sort();
    let (mut firing, mut triggers, mut resolves) = (false, 0, 0);
    for slot in slots {
        match (failing(slot), firing) {
            (true, false) => (firing, triggers) = (true, triggers + 1),
            (false, true) => (firing, resolves) = (false, resolves + 1),
            _ => {}
        }
    }
    (triggers, resolves)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_fires_after_sigkills_page_exactly_as_their_slots_imply() {
    // A pseudo-random delay of 0-300 ms per check, so concurrent late fires finish in any order.
    let calls = AtomicU64::new(0);
    let server = Recorder::start(move |r| {
        let n = calls.fetch_add(1, Ordering::Relaxed);
        let delay = if r.path == "/jitter" { (n.wrapping_mul(2_654_435_761) >> 7) % 300 } else { 0 };
        Reply { status: 200, body: json!({"ok": true}), delay: Duration::from_millis(delay) }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), dir.path().join("config"));
    let start = now_ms();
    write_config(&config, &server.url, start);

    let mut node = KillOnDrop(serve(&db, &config, &[]));
    for at in [6_000, 13_000, 20_000] {
        tokio::time::sleep(Duration::from_millis((start + at - now_ms()).max(0) as u64)).await;
        node.0.kill().unwrap();
        node.0.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(OUTAGE_MS)).await;
        node = KillOnDrop(serve(&db, &config, &[]));
    }

    // Every slot of the window has run, and every instance has ended.
    let deadline = Instant::now() + Duration::from_secs(90);
    let instances = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let store = vigil_store::SqliteStore::open(&db).await.unwrap();
        let all = instances_of(&store, "flap").await;
        let mut full = Vec::new();
        if now_ms() > start + WINDOW_MS + 2_000 && all.iter().all(|i| i.status.is_terminal()) {
            for s in &all {
                full.push(vigil_store::InstanceStore::instance(&store, &s.id).await.unwrap().unwrap());
            }
        }
        store.close().await;
        if !full.is_empty() {
            break full;
        }
        assert!(Instant::now() < deadline, "instances did not finish");
    };
    let mut slots: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for i in &instances {
        assert_eq!(i.status, WorkflowStatus::Completed, "{}: {:?}", i.workflow_id, i.reason_for_incompletion);
        let key = i.input["key"].as_str().unwrap().to_string();
        slots.entry(key).or_default().push(i.input["_scheduledTime"].as_i64().unwrap());
    }
    assert_eq!(slots.len(), SCHEDULES);
    let expected: BTreeMap<String, (usize, usize)> = slots.into_iter().map(|(k, s)| (k, implied(s))).collect();

    // Delivery is at least once across a kill: a notice is the same notice when it carries the
    // same key, action and creation time.
    let received = || {
        let mut seen = HashSet::new();
        let mut got: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for r in server.to("/hook") {
            let (key, notice, at) = (&r.body["dedup_key"], &r.body["notice"], &r.body["at"]);
            if seen.insert((key.to_string(), notice.to_string(), at.to_string())) {
                let entry = got.entry(key.as_str().unwrap_or_default().to_string()).or_default();
                match notice.as_str() {
                    Some("trigger") => entry.0 += 1,
                    Some("resolve") => entry.1 += 1,
                    other => panic!("unexpected notice {other:?}"),
                }
            }
        }
        got
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while received() != expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let got = received();
    let wrong: Vec<_> = expected.iter().filter(|(k, e)| got.get(*k).unwrap_or(&(0, 0)) != *e).collect();
    assert!(wrong.is_empty(), "keys paged other than their slots imply (expected): {wrong:?}\ngot: {got:?}");
    drop(node);
}
