//! EVENT tasks end to end against the real brokers (RabbitMQ, NATS JetStream, Mosquitto, Redis;
//! each skipped with a message when not running, unless `VIGIL_REQUIRE_SERVICES=1`), and the
//! outbox promise at the crash points around publishing: a crash after the instance's commit and
//! before the broker saw the message publishes it once after the restart; a crash after the
//! broker accepted it and before the task's end was committed publishes it again with the same
//! id, which JetStream drops and an AMQP consumer can de-duplicate by.

use crate::support;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use lapin::options::BasicGetOptions;
use serde_json::{Value, json};
use support::*;
use vigil_core::instance::WorkflowStatus;

/// Every broker's URL, or `None` (skipped) when one is not running.
fn brokers() -> Option<[String; 4]> {
    Some([
        broker_url("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?,
        broker_url("NATS", "VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222")?,
        broker_url("Mosquitto", "VIGIL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")?,
        broker_url("Redis", "VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379")?,
    ])
}

/// `--amqp-url ... --redis-url ...` for `urls`.
fn broker_flags(urls: &[String; 4]) -> Vec<String> {
    ["--amqp-url", "--nats-url", "--mqtt-url", "--redis-url"]
        .iter()
        .zip(urls)
        .flat_map(|(flag, url)| [flag.to_string(), url.clone()])
        .collect()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn event(reference: &str, sink: &str) -> Value {
    json!({"name": reference, "taskReferenceName": reference, "type": "EVENT", "sink": sink,
           "inputParameters": {"order": "${workflow.input.order}", "from": reference}})
}

/// Writes workflow `announce` of `tasks` (then a SET_VARIABLE) into `dir/config`.
fn config(dir: &Path, tasks: Vec<Value>) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let mut tasks = tasks;
    tasks.push(json!({"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE", "inputParameters": {"done": true}}));
    std::fs::write(config.join("workflows/announce.json"), json!({"name": "announce", "tasks": tasks}).to_string())
        .unwrap();
    config
}

async fn amqp_channel(url: &str) -> lapin::Channel {
    let properties = lapin::ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let connection = lapin::Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    std::mem::forget(connection);
    channel
}

/// Every message in AMQP queue `queue` (taken off it): its id and its body.
async fn drain_amqp(url: &str, queue: &str) -> Vec<(String, Value)> {
    let channel = amqp_channel(url).await;
    let mut got = Vec::new();
    while let Some(m) = channel.basic_get(queue, BasicGetOptions { no_ack: true }).await.unwrap() {
        let id = m.delivery.properties.message_id().as_ref().map(|s| s.to_string()).unwrap_or_default();
        got.push((id, serde_json::from_slice(&m.delivery.data).unwrap()));
    }
    let _ = channel.queue_delete(queue, Default::default()).await;
    got
}

/// How many messages JetStream's stream for `subject` holds; the stream is deleted.
async fn jetstream_count(url: &str, subject: &str) -> u64 {
    let client = vigil_connectors::sinks::nats::NatsClient::connect(url).await.unwrap();
    let stream = subject.replace('.', "_").to_uppercase();
    let info = client.api(&format!("STREAM.INFO.{stream}"), &json!({})).await.unwrap();
    client.api(&format!("STREAM.DELETE.{stream}"), &json!({})).await.unwrap();
    info["state"]["messages"].as_u64().unwrap_or_else(|| panic!("no stream {stream}: {info}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_tasks_publish_to_each_broker_and_the_workflow_goes_on() {
    let Some(urls) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (queue, subject, topic, stream) = (
        unique("vigil-ev-q"),
        unique("vigil.ev"),
        format!("vigil/ev/{}", uuid::Uuid::new_v4().simple()),
        unique("vigil-ev-s"),
    );
    let config = config(
        dir.path(),
        vec![
            event("to_rabbit", &format!("amqp_queue:{queue}")),
            event("to_jetstream", &format!("jsm:{subject}")),
            event("to_nats", "nats:vigil.ev.core"),
            event("to_mqtt", &format!("mqtt:{topic}?retain=true")),
            event("to_redis", &format!("redis:{stream}")),
        ],
    );
    let db = dir.path().join("v.db");
    let mut args = vec!["run".to_string(), "announce".into(), "--config".into(), config.display().to_string()];
    args.extend(["--input".to_string(), r#"{"order": 42}"#.into()]);
    args.extend(broker_flags(&urls));
    let out = run_async(db.clone(), args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let instance = instances_of(&store, "announce").await.remove(0);
    let full = store.instance(&instance.id).await.unwrap().unwrap();
    let id_of = |reference: &str| {
        let t = full.tasks.iter().find(|t| t.reference_task_name == reference).unwrap();
        format!("{}~{}", full.workflow_id, t.task_id)
    };
    let rabbit = drain_amqp(&urls[0], &queue).await;
    assert_eq!(rabbit.len(), 1);
    assert_eq!(rabbit[0].0, id_of("to_rabbit"));
    let body = &rabbit[0].1;
    assert_eq!((body["order"].clone(), body["from"].clone()), (json!(42), json!("to_rabbit")));
    assert_eq!(body["workflowInstanceId"], json!(full.workflow_id));
    assert_eq!(body["event_produced"], json!(format!("amqp_queue:{queue}")));
    assert_eq!(jetstream_count(&urls[1], &subject).await, 1);

    let redis = vigil_connectors::sinks::redis::RedisClient::connect(&urls[3]).await.unwrap();
    let reply = redis.call(&[b"XRANGE", stream.as_bytes(), b"-", b"+"]).await.unwrap();
    redis.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
    use vigil_connectors::sinks::redis::resp::Reply;
    let Reply::Array(Some(entries)) = reply else { panic!("no entries: {reply:?}") };
    let Some(Reply::Array(Some(entry))) = entries.first() else { panic!("no entry") };
    let Some(Reply::Array(Some(fields))) = entry.get(1) else { panic!("no fields") };
    let texts: Vec<String> = fields.iter().filter_map(Reply::text).collect();
    assert_eq!(texts[..2], ["id".to_string(), id_of("to_redis")]);
    assert_eq!(serde_json::from_str::<Value>(&texts[3]).unwrap()["from"], json!("to_redis"));

    // The retained MQTT message reaches a subscriber that comes later.
    let (id, payload) = retained(&urls[2], &topic).await;
    assert_eq!(id, id_of("to_mqtt"));
    assert_eq!(payload["from"], json!("to_mqtt"));
    let output = full.tasks.iter().find(|t| t.reference_task_name == "to_nats").unwrap();
    assert_eq!(output.output_data["event_produced"], json!("nats:vigil.ev.core"));
}

/// The retained message of `topic` (cleared after): its message id and body.
async fn retained(url: &str, topic: &str) -> (String, Value) {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event};
    let options = vigil_connectors::sinks::mqtt::options(url, &unique("vigil-test"), true).unwrap();
    let (client, mut events) = AsyncClient::new(options, 16);
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = events.poll().await.unwrap() {
                return p;
            }
        }
    })
    .await
    .expect("the retained message");
    client.publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new()).await.unwrap();
    let id = got.properties.unwrap().user_properties.into_iter().find(|(k, _)| k == "message-id").unwrap().1;
    (id, serde_json::from_slice(&got.payload).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_broker_fails_the_task_with_the_flag_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), vec![event("to_rabbit", "amqp_queue:orders")]);
    let db = dir.path().join("v.db");
    let args = vec!["run".to_string(), "announce".into(), "--config".into(), config.display().to_string()];
    let out = run_async(db, args).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no AMQP broker is set: start vigil with --amqp-url (or VIGIL_AMQP_URL)"), "{stderr}");
}

