//! Three `vigil serve` nodes on one PostgreSQL database consume a RabbitMQ queue through an event
//! handler while messages keep arriving; the node consuming it is SIGKILLed mid-way. Another node
//! takes the queue over within the lease bound, and every message started exactly one workflow:
//! one instance per message, each completed, and each started once (its status listener's
//! `started` CloudEvents, by id: a second start would post another).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use serde_json::json;
use support::*;
use vigil_connectors::sinks::{Brokers, Message, Publisher};
use vigil_store::Store;

const MESSAGES: usize = 3_000;
const LEASE_TTL_S: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_consumed_by_three_nodes_through_a_kill_starts_each_workflow_once() {
    let Some(amqp) = broker_url("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f") else {
        return;
    };
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_events_chaos").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["workflows", "event_handlers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let queue = format!("vigil-chaos-{}", uuid::Uuid::new_v4().simple());
    let event = format!("amqp_queue:{queue}");
    let ship = json!({"name": "ship", "workflowStatusListenerEnabled": true,
        "workflowStatusListenerSink": format!("{}/status", recorder.url),
        "tasks": [{"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE", "inputParameters": {"order": "${workflow.input.order}"}}]});
    std::fs::write(config.join("workflows/ship.json"), ship.to_string()).unwrap();
    let handler = json!({"name": "ship_orders", "event": event, "active": true,
        "actions": [{"action": "start_workflow", "start_workflow": {"name": "ship", "input": {"order": "${order}"}}}]});
    std::fs::write(config.join("event_handlers/ship.json"), handler.to_string()).unwrap();
    let ttl = LEASE_TTL_S.to_string();
    let mut nodes = BTreeMap::new();
    for _ in 0..3 {
        let port = free_port();
        let node_id = format!("events-node-{port}");
        let extra = ["--lease-ttl", ttl.as_str(), "--amqp-url", amqp.as_str(), "--node-id", node_id.as_str()];
        let (child, _) = serve_api(&db, &config, port, &extra).await;
        nodes.insert(node_id, KillOnDrop(child));
    }
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 3).await;

    // Messages arrive at about 300 a second for 10 s.
    let publisher = Publisher::new(Brokers { amqp: Some(amqp.clone()), ..Brokers::default() });
    let sending = tokio::spawn(async move {
        for order in 0..MESSAGES {
            let m = Message { id: format!("order-{order}"), payload: json!({"order": order}).to_string().into_bytes() };
            publisher.publish(&event, &m).await.unwrap();
            if order % 30 == 29 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    // Mid-way, the node that consumes the queue dies.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let part = vigil_store::partition_of(&format!("event:amqp_queue:{queue}"));
    let owner = store.leases().await.unwrap().into_iter().find(|l| l.part == part).and_then(|l| l.owner).unwrap();
    let mut consumer = nodes.remove(&owner).expect("the queue's owner is one of the nodes");
    consumer.0.kill().unwrap();
    let _ = consumer.0.wait();
    sending.await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(90);
    let ships = loop {
        let ships = instances_of(&store, "ship").await;
        let ended = ships.iter().filter(|s| s.status.is_terminal()).count();
        if ships.len() >= MESSAGES && ended == ships.len() {
            break ships;
        }
        assert!(Instant::now() < deadline, "{} of {MESSAGES} instances, {ended} ended", ships.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(ships.len(), MESSAGES, "one instance per message");
    let mut orders = BTreeSet::new();
    for s in &ships {
        let i = store.instance(&s.id).await.unwrap().unwrap();
        assert_eq!(i.status, vigil_core::instance::WorkflowStatus::Completed);
        orders.insert(i.input["order"].as_u64().unwrap());
    }
    assert_eq!(orders.len(), MESSAGES, "every message's order, once");
    // Each instance started once: one distinct `started` event per instance (a start after the
    // kill of a message already acted on would post a second, with another id).
    let told = recorder.to("/status").len();
    stays(Duration::from_secs(3), "nothing more is told once every instance ended", async || {
        recorder.to("/status").len() == told
    })
    .await;
    let mut started: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in recorder.to("/status").iter().filter(|r| r.body["type"] == "io.vigil.workflow.started") {
        let subject = r.body["subject"].as_str().unwrap().to_string();
        started.entry(subject).or_default().insert(r.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(started.len(), MESSAGES, "a started event for every instance");
    let twice: Vec<_> = started.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "started more than once: {twice:?}");
    let channel = {
        let properties = lapin::ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current());
        lapin::Connection::connect(&amqp, properties).await.unwrap().create_channel().await.unwrap()
    };
    let _ = channel.queue_delete(&queue, Default::default()).await;
    drop(nodes);
    store.close().await;
    pg.drop_now().await;
}
