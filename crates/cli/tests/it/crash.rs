//! `kill -9` while instances sit in slow HTTP calls and WAIT timers, then restart: every fire time
//! ran once, every instance completes, and no completed HTTP task is sent again.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use vigil_store::FireStore;
use vigil_store::InstanceStore;

use serde_json::{Value, json};
use support::*;
use vigil_core::instance::WorkflowStatus;
use vigil_store::{FireStatus, InstanceFilter};

/// Fire times run for this long after the test starts: long enough that a slow start (a loaded
/// CI machine) still sees two fires before the window closes.
const WINDOW_MS: i64 = 15_000;

fn serve(db: &std::path::Path, config: &std::path::Path) -> Child {
    vigil(db)
        .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn write_config(dir: &std::path::Path, base: &str, start: i64) {
    std::fs::create_dir_all(dir.join("workflows")).unwrap();
    std::fs::create_dir_all(dir.join("schedules")).unwrap();
    let workflow = json!({"name": "crashy", "tasks": [
        {"name": "slow", "taskReferenceName": "slow", "type": "HTTP", "inputParameters": {"http_request": {"uri": "${workflow.input.base}/slow?id=${workflow.workflowId}", "method": "POST", "body": {"n": 1}}}},
        {"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "2s"}},
        {"name": "done", "taskReferenceName": "done", "type": "HTTP", "inputParameters": {"http_request": {"uri": "${workflow.input.base}/done?id=${workflow.workflowId}", "method": "POST"}}}
    ]});
    std::fs::write(dir.join("workflows/crashy.json"), workflow.to_string()).unwrap();
    let schedule = json!({"name": "tick", "cronExpression": "* * * * * *", "zoneId": "UTC",
        "scheduleStartTime": start, "scheduleEndTime": start + WINDOW_MS,
        "startWorkflowRequest": {"name": "crashy", "input": {"base": base}}});
    std::fs::write(dir.join("schedules/tick.json"), schedule.to_string()).unwrap();
}

async fn instances(db: &std::path::Path) -> Vec<vigil_core::instance::Instance> {
    let store = vigil_store::SqliteStore::open(db).await.unwrap();
    let mut out = Vec::new();
    for s in store
        .list_instances(&InstanceFilter { workflow_name: Some("crashy".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap()
    {
        out.push(store.instance(&s.id).await.unwrap().unwrap());
    }
    store.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_wait_and_slow_http_loses_nothing() {
    let server = Recorder::start(|r| Reply {
        status: 200,
        body: json!({"ok": true}),
        delay: if r.path == "/slow" { Duration::from_millis(1500) } else { Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    write_config(&config, &server.url, now);

    let mut first = serve(&db, &config);
    // Kill as soon as two instances exist and one is mid-flight, however fast vigil started.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = instances(&db).await;
        if now.len() >= 2 && now.iter().any(|i| i.status == WorkflowStatus::Running) {
            break;
        }
        assert!(Instant::now() < deadline, "no two instances within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = instances(&db).await;
    assert!(before.len() >= 2, "fires happened before the kill: {}", before.len());
    assert!(before.iter().any(|i| i.status == WorkflowStatus::Running), "some instance was mid-flight at the kill");

    let mut second = serve(&db, &config);
    let deadline = Instant::now() + Duration::from_secs(45);
    let after = loop {
        let all = instances(&db).await;
        let window_over = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as i64
            > now + WINDOW_MS + 1_000;
        if window_over && all.iter().all(|i| i.status.is_terminal()) && all.len() >= before.len() {
            break all;
        }
        assert!(Instant::now() < deadline, "instances did not finish after restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = std::process::Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    second.wait().unwrap();

    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let fires = store.fires("tick", 100).await.unwrap();
    let mut slots: Vec<i64> = fires.iter().map(|f| f.scheduled_at).collect();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), fires.len(), "each fire time once");
    assert!(fires.iter().all(|f| f.status == FireStatus::Started));
    assert_eq!(fires.len(), after.len(), "one instance per fire, none lost");

    let received = server.received();
    let count = |path: &str, id: &str| {
        received.iter().filter(|r| r.path == path && r.query.get("id").map(String::as_str) == Some(id)).count()
    };
    for instance in &after {
        let id = &instance.workflow_id;
        assert_eq!(instance.status, WorkflowStatus::Completed, "{id}: {:?}", instance.reason_for_incompletion);
        assert!(fires.iter().any(|f| &f.instance_id == id));
        assert_eq!(count("/done", id), 1, "{id}: the last call ran exactly once");
        let slow_attempts: Vec<&Value> =
            instance.tasks.iter().filter(|t| t.def_ref == "slow").map(|t| &t.output_data).collect();
        let slow_calls = count("/slow", id);
        assert!(
            slow_calls >= 1 && slow_calls <= slow_attempts.len(),
            "{id}: {slow_calls} calls for {} attempts",
            slow_attempts.len()
        );
        let completed_before_kill = before
            .iter()
            .find(|b| &b.workflow_id == id)
            .is_some_and(|b| b.tasks.iter().any(|t| t.def_ref == "slow" && t.status.is_successful()));
        if completed_before_kill {
            assert_eq!(slow_calls, 1, "{id}: a completed HTTP task is not sent again");
        }
        for t in instance.tasks.iter().filter(|t| t.retried) {
            assert!(
                t.reason_for_incompletion.as_deref().unwrap_or_default().contains("in flight"),
                "interrupted attempts are visible"
            );
        }
    }
}
