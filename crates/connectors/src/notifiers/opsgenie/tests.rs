use super::*;
use crate::notifiers::fixtures::message;

fn opsgenie() -> OpsgenieConfig {
    serde_json::from_value(
        json!({"name": "ops", "api_key": "eb243592-faa2-4ba2-a551q-1afdf565c889", "tags": ["vigil"]}),
    )
    .unwrap()
}

#[test]
fn create_uses_the_dedup_key_as_alias() {
    let req = opsgenie().build_request(&message(Notice::Trigger)).unwrap();
    assert_eq!(req.url, "https://api.opsgenie.com/v2/alerts");
    assert_eq!(
        req.headers,
        vec![("Authorization".to_string(), "GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889".to_string())]
    );
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn close_and_acknowledge_by_alias() {
    let req = opsgenie().build_request(&message(Notice::Resolve)).unwrap();
    assert_eq!(
        req.url,
        "https://api.opsgenie.com/v2/alerts/failure_alert%2Fsample_tracker_workflow/close?identifierType=alias"
    );
    let req = opsgenie().build_request(&message(Notice::Acknowledge)).unwrap();
    assert!(req.url.ends_with("/acknowledge?identifierType=alias"));
}

#[test]
fn message_limit_and_priorities() {
    let mut msg = message(Notice::Trigger);
    msg.summary = "y".repeat(400);
    let req = opsgenie().build_request(&msg).unwrap();
    assert_eq!(req.body["message"].as_str().unwrap().chars().count(), MAX_MESSAGE);
    msg.severity = Severity::Warning;
    assert_eq!(opsgenie().build_request(&msg).unwrap().body["priority"], json!("P3"));
    let fixed: OpsgenieConfig = serde_json::from_value(json!({"name": "o", "api_key": "k", "priority": "P7"})).unwrap();
    assert!(fixed.build_request(&msg).unwrap_err().to_string().contains("P1-P5"));
}

#[test]
fn a_change_of_tier_updates_the_priority_by_alias() {
    let mut msg = message(Notice::Change);
    msg.severity = Severity::Critical;
    let req = opsgenie().build_request(&msg).unwrap();
    assert_eq!(req.method, "PUT");
    assert_eq!(
        req.url,
        "https://api.opsgenie.com/v2/alerts/failure_alert%2Fsample_tracker_workflow/priority?identifierType=alias"
    );
    assert_eq!(req.body, json!({"priority": "P1"}));
}
