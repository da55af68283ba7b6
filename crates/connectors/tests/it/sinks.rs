//! Each sink against its real broker: RabbitMQ (127.0.0.1:5672), NATS with JetStream (4222),
//! Mosquitto (1883) and Redis (6379), or the URLs in `VIGIL_TEST_AMQP_URL`, `..._NATS_URL`,
//! `..._MQTT_URL`, `..._REDIS_URL`. A broker that is not running skips its test with a message,
//! unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use std::time::Duration;

use lapin::options::BasicGetOptions;
use vigil_connectors::sinks::redis::resp::Reply;
use vigil_connectors::sinks::{Brokers, Message, PublishError, Publisher};

/// The broker's URL when it answers on its port; `None` (after saying so) when it does not.
fn broker(name: &str, env: &str, default: &str) -> Option<String> {
    let url = std::env::var(env).unwrap_or_else(|_| default.to_string());
    let parsed = reqwest::Url::parse(&url).expect("a broker URL");
    let addr = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let up = std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_ok();
    if !up {
        let msg = format!("{name} is not running at {addr} (set {env})");
        assert!(
            std::env::var("VIGIL_REQUIRE_SERVICES").map(|v| v != "1").unwrap_or(true),
            "VIGIL_REQUIRE_SERVICES=1 but {msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    Some(url)
}

fn amqp() -> Option<String> {
    broker("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
}
fn nats() -> Option<String> {
    broker("NATS", "VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222")
}
fn mqtt() -> Option<String> {
    broker("Mosquitto", "VIGIL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
}
fn redis() -> Option<String> {
    broker("Redis", "VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn message(id: &str, body: serde_json::Value) -> Message {
    Message { id: id.into(), payload: body.to_string().into_bytes() }
}

async fn amqp_connection(url: &str) -> lapin::Channel {
    let properties = lapin::ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let connection = lapin::Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    // The connection closes when dropped; the channel keeps it.
    std::mem::forget(connection);
    channel
}

#[tokio::test]
async fn amqp_queue_and_exchange_sinks_deliver_with_conductors_properties() {
    let Some(url) = amqp() else { return };
    let publisher = Publisher::new(Brokers { amqp: Some(url.clone()), ..Brokers::default() });
    let queue = unique("vigil-test-q");
    publisher
        .publish(&format!("amqp_queue:{queue}?autoDelete=true"), &message("wf~1", serde_json::json!({"a": 1})))
        .await
        .unwrap();
    let exchange = unique("vigil-test-x");
    let bound = unique("vigil-test-bound");
    let sink =
        format!("amqp_exchange:{exchange}?exchangeType=direct&routingKey=rk&bindQueueName={bound}&autoDelete=true");
    publisher.publish(&sink, &message("wf~2", serde_json::json!({"b": 2}))).await.unwrap();

    let channel = amqp_connection(&url).await;
    let got =
        channel.basic_get(&queue, BasicGetOptions { no_ack: true }).await.unwrap().expect("a message in the queue");
    assert_eq!(got.delivery.data, br#"{"a":1}"#);
    let props = &got.delivery.properties;
    assert_eq!(props.message_id().as_ref().map(|s| s.as_str()), Some("wf~1"));
    assert_eq!(props.correlation_id().as_ref().map(|s| s.as_str()), Some("wf~1"));
    assert_eq!(props.content_type().as_ref().map(|s| s.as_str()), Some("application/json"));
    assert_eq!(*props.delivery_mode(), Some(2));
    let via =
        channel.basic_get(&bound, BasicGetOptions { no_ack: true }).await.unwrap().expect("routed to the bound queue");
    assert_eq!(via.delivery.data, br#"{"b":2}"#);
    assert_eq!(via.delivery.routing_key.as_str(), "rk");
    for q in [&queue, &bound] {
        let _ = channel.queue_delete(q, Default::default()).await;
    }
    let _ = channel.exchange_delete(&exchange, Default::default()).await;
}

#[tokio::test]
async fn a_refused_declaration_fails_the_publish_and_the_next_one_reconnects() {
    let Some(url) = amqp() else { return };
    let publisher = Publisher::new(Brokers { amqp: Some(url.clone()), ..Brokers::default() });
    let queue = unique("vigil-test-q");
    publisher.publish(&format!("amqp_queue:{queue}"), &message("m1", serde_json::json!({}))).await.unwrap();
    // A queue that exists with other settings: RabbitMQ refuses the declaration (406) and
    // closes the channel.
    let channel = amqp_connection(&url).await;
    channel.queue_declare(&format!("{queue}-x"), Default::default(), Default::default()).await.unwrap();
    let clash =
        publisher.publish(&format!("amqp_queue:{queue}-x?durable=true"), &message("m3", serde_json::json!({}))).await;
    let err = clash.expect_err("a queue declared non-durable is refused as durable").to_string();
    assert!(err.contains("PRECONDITION_FAILED") || err.contains("406") || err.contains("inequivalent"), "{err}");
    assert!(!err.contains("guest:guest"), "the URL's password leaked: {err}");
    publisher.publish(&format!("amqp_queue:{queue}"), &message("m4", serde_json::json!({}))).await.unwrap();
    for q in [queue.clone(), format!("{queue}-x")] {
        let _ = channel.queue_delete(&q, Default::default()).await;
    }
}

#[tokio::test]
async fn nats_core_delivers_the_message_id_as_a_header() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.test");
    let listener = vigil_connectors::sinks::nats::client::Connection::connect(&url).await.unwrap();
    let mut rx = listener.subscribe(&subject, None).await.unwrap();
    // The subscription is in place once the server answered a PING sent after it.
    listener.publish("vigil.nobody", &[], b"").await.unwrap();
    let publisher = Publisher::new(Brokers { nats: Some(url), ..Brokers::default() });
    publisher.publish(&format!("nats:{subject}"), &message("wf~7", serde_json::json!({"n": 7}))).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
    assert_eq!(got.payload, br#"{"n":7}"#);
    assert_eq!(got.header("Nats-Msg-Id"), Some("wf~7"));
}

#[tokio::test]
async fn jetstream_creates_the_stream_and_drops_a_repeated_message_id() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.js");
    let publisher = Publisher::new(Brokers { nats: Some(url.clone()), ..Brokers::default() });
    let sink = format!("jsm:{subject}");
    publisher.publish(&sink, &message("wf~1", serde_json::json!({"x": 1}))).await.unwrap();
    publisher.publish(&sink, &message("wf~1", serde_json::json!({"x": 1}))).await.unwrap();
    publisher.publish(&sink, &message("wf~2", serde_json::json!({"x": 2}))).await.unwrap();
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&url).await.unwrap();
    let stream = subject.replace('.', "_").to_uppercase();
    let info = client.api(&format!("STREAM.INFO.{stream}"), &serde_json::json!({})).await.unwrap();
    assert_eq!(info["state"]["messages"], 2, "the repeat was stored: {info}");
    client.api(&format!("STREAM.DELETE.{stream}"), &serde_json::json!({})).await.unwrap();
}

#[tokio::test]
async fn mqtt_publishes_at_qos_1_with_the_message_id_as_a_user_property() {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event};
    let Some(url) = mqtt() else { return };
    let topic = format!("vigil/test/{}", uuid::Uuid::new_v4().simple());
    let options = vigil_connectors::sinks::mqtt::options(&url, &unique("vigil-test-sub"), true).unwrap();
    let (client, mut events) = AsyncClient::new(options, 16);
    client.subscribe(topic.clone(), QoS::AtLeastOnce).await.unwrap();
    let subscribed = async {
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = events.poll().await.unwrap() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), subscribed).await.unwrap();
    let publisher = Publisher::new(Brokers { mqtt: Some(url), ..Brokers::default() });
    publisher.publish(&format!("mqtt:{topic}"), &message("dev~9", serde_json::json!({"beat": true}))).await.unwrap();
    let received = async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = events.poll().await.unwrap() {
                return p;
            }
        }
    };
    let p = tokio::time::timeout(Duration::from_secs(5), received).await.unwrap();
    assert_eq!(p.payload.as_ref(), br#"{"beat":true}"#);
    assert_eq!(p.qos, QoS::AtLeastOnce);
    let props = p.properties.expect("MQTT 5 properties");
    assert_eq!(props.user_properties, vec![("message-id".to_string(), "dev~9".to_string())]);
    assert_eq!(props.content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn redis_streams_get_an_entry_with_the_id_and_payload() {
    let Some(url) = redis() else { return };
    let stream = unique("vigil-test-stream");
    let publisher = Publisher::new(Brokers { redis: Some(url.clone()), ..Brokers::default() });
    for n in 0..5 {
        publisher
            .publish(&format!("redis:{stream}?maxlen=100"), &message(&format!("m{n}"), serde_json::json!({"n": n})))
            .await
            .unwrap();
    }
    let client = vigil_connectors::sinks::redis::RedisClient::connect(&url).await.unwrap();
    let Reply::Array(Some(entries)) = client.call(&[b"XRANGE", stream.as_bytes(), b"-", b"+"]).await.unwrap() else {
        panic!("XRANGE did not answer with entries")
    };
    assert_eq!(entries.len(), 5);
    let Reply::Array(Some(first)) = &entries[0] else { panic!("an entry") };
    let Reply::Array(Some(fields)) = &first[1] else { panic!("its fields") };
    let texts: Vec<String> = fields.iter().filter_map(Reply::text).collect();
    assert_eq!(texts, ["id", "m0", "payload", r#"{"n":0}"#]);
    client.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
}

#[tokio::test]
async fn a_missing_or_unreachable_broker_is_a_clear_error_without_its_password() {
    let none = Publisher::new(Brokers::default());
    let e = none.publish("nats:x", &message("m", serde_json::json!({}))).await.unwrap_err();
    assert!(e.is_permanent());
    assert_eq!(e.to_string(), "no NATS broker is set: start vigil with --nats-url (or VIGIL_NATS_URL)");
    let e = none.publish("kafka:x", &message("m", serde_json::json!({}))).await.unwrap_err();
    assert!(e.is_permanent() && e.to_string().contains("names no known type"), "{e}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = Publisher::new(Brokers {
        amqp: Some(format!("amqp://guest:s3cr3t-pw@127.0.0.1:{port}/%2f")),
        redis: Some(format!("redis://:s3cr3t-pw@127.0.0.1:{port}")),
        nats: Some(format!("nats://u:s3cr3t-pw@127.0.0.1:{port}")),
        mqtt: Some(format!("mqtt://u:s3cr3t-pw@127.0.0.1:{port}")),
    });
    for sink in ["amqp_queue:q", "redis:s", "nats:s", "mqtt:t"] {
        let e = closed.publish(sink, &message("m", serde_json::json!({}))).await.unwrap_err();
        assert!(matches!(e, PublishError::Broker(_)) && !e.is_permanent(), "{sink}: {e:?}");
        assert!(!format!("{e} {e:?}").contains("s3cr3t-pw"), "{sink} leaked the password: {e}");
    }
}

use vigil_connectors::sinks::consume::{AckToken, Consumer, Received};

/// Takes messages from `consumer` until `n` arrived (or 10 s passed). Each wait outlasts the ack
/// wait of the tests that use one, so a redelivery finds a fetch waiting for it.
async fn take(consumer: &mut Consumer, n: usize) -> Vec<Received> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        got.extend(consumer.next(n - got.len(), Duration::from_secs(3)).await.unwrap());
    }
    got
}

/// Publishes three messages to `sink` with `consumer` (named `name`) open, acknowledges the first,
/// drops the consumer with the other two unacknowledged, and opens it again: the two come again.
async fn redelivers_what_was_not_acknowledged(brokers: Brokers, sink: &str, name: &str, again_by_nak: bool) {
    let publisher = Publisher::new(brokers.clone());
    let mut first = Consumer::open(&brokers, sink, name, "node-1").await.unwrap();
    for n in 1..=3 {
        publisher.publish(sink, &message(&format!("m{n}"), serde_json::json!({"n": n}))).await.unwrap();
    }
    let got = take(&mut first, 3).await;
    let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3"], "{sink}");
    assert_eq!(got[1].payload, br#"{"n":2}"#);
    let rest: Vec<AckToken> = got[1..].iter().map(|r| r.ack.clone()).collect();
    first.settle(&[got[0].ack.clone()], if again_by_nak { &rest } else { &[] }).await.unwrap();
    drop(first);
    let mut second = Consumer::open(&brokers, sink, name, "node-1").await.unwrap();
    let again = take(&mut second, 2).await;
    let mut ids: Vec<&str> = again.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["m2", "m3"], "{sink}: the unacknowledged ones come again, the acknowledged one does not");
    assert!(again.iter().all(|r| r.deliveries >= 2), "{sink}: {again:?}");
    second.settle(&again.iter().map(|r| r.ack.clone()).collect::<Vec<_>>(), &[]).await.unwrap();
    assert!(second.next(5, Duration::from_millis(300)).await.unwrap().is_empty(), "{sink}: all acknowledged");
}

#[tokio::test]
async fn amqp_consumers_get_unacknowledged_messages_again() {
    let Some(url) = amqp() else { return };
    let queue = unique("vigil-test-consume");
    let brokers = Brokers { amqp: Some(url.clone()), ..Brokers::default() };
    redelivers_what_was_not_acknowledged(brokers, &format!("amqp_queue:{queue}"), "h1", false).await;
    let _ = amqp_connection(&url).await.queue_delete(&queue, Default::default()).await;
}

#[tokio::test]
async fn jetstream_consumers_get_nakked_messages_again() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.consume");
    let brokers = Brokers { nats: Some(url.clone()), ..Brokers::default() };
    redelivers_what_was_not_acknowledged(brokers, &format!("jsm:{subject}"), "h1", true).await;
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&url).await.unwrap();
    client
        .api(&format!("STREAM.DELETE.{}", subject.replace('.', "_").to_uppercase()), &serde_json::json!({}))
        .await
        .unwrap();
}

#[tokio::test]
async fn jetstream_delivers_again_after_the_ack_wait_when_the_consumer_died() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.consume");
    let brokers = Brokers { nats: Some(url.clone()), ..Brokers::default() };
    redelivers_what_was_not_acknowledged(brokers, &format!("jsm:{subject}?ackWait=2"), "h1", false).await;
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&url).await.unwrap();
    client
        .api(&format!("STREAM.DELETE.{}", subject.replace('.', "_").to_uppercase()), &serde_json::json!({}))
        .await
        .unwrap();
}

