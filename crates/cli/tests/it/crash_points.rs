//! Deterministic crashes at vigil's named crash points (`VIGIL_CRASH_AT`, see
//! `runtime/src/crash_point.rs`), then a restart: what was committed is resumed, what was not is
//! redone, and each side effect happens as the point promises (never lost; sent again only when
//! the crash fell between the provider's acceptance and vigil's record of it, under the same
//! dedup key). Unlike `crash.rs`, nothing here depends on when a `kill -9` lands.

use crate::support;

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};
use vigil_store::FireStore;
use vigil_store::InstanceStore;
use vigil_store::OutboxStore;

use serde_json::json;
use support::*;
use vigil_core::instance::{TaskStatus, WorkflowStatus};
use vigil_store::FireStatus;

/// `vigil serve` armed to crash at `point` (none: a normal run).
fn serve_armed(db: &std::path::Path, config: &std::path::Path, point: Option<&str>) -> Child {
    let mut cmd = vigil(db);
    cmd.args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(point) = point {
        cmd.env("VIGIL_CRASH_AT", point);
    }
    cmd.spawn().unwrap()
}

/// Waits for an armed process to abort at its crash point (SIGABRT).
fn crashed(mut child: Child, point: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(6), "vigil aborted at {point}: {status:?}");
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vigil never reached crash point {point}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn open(db: &std::path::Path) -> vigil_store::SqliteStore {
    vigil_store::SqliteStore::open(db).await.unwrap()
}

/// A workflow of two HTTP calls, fired once by a schedule whose window holds one fire time.
fn pair_config(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::create_dir_all(config.join("schedules")).unwrap();
    let call = |path: &str| {
        json!({"name": path, "taskReferenceName": path, "type": "HTTP",
        "inputParameters": {"http_request": {"uri": format!("{base}/{path}"), "method": "POST"}}})
    };
    std::fs::write(
        config.join("workflows/pair.json"),
        json!({"name": "pair", "tasks": [call("a"), call("b")]}).to_string(),
    )
    .unwrap();
    // The next whole second at least 2 s away: one fire time in a window of half a second, run
    // even when a loaded machine starts vigil after it (catch-up).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now / 1000 + 3) * 1000;
    let schedule = json!({"name": "once", "cronExpression": "* * * * * *", "zoneId": "UTC",
        "scheduleStartTime": start, "scheduleEndTime": start + 500, "runCatchupScheduleInstances": true,
        "startWorkflowRequest": {"name": "pair"}});
    std::fs::write(config.join("schedules/once.json"), schedule.to_string()).unwrap();
    config
}

