//! PostgreSQL restarts (`pg_ctlcluster ... restart`) while two nodes run 100 schedules firing every
//! second: the nodes reconnect and go on, and nothing is lost: every fire time ran exactly once
//! and every instance completed.

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use vigil_core::instance::WorkflowStatus;

const SCHEDULES: usize = 100;
const WINDOW_S: i64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reconnect_after_postgres_restarts_and_lose_nothing() {
    let Some((version, cluster)) = restartable_postgres("this test restarts it") else { return };
    // The restart lands in no other test: this one runs while no other test uses the server.
    let alone = vigil_store::testing::restart_postgres_alone().await;
    let Some(pg) = alone.fresh_postgres("vigil_pgrestart").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::create_dir_all(config.join("schedules")).unwrap();
    let beat = json!({"name": "beat", "tasks": [
        {"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "1s"}},
        {"name": "mark", "taskReferenceName": "mark", "type": "SET_VARIABLE", "inputParameters": {"done": true}}
    ]});
    std::fs::write(config.join("workflows/beat.json"), beat.to_string()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now / 1000 + 4) * 1000;
    let schedules: Vec<Value> = (0..SCHEDULES)
        .map(|n| {
            json!({"name": format!("s-{n:03}"), "cronExpression": "* * * * * *", "zoneId": "UTC",
                "scheduleStartTime": start, "scheduleEndTime": start + WINDOW_S * 1000 - 1,
                "runCatchupScheduleInstances": true, "startWorkflowRequest": {"name": "beat"}})
        })
        .collect();
    std::fs::write(config.join("schedules/all.json"), Value::Array(schedules).to_string()).unwrap();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        nodes.push(KillOnDrop(serve_api(&db, &config, free_port(), &[]).await.0));
    }
    // The restart falls mid-way through the schedules' 20 s window.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let restarted = Command::new("pg_ctlcluster").args([&version, &cluster, "restart"]).status().unwrap();
    assert!(restarted.success(), "pg_ctlcluster {version} {cluster} restart failed");

    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    let expected = SCHEDULES * WINDOW_S as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    let beats = loop {
        let beats = instances_of(&store, "beat").await;
        if beats.len() >= expected && beats.iter().all(|b| b.status.is_terminal()) {
            break beats;
        }
        assert!(Instant::now() < deadline, "after the restart only {} of {expected} instances ended", beats.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    stays(Duration::from_secs(2), "no instance starts after every fire time ran", async || {
        instances_of(&store, "beat").await.len() == expected
    })
    .await;
    assert_eq!(beats.len(), expected, "one instance per fire time");
    assert!(beats.iter().all(|b| b.status == WorkflowStatus::Completed), "every instance completed");
    assert_each_fire_once(&store, (0..SCHEDULES).map(|n| format!("s-{n:03}")), WINDOW_S as usize, &beats).await;
    // Both nodes are still alive and serving.
    let status = String::from_utf8_lossy(&run(&db, &["cluster", "status"]).stdout).to_string();
    assert_eq!(status.matches(" alive").count(), 2, "{status}");
    drop(nodes);
    store.close().await;
    pg.drop_now().await;
}
