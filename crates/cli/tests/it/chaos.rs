//! The chaos run: three `vigil serve` nodes on PostgreSQL, only the first with `--config` (the
//! others run the copy it publishes), 500 schedules firing every 5 s, each running seed 000's
//! alert workflow (search for failures over HTTP, then ALERT to PagerDuty) against a source that
//! flaps by slot, key by key. While it runs: the node with `--config` is SIGKILLed, the PagerDuty
//! receiver answers only 500s and 429s for 60 s, and PostgreSQL restarts.
//!
//! Beside them, Prometheus-style pushes: 50 alerts in 5 groups of the first node's
//! `alertmanager.yml`, pushed every 2 s to whichever node answers, each firing for a while and
//! then resolved, told to a webhook in Alertmanager's format (which fails through the outage too).
//!
//! Afterwards, counted against what the source pattern implies: no slot missed or doubled, no
//! trigger or resolve missing or extra on any key, no notice out of order; and every pushed alert
//! told firing, then resolved, and nothing else. Redeliveries of one notice (at least once,
//! across a kill) are counted and reported, not paged twice: PagerDuty folds them by dedup key.
//!
//! `cargo test -p vigil --test it chaos::` runs a 2-minute window (CI); the long version:
//! `VIGIL_CHAOS_SECONDS=1800 cargo test --release -p vigil --test it chaos:: -- --nocapture`.

use crate::support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_store::AlertStore;
use vigil_store::InstanceStore;
use vigil_store::OutboxStore;

use serde_json::{Value, json};
use support::*;
use vigil_core::instance::WorkflowStatus;

const SCHEDULES: usize = 500;
/// Seconds between a schedule's fires.
const EVERY_S: i64 = 5;
/// A key's source fails for one phase and passes for the next, offset per key. A phase (12 fires)
/// is longer than any outage burst, so late fires can hold at most one change.
const PHASE_S: i64 = 60;
const LEASE_TTL_S: u64 = 6;
/// PagerDuty integrations (routing keys), each a notifier: PagerDuty takes about 120 events a
/// minute per routing key, which vigil's rate limit honours, so 500 flapping keys page through ten.
const INTEGRATIONS: usize = 10;
/// Pushed alerts, in `PUSH_GROUPS` groups.
const PUSHED: usize = 50;
const PUSH_GROUPS: usize = 5;

/// When pushed alert `k` fires and resolves, as fractions of the window: across the kill, the
/// outage and the restart.
fn pushed_window(k: usize, start: i64, window_s: i64) -> (i64, i64) {
    let at = |f: f64| start + (window_s as f64 * 1000.0 * f) as i64;
    (at(0.04 + k as f64 * 0.008), at(0.42 + k as f64 * 0.008))
}

/// What Prometheus would push at `now`: the alerts firing (ending 40 s on unless pushed again)
/// and, for 20 s after, the ones resolved.
fn pushes(now: i64, start: i64, window_s: i64) -> Value {
    let iso = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
    let alerts: Vec<Value> = (0..PUSHED)
        .filter_map(|k| {
            let (fires, resolves) = pushed_window(k, start, window_s);
            let labels = json!({"alertname": format!("Chaos{}", k % PUSH_GROUPS), "instance": format!("i{k:02}")});
            if now < fires || now > resolves + 20_000 {
                return None;
            }
            let ends = if now < resolves { now + 40_000 } else { resolves };
            Some(json!({"labels": labels, "startsAt": iso(fires), "endsAt": iso(ends)}))
        })
        .collect();
    Value::Array(alerts)
}

