use serde_json::json;

use super::*;
use crate::sources::Source;

fn build(config: serde_json::Value) -> Result<QueueSource, SourceProblem> {
    serde_json::from_value::<QueueConfig>(config).unwrap().build()
}

fn problem(config: serde_json::Value) -> (String, String) {
    let p = build(config).unwrap_err();
    (p.path, p.message)
}

#[test]
fn each_queue_is_read_at_its_brokers_url() {
    build(json!({"queue": "amqp_queue:jobs", "url": "http://guest:guest@rabbit:15672"})).unwrap();
    build(json!({"queue": "amqp_queue:jobs", "url": "amqp://rabbit:5672/%2f", "metric": "lag"})).unwrap();
    build(json!({"queue": "jsm:orders.created", "url": "nats://nats:4222", "consumer": "billing"})).unwrap();
    build(json!({"queue": "redis:events", "url": "redis://:${workflow.secrets.redis}@redis:6379"})).unwrap();
    build(json!({"queue": "redis:events", "url": "${workflow.secrets.redis_url}"})).unwrap();
    let (path, message) = problem(json!({"queue": "jsm:orders", "url": "http://nats:8222"}));
    assert_eq!(path, "url");
    assert!(message.contains("nats://"), "{message}");
}

#[test]
fn what_has_no_depth_or_no_such_count_is_refused_by_field() {
    assert_eq!(problem(json!({"queue": "mqtt:devices/1", "url": "mqtt://m:1883"})).0, "queue");
    assert_eq!(problem(json!({"queue": "nats:jobs", "url": "nats://n:4222"})).0, "queue");
    assert_eq!(problem(json!({"queue": "kafka:jobs", "url": "nats://n:4222"})).0, "queue");
    let (path, message) = problem(json!({"queue": "amqp_queue:q", "url": "amqp://r:5672", "metric": "unacked"}));
    assert_eq!(path, "metric");
    assert!(message.contains("management API"), "{message}");
    assert_eq!(problem(json!({"queue": "amqp_queue:q", "url": "http://r:15672", "consumer": "c"})).0, "consumer");
    let wrong =
        serde_json::from_value::<QueueConfig>(json!({"queue": "redis:e", "url": "redis://r", "metric": "size"}));
    assert!(wrong.unwrap_err().to_string().contains("depth"), "the metrics are named");
}

#[test]
fn the_chosen_count_is_the_one_field_so_a_monitor_needs_no_value() {
    let source = build(json!({"queue": "jsm:jobs", "url": "nats://n:4222", "metric": "lag"})).unwrap();
    let counts = Depth { depth: Some(40), lag: Some(7), unacked: Some(3), consumers: Some(1) };
    let Answer::Samples(samples) = source.answer(&counts) else { panic!() };
    assert_eq!(samples[0].fields, json!({"lag": 7}).as_object().unwrap().clone());
    assert_eq!(vigil_core::monitor::evaluate::pick(&samples[0].fields, None), Some(7.0));
    let Answer::Failed(why) = source.answer(&Depth { depth: Some(40), ..Depth::default() }) else { panic!() };
    assert!(why.contains("vigil's own consumer") && why.contains("`consumer`"), "{why}");
}

#[test]
fn a_monitor_names_it_in_its_source_block() {
    let spec = vigil_core::monitor::SourceSpec::new(
        vigil_core::monitor::SourceKind::Queue,
        json!({"queue": "redis:events", "url": "redis://r:6379", "metric": "consumers"}),
    );
    assert!(matches!(Source::from_spec(&spec), Ok(Source::Queue(_))));
}