/// Restarts vigil unarmed and waits for the one `pair` instance to complete; its calls by path.
async fn finish_pair(db: &std::path::Path, config: &std::path::Path, server: &Recorder) -> (usize, usize) {
    let second = serve_armed(db, config, None);
    let store = open(db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let instance = loop {
        let listed = instances_of(&store, "pair").await;
        if let [one] = listed.as_slice()
            && let Some(i) = store.instance(&one.id).await.unwrap()
            && i.status.is_terminal()
        {
            break i;
        }
        assert!(Instant::now() < deadline, "the pair instance did not finish after the restart: {listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop(second);
    assert_eq!(instance.status, WorkflowStatus::Completed, "{:?}", instance.reason_for_incompletion);
    let fires = store.fires("once", 10).await.unwrap();
    assert_eq!(fires.len(), 1, "one fire time, claimed once: {fires:?}");
    assert_eq!((fires[0].status, fires[0].instance_id.as_str()), (FireStatus::Started, instance.workflow_id.as_str()));
    store.close().await;
    (server.to("/a").len(), server.to("/b").len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_commit_resumes_without_sending_a_completed_call_again() {
    let server = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), pair_config(dir.path(), &server.url));
    // The second commit: call `a` answered and recorded, call `b` scheduled but not sent.
    crashed(serve_armed(&db, &config, Some("commit.after:2")), "commit.after:2");
    let store = open(&db).await;
    let id = instances_of(&store, "pair").await[0].id.clone();
    let at_crash = store.instance(&id).await.unwrap().unwrap();
    store.close().await;
    let status = |r: &str| at_crash.tasks.iter().find(|t| t.def_ref == r).map(|t| t.status);
    assert_eq!(status("a"), Some(TaskStatus::Completed), "{:?}", at_crash.tasks);
    assert!(status("b").is_some_and(|s| !s.is_terminal()), "{:?}", at_crash.tasks);
    assert_eq!((server.to("/a").len(), server.to("/b").len()), (1, 0), "b was committed, not sent");

    assert_eq!(finish_pair(&db, &config, &server).await, (1, 1), "a not again; b once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_a_commit_sends_the_unrecorded_call_again() {
    let server = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), pair_config(dir.path(), &server.url));
    // `a` answered, but its result never reached the store: it is sent again (at least once).
    crashed(serve_armed(&db, &config, Some("commit.before:2")), "commit.before:2");
    assert_eq!((server.to("/a").len(), server.to("/b").len()), (1, 0));
    assert_eq!(finish_pair(&db, &config, &server).await, (2, 1), "a again; b once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_claiming_a_fire_starts_its_instance_once_after_restart() {
    let server = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), pair_config(dir.path(), &server.url));
    crashed(serve_armed(&db, &config, Some("schedule.after-claim")), "schedule.after-claim");
    let store = open(&db).await;
    let fires = store.fires("once", 10).await.unwrap();
    assert_eq!(fires.len(), 1, "the fire time was claimed");
    assert_ne!(fires[0].status, FireStatus::Started, "{fires:?}");
    store.close().await;
    assert_eq!(server.received().len(), 0);
    assert_eq!(finish_pair(&db, &config, &server).await, (1, 1));
}

/// A server whose `/health` fails and whose webhook accepts.
async fn failing_server() -> Recorder {
    Recorder::start(|r| Reply { status: if r.path == "/health" { 503 } else { 200 }, ..Reply::json(json!({})) }).await
}

/// A monitor that fails from its first check, paging a webhook.
fn failing_monitor(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::write(config.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {base}/hook\n"))
        .unwrap();
    std::fs::write(
        config.join("monitors/api.yaml"),
        format!("name: api\nevery: 1s\nsource:\n  http:\n    url: {base}/health\n    conditions: [\"[STATUS] == 200\"]\nnotify: [hook]\n"),
    )
    .unwrap();
    config
}

/// Restarts vigil unarmed until the monitor's alert has `want` notices at the webhook and its
/// outbox holds nothing pending; the dedup keys the webhook received.
async fn pages_after_restart(
    db: &std::path::Path,
    config: &std::path::Path,
    server: &Recorder,
    want: usize,
) -> Vec<String> {
    let second = serve_armed(db, config, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.to("/hook").len() < want {
        assert!(Instant::now() < deadline, "{} of {want} pages after the restart", server.to("/hook").len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Several more checks, all failing: none pages again.
    let paged = server.to("/hook").len();
    stays(Duration::from_millis(2500), "no check pages again", async || server.to("/hook").len() == paged).await;
    stop(second);
    let store = open(db).await;
    let pending = store.pending_outbox().await.unwrap();
    store.close().await;
    assert!(pending.is_empty(), "nothing left to send: {pending:?}");
    server.to("/hook").iter().map(|r| r.body["dedup_key"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_alert_commit_pages_once_after_restart() {
    let (server, dir) = (failing_server().await, tempfile::tempdir().unwrap());
    let (db, config) = (dir.path().join("vigil.db"), failing_monitor(dir.path(), &server.url));
    crashed(serve_armed(&db, &config, Some("alerts.after-commit")), "alerts.after-commit");
    assert_eq!(server.to("/hook").len(), 0, "committed, not sent");
    let keys = pages_after_restart(&db, &config, &server, 1).await;
    assert_eq!(keys.len(), 1, "one page: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_sending_pages_once_after_restart() {
    let (server, dir) = (failing_server().await, tempfile::tempdir().unwrap());
    let (db, config) = (dir.path().join("vigil.db"), failing_monitor(dir.path(), &server.url));
    crashed(serve_armed(&db, &config, Some("notify.before-send")), "notify.before-send");
    assert_eq!(server.to("/hook").len(), 0);
    let keys = pages_after_restart(&db, &config, &server, 1).await;
    assert_eq!(keys.len(), 1, "one page: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_provider_accepted_sends_again_under_the_same_dedup_key() {
    let (server, dir) = (failing_server().await, tempfile::tempdir().unwrap());
    let (db, config) = (dir.path().join("vigil.db"), failing_monitor(dir.path(), &server.url));
    crashed(serve_armed(&db, &config, Some("notify.after-send")), "notify.after-send");
    assert_eq!(server.to("/hook").len(), 1, "the provider has it; vigil has not recorded it");
    let keys = pages_after_restart(&db, &config, &server, 2).await;
    assert_eq!(keys.len(), 2, "sent once more, and no more: {keys:?}");
    assert!(!keys[0].is_empty() && keys[0] == keys[1], "the same dedup key, for the provider to merge: {keys:?}");
}