fn routing_key(group: usize) -> String {
    format!("{group:02}23456789abcdef0123456789abcdef")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn failing(key: usize, slot_ms: i64) -> bool {
    ((slot_ms / 1000 + key as i64 * 7) / PHASE_S) % 2 == 0
}

/// Seed 000's alert workflow: the search takes the slot, the source answers by it.
fn write_config(dir: &std::path::Path, base: &str, start: i64, window_s: i64) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let alert = json!({"name": "failure_alert", "tasks": [
        {"name": "search", "taskReferenceName": "search", "type": "HTTP", "inputParameters": {"http_request": {
            "uri": format!("{base}/api/workflow/search?key=${{workflow.input.key}}&slot=${{workflow.input._scheduledTime}}"),
            "method": "GET"}}},
        {"name": "workflow failures", "taskReferenceName": "page", "type": "ALERT", "inputParameters": {
            "status": "${search.output.response.body.failing}",
            "dedupKey": "chaos-${workflow.input.key}",
            "severity": "critical",
            "summary": "${search.output.response.body.totalHits} failed runs",
            "notifiers": ["oncall-${workflow.input.group}"],
            "repeatInterval": "never",
            "flapThreshold": 0
        }}
    ]});
    std::fs::write(dir.join("workflows/failure_alert.json"), alert.to_string()).unwrap();
    let schedules: Vec<Value> = (0..SCHEDULES)
        .map(|n| {
            json!({"name": format!("alert-{n:03}"), "cronExpression": format!("*/{EVERY_S} * * * * *"), "zoneId": "UTC",
                "scheduleStartTime": start, "scheduleEndTime": start + window_s * 1000 - 1,
                "runCatchupScheduleInstances": true,
                "startWorkflowRequest": {"name": "failure_alert", "input": {"key": n, "group": n % INTEGRATIONS}}})
        })
        .collect();
    std::fs::write(dir.join("schedules/alerts.json"), Value::Array(schedules).to_string()).unwrap();
    for g in 0..INTEGRATIONS {
        let notifier =
            format!("name: oncall-{g}\ntype: pagerduty\nrouting_key: {}\nurl: {base}/v2/enqueue\n", routing_key(g));
        std::fs::write(dir.join(format!("notifiers/oncall-{g}.yaml")), notifier).unwrap();
    }
    let am = format!(
        "route:\n  receiver: team\n  group_by: [alertname]\n  group_wait: 2s\n  group_interval: 5s\n  repeat_interval: 1h\n\
         receivers:\n- name: team\n  webhook_configs: [{{url: '{base}/am-hook'}}]\n"
    );
    std::fs::write(dir.join("alertmanager.yml"), am).unwrap();
}

