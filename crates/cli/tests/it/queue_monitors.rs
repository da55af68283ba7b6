//! Queues in monitors, end to end against the real brokers (RabbitMQ, NATS JetStream, Mosquitto,
//! Redis; skipped with a message when one is not running, unless `VIGIL_REQUIRE_SERVICES=1`):
//! - heartbeats fed by queues: a message is a ping of the heartbeat that listens to its queue (of
//!   those whose condition holds, on a shared queue), a message that reports a failure pages at
//!   once, and a message is one ping however often it is delivered, also when vigil dies between
//!   taking it and recording it, or between recording and acknowledging it;
//! - the `queue` source: a backlog past its threshold pages, and resolves once drained.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};
use vigil_store::PingStore;

use serde_json::{Value, json};
use support::*;
use vigil_connectors::sinks::{Message, Publisher};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A config with a webhook notifier `pager` (to `hooks`) and one heartbeat monitor per
/// `(name, queue, condition)`, expected hourly.
fn config(dir: &Path, hooks: &str, heartbeats: &[(&str, &str, Option<&str>)]) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {hooks}/pager\n"))
        .unwrap();
    for (name, queue, condition) in heartbeats {
        let mut heartbeat = json!({"grace": "1h", "queue": queue});
        if let Some(c) = condition {
            heartbeat["condition"] = json!(c);
        }
        let monitor = json!({"name": name, "every": "1h", "heartbeat": heartbeat, "notify": ["pager"],
            "repeatInterval": "never"});
        std::fs::write(config.join(format!("monitors/{name}.json")), monitor.to_string()).unwrap();
    }
    config
}

async fn get(base: &str, path: &str) -> Value {
    vigil_connectors::http_client().get(format!("{base}{path}")).send().await.unwrap().json().await.unwrap()
}

