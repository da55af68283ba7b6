use super::*;
use crate::notifiers::fixtures::message;

fn notifier() -> PagerDutyConfig {
    serde_json::from_value(
        json!({"name": "oncall", "routing_key": "R0UTINGKEY0123456789abcdef012345", "component": "conductor"}),
    )
    .unwrap()
}

#[test]
fn trigger_matches_events_v2() {
    let req = notifier().build_request(&message(Notice::Trigger)).unwrap();
    assert_eq!(req.url, DEFAULT_URL);
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn resolve_and_acknowledge_carry_only_the_key() {
    let req = notifier().build_request(&message(Notice::Resolve)).unwrap();
    assert_eq!(
        req.body,
        json!({"routing_key": "R0UTINGKEY0123456789abcdef012345", "event_action": "resolve", "dedup_key": "failure_alert/sample_tracker_workflow"})
    );
    let req = notifier().build_request(&message(Notice::Acknowledge)).unwrap();
    assert_eq!(req.body["event_action"], json!("acknowledge"));
}

#[test]
fn reminder_re_triggers_with_the_same_key() {
    let trigger = notifier().build_request(&message(Notice::Trigger)).unwrap();
    let remind = notifier().build_request(&message(Notice::Remind)).unwrap();
    assert_eq!(remind.body["event_action"], json!("trigger"));
    assert_eq!(remind.body["dedup_key"], trigger.body["dedup_key"]);
}

#[test]
fn limits_are_respected() {
    let mut msg = message(Notice::Trigger);
    msg.summary = "x".repeat(5_000);
    msg.dedup_key = "k".repeat(1_000);
    let req = notifier().build_request(&msg).unwrap();
    assert_eq!(req.body["payload"]["summary"].as_str().unwrap().chars().count(), MAX_SUMMARY);
    let key = req.body["dedup_key"].as_str().unwrap();
    assert_eq!(key.len(), MAX_DEDUP_KEY);
    let mut other = msg.clone();
    other.dedup_key = format!("{}z", "k".repeat(999));
    assert_ne!(
        notifier().build_request(&other).unwrap().body["dedup_key"].as_str().unwrap(),
        key,
        "long keys stay distinct"
    );
}

#[test]
fn unknown_fields_and_empty_keys_are_rejected() {
    let err = serde_json::from_value::<PagerDutyConfig>(json!({"name": "x", "routing_key": "k", "routingkey": "k"}))
        .unwrap_err();
    assert!(err.to_string().contains("routingkey"));
    let empty: PagerDutyConfig = serde_json::from_value(json!({"name": "x", "routing_key": " "})).unwrap();
    assert!(empty.build_request(&message(Notice::Trigger)).is_err());
}

#[test]
fn a_change_of_tier_re_triggers_with_the_new_severity() {
    let mut msg = message(Notice::Change);
    msg.severity = crate::notifiers::Severity::Warning;
    let req = notifier().build_request(&msg).unwrap();
    assert_eq!(req.body["event_action"], json!("trigger"));
    assert_eq!(req.body["payload"]["severity"], json!("warning"));
    assert!(msg.title().starts_with("[NOW WARNING] "), "{}", msg.title());
    assert_eq!(req.body["dedup_key"], json!("failure_alert/sample_tracker_workflow"));
}