/// Per key: the notices its slots imply, in order (`trigger`, `resolve`, ...).
fn implied(slots: &BTreeMap<usize, Vec<i64>>) -> BTreeMap<usize, Vec<&'static str>> {
    slots
        .iter()
        .map(|(&key, slots)| {
            let mut firing = false;
            let mut out = Vec::new();
            for &slot in slots {
                let now_failing = failing(key, slot);
                if now_failing != firing {
                    out.push(if now_failing { "trigger" } else { "resolve" });
                    firing = now_failing;
                }
            }
            (key, out)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_through_a_kill_an_outage_and_a_database_restart_page_exactly_as_implied() {
    let window_s: i64 = std::env::var("VIGIL_CHAOS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    let Some((version, cluster)) = restartable_postgres("the chaos run restarts it") else { return };
    // The run restarts the server every PostgreSQL test shares: it runs while no other test uses it.
    let alone = vigil_store::testing::restart_postgres_alone().await;
    let Some(pg) = alone.fresh_postgres("vigil_chaos").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let start = (now_ms() / 1000 / EVERY_S + 2) * EVERY_S * 1000;
    // The receiver fails from +25 % of the window for 60 s: 500s and 429s (Retry-After 2) in turn.
    let outage = (start + window_s * 250, start + window_s * 250 + 60_000);
    let refusals = Arc::new(AtomicU64::new(0));
    let count = refusals.clone();
    let accepted: Arc<Mutex<Vec<Value>>> = Arc::default();
    let accept = accepted.clone();
    let grouped: Arc<Mutex<Vec<Value>>> = Arc::default();
    let group_told = grouped.clone();
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/api/workflow/search" => {
            let key: usize = r.query.get("key").and_then(|k| k.parse().ok()).unwrap_or(0);
            let slot: i64 = r.query.get("slot").and_then(|s| s.parse().ok()).unwrap_or(0);
            let failing = failing(key, slot);
            Reply::json(json!({"totalHits": if failing { 2 } else { 0 }, "failing": failing}))
        }
        "/am-hook" => {
            let now = now_ms();
            if now >= outage.0 && now < outage.1 {
                Reply { status: 503, body: json!({}), delay: Duration::ZERO }
            } else {
                group_told.lock().unwrap().push(r.body.clone());
                Reply::json(json!({"ok": true}))
            }
        }
        "/v2/enqueue" => {
            let now = now_ms();
            if now >= outage.0 && now < outage.1 {
                let n = count.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(2) {
                    Reply { status: 500, body: json!({"status": "error"}), delay: Duration::ZERO }
                } else {
                    let body = json!({"__headers": {"retry-after": "2"}, "body": {"status": "throttled"}});
                    Reply { status: 429, body, delay: Duration::ZERO }
                }
            } else {
                accept.lock().unwrap().push(r.body.clone());
                Reply {
                    status: 202,
                    body: json!({"status": "success", "dedup_key": r.body["dedup_key"]}),
                    delay: Duration::ZERO,
                }
            }
        }
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write_config(&config, &server.url, start, window_s);
    let ttl = LEASE_TTL_S.to_string();
    // Each node's log goes to a file, printed when the run fails.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut nodes = Vec::new();
    let mut bases = Vec::new();
    for n in 0..3 {
        let port = free_port();
        let log = std::fs::File::create(logs.join(format!("node-{n}.log"))).unwrap();
        // Only the first node has the directory; it is the one killed.
        let own_config: &[&str] = if n == 0 { &["--config", config.to_str().unwrap()] } else { &[] };
        let child = vigil(&db)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(own_config)
            .args(["--lease-ttl", &ttl])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_healthy(&format!("http://127.0.0.1:{port}")).await;
        nodes.push(KillOnDrop(child));
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    // The pusher: every 2 s, to the first node that takes it (the killed one stops answering).
    let pusher = tokio::spawn(async move {
        let http = vigil_connectors::http_client();
        let mut next = 0;
        let end = start + window_s * 1000 + 25_000;
        while now_ms() < end {
            let body = pushes(now_ms(), start, window_s);
            for _ in 0..bases.len() * 3 {
                let base = &bases[next % bases.len()];
                let sent =
                    http.post(format!("{base}/api/v2/alerts")).json(&body).timeout(Duration::from_secs(5)).send().await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                next += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let at = |fraction: f64| start + (window_s as f64 * 1000.0 * fraction) as i64;
    // The faults fall at set points of the schedules' window: time is what is waited on.
    let sleep_until = |t: i64| tokio::time::sleep(Duration::from_millis((t - now_ms()).max(0) as u64));

    // The faults: a SIGKILL at 15 %, the receiver outage from 25 % (60 s), a restart at 50 %.
    sleep_until(at(0.15)).await;
    let mut killed = nodes.remove(0);
    killed.0.kill().unwrap();
    let _ = killed.0.wait();
    sleep_until(at(0.5)).await;
    let restarted = std::process::Command::new("pg_ctlcluster").args([&version, &cluster, "restart"]).status().unwrap();
    assert!(restarted.success(), "pg_ctlcluster {version} {cluster} restart failed");

    // Everything runs out: every slot's instance ends, and the backlog of notices drains.
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    let fires = (window_s / EVERY_S) as usize;
    let expected = SCHEDULES * fires;
    let deadline = Instant::now() + Duration::from_secs(window_s as u64 + 240);
    sleep_until(start + window_s * 1000).await;
    let runs = loop {
        let runs = instances_of(&store, "failure_alert").await;
        if runs.len() >= expected && runs.iter().all(|r| r.status.is_terminal()) {
            break runs;
        }
        let done = runs.iter().filter(|r| r.status.is_terminal()).count();
        if Instant::now() >= deadline {
            // What the instances that never ended wait for, and what the nodes said: enough to
            // find the race from one failed run.
            for run in runs.iter().filter(|r| !r.status.is_terminal()).take(5) {
                let instance = store.instance(&run.id).await.ok().flatten();
                let tasks: Vec<String> = instance
                    .iter()
                    .flat_map(|i| &i.tasks)
                    .map(|t| {
                        format!(
                            "{} {} {:?} start {:?} end {:?}",
                            t.reference_task_name,
                            t.status.as_str(),
                            t.reason_for_incompletion,
                            t.start_time,
                            t.end_time
                        )
                    })
                    .collect();
                let partition = instance.as_ref().map(|i| i.partition);
                eprintln!("not ended: {} ({:?}) partition {partition:?}: {tasks:?}", run.id, run.status);
            }
            print_node_logs(&logs);
            panic!("{} of {expected} instances, {done} ended", runs.len());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let failed: Vec<_> = runs.iter().filter(|r| r.status != WorkflowStatus::Completed).collect();
    assert!(failed.is_empty(), "instances that did not complete: {:?}", &failed[..failed.len().min(5)]);

    // Slots: each fire time of each schedule ran exactly once.
    assert_eq!(runs.len(), expected, "one instance per fire time");
    assert_each_fire_once(&store, (0..SCHEDULES).map(|n| format!("alert-{n:03}")), fires, &runs).await;
    let mut slots: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for run in &runs {
        let inst = store.instance(&run.id).await.unwrap().unwrap();
        let key = inst.input["key"].as_u64().unwrap() as usize;
        slots.entry(key).or_default().push(inst.input["_scheduledTime"].as_i64().unwrap());
    }
    for s in slots.values_mut() {
        s.sort_unstable();
    }
    let expected_notices = implied(&slots);

    // Notices the receiver accepted, per key, in arrival order. One notice delivered twice in a
    // row (a send the killed node made but never recorded) is a redelivery, not a page.
    let want: BTreeMap<usize, Vec<&'static str>> =
        expected_notices.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.clone())).collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    let (got, redelivered) = loop {
        let mut got: BTreeMap<usize, Vec<&'static str>> = BTreeMap::new();
        let mut redelivered = 0;
        for body in accepted.lock().unwrap().iter() {
            let key: usize = body["dedup_key"].as_str().unwrap().trim_start_matches("chaos-").parse().unwrap();
            assert_eq!(body["routing_key"], json!(routing_key(key % INTEGRATIONS)), "each key pages its integration");
            let action = match body["event_action"].as_str().unwrap() {
                "trigger" => "trigger",
                "resolve" => "resolve",
                other => panic!("unexpected event_action {other}"),
            };
            let list = got.entry(key).or_default();
            if list.last() == Some(&action) {
                redelivered += 1;
            } else {
                list.push(action);
            }
        }
        if got == want || Instant::now() > deadline {
            break (got, redelivered);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let mut missing = 0;
    let mut extra = 0;
    let mut out_of_order = 0;
    for (key, want) in &expected_notices {
        let have = got.get(key).cloned().unwrap_or_default();
        let alternates = have.iter().enumerate().all(|(i, a)| *a == if i % 2 == 0 { "trigger" } else { "resolve" });
        if !alternates {
            out_of_order += 1;
        }
        missing += want.len().saturating_sub(have.len());
        extra += have.len().saturating_sub(want.len());
    }
    let total: usize = expected_notices.values().map(Vec::len).sum();
    eprintln!(
        "chaos: {window_s} s, {SCHEDULES} schedules, {} instances, {total} notices implied; missing {missing}, \
         extra {extra}, keys out of order {out_of_order}, redeliveries {redelivered}, refused during the outage {}",
        runs.len(),
        refusals.load(Ordering::Relaxed)
    );
    if (missing, extra, out_of_order) != (0, 0, 0) {
        print_node_logs(&logs);
        let pending = store.outbox(vigil_store::OutboxStatus::Pending, 10_000).await.unwrap();
        let failed = store.outbox(vigil_store::OutboxStatus::Failed, 10_000).await.unwrap();
        let delivered = store.outbox(vigil_store::OutboxStatus::Delivered, 100_000).await.unwrap();
        eprintln!("outbox: {} pending, {} failed, {} delivered", pending.len(), failed.len(), delivered.len());
        let mut by_part: BTreeMap<u32, usize> = BTreeMap::new();
        for e in &pending {
            *by_part.entry(vigil_store::partition_of(&e.dedup_key)).or_default() += 1;
        }
        let created: Vec<i64> = pending.iter().map(|e| (e.created_at - start) / 1000).collect();
        eprintln!(
            "pending by partition: {by_part:?}; created (s into the window): {:?}",
            &created[..created.len().min(40)]
        );
        for e in pending.iter().take(5) {
            eprintln!(
                "  pending {} {} attempts {} next {} error {:?}",
                e.dedup_key,
                e.notice,
                e.attempts,
                e.next_attempt_at - now_ms(),
                e.last_error
            );
        }
        for (key, want) in
            expected_notices.iter().filter(|(k, w)| got.get(k).cloned().unwrap_or_default() != **w).take(8)
        {
            let alert = store.alert(&format!("chaos-{key}")).await.unwrap();
            let slots_of = &slots[key];
            let flips: Vec<(i64, bool)> = slots_of
                .windows(2)
                .filter(|w| failing(*key, w[0]) != failing(*key, w[1]))
                .map(|w| (w[1] - start, failing(*key, w[1])))
                .collect();
            eprintln!(
                "  key {key}: want {want:?} got {:?}; flips at {flips:?}; alert {:?}",
                got.get(key),
                alert.map(|a| (a.condition, a.state))
            );
        }
    }
    assert_eq!((missing, extra, out_of_order), (0, 0, 0), "keys that paged other than implied");
    pusher.await.unwrap();
    check_pushed(&grouped).await;
    drop(nodes);
    store.close().await;
    pg.drop_now().await;
}

/// Every pushed alert told firing, then resolved, and nothing else; a notification the same as the
/// one before it for its group is a redelivery (counted, reported).
async fn check_pushed(grouped: &Arc<Mutex<Vec<Value>>>) {
    let tell = || {
        let mut per_alert: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut last: BTreeMap<String, Value> = BTreeMap::new();
        let mut redelivered = 0;
        for body in grouped.lock().unwrap().iter() {
            let group = body["groupKey"].as_str().unwrap_or_default().to_string();
            if last.get(&group) == Some(&body["alerts"]) {
                redelivered += 1;
                continue;
            }
            last.insert(group, body["alerts"].clone());
            for a in body["alerts"].as_array().into_iter().flatten() {
                let told =
                    per_alert.entry(a["labels"]["instance"].as_str().unwrap_or_default().to_string()).or_default();
                let status = a["status"].as_str().unwrap_or_default().to_string();
                if told.last() != Some(&status) {
                    told.push(status);
                }
            }
        }
        (per_alert, redelivered)
    };
    let want: Vec<String> = vec!["firing".into(), "resolved".into()];
    let deadline = Instant::now() + Duration::from_secs(120);
    let (told, redelivered) = loop {
        let (told, redelivered) = tell();
        let done = told.len() == PUSHED && told.values().all(|t| *t == want);
        if done || Instant::now() > deadline {
            break (told, redelivered);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let missing = (0..PUSHED).filter(|k| told.get(&format!("i{k:02}")).is_none_or(|t| t.len() < 2)).count();
    let extra = told.values().filter(|t| t.len() > 2 || t.first().map(String::as_str) != Some("firing")).count();
    eprintln!(
        "chaos, pushed: {PUSHED} alerts in {PUSH_GROUPS} groups, {} notifications; missing {missing}, extra {extra}, redeliveries {redelivered}",
        grouped.lock().unwrap().len()
    );
    assert_eq!((missing, extra), (0, 0), "pushed alerts told other than fired and resolved: {told:?}");
}

/// The last lines each node logged (lease renewals and heartbeats left out).
fn print_node_logs(logs: &std::path::Path) {
    for n in 0..3 {
        let text = std::fs::read_to_string(logs.join(format!("node-{n}.log"))).unwrap_or_default();
        let lines: Vec<&str> =
            text.lines().filter(|l| !l.contains("Could not renew") && !l.contains("heartbeat")).collect();
        eprintln!("--- node {n}: {} log lines; the last 15:", lines.len());
        for l in lines.iter().rev().take(15).rev() {
            eprintln!("  {}", &l[..l.len().min(300)]);
        }
    }
}
