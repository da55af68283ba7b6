//! Event handlers end to end against the real brokers (RabbitMQ, NATS JetStream, Mosquitto,
//! Redis; skipped with a message when one is not running, unless `VIGIL_REQUIRE_SERVICES=1`):
//! a message starts its workflow once, also when delivered again and when vigil dies between
//! taking it and committing what it caused, or between committing and acknowledging it; a
//! message a handler cannot act on is parked for that handler, while the others act on it; Conductor's `/api/event` registers handlers; an
//! EVENT task on vigil's own queue completes through a handler, as in Conductor.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use vigil_connectors::sinks::{Brokers, Message, Publisher};
use vigil_store::Store;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A config with workflow `ship` and one handler per queue in `events`, starting `ship` with the
/// message's `order`. `ship` tells `recorder` (when given) of each order it ships.
fn config(dir: &Path, events: &[String]) -> std::path::PathBuf {
    config_telling(dir, events, None)
}

fn config_telling(dir: &Path, events: &[String], recorder: Option<&str>) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["workflows", "event_handlers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let tasks = vec![json!({"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE",
        "inputParameters": {"order": "${workflow.input.order}"}})];
    let mut ship = json!({"name": "ship", "tasks": tasks});
    if let Some(base) = recorder {
        // Each start posts a `started` CloudEvent with its own id (the same id when the outbox
        // sends it again): two ids for one instance mean it was started twice.
        ship["workflowStatusListenerEnabled"] = json!(true);
        ship["workflowStatusListenerSink"] = json!(format!("{base}/status"));
    }
    std::fs::write(config.join("workflows/ship.json"), ship.to_string()).unwrap();
    for (i, event) in events.iter().enumerate() {
        let handler = json!({"name": format!("ship_{i}"), "event": event, "active": true,
            "actions": [{"action": "start_workflow", "start_workflow": {"name": "ship", "input": {"order": "${order}", "via": event}}}]});
        std::fs::write(config.join(format!("event_handlers/h{i}.json")), handler.to_string()).unwrap();
    }
    config
}

/// The `ship` instances, by the `order` their input carries.
async fn orders(store: &dyn Store) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for s in instances_of(store, "ship").await {
        let i = store.instance(&s.id).await.unwrap().unwrap();
        out.push((i.input["order"].as_i64().unwrap_or(-1), i.input["via"].as_str().unwrap_or_default().to_string()));
    }
    out.sort();
    out
}

/// Waits until `store` holds `n` `ship` instances, then a little more (for any extra one).
async fn until_ships(store: &dyn Store, n: usize) -> Vec<(i64, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = orders(store).await;
        if got.len() >= n {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return orders(store).await;
        }
        assert!(Instant::now() < deadline, "{} of {n} instances started: {got:?}", got.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broker_starts_the_workflow_once_per_message() {
    let Some(b) = running_brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = vec![
        format!("amqp_queue:{}", unique("vigil-eh")),
        format!("jsm:{}", unique("vigil.eh")),
        format!("mqtt:vigil/eh/{}", uuid::Uuid::new_v4().simple()),
        format!("redis:{}", unique("vigil-eh")),
    ];
    let config = config(dir.path(), &events);
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &b, port, None));
    wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    // The MQTT session must exist before its messages are sent; the others keep them anyway.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let publisher = Publisher::new(b.clone());
    for (i, event) in events.iter().enumerate() {
        let order = i as i64 + 1;
        let message =
            Message { id: format!("order-{order}"), payload: json!({"order": order}).to_string().into_bytes() };
        publisher.publish(event, &message).await.unwrap();
        // The same message again (a producer's retry): it starts nothing more.
        publisher.publish(event, &message).await.unwrap();
    }
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let got = until_ships(&store, 4).await;
    let expected: Vec<(i64, String)> = events.iter().enumerate().map(|(i, e)| (i as i64 + 1, e.clone())).collect();
    assert_eq!(got, expected);
}

