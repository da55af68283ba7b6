//! Three `vigil serve` nodes on one PostgreSQL database: 1,000 schedules fire every second for
//! 30 s, plus the seed 000 alert workflow (20 dedup keys) against a local PagerDuty receiver.
//! Mid-way one node is SIGKILLed and another stopped gracefully. Afterwards every fire time ran
//! exactly once, every instance completed, every alert paged exactly once (and resolved once),
//! and the killed node's in-flight work finished on another node within the lease bound.

use crate::support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use vigil_core::instance::WorkflowStatus;
use vigil_store::Store;

const SCHEDULES: usize = 1_000;
const WINDOW_S: i64 = 30;
const ALERT_KEYS: usize = 20;
/// Lease time for this test (`--lease-ttl`); a dead node's work moves within 1.25 times it.
const LEASE_TTL_S: u64 = 8;
const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The load (1,000 schedules of a workflow that waits 2 s: timers in flight at any moment), and
/// seed 000's alert workflow on 20 schedules, one dedup key each.
fn write_config(dir: &std::path::Path, base: &str, start: i64) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let beat = json!({"name": "beat", "tasks": [
        {"name": "mark", "taskReferenceName": "mark", "type": "SET_VARIABLE", "inputParameters": {"at": "${workflow.input.scheduledTime}"}},
        {"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "2s"}}
    ]});
    std::fs::write(dir.join("workflows/beat.json"), beat.to_string()).unwrap();
    let schedules: Vec<Value> = (0..SCHEDULES)
        .map(|n| {
            json!({"name": format!("load-{n:04}"), "cronExpression": "* * * * * *", "zoneId": "UTC",
                "scheduleStartTime": start, "scheduleEndTime": start + WINDOW_S * 1000 - 1,
                "runCatchupScheduleInstances": true,
                "startWorkflowRequest": {"name": "beat"}})
        })
        .collect();
    std::fs::write(dir.join("schedules/load.json"), Value::Array(schedules).to_string()).unwrap();
    let alert = json!({"name": "failure_alert", "tasks": [
        {"name": "search", "taskReferenceName": "search", "type": "HTTP", "inputParameters": {"http_request": {"uri": format!("{base}/api/workflow/search"), "method": "GET"}}},
        {"name": "workflow failures", "taskReferenceName": "page", "type": "ALERT", "inputParameters": {
            "status": "${search.output.response.body.failing}",
            "dedupKey": "${workflow.input.key}",
            "severity": "critical",
            "summary": "${search.output.response.body.totalHits} failed runs",
            "notifiers": ["oncall"],
            "repeatInterval": "never"
        }}
    ]});
    std::fs::write(dir.join("workflows/failure_alert.json"), alert.to_string()).unwrap();
    let alerts: Vec<Value> = (0..ALERT_KEYS)
        .map(|n| {
            json!({"name": format!("alert-{n:02}"), "cronExpression": "* * * * * *", "zoneId": "UTC",
                "scheduleStartTime": start, "scheduleEndTime": start + (WINDOW_S + 8) * 1000,
                "startWorkflowRequest": {"name": "failure_alert", "input": {"key": format!("cluster-key-{n:02}")}}})
        })
        .collect();
    std::fs::write(dir.join("schedules/alerts.json"), Value::Array(alerts).to_string()).unwrap();
    std::fs::write(
        dir.join("notifiers/oncall.yaml"),
        format!("name: oncall\ntype: pagerduty\nrouting_key: {ROUTING_KEY}\nurl: {base}/v2/enqueue\n"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_schedules_and_survive_a_kill_and_a_stop() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_3nodes").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let t0 = Instant::now();
    // The alert condition holds for the first 24 s of the window, then clears.
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/api/workflow/search" => {
            let failing = t0.elapsed() < Duration::from_secs(24);
            Reply::json(json!({"totalHits": if failing { 3 } else { 0 }, "failing": failing}))
        }
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    // Fire times start on a whole second a few seconds from now, once all nodes run.
    let start = (now_ms() / 1000 + 5) * 1000;
    write_config(&config, &server.url, start);
    let ttl = LEASE_TTL_S.to_string();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let (child, base) = serve_api(&db, &config, free_port(), &["--lease-ttl", &ttl]).await;
        nodes.push((KillOnDrop(child), base));
    }
    // The three share the partitions before the fires begin.
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 3).await;

    // Mid-way: SIGKILL one node, then stop another gracefully.
    tokio::time::sleep(Duration::from_millis((start + 12_000 - now_ms()).max(0) as u64)).await;
    let (mut killed, _) = nodes.remove(0);
    killed.0.kill().unwrap();
    let _ = killed.0.wait();
    let killed_at = now_ms();
    // The second fault comes 6 s after the first, while the dead node's partitions move.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (stopped, _) = nodes.remove(0);
    let stopped_child = {
        let mut s = stopped;
        std::mem::replace(&mut s.0, std::process::Command::new("true").spawn().unwrap())
    };
    stop(stopped_child);

    // The survivor finishes everything: 30,000 fires, each a 2 s instance, and the alerts' resolves.
    let expected = SCHEDULES * WINDOW_S as usize;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (beats, resolves) = loop {
        let beats = instances_of(&store, "beat").await;
        let done = beats.iter().filter(|b| b.status.is_terminal()).count();
        let resolves = server.to("/v2/enqueue").iter().filter(|r| r.body["event_action"] == json!("resolve")).count();
        if beats.len() >= expected && done == beats.len() && resolves >= ALERT_KEYS {
            break (beats, resolves);
        }
        assert!(
            Instant::now() < deadline,
            "not finished: {} of {expected} instances, {done} ended, {resolves} of {ALERT_KEYS} resolves",
            beats.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Anything late (a duplicate) would arrive within this window: nothing more starts.
    let ended = beats.len();
    stays(Duration::from_secs(3), "no instance starts after every fire time ran", async || {
        instances_of(&store, "beat").await.len() == ended
    })
    .await;

    // Every fire time ran exactly once: one claim per (schedule, second), each started, each
    // naming an instance that exists, and as many instances as fire times.
    assert_eq!(beats.len(), expected, "one instance per fire time");
    let names = (0..SCHEDULES).map(|n| format!("load-{n:04}"));
    assert_each_fire_once(&store, names, WINDOW_S as usize, &beats).await;
    // Every instance completed.
    let failed: Vec<_> = beats.iter().filter(|b| b.status != WorkflowStatus::Completed).collect();
    assert!(failed.is_empty(), "instances that did not complete: {:?}", &failed[..failed.len().min(5)]);
    // The killed node's in-flight work finished elsewhere within the lease bound: every instance
    // started before the kill ended by then (its 2 s wait, after the partitions moved).
    let bound = killed_at + (LEASE_TTL_S as i64 * 1250) + 2_000 + 3_000;
    let late: Vec<_> = beats.iter().filter(|b| b.created_at < killed_at && b.updated_at > bound).collect();
    assert!(
        late.is_empty(),
        "{} instances from before the kill ended after {bound}: {:?}",
        late.len(),
        &late[..late.len().min(3)]
    );

    // Every alert paged exactly once and resolved once, counted at the receiver.
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    for r in server.to("/v2/enqueue") {
        assert_eq!(r.body["routing_key"], json!(ROUTING_KEY));
        per_key
            .entry(r.body["dedup_key"].as_str().unwrap().to_string())
            .or_default()
            .push(r.body["event_action"].as_str().unwrap().to_string());
    }
    assert_eq!(per_key.len(), ALERT_KEYS, "{per_key:?}");
    for (key, actions) in &per_key {
        assert_eq!(actions, &["trigger", "resolve"], "key {key}");
    }
    assert_eq!(resolves, ALERT_KEYS);

    // The survivor owns every partition now.
    let survivor_owners: std::collections::HashSet<String> =
        store.leases().await.unwrap().into_iter().filter_map(|l| l.owner).collect();
    assert_eq!(survivor_owners.len(), 1, "{survivor_owners:?}");
    let status = String::from_utf8_lossy(&run(&db, &["cluster", "status"]).stdout).to_string();
    assert!(status.contains("stopped") && status.contains("dead") && status.contains("64 ("), "{status}");
    drop(nodes);
    store.close().await;
    pg.drop_now().await;
}