/// A JetStream consumer keeps one fetch open: asking again while one waits on the server does
/// not leave a second waiting beside it (one left behind by a dead consumer makes nats-server
/// before 2.11 send a redelivery as a new message with its count set back).
#[tokio::test]
async fn jetstream_consumers_keep_one_fetch_open() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.consume");
    let sink = format!("jsm:{subject}");
    let brokers = Brokers { nats: Some(url.clone()), ..Brokers::default() };
    let mut consumer = Consumer::open(&brokers, &sink, "h1", "node-1").await.unwrap();
    Publisher::new(brokers.clone()).publish(&sink, &message("m1", serde_json::json!({"n": 1}))).await.unwrap();
    let got = consumer.next(5, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["m1"]);
    let stream = subject.replace('.', "_").to_uppercase();
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&url).await.unwrap();
    // Asks again, and while that call waits, asks the server how many fetches wait.
    let (again, info) = tokio::join!(consumer.next(5, Duration::from_secs(1)), async {
        // The fetch must be waiting on the server when it is asked; nothing tells when it is.
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.api(&format!("CONSUMER.INFO.{stream}.vigil-h1"), &serde_json::json!({})).await.unwrap()
    });
    assert!(again.unwrap().is_empty());
    assert_eq!(info["num_waiting"], 1, "{info}");
    client.api(&format!("STREAM.DELETE.{stream}"), &serde_json::json!({})).await.unwrap();
}

