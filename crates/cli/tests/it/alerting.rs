//! The seed 000 alert workflow, scheduled every second, against a search endpoint that reports
//! failures for a while and then stops: one page, reminders, one resolve, counted at the receiver.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

fn write_config(dir: &std::path::Path, base: &str) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let workflow = json!({
        "name": "failure_alert",
        "tasks": [
            {"name": "search", "taskReferenceName": "search", "type": "HTTP", "inputParameters": {"http_request": {"uri": format!("{base}/api/workflow/search"), "method": "GET", "headers": {"Authorization": "Bearer ${workflow.secrets.api_token}"}}}},
            {"name": "workflow failures", "taskReferenceName": "page", "type": "ALERT", "inputParameters": {
                "status": "${search.output.response.body.failing}",
                "severity": "critical",
                "summary": "${search.output.response.body.totalHits} failed runs of sample_tracker_workflow",
                "labels": {"team": "platform"},
                "notifiers": ["oncall", "chat"],
                "repeatInterval": "3s"
            }}
        ]
    });
    std::fs::write(dir.join("workflows/failure_alert.json"), workflow.to_string()).unwrap();
    let schedule = json!({"name": "every_second", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "failure_alert"}});
    std::fs::write(dir.join("schedules/every_second.json"), schedule.to_string()).unwrap();
    std::fs::write(
        dir.join("notifiers/oncall.yaml"),
        format!("name: oncall\ntype: pagerduty\nrouting_key: ${{workflow.secrets.pd_key}}\nurl: {base}/v2/enqueue\n"),
    )
    .unwrap();
    std::fs::write(dir.join("notifiers/chat.yaml"), format!("name: chat\ntype: slack\nurl: {base}/slack\n")).unwrap();
}

