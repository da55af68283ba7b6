//! Shared definitions: a node given `--config DIR` publishes the directory to PostgreSQL, and a
//! node started without `--config` runs the same workflows and schedules, follows a change to the
//! directory without a restart, and keeps what runs when a change does not validate.

use crate::support;

use std::time::{Duration, Instant};
use vigil_store::FireStore;
use vigil_store::InstanceStore;

use serde_json::json;
use support::*;
use vigil_store::InstanceFilter;

async fn has_workflow(base: &str, name: &str) -> bool {
    let http = vigil_connectors::http_client();
    http.get(format!("{base}/api/v1/workflows/{name}")).send().await.is_ok_and(|r| r.status().as_u16() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_share_the_published_config_and_follow_its_changes() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_shared_config").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::create_dir_all(config.join("schedules")).unwrap();
    let set = |name: &str| {
        json!({"name": name, "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]})
            .to_string()
    };
    std::fs::write(config.join("workflows/a.json"), set("a")).unwrap();
    let (_a, _) = serve_api(&db, &config, free_port(), &[]).await;
    let (_b, b_base) = serve_without_config(&db, &[]).await;
    assert!(has_workflow(&b_base, "a").await, "the node without --config runs the published workflow");

    // A new workflow and a schedule for it, written to the first node's directory.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now / 1000 + 4) * 1000;
    std::fs::write(config.join("workflows/b.json"), set("b")).unwrap();
    let schedule = json!({"name": "b-every-second", "cronExpression": "* * * * * *", "zoneId": "UTC",
        "scheduleStartTime": start, "scheduleEndTime": start + 4_999, "runCatchupScheduleInstances": true,
        "startWorkflowRequest": {"name": "b"}});
    std::fs::write(config.join("schedules/b.json"), schedule.to_string()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !has_workflow(&b_base, "b").await {
        assert!(Instant::now() < deadline, "the change did not reach the other node");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A change that does not validate is not published: the other node keeps what runs.
    std::fs::write(
        config.join("workflows/bad.json"),
        json!({"name": "bad", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "NOPE"}]}).to_string(),
    )
    .unwrap();
    stays(Duration::from_secs(4), "a change that does not validate is not published", async || {
        !has_workflow(&b_base, "bad").await && has_workflow(&b_base, "b").await
    })
    .await;

    // The schedule, known to both nodes, fired each second of its window once.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // Until the window has ended (and 2 s more): its fires are counted, none can come later.
    tokio::time::sleep(Duration::from_millis((start + 5_000 + 2_000 - now).max(0) as u64)).await;
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    let fires = store.fires("b-every-second", 100).await.unwrap();
    assert_eq!(fires.len(), 5, "{fires:?}");
    let runs = store
        .list_instances(&InstanceFilter { workflow_name: Some("b".into()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(runs.len(), 5, "one instance per fire time");
    store.close().await;
    pg.drop_now().await;
}