#[tokio::test]
async fn mqtt_sessions_resume_with_unacknowledged_messages() {
    let Some(url) = mqtt() else { return };
    let topic = format!("vigil/consume/{}", uuid::Uuid::new_v4().simple());
    let brokers = Brokers { mqtt: Some(url), ..Brokers::default() };
    redelivers_what_was_not_acknowledged(brokers, &format!("mqtt:{topic}"), &unique("h"), false).await;
}

#[tokio::test]
async fn redis_consumers_take_up_their_pending_entries() {
    let Some(url) = redis() else { return };
    let stream = unique("vigil-test-consume");
    let brokers = Brokers { redis: Some(url.clone()), ..Brokers::default() };
    redelivers_what_was_not_acknowledged(brokers, &format!("redis:{stream}"), "h1", false).await;
    let client = vigil_connectors::sinks::redis::RedisClient::connect(&url).await.unwrap();
    client.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
}

#[tokio::test]
async fn core_nats_delivers_to_a_subscriber_once() {
    let Some(url) = nats() else { return };
    let subject = unique("vigil.core");
    let brokers = Brokers { nats: Some(url), ..Brokers::default() };
    let mut consumer = Consumer::open(&brokers, &format!("nats:{subject}"), "h1", "node-1").await.unwrap();
    Publisher::new(brokers).publish(&format!("nats:{subject}"), &message("c1", serde_json::json!({}))).await.unwrap();
    let got = take(&mut consumer, 1).await;
    assert_eq!(got[0].id, "c1");
}

