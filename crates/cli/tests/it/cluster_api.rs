//! Any node's API serves any instance: two nodes on PostgreSQL, instances started on one, raised,
//! terminated, retried and restarted through the other (which reaches them through the inbox).

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

async fn status(base: &str, id: &str) -> Value {
    let http = vigil_connectors::http_client();
    http.get(format!("{base}/api/v1/instances/{id}")).send().await.unwrap().json().await.unwrap()
}

async fn wait_status(base: &str, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = status(base, id).await;
        if body["runtimeStatus"] == json!(want) {
            return body;
        }
        assert!(Instant::now() < deadline, "{id} is not {want}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(base: &str, path: &str, body: Value) -> u16 {
    let http = vigil_connectors::http_client();
    http.post(format!("{base}{path}")).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_requests_reach_instances_other_nodes_run() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_api").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let gate = json!({"name": "gate", "tasks": [
        {"name": "go", "taskReferenceName": "go", "type": "WAIT", "inputParameters": {"event": "go"}},
        {"name": "echo", "taskReferenceName": "echo", "type": "SET_VARIABLE", "inputParameters": {"got": "${go.output.value}"}}
    ], "outputParameters": {"got": "${workflow.variables.got}"}});
    std::fs::write(config.join("workflows/gate.json"), gate.to_string()).unwrap();
    let work = json!({"name": "work", "tasks": [
        {"name": "crunch", "taskReferenceName": "crunch", "type": "SIMPLE"}
    ], "outputParameters": {"by": "${crunch.output.by}"}});
    std::fs::write(config.join("workflows/work.json"), work.to_string()).unwrap();
    let (_a, a) = {
        let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
        (KillOnDrop(child), base)
    };
    let (_b, b) = {
        let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
        (KillOnDrop(child), base)
    };
    // Wait until both nodes hold partitions.
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while vigil_store::Store::leases(&store)
        .await
        .unwrap()
        .iter()
        .filter_map(|l| l.owner.clone())
        .collect::<std::collections::HashSet<_>>()
        .len()
        < 2
    {
        assert!(Instant::now() < deadline, "the second node got no partitions");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Started on A (in a partition A owns), raised through B.
    assert_eq!(post(&a, "/api/v1/workflows/gate/instances?instanceId=g-1", json!({})).await, 202);
    wait_status(&b, "g-1", "Running").await;
    assert_eq!(post(&b, "/api/v1/instances/g-1/events/go", json!({"value": 42})).await, 202);
    let done = wait_status(&a, "g-1", "Completed").await;
    assert_eq!(done["output"], json!({"got": 42}));

    // Terminated through B, retried through B, then completed by an event through B.
    assert_eq!(post(&a, "/api/v1/workflows/gate/instances?instanceId=g-2", json!({})).await, 202);
    wait_status(&b, "g-2", "Running").await;
    assert_eq!(post(&b, "/api/v1/instances/g-2/terminate", json!({"reason": "test"})).await, 202);
    wait_status(&a, "g-2", "Terminated").await;
    assert_eq!(post(&b, "/api/v1/instances/g-2/retry", json!({})).await, 202);
    wait_status(&a, "g-2", "Running").await;
    assert_eq!(post(&b, "/api/v1/instances/g-2/events/go", json!({"value": 7})).await, 202);
    assert_eq!(wait_status(&b, "g-2", "Completed").await["output"], json!({"got": 7}));

    // Restarted through B: a fresh run on A's partition, waiting again.
    assert_eq!(post(&b, "/api/v1/instances/g-1/restart", json!({})).await, 202);
    wait_status(&a, "g-1", "Running").await;
    assert_eq!(post(&b, "/api/v1/instances/g-1/events/go", json!({"value": 9})).await, 202);
    assert_eq!(wait_status(&a, "g-1", "Completed").await["output"], json!({"got": 9}));
    assert!(vigil_store::InboxStore::inbox(&store, &(0..64).collect::<Vec<u32>>(), 10).await.unwrap().is_empty());

    // A worker that polls one node gets every partition's tasks, and its reports reach the node
    // that runs each instance. Twelve instances spread over both nodes' partitions.
    let ids: Vec<String> = (0..12).map(|n| format!("job-{n}")).collect();
    for id in &ids {
        assert_eq!(post(&a, &format!("/api/v1/workflows/work/instances?instanceId={id}"), json!({"n": 1})).await, 202);
    }
    let parts: std::collections::HashSet<Option<String>> = {
        let leases = vigil_store::Store::leases(&store).await.unwrap();
        let owner =
            |id: &str| leases.iter().find(|l| l.part == vigil_store::partition_of(id)).and_then(|l| l.owner.clone());
        ids.iter().map(|id| owner(id)).collect()
    };
    assert_eq!(parts.len(), 2, "the instances run on both nodes");
    let http = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = std::collections::HashSet::new();
    while done.len() < ids.len() {
        assert!(Instant::now() < deadline, "only {} of {} tasks reached the worker on B", done.len(), ids.len());
        let polled = http.get(format!("{b}/api/tasks/poll/crunch?workerid=w-b&timeout=500")).send().await.unwrap();
        if polled.status() != 200 {
            continue;
        }
        let task: Value = polled.json().await.unwrap();
        let instance = task["workflowInstanceId"].as_str().unwrap().to_string();
        let report = json!({"workflowInstanceId": instance, "taskId": task["taskId"], "status": "COMPLETED", "outputData": {"by": "w-b"}});
        assert_eq!(post(&b, "/api/tasks", report).await, 200, "{task}");
        assert!(done.insert(instance.clone()), "{instance} handed out twice");
    }
    for id in &ids {
        assert_eq!(wait_status(&a, id, "Completed").await["output"], json!({"by": "w-b"}));
    }
    let sizes: Value = http.get(format!("{a}/api/tasks/queue/sizes")).send().await.unwrap().json().await.unwrap();
    assert_eq!(sizes, json!({}), "no offer is left behind");
    store.close().await;
    pg.drop_now().await;
}