/// `vigil serve` on `config` with the brokers, armed to crash at `point` (or not).
fn serve_with(db: &Path, config: &Path, urls: &[String; 4], point: Option<&str>) -> Child {
    let mut cmd = vigil(db);
    cmd.args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(broker_flags(urls))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(point) = point {
        cmd.env("VIGIL_CRASH_AT", point);
    }
    cmd.spawn().unwrap()
}

/// A schedule that fires `announce` once, a few seconds from now.
fn once(config: &Path) {
    std::fs::create_dir_all(config.join("schedules")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now / 1000 + 3) * 1000;
    let schedule = json!({"name": "once", "cronExpression": "* * * * * *", "zoneId": "UTC",
        "scheduleStartTime": start, "scheduleEndTime": start + 500, "runCatchupScheduleInstances": true,
        "startWorkflowRequest": {"name": "announce", "input": {"order": 7}}});
    std::fs::write(config.join("schedules/once.json"), schedule.to_string()).unwrap();
}

/// Runs `announce` under a server that crashes at `point`, restarts it unarmed, and waits for
/// the instance to complete; the instance, and the message id its EVENT task `reference` used.
async fn crash_and_finish(dir: &Path, config: &Path, urls: &[String; 4], point: &str) -> (String, String) {
    let db = dir.join("v.db");
    let mut armed = serve_with(&db, config, urls, Some(point));
    aborted_at(&mut armed, point).await;
    let restarted = KillOnDrop(serve_with(&db, config, urls, None));
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        if let Some(i) = instances_of(&store, "announce").await.first()
            && let Some(full) = store.instance(&i.id).await.unwrap()
            && full.status.is_terminal()
        {
            break full;
        }
        assert!(Instant::now() < deadline, "the instance never ended after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(restarted);
    assert_eq!(done.status, WorkflowStatus::Completed, "{:?}", done.reason_for_incompletion);
    let task = done.tasks.iter().find(|t| t.task_type == "EVENT").unwrap();
    (done.workflow_id.clone(), format!("{}~{}", done.workflow_id, task.task_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_publish_publishes_the_message_once_after_the_restart() {
    let Some(urls) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let queue = unique("vigil-crash-q");
    let config = config(dir.path(), vec![event("to_rabbit", &format!("amqp_queue:{queue}"))]);
    once(&config);
    let (_, id) = crash_and_finish(dir.path(), &config, &urls, "publish.before").await;
    let got = drain_amqp(&urls[0], &queue).await;
    assert_eq!(got.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(), [id.as_str()], "published once, with its id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_broker_accepted_publishes_again_with_the_same_id() {
    let Some(urls) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let queue = unique("vigil-crash-q");
    let config = config(dir.path(), vec![event("to_rabbit", &format!("amqp_queue:{queue}"))]);
    once(&config);
    // RabbitMQ accepted the message, then vigil died before recording it.
    let (instance, id) = crash_and_finish(dir.path(), &config, &urls, "publish.after").await;
    let got = drain_amqp(&urls[0], &queue).await;
    assert_eq!(got.len(), 2, "published again after the restart: {got:?}");
    assert!(got.iter().all(|(i, _)| *i == id), "with the same id, for the consumer to drop the repeat: {got:?}");
    assert!(id.starts_with(&format!("{instance}~")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_drops_the_message_published_again_after_a_crash() {
    let Some(urls) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let subject = unique("vigil.crash");
    let config = config(dir.path(), vec![event("to_jetstream", &format!("jsm:{subject}"))]);
    once(&config);
    crash_and_finish(dir.path(), &config, &urls, "publish.after").await;
    assert_eq!(jetstream_count(&urls[1], &subject).await, 1, "the repeat, with the same Nats-Msg-Id, was stored");
}
