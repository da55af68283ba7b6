//! Status listeners: a workflow with `workflowStatusListenerEnabled` publishes its instances'
//! status changes as CloudEvents, to its `workflowStatusListenerSink` (an http(s) URL here) or
//! the server's `--status-sink` (JetStream here; every workflow's with `--status-sink-all`), from
//! an outbox written with the change: a crash right after the commit publishes them after the
//! restart, once each.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn config(dir: &Path, recorder: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let ok = json!({"name": "nightly", "workflowStatusListenerEnabled": true,
        "workflowStatusListenerSink": format!("{recorder}/status"),
        "tasks": [{"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    let bad = json!({"name": "broken", "workflowStatusListenerEnabled": true,
        "workflowStatusListenerSink": format!("{recorder}/status"),
        "tasks": [{"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
                   "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "disk full"}}]});
    let quiet = json!({"name": "quiet", "tasks": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]});
    for (name, doc) in [("nightly", ok), ("broken", bad), ("quiet", quiet)] {
        std::fs::write(config.join(format!("workflows/{name}.json")), doc.to_string()).unwrap();
    }
    config
}

/// The CloudEvents the recorder got, as (subject, type).
fn events(recorder: &Recorder) -> Vec<(String, String)> {
    recorder
        .to("/status")
        .iter()
        .map(|r| {
            (r.body["subject"].as_str().unwrap_or_default().into(), r.body["type"].as_str().unwrap_or_default().into())
        })
        .collect()
}

async fn until_events(recorder: &Recorder, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while events(recorder).len() < n {
        assert!(Instant::now() < deadline, "{} of {n} status events: {:?}", events(recorder).len(), events(recorder));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let told = events(recorder).len();
    stays(Duration::from_millis(800), "no status event beyond these", async || events(recorder).len() == told).await;
    events(recorder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflows_status_changes_are_posted_as_cloudevents() {
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &recorder.url);
    let (serve, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _serve = KillOnDrop(serve);
    let http = vigil_connectors::http_client();
    let mut ids = Vec::new();
    for name in ["nightly", "broken", "quiet"] {
        let id = http.post(format!("{base}/api/workflow/{name}")).json(&json!({"day": 1})).send().await.unwrap();
        ids.push(id.text().await.unwrap().trim_matches('"').to_string());
    }
    let got = until_events(&recorder, 4).await;
    let of = |id: &str| got.iter().filter(|(s, _)| s == id).map(|(_, t)| t.as_str()).collect::<Vec<_>>();
    assert_eq!(of(&ids[0]), ["io.vigil.workflow.started", "io.vigil.workflow.completed"]);
    assert_eq!(of(&ids[1]), ["io.vigil.workflow.started", "io.vigil.workflow.failed"]);
    assert!(of(&ids[2]).is_empty(), "a workflow without a listener publishes nothing");
    let posted = recorder.to("/status");
    let failed = posted.iter().find(|r| r.body["type"] == "io.vigil.workflow.failed").unwrap();
    assert_eq!(failed.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    let e = &failed.body;
    assert_eq!((e["specversion"].clone(), e["source"].clone()), (json!("1.0"), json!("/vigil/workflows/broken")));
    assert_eq!(e["data"]["status"], json!("FAILED"));
    assert_eq!(e["data"]["reasonForIncompletion"], json!("disk full"));
    assert_eq!(e["data"]["input"]["day"], json!(1));
    let ids: std::collections::HashSet<&str> = posted.iter().filter_map(|r| r.body["id"].as_str()).collect();
    assert_eq!(ids.len(), posted.len(), "each CloudEvent has its own id");
    // A restart of the completed one, and a retry of the failed one (which fails again).
    let restart =
        http.post(format!("{base}/api/workflow/{}/restart", ids_of(&posted, "nightly"))).send().await.unwrap();
    assert!(restart.status().is_success(), "{}", restart.text().await.unwrap());
    let retry = http.post(format!("{base}/api/workflow/{}/retry", ids_of(&posted, "broken"))).send().await.unwrap();
    assert!(retry.status().is_success(), "{}", retry.text().await.unwrap());
    let got = until_events(&recorder, 8).await;
    let of = |name: &str| {
        let id = ids_of(&posted, name);
        got.iter().filter(|(s, _)| *s == id).map(|(_, t)| t.clone()).collect::<Vec<_>>()
    };
    assert_eq!(of("nightly")[2..], ["io.vigil.workflow.restarted", "io.vigil.workflow.completed"]);
    // The retry runs again what did not complete; whatever it ends as, it says so after.
    let broken = of("broken");
    assert_eq!((broken.len(), broken[2].as_str()), (4, "io.vigil.workflow.restarted"), "{broken:?}");
    let wf: Value = http
        .get(format!("{base}/api/workflow/{}", ids_of(&posted, "broken")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = wf["status"].as_str().unwrap().to_lowercase();
    assert_eq!(broken[3], format!("io.vigil.workflow.{status}"));
}

/// The instance of workflow `name` the posted events are about.
fn ids_of(posted: &[Received], name: &str) -> String {
    let e = posted.iter().find(|r| r.body["source"] == json!(format!("/vigil/workflows/{name}"))).unwrap();
    e.body["subject"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_commit_publishes_the_status_events_after_the_restart() {
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &recorder.url);
    std::fs::create_dir_all(config.join("schedules")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now / 1000 + 3) * 1000;
    let schedule = json!({"name": "once", "cronExpression": "* * * * * *", "zoneId": "UTC", "scheduleStartTime": start,
        "scheduleEndTime": start + 500, "runCatchupScheduleInstances": true, "startWorkflowRequest": {"name": "nightly"}});
    std::fs::write(config.join("schedules/once.json"), schedule.to_string()).unwrap();
    let db = dir.path().join("v.db");
    let mut armed = vigil(&db)
        .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("VIGIL_CRASH_AT", "commit.after")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    aborted_at(&mut armed, "commit.after").await;
    assert!(events(&recorder).is_empty(), "nothing was published before the crash");
    let _again = KillOnDrop(serve(&db, &config, &[]));
    let got = until_events(&recorder, 2).await;
    let types: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(types, ["io.vigil.workflow.started", "io.vigil.workflow.completed"], "each once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_status_sink_takes_every_workflow_with_status_sink_all() {
    let Some(nats) = broker_url("NATS", "VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222") else { return };
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &recorder.url);
    let subject = format!("vigil.status.{}", uuid::Uuid::new_v4().simple());
    let sink = format!("jsm:{subject}");
    let extra = ["--nats-url", nats.as_str(), "--status-sink", sink.as_str(), "--status-sink-all"];
    let (serve, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &extra).await;
    let _serve = KillOnDrop(serve);
    let http = vigil_connectors::http_client();
    let id =
        http.post(format!("{base}/api/workflow/quiet")).json(&json!({})).send().await.unwrap().text().await.unwrap();
    let id = id.trim_matches('"').to_string();
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&nats).await.unwrap();
    let stream = subject.replace('.', "_").to_uppercase();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = client.api(&format!("STREAM.INFO.{stream}"), &json!({})).await.unwrap();
        if info["state"]["messages"].as_u64() == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the stream did not get the 2 events of {id}: {info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = client.api(&format!("STREAM.MSG.GET.{stream}"), &json!({"last_by_subj": subject})).await.unwrap();
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.decode(last["message"]["data"].as_str().unwrap()).unwrap();
    let event: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!((event["type"].clone(), event["subject"].clone()), (json!("io.vigil.workflow.completed"), json!(id)));
    client.api(&format!("STREAM.DELETE.{stream}"), &json!({})).await.unwrap();
    // The workflows with their own sink still post there.
    http.post(format!("{base}/api/workflow/nightly")).json(&json!({})).send().await.unwrap();
    until_events(&recorder, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_events_on_vigils_own_queue_reach_its_handlers() {
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &recorder.url);
    // When `quiet` completes, its status event (on `conductor:status`) starts `nightly`, whose
    // own listener posts to the recorder.
    std::fs::create_dir_all(config.join("event_handlers")).unwrap();
    let handler = json!({"name": "after_quiet", "event": "conductor:status", "active": true,
        "condition": "$.type == 'io.vigil.workflow.completed' && $.data.workflowType == 'quiet'",
        "actions": [{"action": "start_workflow", "start_workflow": {"name": "nightly", "input": {"after": "${subject}"}}}]});
    std::fs::write(config.join("event_handlers/after_quiet.json"), handler.to_string()).unwrap();
    let extra = ["--status-sink", "conductor:status", "--status-sink-all"];
    let (serve, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &extra).await;
    let _serve = KillOnDrop(serve);
    let http = vigil_connectors::http_client();
    let quiet = http.post(format!("{base}/api/workflow/quiet")).json(&json!({})).send().await.unwrap();
    let quiet = quiet.text().await.unwrap().trim_matches('"').to_string();
    until_events(&recorder, 2).await;
    let posted = recorder.to("/status");
    assert_eq!(posted[0].body["data"]["input"]["after"], json!(quiet), "started by quiet's completion");
}
