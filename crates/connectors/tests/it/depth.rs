//! Queue depth and consumer lag (the `queue` monitor source) against the real brokers: RabbitMQ
//! (AMQP on 5672, its management API on 15672), NATS JetStream (4222) and Redis (6379), or the
//! URLs in `VIGIL_TEST_AMQP_URL`, `VIGIL_TEST_RABBITMQ_API_URL`, `..._NATS_URL`, `..._REDIS_URL`.
//! A broker that is not running skips its test with a message, unless `VIGIL_REQUIRE_SERVICES=1`.
//!
//! Each test publishes five messages and has vigil's own consumer take two without acknowledging
//! them: the depth is five, the lag three, two are unacknowledged, one consumer reads.

use std::time::{Duration, Instant};

use vigil_connectors::sinks::consume::{Consumer, Received, durable_name};
use vigil_connectors::sinks::depth::{Depth, measure};
use vigil_connectors::sinks::{Brokers, Message, Publisher};

fn broker(name: &str, env: &str, default: &str) -> Option<String> {
    let url = std::env::var(env).unwrap_or_else(|_| default.to_string());
    let parsed = reqwest::Url::parse(&url).expect("a broker URL");
    let addr = format!("{}:{}", parsed.host_str().unwrap(), parsed.port_or_known_default().unwrap());
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

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Publishes five messages to `queue`, then has vigil's consumer of it take two and keep them
/// unacknowledged (the consumer is returned: dropping it gives them back).
async fn five_published_two_taken(brokers: &Brokers, queue: &str) -> Consumer {
    let mut consumer = Consumer::open(brokers, queue, &durable_name(queue), "node-1").await.unwrap();
    let publisher = Publisher::new(brokers.clone());
    for n in 1..=5 {
        let m = Message { id: format!("m{n}"), payload: format!("{{\"n\":{n}}}").into_bytes() };
        publisher.publish(queue, &m).await.unwrap();
    }
    let mut got: Vec<Received> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && Instant::now() < deadline {
        got.extend(consumer.next(2 - got.len(), Duration::from_millis(500)).await.unwrap());
    }
    assert_eq!(got.len(), 2, "{queue}: two taken");
    consumer
}

/// Reads `queue` until `expected` (a broker's counts may trail by a few seconds), or fails with
/// the last reading.
async fn until(url: &str, queue: &str, consumer: Option<&str>, expected: Depth) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = measure(url, queue, consumer, "/").await.unwrap();
        if got == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{queue}: {got:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn rabbitmq_tells_every_count_through_its_management_api_and_some_over_amqp() {
    let Some(url) = broker("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f") else {
        return;
    };
    let Some(api) =
        broker("RabbitMQ's management API", "VIGIL_TEST_RABBITMQ_API_URL", "http://guest:guest@127.0.0.1:15672")
    else {
        return;
    };
    let queue = format!("amqp_queue:{}", unique("vigil-depth"));
    let brokers = Brokers { amqp: Some(url.clone()), ..Brokers::default() };
    let consumer = five_published_two_taken(&brokers, &queue).await;
    // RabbitMQ hands a consumer what its prefetch allows: the five are all delivered, two taken
    // by vigil so far, none acknowledged.
    until(&api, &queue, None, Depth { depth: Some(5), lag: Some(0), unacked: Some(5), consumers: Some(1) }).await;
    until(&url, &queue, None, Depth { depth: Some(0), lag: Some(0), unacked: None, consumers: Some(1) }).await;
    drop(consumer);
    until(&api, &queue, None, Depth { depth: Some(5), lag: Some(5), unacked: Some(0), consumers: Some(0) }).await;
    until(&url, &queue, None, Depth { depth: Some(5), lag: Some(5), unacked: None, consumers: Some(0) }).await;

    let missing = measure(&api, "amqp_queue:vigil-no-such-queue", None, "/").await.unwrap_err().to_string();
    assert!(missing.contains("no queue `vigil-no-such-queue`"), "{missing}");
    let missing = measure(&url, "amqp_queue:vigil-no-such-queue", None, "/").await.unwrap_err().to_string();
    assert!(missing.contains("no queue `vigil-no-such-queue`"), "{missing}");
    let refused = measure("http://guest:wrong@127.0.0.1:15672", &queue, None, "/").await.unwrap_err().to_string();
    assert!(refused.contains("refused") && !refused.contains("wrong"), "{refused}");
}

#[tokio::test]
async fn jetstream_tells_the_streams_depth_and_a_consumers_lag() {
    let Some(url) = broker("NATS", "VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222") else { return };
    let subject = unique("vigil.depth");
    let queue = format!("jsm:{subject}");
    let brokers = Brokers { nats: Some(url.clone()), ..Brokers::default() };
    let consumer = five_published_two_taken(&brokers, &queue).await;
    until(&url, &queue, None, Depth { depth: Some(5), lag: Some(3), unacked: Some(2), consumers: Some(1) }).await;
    let named = format!("vigil-{}", durable_name(&queue));
    until(&url, &queue, Some(&named), Depth { depth: Some(5), lag: Some(3), unacked: Some(2), consumers: Some(1) })
        .await;
    let missing = measure(&url, &queue, Some("billing"), "/").await.unwrap_err().to_string();
    assert!(missing.contains("billing"), "a consumer named and missing is an error: {missing}");
    drop(consumer);
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&url).await.unwrap();
    let stream = subject.replace('.', "_").to_uppercase();
    client.api(&format!("STREAM.DELETE.{stream}"), &serde_json::json!({})).await.unwrap();
    let gone = measure(&url, &queue, None, "/").await.unwrap_err().to_string();
    assert!(gone.contains(&stream), "{gone}");
}

#[tokio::test]
async fn redis_tells_the_streams_length_and_the_groups_lag() {
    let Some(url) = broker("Redis", "VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379") else { return };
    let stream = unique("vigil-depth");
    let queue = format!("redis:{stream}");
    let brokers = Brokers { redis: Some(url.clone()), ..Brokers::default() };
    let _consumer = five_published_two_taken(&brokers, &queue).await;
    until(&url, &queue, None, Depth { depth: Some(5), lag: Some(3), unacked: Some(2), consumers: Some(1) }).await;
    let missing = measure(&url, &queue, Some("billing"), "/").await.unwrap_err().to_string();
    assert!(missing.contains("no consumer group `billing`"), "{missing}");
    let client = vigil_connectors::sinks::redis::RedisClient::connect(&url).await.unwrap();
    client.call(&[b"DEL", stream.as_bytes()]).await.unwrap();
    until(&url, &queue, None, Depth { depth: Some(0), lag: None, unacked: None, consumers: None }).await;
}
