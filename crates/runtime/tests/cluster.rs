//! Two engines as cluster nodes on one PostgreSQL database: a node that owns no partition yet
//! still accepts a durable start (the owner runs it, through the inbox), and the partitions end
//! up shared once the first node hears of the second.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), config, workflows(), SecretValues::default())
        .await
        .unwrap();
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