/// A server with the `ship` handler on one fresh RabbitMQ queue named after `prefix`, once it
/// answers: its directory (the database is `v.db` in it), the queue's event, the server and its
/// base URL.
async fn one_queue(
    b: &vigil_connectors::sinks::Brokers,
    prefix: &str,
) -> (tempfile::TempDir, String, KillOnDrop, String) {
    let dir = tempfile::tempdir().unwrap();
    let event = format!("amqp_queue:{}", unique(prefix));
    let config = config(dir.path(), std::slice::from_ref(&event));
    let port = free_port();
    let serve = KillOnDrop(serve_armed(&dir.path().join("v.db"), &config, b, port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    (dir, event, serve, base)
}

/// The parked messages, once there is one (a batch's messages are parked when it settles).
async fn until_parked(base: &str) -> Vec<Value> {
    let http = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let parked: Vec<Value> =
            http.get(format!("{base}/api/event/parked")).send().await.unwrap().json().await.unwrap();
        if !parked.is_empty() {
            return parked;
        }
        assert!(Instant::now() < deadline, "never parked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_a_handler_cannot_act_on_is_parked_and_not_delivered_again() {
    let Some(b) = running_brokers() else { return };
    let (dir, event, _serve, base) = one_queue(&b, "vigil-poison").await;
    let db = dir.path().join("v.db");
    let http = vigil_connectors::http_client();
    // A second handler of the queue whose condition throws on this message.
    let bad = json!({"name": "throws", "event": event, "active": true, "condition": "$.order.missing.field > 1",
        "actions": [{"action": "start_workflow", "start_workflow": {"name": "ship"}}]});
    assert_eq!(http.post(format!("{base}/api/event")).json(&bad).send().await.unwrap().status(), 200);
    let publisher = Publisher::new(b.clone());
    let message = Message { id: "poison-1".into(), payload: br#"{"order": 5}"#.to_vec() };
    publisher.publish(&event, &message).await.unwrap();
    let parked = until_parked(&base).await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!((parked[0]["messageId"].clone(), parked[0]["handler"].clone()), (json!("poison-1"), json!("throws")));
    assert!(parked[0]["error"].as_str().unwrap().contains("condition"), "{parked:?}");
    assert_eq!(parked[0]["event"], json!(event));
    // Each handler acts on its own, as in Conductor: the other one started its workflow. The
    // message was acknowledged, so it does not come again.
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    assert_eq!(until_ships(&store, 1).await, [(5, event.clone())]);
    let id = parked[0]["id"].as_i64().unwrap();
    assert_eq!(http.delete(format!("{base}/api/event/parked/{id}")).send().await.unwrap().status(), 200);
}

/// Issue 61, item 3: a message larger than an event handler reads (1 MiB) is parked unread,
/// naming its size, instead of being parsed and planned (a 3 MB one took 1.9 GB); the messages
/// after it start their workflows as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_parked_unread_and_the_next_ones_run() {
    let Some(b) = running_brokers() else { return };
    let (dir, event, _serve, base) = one_queue(&b, "vigil-big").await;
    let db = dir.path().join("v.db");
    let publisher = Publisher::new(b.clone());
    let big = json!({"order": 7, "items": vec![json!({"sku": "x".repeat(20)}); 100_000]}).to_string();
    assert!(big.len() > 3_000_000, "{}", big.len());
    publisher.publish(&event, &Message { id: "big-1".into(), payload: big.into_bytes() }).await.unwrap();
    publisher.publish(&event, &Message { id: "small-1".into(), payload: br#"{"order": 8}"#.to_vec() }).await.unwrap();
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    assert_eq!(until_ships(&store, 1).await, [(8, event.clone())], "the next message ran, the big one did not");
    // Parked once its batch settles, which may be after the small message's start committed.
    let parked = until_parked(&base).await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0]["messageId"], json!("big-1"));
    let error = parked[0]["error"].as_str().unwrap();
    assert!(error.contains("bytes; an event handler reads at most 1048576"), "{error}");
}

/// A message that completes a task its workflow has not reached yet (as an EVENT task's message
/// can arrive before the step after it commits) is delivered again until the task is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_a_task_not_yet_scheduled_completes_it_once_it_is() {
    let Some(b) = running_brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let event = format!("amqp_queue:{}", unique("vigil-early"));
    let config = config(dir.path(), &[]);
    let steps = json!({"name": "steps", "tasks": [
        {"name": "first", "taskReferenceName": "first", "type": "WAIT", "inputParameters": {"duration": "2 seconds"}},
        {"name": "later", "taskReferenceName": "later", "type": "WAIT"}]});
    std::fs::write(config.join("workflows/steps.json"), steps.to_string()).unwrap();
    let handler = json!({"name": "completes_later", "event": event, "active": true, "actions": [{"action": "complete_task",
        "complete_task": {"workflowId": "${id}", "taskRefName": "later", "output": {"by": "message"}}}]});
    std::fs::write(config.join("event_handlers/later.json"), handler.to_string()).unwrap();
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &b, port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let http = vigil_connectors::http_client();
    let id: String =
        http.post(format!("{base}/api/workflow/steps")).json(&json!({})).send().await.unwrap().text().await.unwrap();
    let message = Message { id: format!("early-{id}"), payload: json!({"id": id}).to_string().into_bytes() };
    Publisher::new(b.clone()).publish(&event, &message).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let wf = loop {
        let wf: Value = http.get(format!("{base}/api/workflow/{id}")).send().await.unwrap().json().await.unwrap();
        if wf["status"] == "COMPLETED" {
            break wf;
        }
        assert!(Instant::now() < deadline, "the message never completed `later`: {wf}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(wf["tasks"][1]["outputData"]["by"], json!("message"), "{wf}");
    let parked: Vec<Value> = http.get(format!("{base}/api/event/parked")).send().await.unwrap().json().await.unwrap();
    assert!(parked.is_empty(), "{parked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductors_event_api_registers_lists_and_removes_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &Brokers::default(), port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let http = vigil_connectors::http_client();
    // As TestHarnessAbstractEndToEndTest.testEventHandler registers one.
    let event = "conductor:test_workflow:complete_task_with_event";
    let handler = json!({"name": "test_complete_task_event", "event": event, "active": true,
        "actions": [{"action": "complete_task", "complete_task": {"taskRefName": "test_task", "workflowId": "test_id", "output": {}}}]});
    assert_eq!(http.post(format!("{base}/api/event")).json(&handler).send().await.unwrap().status(), 200);
    let again = http.post(format!("{base}/api/event")).json(&handler).send().await.unwrap();
    assert_eq!(again.status(), 409);
    let listed: Vec<Value> =
        http.get(format!("{base}/api/event/{event}?activeOnly=true")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], json!("test_complete_task_event"));
    let mut inactive = handler.clone();
    inactive["active"] = json!(false);
    assert_eq!(http.put(format!("{base}/api/event")).json(&inactive).send().await.unwrap().status(), 200);
    let active: Vec<Value> = http.get(format!("{base}/api/event/{event}")).send().await.unwrap().json().await.unwrap();
    assert!(active.is_empty(), "activeOnly is true by default: {active:?}");
    let mut unknown = handler.clone();
    unknown["name"] = json!("nope");
    assert_eq!(http.put(format!("{base}/api/event")).json(&unknown).send().await.unwrap().status(), 404);
    let bad = json!({"name": "bad", "event": "kafka:x", "actions": []});
    let refused = http.post(format!("{base}/api/event")).json(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("event: sink `kafka:x` names no known type") && text.contains("actions"), "{text}");
    assert_eq!(http.delete(format!("{base}/api/event/test_complete_task_event")).send().await.unwrap().status(), 200);
    assert_eq!(http.delete(format!("{base}/api/event/test_complete_task_event")).send().await.unwrap().status(), 404);
    let all: Vec<Value> = http.get(format!("{base}/api/event")).send().await.unwrap().json().await.unwrap();
    assert!(all.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_task_on_vigils_own_queue_is_completed_by_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    // Conductor's pattern: an EVENT task waits (asyncComplete) until a handler of its queue
    // completes it with what the message carried.
    let flow = json!({"name": "approve", "tasks": [
        {"name": "ask", "taskReferenceName": "ask", "type": "EVENT", "sink": "conductor", "asyncComplete": true,
         "inputParameters": {"amount": "${workflow.input.amount}"}},
        {"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE", "inputParameters": {"got": "${ask.output.decision}"}}
    ]});
    std::fs::write(config.join("workflows/approve.json"), flow.to_string()).unwrap();
    let handler = json!({"name": "auto_approve", "event": "conductor:approve:ask", "active": true,
        "condition": "$.amount < 100",
        "actions": [{"action": "complete_task", "complete_task": {"workflowId": "${workflowInstanceId}", "taskRefName": "ask",
                     "output": {"decision": "approved ${amount}"}}}]});
    std::fs::write(config.join("event_handlers/approve.json"), handler.to_string()).unwrap();
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &Brokers::default(), port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let http = vigil_connectors::http_client();
    let small = http.post(format!("{base}/api/workflow/approve")).json(&json!({"amount": 40})).send().await.unwrap();
    let small = small.text().await.unwrap().trim_matches('"').to_string();
    let big = http.post(format!("{base}/api/workflow/approve")).json(&json!({"amount": 400})).send().await.unwrap();
    let big = big.text().await.unwrap().trim_matches('"').to_string();
    let done = until_workflow(&http, &base, &small, |wf| wf["status"] == "COMPLETED").await;
    assert_eq!(done["variables"]["got"], json!("approved 40"));
    let ask = &done["tasks"][0];
    assert_eq!(ask["outputData"]["conductor.event.name"], json!("conductor:approve:ask"));
    assert_eq!(ask["outputData"]["conductor.event.messageId"], json!(ask["taskId"]));
    // The condition is false for the big one: its task still waits.
    let waiting: Value = http.get(format!("{base}/api/workflow/{big}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (waiting["status"].clone(), waiting["tasks"][0]["status"].clone()),
        (json!("RUNNING"), json!("IN_PROGRESS"))
    );
}

/// Runs a server that dies at `point` once messages arrive, restarts it, and checks each
/// message started its workflow once.
async fn crash_then_once(point: &str) {
    let Some(b) = running_brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = vec![format!("amqp_queue:{}", unique("vigil-crash")), format!("redis:{}", unique("vigil-crash"))];
    let recorder = Recorder::start(|_| Reply::json(json!({}))).await;
    let config = config_telling(dir.path(), &events, Some(&recorder.url));
    let db = dir.path().join("v.db");
    let port = free_port();
    let mut armed = serve_armed(&db, &config, &b, port, Some(point));
    wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    // The MQTT session must exist before its messages are sent, and nothing tells when it does.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let publisher = Publisher::new(b.clone());
    for (i, event) in events.iter().enumerate() {
        let message = Message { id: format!("m{i}"), payload: json!({"order": i + 1}).to_string().into_bytes() };
        publisher.publish(event, &message).await.unwrap();
    }
    aborted_at(&mut armed, point).await;
    let _again = KillOnDrop(serve_armed(&db, &config, &b, free_port(), None));
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let got = until_ships(&store, 2).await;
    let expected: Vec<(i64, String)> = events.iter().enumerate().map(|(i, e)| (i as i64 + 1, e.clone())).collect();
    assert_eq!(got, expected, "{point}: every message started its workflow once");
    let started = |r: &&Received| r.body["type"] == "io.vigil.workflow.started";
    let deadline = Instant::now() + Duration::from_secs(30);
    while recorder.to("/status").iter().filter(started).count() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let told = recorder.to("/status").iter().filter(started).count();
    stays(Duration::from_secs(1), "no workflow is told started again", async || {
        recorder.to("/status").iter().filter(started).count() == told
    })
    .await;
    let mut ids: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> = Default::default();
    for r in recorder.to("/status").iter().filter(started) {
        let order = r.body["data"]["input"]["order"].as_i64().unwrap();
        ids.entry(order).or_default().insert(r.body["id"].as_str().unwrap().to_string());
    }
    let starts: Vec<(i64, usize)> = ids.iter().map(|(o, s)| (*o, s.len())).collect();
    assert_eq!(starts, [(1, 1), (2, 1)], "{point}: each message's workflow started once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_taking_and_committing_delivers_again_and_starts_once() {
    crash_then_once("consume.before-commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_committing_and_acknowledging_delivers_again_and_starts_once() {
    crash_then_once("consume.before-ack").await;
}