#[tokio::test]
async fn a_queue_notifier_publishes_alerts_to_a_redis_stream() {
    use vigil_connectors::notifiers::{AlertMessage, Outcome, Severity, deliver, load};
    use vigil_core::alert::Notice;
    let Some(url) = redis() else { return };
    let stream = unique("vigil-test-alerts");
    let secret = |kind: &str, name: &str| (kind == "secrets" && name == "redis_url").then(|| url.clone());
    let doc = serde_json::json!({"name": "bus", "type": "queue", "sink": format!("redis:{stream}"), "url": "${workflow.secrets.redis_url}"});
    let notifier = load::from_value(doc, &secret).unwrap();
    let msg = AlertMessage {
        notice: Notice::Trigger,
        dedup_key: "disk/db1".into(),
        name: "disk".into(),
        severity: Severity::Critical,
        summary: "disk full".into(),
        details: serde_json::json!({}),
        labels: Default::default(),
        source: "vigil/disk".into(),
        firing_since: 10,
        at: 10,
        links: Vec::new(),
        test: false,
        rendered: Default::default(),
    };
    rustls::crypto::ring::default_provider().install_default().ok();
    let outcome = deliver(&vigil_connectors::http_client(), &notifier, &msg, 10, Duration::from_secs(5)).await;
    assert_eq!(outcome, Outcome::Delivered);
    let client = vigil_connectors::sinks::redis::RedisClient::connect(&url).await.unwrap();
    let Reply::Array(Some(entries)) = client.call(&[b"XRANGE", stream.as_bytes(), b"-", b"+"]).await.unwrap() else {
        panic!("no entries")
    };
    let Reply::Array(Some(entry)) = &entries[0] else { panic!("an entry") };
    let Reply::Array(Some(fields)) = &entry[1] else { panic!("fields") };
    let texts: Vec<String> = fields.iter().filter_map(Reply::text).collect();
    assert_eq!(texts[1], "disk/db1:trigger:10", "the id is the dedup key, the notice and its time");
    let body: serde_json::Value = serde_json::from_str(&texts[3]).unwrap();
    assert_eq!(
        (body["dedup_key"].clone(), body["title"].clone()),
        (serde_json::json!("disk/db1"), serde_json::json!("[FIRING] disk full"))
    );
    client.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
    // A sink whose broker the URL is not for is refused when the file loads.
    let none = |_: &str, _: &str| None;
    let bad = serde_json::json!({"name": "bus", "type": "queue", "sink": "amqp_queue:alerts", "url": "nats://127.0.0.1:4222"});
    let errors = load::from_value(bad, &none).unwrap_err();
    assert_eq!(errors[0].0, "url");
    assert!(errors[0].1.contains("amqp://"), "{errors:?}");
}

#[tokio::test]
async fn mqtt_messages_asked_for_again_come_again() {
    let Some(url) = mqtt() else { return };
    let topic = format!("vigil/again/{}", uuid::Uuid::new_v4().simple());
    let brokers = Brokers { mqtt: Some(url), ..Brokers::default() };
    // MQTT cannot return a message: the consumer ends its session, and the resumed one has them.
    redelivers_what_was_not_acknowledged(brokers, &format!("mqtt:{topic}"), &unique("h"), true).await;
}

#[tokio::test]
async fn redis_consumers_read_entries_published_before_the_group_existed() {
    let Some(url) = redis() else { return };
    let stream = unique("vigil-test-early");
    let brokers = Brokers { redis: Some(url.clone()), ..Brokers::default() };
    Publisher::new(brokers.clone())
        .publish(&format!("redis:{stream}"), &message("early", serde_json::json!({})))
        .await
        .unwrap();
    let mut consumer = Consumer::open(&brokers, &format!("redis:{stream}"), "h1", "node-1").await.unwrap();
    assert_eq!(take(&mut consumer, 1).await[0].id, "early");
    let client = vigil_connectors::sinks::redis::RedisClient::connect(&url).await.unwrap();
    client.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
}
