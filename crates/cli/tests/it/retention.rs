//! Retention, black-box: `vigil serve` deletes ended instances when their age or their
//! schedule's count says so, keeps what a workflow's own `retention` keeps, never touches a
//! running instance, and counts what it deleted in `vigil_purged_instances_total`.

use crate::support;

use std::time::{Duration, Instant};
use vigil_store::EvidenceStore;
use vigil_store::FireStore;
use vigil_store::InstanceStore;

use serde_json::{Value, json};
use support::{free_port, instances_of, serve_api, stop};
use vigil_store::SqliteStore;

const QUICK: &str = "name: quick
tasks:
  - {name: one, taskReferenceName: one, type: INLINE, inputParameters: {evaluatorType: javascript, expression: '1'}}
";

fn write_config(dir: &std::path::Path) {
    let wf = dir.join("workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::create_dir_all(dir.join("schedules")).unwrap();
    std::fs::write(wf.join("quick.yaml"), QUICK).unwrap();
    std::fs::write(
        wf.join("kept.yaml"),
        format!("{}retention: {{completed: forever}}\n", QUICK.replace("quick", "kept")),
    )
    .unwrap();
    std::fs::write(
        wf.join("ticking.yaml"),
        format!("{}retention: {{completed: forever, keepLast: 3}}\n", QUICK.replace("quick", "ticking")),
    )
    .unwrap();
    std::fs::write(wf.join("waiting.yaml"), "name: waiting\ntasks:\n  - {name: w, taskReferenceName: w, type: WAIT}\n")
        .unwrap();
    std::fs::write(
        dir.join("schedules/ticking.yaml"),
        "name: ticking-every-second\ncronExpression: '* * * * * *'\nzoneId: UTC\nstartWorkflowRequest:\n  name: ticking\n",
    )
    .unwrap();
}

async fn start(http: &reqwest::Client, base: &str, workflow: &str) -> String {
    let res = http.post(format!("{base}/api/v1/workflows/{workflow}/instances")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().expect("an id").to_string()
}

async fn purged_total(http: &reqwest::Client, base: &str) -> u64 {
    let text = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("vigil_purged_instances_total"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn ended_instances_go_by_age_and_count_and_the_rest_stay() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write_config(&config);
    let db = dir.path().join("v.db");
    let (child, base) = serve_api(
        &db,
        &config,
        free_port(),
        &["--retain-completed", "2s", "--retain-failed", "2s", "--retention-every", "500ms"],
    )
    .await;
    let http = vigil_connectors::http_client();
    let store = SqliteStore::open(&db).await.unwrap();
    let quick: Vec<String> = {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(start(&http, &base, "quick").await);
        }
        ids
    };
    let kept = start(&http, &base, "kept").await;
    let waiting = start(&http, &base, "waiting").await;

    // The quick ones complete at once and go about 2 s later; the schedule keeps its newest 3.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ticks_seen = std::collections::BTreeSet::new();
    loop {
        let left = instances_of(&store, "quick").await;
        let ticking = instances_of(&store, "ticking").await;
        ticks_seen.extend(ticking.iter().map(|i| i.id.clone()));
        let ended_ticks = ticking.iter().filter(|i| i.status.is_terminal()).count();
        let fires = store.fires("ticking-every-second", 1_000).await.unwrap().len();
        if left.is_empty() && fires >= 6 && ended_ticks <= 3 {
            assert!(ticking.len() <= 4, "at most the newest 3 ended and one running: {ticking:?}");
            break;
        }
        assert!(Instant::now() < deadline, "quick left: {left:?}; ticking: {ticking:?}; fires: {fires}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &quick {
        assert!(store.instance(id).await.unwrap().is_none(), "{id} was purged");
    }
    assert!(store.instance(&kept).await.unwrap().is_some(), "a workflow that keeps forever keeps");
    let w = store.instance(&waiting).await.unwrap().expect("a running instance is never purged");
    assert!(!w.status.is_terminal());
    // Every purge seen in the store is counted: the counter moves once a pass's delete has
    // committed, so it may trail the store by a moment. (It once asserted 5 + 3 at once, though
    // the loop above guarantees only 2 ticks gone, and the counter can trail the delete.)
    let mut ticks_gone = 0;
    for id in &ticks_seen {
        ticks_gone += usize::from(store.instance(id).await.unwrap().is_none());
    }
    let purged = (5 + ticks_gone) as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while purged_total(&http, &base).await < purged {
        assert!(
            Instant::now() < deadline,
            "the metric counts every purge: {} < {purged}",
            purged_total(&http, &base).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A purged instance answers 404, as if purged by hand.
    let res = http.get(format!("{base}/api/v1/instances/{}", quick[0])).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    stop(child);
}

/// A failed browser check's screenshot goes after `--retain-notices`, a deleted monitor's too;
/// a recent one stays.
#[tokio::test]
async fn old_browser_check_screenshots_go_with_the_notices_of_their_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write_config(&config);
    let db = dir.path().join("v.db");
    let (child, _base) =
        serve_api(&db, &config, free_port(), &["--retain-notices", "1h", "--retention-every", "300ms"]).await;
    let store = SqliteStore::open(&db).await.unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let evidence = |monitor: &str, at: i64| vigil_store::CheckEvidence {
        monitor: monitor.into(),
        at,
        note: "step 1 failed".into(),
        console: String::new(),
        screenshot: b"\x89PNG".to_vec(),
        screenshot_bytes: 4,
    };
    // Neither monitor exists any more: only age decides.
    store.keep_check_evidence(&evidence("deleted-shop", now - 2 * 3_600_000)).await.unwrap();
    store.keep_check_evidence(&evidence("recent-shop", now - 60_000)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.check_evidence("deleted-shop", 10).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "a screenshot older than --retain-notices stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.check_evidence("recent-shop", 10).await.unwrap().len(), 1, "a recent one stays");
    stop(child);
}