/// Waits until heartbeat `name` has at least `n` pings; then its ping log, newest first.
async fn pings(base: &str, name: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = get(base, &format!("/api/v1/monitors/{name}/pings")).await;
        let items = log["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        assert!(Instant::now() < deadline, "{name}: {} of {n} pings: {log}", items.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn message(id: &str, body: Value) -> Message {
    Message { id: id.to_string(), payload: body.to_string().into_bytes() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broker_feeds_its_heartbeat_and_a_failure_message_pages() {
    let Some(b) = running_brokers() else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let amqp = format!("amqp_queue:{}", unique("vigil-hb"));
    let jetstream = format!("jsm:{}", unique("vigil.hb"));
    let mqtt = format!("mqtt:vigil/hb/{}", uuid::Uuid::new_v4().simple());
    let redis = format!("redis:{}", unique("vigil-hb"));
    let jobs = format!("jsm:{}", unique("vigil.jobs"));
    let config = config(
        dir.path(),
        &hooks.url,
        &[
            ("rabbit", &amqp, None),
            ("jetstream", &jetstream, None),
            ("device", &mqtt, None),
            ("redis", &redis, None),
            ("backup", &jobs, Some("$.job == 'backup'")),
            ("etl", &jobs, Some("$.job == 'etl'")),
        ],
    );
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &b, port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let shown = get(&base, "/api/v1/monitors/device").await;
    assert_eq!(shown["pingQueue"], json!(mqtt), "{shown}");
    assert_eq!(shown["status"], json!("new"), "{shown}");
    // The MQTT session must exist before its messages are sent; the others keep them anyway.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let publisher = Publisher::new(b.clone());
    for (queue, id) in [(&amqp, "a1"), (&jetstream, "j1"), (&mqtt, "m1"), (&redis, "r1")] {
        let alive = message(id, json!({"uptime": 12}));
        publisher.publish(queue, &alive).await.unwrap();
        // The producer sends it again (a retry): still one ping.
        publisher.publish(queue, &alive).await.unwrap();
    }
    publisher.publish(&jobs, &message("backup-1", json!({"job": "backup", "status": "success"}))).await.unwrap();
    for (name, queue, id) in [("rabbit", &amqp, "a1"), ("jetstream", &jetstream, "j1"), ("redis", &redis, "r1")] {
        let log = pings(&base, name, 1).await;
        assert_eq!((log[0]["kind"].clone(), log[0]["queue"].clone()), (json!("success"), json!(queue)), "{name}");
        assert_eq!(log[0]["messageId"], json!(id), "{name}");
        assert_eq!(log[0]["body"], json!(r#"{"uptime":12}"#), "{name}: the body as sent");
    }
    pings(&base, "device", 1).await;
    let backup = pings(&base, "backup", 1).await;
    assert_eq!(backup[0]["messageId"], json!("backup-1"));
    for name in ["rabbit", "jetstream", "device", "redis", "backup"] {
        assert_eq!(get(&base, &format!("/api/v1/monitors/{name}")).await["status"], json!("up"), "{name}");
    }
    for name in ["rabbit", "jetstream", "redis"] {
        let once = async || pings(&base, name, 1).await.len() == 1;
        stays(Duration::from_millis(500), &format!("{name}: a message sent twice is one ping"), once).await;
    }
    assert_eq!(pings(&base, "etl", 0).await.len(), 0, "the condition keeps the backup's message from etl");
    assert!(hooks.to("/pager").is_empty(), "all on time: {:?}", hooks.to("/pager"));

    // A device that reports a failure pages at once.
    publisher.publish(&mqtt, &message("m2", json!({"status": "fail", "exitCode": 3}))).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !hooks.to("/pager").iter().any(|r| r.body["summary"].as_str().unwrap_or("").contains("device")) {
        assert!(Instant::now() < deadline, "no page for the device: {:?}", hooks.to("/pager"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = pings(&base, "device", 2).await;
    assert_eq!((log[0]["kind"].clone(), log[0]["exitStatus"].clone()), (json!("fail"), json!(3)));
    assert_eq!(get(&base, "/api/v1/monitors/device").await["status"], json!("down"));
}

/// Runs a server that dies at `point` once a heartbeat's message arrives, restarts it, and
/// checks the message was delivered again, acknowledged, and is one ping.
async fn crash_then_one_ping(point: &str) {
    let Some(b) = running_brokers() else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let queue_name = unique("vigil-hb-crash");
    let queue = format!("amqp_queue:{queue_name}");
    let config = config(dir.path(), &hooks.url, &[("device", &queue, None)]);
    let db = dir.path().join("v.db");
    let port = free_port();
    let mut armed = serve_armed(&db, &config, &b, port, Some(point));
    wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    let publisher = Publisher::new(b.clone());
    publisher.publish(&queue, &message("beat-1", json!({"status": "ok"}))).await.unwrap();
    aborted_at(&mut armed, point).await;

    let port = free_port();
    let again = serve_armed(&db, &config, &b, port, None);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let log = pings(&base, "device", 1).await;
    assert_eq!(log[0]["messageId"], json!("beat-1"));
    // Delivered again to this server, which takes it off the queue.
    let amqp = b.amqp.clone().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while waiting_in(&amqp, &queue_name).await > 0 {
        assert!(Instant::now() < deadline, "{point}: the message was never delivered again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let once = async || pings(&base, "device", 1).await.len() == 1;
    stays(Duration::from_secs(1), &format!("{point}: one ping for one message"), once).await;
    assert_eq!(get(&base, "/api/v1/monitors/device").await["status"], json!("up"));
    // Stopped, the server leaves nothing unacknowledged: the message was acknowledged.
    stop(again);
    assert_eq!(waiting_in(&amqp, &queue_name).await, 0, "{point}: acknowledged");
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();

    assert_eq!(store.pings("device", 10).await.unwrap().len(), 1, "{point}: one ping stored");
}

/// Messages ready in AMQP queue `queue` (a passive declaration does not count those delivered
/// and not yet acknowledged).
async fn waiting_in(url: &str, queue: &str) -> u32 {
    let properties = lapin::ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let connection = lapin::Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let options = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
    let declared = channel.queue_declare(queue, options, Default::default()).await.unwrap();
    let _ = connection.close(0, "").await;
    declared.message_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_taking_and_recording_a_message_delivers_it_again_as_one_ping() {
    crash_then_one_ping("consume.before-commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_recording_and_acknowledging_a_message_is_still_one_ping() {
    crash_then_one_ping("consume.before-ack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_backlog_past_its_threshold_pages_and_resolves_once_drained() {
    let Some(b) = running_brokers() else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let stream = unique("vigil-backlog");
    let queue = format!("redis:{stream}");
    let config = config(dir.path(), &hooks.url, &[]);
    let monitor = json!({"name": "backlog", "every": "1s", "critical": "> 3", "notify": ["pager"],
        "source": {"queue": {"queue": queue, "url": b.redis.clone().unwrap()}}});
    std::fs::write(config.join("monitors/backlog.json"), monitor.to_string()).unwrap();
    let db = dir.path().join("v.db");
    let port = free_port();
    let _serve = KillOnDrop(serve_armed(&db, &config, &b, port, None));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;

    let publisher = Publisher::new(b.clone());
    for n in 0..5 {
        publisher.publish(&queue, &message(&format!("job-{n}"), json!({"n": n}))).await.unwrap();
    }
    let notice = |kind: &'static str| {
        let hooks = &hooks;
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let seen = hooks.to("/pager");
                if let Some(n) = seen.iter().find(|r| r.body["notice"] == json!(kind)) {
                    return n.body.clone();
                }
                assert!(Instant::now() < deadline, "no {kind}: {seen:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let paged = notice("trigger").await;
    assert!(paged["summary"].as_str().unwrap().contains("backlog is critical at 5"), "{paged}");
    let shown = get(&base, "/api/v1/monitors/backlog?series=true").await;
    assert_eq!(shown["source"], json!("queue"), "{shown}");

    let redis = vigil_connectors::sinks::redis::RedisClient::connect(b.redis.as_deref().unwrap()).await.unwrap();
    redis.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
    let resolved = notice("resolve").await;
    assert!(resolved["summary"].as_str().unwrap().contains("backlog"), "{resolved}");
}