/// A temporary directory holding the database (with the PagerDuty key secret) and the config.
fn setup(server: &Recorder) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_config(&config, &server.url);
    set_secret(&db, "pd_key", ROUTING_KEY);
    set_secret(&db, "api_token", "token-1");
    (dir, db, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_alert_pages_once_reminds_and_resolves_once() {
    let searches = Arc::new(AtomicUsize::new(0));
    let counter = searches.clone();
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/api/workflow/search" => {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let hits = if n < 6 { 2 } else { 0 };
            Reply::json(json!({"totalHits": hits, "failing": hits > 0, "results": []}))
        }
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        "/slack" => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    let check = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    let child = serve(&db, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.to("/v2/enqueue").iter().any(|r| r.body["event_action"] == json!("resolve")) {
        assert!(
            Instant::now() < deadline,
            "no resolve arrived: {:?}",
            server.to("/v2/enqueue").iter().map(|r| r.body["event_action"].clone()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = server.to("/v2/enqueue").len();
    stays(Duration::from_secs(3), "nothing is sent after the resolve", async || server.to("/v2/enqueue").len() == sent)
        .await;
    stop(child);

    let events: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    let actions: Vec<&str> = events.iter().map(|e| e["event_action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"trigger"));
    assert_eq!(actions.iter().filter(|a| **a == "resolve").count(), 1, "one resolve: {actions:?}");
    assert_eq!(actions.last(), Some(&"resolve"), "nothing after the resolve: {actions:?}");
    let trigger_times: Vec<std::time::Instant> =
        server.to("/v2/enqueue").iter().filter(|r| r.body["event_action"] == json!("trigger")).map(|r| r.at).collect();
    assert!(trigger_times.len() >= 2, "one page plus at least one reminder over ~6 s of failures: {actions:?}");
    for pair in trigger_times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(2_500),
            "a page per run instead of reminders every 3 s: {gap:?} between sends"
        );
    }
    let keys: std::collections::BTreeSet<&str> = events.iter().map(|e| e["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 1, "every send carries the same dedup key");
    assert!(events.iter().all(|e| e["routing_key"] == json!(ROUTING_KEY)), "the secret routing key reached PagerDuty");

    let slack: Vec<String> =
        server.to("/slack").into_iter().map(|r| r.body["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(slack.len(), actions.len(), "both notifiers got every notice: {slack:?}");
    assert!(slack[0].contains("[FIRING]") && slack.last().unwrap().contains("[RESOLVED]"), "{slack:?}");
    assert!(searches.load(Ordering::SeqCst) >= 7, "the workflow ran every second");
    let listed = String::from_utf8(run(&db, &["alerts", "--all"]).stdout).unwrap();
    assert!(listed.contains("failure_alert/workflow failures{team=platform}") && listed.contains(" ok "), "{listed}");
    assert!(!listed.contains("failed for good"), "every notification was delivered: {listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledge_stops_reminders_and_tells_pagerduty() {
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/workflow/search" => Reply::json(json!({"totalHits": 1, "failing": true})),
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        _ => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    let child = serve(&db, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.to("/v2/enqueue").is_empty() {
        assert!(Instant::now() < deadline, "no page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = String::from_utf8(run(&db, &["alerts"]).stdout).unwrap();
    let key = "failure_alert/workflow failures{team=platform}";
    assert!(listed.contains(key) && listed.contains("firing"), "{listed}");
    let ack = run(&db, &["alert", "ack", key]);
    assert!(ack.status.success(), "{}", String::from_utf8_lossy(&ack.stderr));
    while !server.to("/v2/enqueue").iter().any(|r| r.body["event_action"] == json!("acknowledge")) {
        assert!(Instant::now() < deadline, "no acknowledge reached PagerDuty");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at_ack = server.to("/v2/enqueue").len();
    stays(Duration::from_secs(5), "no reminders after the acknowledgement (repeat is 3 s)", async || {
        server.to("/v2/enqueue").len() == at_ack
    })
    .await;
    stop(child);
    let listed = String::from_utf8(run(&db, &["alerts"]).stdout).unwrap();
    assert!(listed.lines().any(|l| l.contains(key) && l.contains(" yes ")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_and_notify_test_from_the_cli() {
    let server = Recorder::start(|_| Reply { status: 200, body: json!("ok"), delay: Duration::ZERO }).await;
    let (_dir, db, config) = setup(&server);
    let out = run(&db, &["notify", "test", "chat", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sent = server.to("/slack");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body["text"].as_str().unwrap().contains("[TEST]"), "a test message is clearly marked");
    let missing = run(&db, &["notify", "test", "nope", "--config", config.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("known: chat, oncall"));

    let added = run(&db, &["silence", "add", "--match", "team=platform", "--for", "2h", "--comment", "maintenance"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let id = String::from_utf8(added.stdout).unwrap().split_whitespace().nth(1).unwrap().to_string();
    let listed = String::from_utf8(run(&db, &["silence", "list"]).stdout).unwrap();
    assert!(
        listed.contains(&id) && listed.contains(r#"{"team":"platform"}"#) && listed.contains("maintenance"),
        "{listed}"
    );
    // A maintenance window to come: pending until it starts, then for its length.
    let later = run(&db, &["silence", "add", "--match", "alertname=backup", "--from", "3h", "--for", "1h"]);
    let text = String::from_utf8(later.stdout).unwrap();
    assert!(later.status.success() && text.contains(" from ") && text.contains(" until "), "{text}");
    let listed = String::from_utf8(run(&db, &["silence", "list"]).stdout).unwrap();
    assert!(listed.lines().any(|l| l.contains("backup") && l.contains("from ")), "{listed}");
    let bad_start = run(&db, &["silence", "add", "--match", "a=b", "--from", "someday", "--for", "1h"]);
    assert!(String::from_utf8_lossy(&bad_start.stderr).contains("--from"), "the option is named");
    let bad = run(&db, &["silence", "add", "--match", "team", "--for", "2h"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("label=value"));
    assert!(run(&db, &["silence", "rm", &id]).status.success());
    assert_eq!(run(&db, &["silence", "rm", &id]).status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_heartbeat_is_sent_when_asked() {
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/workflow/search" => Reply::json(json!({"totalHits": 0, "failing": false})),
        _ => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    std::fs::write(
        config.join("notifiers/og.yaml"),
        format!("name: og\ntype: opsgenie\napi_key: og-key\nurl: {}\nheartbeat: vigil-prod\n", server.url),
    )
    .unwrap();
    let child = serve(&db, &config, &["--heartbeat", "chat", "--heartbeat", "oncall", "--heartbeat", "og"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.to("/slack").is_empty()
        || server.to("/v2/change/enqueue").is_empty()
        || server.to("/v2/heartbeats").is_empty()
    {
        assert!(Instant::now() < deadline, "no heartbeat: {:?}", server.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(child);
    let text = server.to("/slack")[0].body["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(":information_source: [INFO] ") && text.contains("started on"),
        "information, not a test or a page: {text}"
    );
    // PagerDuty gets a Change Event (no incident, nobody paged), in the shape its docs define,
    // and no alert event at all.
    let change = &server.to("/v2/change/enqueue")[0].body;
    assert_eq!(change["routing_key"], json!(ROUTING_KEY));
    assert!(change["payload"]["summary"].as_str().unwrap().contains("started on"), "{change}");
    assert!(change["payload"]["timestamp"].is_string() && change["payload"]["source"].is_string(), "{change}");
    assert!(change.get("event_action").is_none() && change.get("dedup_key").is_none(), "{change}");
    assert!(server.to("/v2/enqueue").is_empty(), "no trigger or resolve: {:?}", server.to("/v2/enqueue"));
    // Opsgenie: its heartbeat is pinged; no alert is opened and closed.
    let ping = &server.to("/v2/heartbeats")[0];
    assert_eq!((ping.method.as_str(), ping.path.as_str()), ("POST", "/v2/heartbeats/vigil-prod/ping"));
    assert_eq!(ping.headers["authorization"], "GenieKey og-key");
    assert!(server.to("/v2/alerts").is_empty(), "no alert: {:?}", server.to("/v2/alerts"));
    let bad =
        run(&db, &["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--heartbeat", "nobody"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--heartbeat: notifier `nobody` is not defined"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_held_by_a_silence_goes_out_when_the_silence_ends() {
    // Only the first run reaches the ALERT task: later searches fail, so nothing observes the
    // alert again after the silence ends, whenever vigil happens to start.
    let searches = Arc::new(AtomicUsize::new(0));
    let counter = searches.clone();
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/api/workflow/search" if counter.fetch_add(1, Ordering::SeqCst) == 0 => {
            Reply::json(json!({"totalHits": 3, "failing": true}))
        }
        "/api/workflow/search" => Reply { status: 500, body: json!({}), delay: Duration::ZERO },
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        _ => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    assert!(run(&db, &["silence", "add", "--match", "team=platform", "--for", "5s"]).status.success());
    let child = serve(&db, &config, &[]);
    stays(Duration::from_secs(3), "silenced: no page yet", async || server.to("/v2/enqueue").is_empty()).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.to("/v2/enqueue").is_empty() {
        assert!(Instant::now() < deadline, "the held page never went out after the silence ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(child);
    assert_eq!(server.to("/v2/enqueue")[0].body["event_action"], json!("trigger"));
}

/// Issue 11 item 2: one key whose severity moves warning → critical → warning → ok is one
/// incident with a notice per change: PagerDuty gets a trigger with each new severity under the
/// same dedup key, chat gets a message saying what changed, and one resolve ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_severity_change_is_one_incident_with_a_notice_per_change() {
    let searches = Arc::new(AtomicUsize::new(0));
    let counter = searches.clone();
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/api/workflow/search" => {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let severity = match n {
                0..2 => "warning",
                2..4 => "critical",
                4..6 => "warning",
                _ => "ok",
            };
            Reply::json(json!({"totalHits": 1, "failing": severity != "ok", "severity": if severity == "ok" { "warning" } else { severity }}))
        }
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        "/slack" => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    let path = config.join("workflows/failure_alert.json");
    let mut workflow: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let alert = &mut workflow["tasks"][1]["inputParameters"];
    alert["severity"] = json!("${search.output.response.body.severity}");
    alert["repeatInterval"] = json!("never");
    std::fs::write(&path, workflow.to_string()).unwrap();
    let check = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    let child = serve(&db, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.to("/v2/enqueue").iter().any(|r| r.body["event_action"] == json!("resolve")) {
        assert!(Instant::now() < deadline, "no resolve arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = server.to("/v2/enqueue").len();
    stays(Duration::from_secs(2), "nothing is sent after the resolve", async || server.to("/v2/enqueue").len() == sent)
        .await;
    stop(child);

    let events: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let action = e["event_action"].as_str().unwrap().to_string();
            (action, e["payload"]["severity"].as_str().unwrap_or("").to_string())
        })
        .collect();
    let expected = [("trigger", "warning"), ("trigger", "critical"), ("trigger", "warning"), ("resolve", "")];
    assert_eq!(seen, expected.map(|(a, s)| (a.to_string(), s.to_string())));
    let keys: std::collections::BTreeSet<&str> = events.iter().map(|e| e["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 1, "one incident");
    let slack: Vec<String> =
        server.to("/slack").into_iter().map(|r| r.body["text"].as_str().unwrap().to_string()).collect();
    let titles: Vec<&str> =
        slack.iter().map(|t| t.split("] ").next().unwrap_or_default().trim_start_matches(|c| c != '[')).collect();
    assert_eq!(titles, ["[FIRING", "[NOW CRITICAL", "[NOW WARNING", "[RESOLVED"], "{slack:?}");
}

/// Secrets rotated with `vigil secret set` while `vigil serve` runs (another process, the same
/// store) reach the next task executions and the next PagerDuty reminder, twice over, without a
/// restart, and the alert stays one incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotated_while_serving_reach_tasks_and_reminders() {
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/workflow/search" => Reply::json(json!({"totalHits": 1, "failing": true, "results": []})),
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        _ => Reply { status: 200, body: json!("ok"), delay: Duration::ZERO },
    })
    .await;
    let (_dir, db, config) = setup(&server);
    let child = KillOnDrop(serve(&db, &config, &[]));
    let until_seen = |key: &'static str, token: &'static str| {
        let server = &server;
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let paged = server.to("/v2/enqueue").iter().any(|r| r.body["routing_key"] == json!(key));
                let auth = format!("Bearer {token}");
                let searched =
                    server.to("/api/workflow/search").iter().any(|r| r.headers.get("authorization") == Some(&auth));
                if paged && searched {
                    return;
                }
                assert!(Instant::now() < deadline, "{key} / {token} not seen (paged {paged}, searched {searched})");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    until_seen(ROUTING_KEY, "token-1").await;
    let second_key = "fedcba9876543210fedcba9876543210";
    set_secret(&db, "pd_key", second_key);
    set_secret(&db, "api_token", "token-2");
    until_seen(second_key, "token-2").await;
    let third_key = "00112233445566778899aabbccddeeff";
    set_secret(&db, "pd_key", third_key);
    set_secret(&db, "api_token", "token-3");
    until_seen(third_key, "token-3").await;
    drop(child);
    let events: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    let keys: std::collections::BTreeSet<&str> = events.iter().map(|e| e["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 1, "one incident across the rotations");
    let triggers = events.iter().filter(|e| e["event_action"] == json!("trigger")).count();
    assert!(triggers >= 3, "a page and reminders, one at least per key: {triggers}");
}

/// Issue 32 item 5: a notifier that an alert's route reaches only at a tier change (Opsgenie and
/// PagerDuty on critical) opens its incident then, with the provider's create call, before any
/// update or close; the notifier paged from the start gets the change as an update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_first_reached_by_an_escalation_creates_its_incident_first() {
    let value = Arc::new(AtomicUsize::new(85));
    let server = Recorder::start({
        let value = value.clone();
        move |r| match r.path.as_str() {
            "/disk" => Reply::json(json!({"v": value.load(Ordering::SeqCst)})),
            "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
            p if p.starts_with("/v2/alerts") => Reply {
                status: 202,
                body: json!({"result": "Request will be processed", "requestId": "r"}),
                delay: Duration::ZERO,
            },
            _ => Reply::json(json!("ok")),
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let base = &server.url;
    std::fs::write(config.join("notifiers/chat.yaml"), format!("name: chat\ntype: webhook\nurl: {base}/chat\n"))
        .unwrap();
    std::fs::write(
        config.join("notifiers/pd.yaml"),
        format!("name: pd\ntype: pagerduty\nrouting_key: {ROUTING_KEY}\nurl: {base}/v2/enqueue\n"),
    )
    .unwrap();
    std::fs::write(
        config.join("notifiers/og.yaml"),
        format!("name: og\ntype: opsgenie\napi_key: og-key-123\nurl: {base}\n"),
    )
    .unwrap();
    std::fs::write(
        config.join("monitors/disk.yaml"),
        format!(
            "name: disk\nevery: 1s\nsource:\n  http:\n    url: {base}/disk\nvalue: body.v\nwarning: \"> 80\"\ncritical: \"> 95\"\n\
             repeatInterval: never\nnotify:\n  warning: [chat]\n  critical: [pd, chat, og]\n"
        ),
    )
    .unwrap();
    let child = serve(&db, &config, &[]);
    let wait_for = |what: &'static str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("the warning reached chat", &|| !server.to("/chat").is_empty());
    value.store(97, Ordering::SeqCst);
    wait_for("the escalation reached Opsgenie", &|| !server.to("/v2/alerts").is_empty());
    value.store(85, Ordering::SeqCst);
    wait_for("the step down reached chat", &|| server.to("/chat").len() >= 3);
    value.store(10, Ordering::SeqCst);
    wait_for("Opsgenie's alert was closed", &|| server.to("/v2/alerts").iter().any(|r| r.path.ends_with("/close")));
    wait_for("PagerDuty's incident was resolved", &|| {
        server.to("/v2/enqueue").iter().any(|r| r.body["event_action"] == json!("resolve"))
    });
    stop(child);

    let og: Vec<String> = server.to("/v2/alerts").iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(og.first().map(String::as_str), Some("POST /v2/alerts"), "Opsgenie's alert is created first: {og:?}");
    assert!(og.last().unwrap().ends_with("/close"), "{og:?}");
    let pd: Vec<String> =
        server.to("/v2/enqueue").iter().map(|r| r.body["event_action"].as_str().unwrap().to_string()).collect();
    assert_eq!(pd.first().map(String::as_str), Some("trigger"), "{pd:?}");
    assert_eq!(pd.last().map(String::as_str), Some("resolve"), "{pd:?}");
    let chat: Vec<String> = server
        .to("/chat")
        .iter()
        .map(|r| r.body["title"].as_str().unwrap_or_default().split(']').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(chat, ["[FIRING", "[NOW CRITICAL", "[NOW WARNING", "[RESOLVED"], "chat was paged from the start");
}

/// `vigil notify test` reaches every kind of channel: chat (JSON), SMS (a form), robots that
/// answer failures in a 200; each request carries the test marker and the provider's answer is
/// read as the provider means it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_reaches_each_kind_of_channel() {
    let server = Recorder::start(|r| match r.path.as_str() {
        p if p.starts_with("/telegram/") => Reply::json(json!({"ok": true, "result": {"message_id": 1}})),
        "/dingtalk" => Reply::json(json!({"errcode": 0, "errmsg": "ok"})),
        "/wecom-refuses" => Reply::json(json!({"errcode": 93000, "errmsg": "invalid webhook url"})),
        p if p.starts_with("/twilio/") => Reply { status: 201, body: json!({"sid": "SM1"}), delay: Duration::ZERO },
        _ => Reply::json(json!({"id": "1"})),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), dir.path().join("config"));
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    let base = &server.url;
    let files = [
        ("tg", format!("type: telegram\nbot_token: '1:A'\nchat_id: -100\napi_url: {base}/telegram\n")),
        ("dc", format!("type: discord\nurl: {base}/discord/api/webhooks/1/t\n")),
        ("ding", format!("type: dingtalk\nurl: {base}/dingtalk\nsecret: SECx\n")),
        (
            "sms",
            format!(
                "type: twilio\naccount_sid: AC1\nauth_token: x\nfrom: '+15550000000'\nto: '+15551111111'\nurl: {base}/twilio\n"
            ),
        ),
        ("wc", format!("type: wecom\nurl: {base}/wecom-refuses\n")),
    ];
    for (name, body) in &files {
        std::fs::write(config.join(format!("notifiers/{name}.yaml")), format!("name: {name}\n{body}")).unwrap();
    }
    let test = |name: &str| run(&db, &["notify", "test", name, "--config", config.to_str().unwrap()]);
    for name in ["tg", "dc", "ding", "sms"] {
        let out = test(name);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = |path: &str| server.to(path).first().map(|r| r.text.clone()).unwrap_or_default();
    assert!(text("/telegram/bot1:A/sendMessage").contains("[TEST]"));
    assert!(text("/discord/api/webhooks/1/t").contains("[TEST]"));
    assert!(server.to("/dingtalk")[0].query.contains_key("sign"), "signed");
    let sms = server.to("/twilio/2010-04-01/Accounts/AC1/Messages.json");
    assert_eq!(sms[0].headers["content-type"], "application/x-www-form-urlencoded");
    assert!(sms[0].text.contains("Body=%5BTEST%5D"), "{}", sms[0].text);
    // WeCom refuses in a 200: the test says so, with WeCom's words.
    let refused = test("wc");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("93000"), "{}", String::from_utf8_lossy(&refused.stderr));
}
