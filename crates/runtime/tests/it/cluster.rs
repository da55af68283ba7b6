//! Two engines as cluster nodes on one PostgreSQL database: a node that owns no partition yet
//! still accepts a durable start (the owner runs it, through the inbox), and the partitions end
//! up shared once the first node hears of the second; an instance whose id names it for good
//! (an event's), started on both nodes at once, runs once.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::AlertStore;
use vigil_store::InstanceStore;

use serde_json::json;
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;
use vigil_core::instance::WorkflowStatus;
use vigil_runtime::cluster::ClusterConfig;
use vigil_runtime::{Engine, EngineConfig, SecretValues, StartRequest, SystemClock};
use vigil_store::{NodeRow, PostgresStore, Store};

fn workflows() -> WorkflowSet {
    let doc = json!({"name": "w", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    let mut set = WorkflowSet::default();
    set.insert(build_workflow(&doc).0.unwrap());
    set
}

async fn node(url: &str, id: &str) -> (Engine, Arc<PostgresStore>) {
    node_with(url, id, workflows()).await
}

async fn node_with(url: &str, id: &str, workflows: WorkflowSet) -> (Engine, Arc<PostgresStore>) {
    let store = Arc::new(PostgresStore::open(url).await.unwrap());
    let node = NodeRow {
        id: id.into(),
        host: "test".into(),
        version: "test".into(),
        started_at: 1,
        heartbeat_at: 1,
        stopped_at: None,
    };
    let cluster = ClusterConfig { node, lease_ttl: Duration::from_secs(4), solo: false };
    let config = EngineConfig { cluster, ..EngineConfig::default() };
    let engine =
        Engine::start(store.clone(), Arc::new(SystemClock), config, workflows, SecretValues::default()).await.unwrap();
    (engine, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_partitions_forwards_starts_and_then_gets_its_share() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_rt_cluster").await else { return };
    let (a, store) = node(&pg.url, "node-a").await;
    let (b, _) = node(&pg.url, "node-b").await;
    // Node b has just joined: every partition is still node a's.
    let id =
        b.start_durable(StartRequest { name: "w".into(), input: json!({}), ..StartRequest::default() }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(i) = store.instance(&id).await.unwrap()
            && i.status == WorkflowStatus::Completed
        {
            break;
        }
        assert!(Instant::now() < deadline, "the forwarded start did not complete");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leases = store.leases().await.unwrap();
        let of = |n: &str| leases.iter().filter(|l| l.owner.as_deref() == Some(n)).count();
        if of("node-a") == 32 && of("node-b") == 32 {
            break;
        }
        assert!(Instant::now() < deadline, "not shared: a {} b {}", of("node-a"), of("node-b"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.shutdown().await;
    a.shutdown().await;
    store.close().await;
    pg.drop_now().await;
}

/// A workflow whose ALERT task reports to key `key`.
fn alerting(key: &str) -> WorkflowSet {
    let doc = json!({"name": "a", "tasks": [{"name": "page", "taskReferenceName": "page", "type": "ALERT", "inputParameters": {
        "status": "firing", "summary": "down", "dedupKey": key, "notifiers": ["nobody"], "repeatInterval": "never"
    }}]});
    let mut set = WorkflowSet::default();
    set.insert(build_workflow(&doc).0.unwrap());
    set
}

/// The lease of an alert key's partition is lost between the ALERT task's observation and the
/// commit of its result (another node took it meanwhile): the observation still reaches the
/// key's owner, and its result the instance, which completes. (It used to be dropped: the
/// instance waited forever.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observation_whose_key_moved_before_its_commit_still_completes_its_task() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_rt_lost_alert").await else { return };
    let instance = "inst-lost-alert".to_string();
    let key = (0..)
        .map(|n| format!("key-{n}"))
        .find(|k| vigil_store::partition_of(k) != vigil_store::partition_of(&instance))
        .unwrap();
    let store = Arc::new(PostgresStore::open(&pg.url).await.unwrap());
    let node = NodeRow {
        id: "node-a".into(),
        host: "test".into(),
        version: "test".into(),
        started_at: 1,
        heartbeat_at: 1,
        stopped_at: None,
    };
    // Renewals every 5 s: the commit below meets the stolen lease before node a notices.
    let cluster = ClusterConfig { node, lease_ttl: Duration::from_secs(20), solo: false };
    let config = EngineConfig { cluster, ..EngineConfig::default() };
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), config, alerting(&key), SecretValues::default())
        .await
        .unwrap();
    // Another node took the key's partition, and died: its lease lapsed. Nobody is told.
    let part = vigil_store::partition_of(&key);
    let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
    sqlx::query("UPDATE partition_leases SET owner = 'ghost', expires_at = 0 WHERE part = $1")
        .bind(part as i64)
        .execute(&pool)
        .await
        .unwrap();
    let request = StartRequest { name: "a".into(), id: Some(instance.clone()), ..StartRequest::default() };
    engine.start_durable(request).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = store.instance(&instance).await.unwrap().map(|i| i.status);
        if status == Some(WorkflowStatus::Completed) {
            break;
        }
        assert!(Instant::now() < deadline, "the ALERT task never got its result: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.alert(&key).await.unwrap().is_some(), "the observation was never applied");
    pool.close().await;
    engine.shutdown().await;
    store.close().await;
    pg.drop_now().await;
}

/// Waits until node-a and node-b hold 32 partitions each.
async fn until_shared(store: &PostgresStore) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leases = store.leases().await.unwrap();
        let of = |n: &str| leases.iter().filter(|l| l.owner.as_deref() == Some(n)).count();
        if of("node-a") == 32 && of("node-b") == 32 {
            return;
        }
        assert!(Instant::now() < deadline, "not shared: a {} b {}", of("node-a"), of("node-b"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answers every HTTP request with 200 and counts them.
async fn counting_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hit", listener.local_addr().unwrap());
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    // One request per connection is enough here: answer at the end of its head.
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_instance_started_on_two_nodes_at_once_runs_once() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_rt_start_once").await else { return };
    let (url, hits) = counting_server().await;
    let doc = json!({"name": "call", "tasks": [{"name": "h", "taskReferenceName": "h", "type": "HTTP",
        "inputParameters": {"http_request": {"uri": url, "method": "GET"}}}]});
    let set = || {
        let mut set = WorkflowSet::default();
        set.insert(build_workflow(&doc).0.unwrap());
        set
    };
    let (a, store) = node_with(&pg.url, "node-a", set()).await;
    let (b, _) = node_with(&pg.url, "node-b", set()).await;
    until_shared(&store).await;
    // Both nodes take each message (one losing the queue, one taking it over) and start its
    // instance at the same moment: whichever does not own its home partition hands it over.
    let ids: Vec<String> = (0..24).map(|n| format!("event-{n}")).collect();
    for id in &ids {
        let req =
            || StartRequest { name: "call".into(), input: json!({}), id: Some(id.clone()), ..StartRequest::default() };
        let (x, y) = tokio::join!(a.start_once(req()), b.start_once(req()));
        assert_eq!((x.unwrap(), y.unwrap()), (id.clone(), id.clone()));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            if let Some(i) = store.instance(id).await.unwrap()
                && i.status == WorkflowStatus::Completed
            {
                assert_eq!(i.partition, vigil_store::partition_of(id), "{id} runs in its home partition");
                break;
            }
            assert!(Instant::now() < deadline, "{id} did not complete");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // What a second start would call would arrive within this window.
    crate::stays(Duration::from_secs(2), "each instance called once", async || {
        hits.load(std::sync::atomic::Ordering::SeqCst) == ids.len()
    })
    .await;
    b.shutdown().await;
    a.shutdown().await;
    store.close().await;
    pg.drop_now().await;
}
