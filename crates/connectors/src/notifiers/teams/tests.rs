use std::time::Duration;

use super::*;
use crate::notifiers::fixtures::message;
use crate::notifiers::{Notifier, Outcome};

fn teams() -> TeamsConfig {
    serde_json::from_value(json!({"name": "ops", "url": "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=XYZ"}))
        .unwrap()
}

/// The envelope Teams' Workflows webhook documents: a message with one Adaptive Card attachment.
#[test]
fn the_card_is_an_adaptive_card_attachment_of_a_message() {
    let req = teams().build_request(&message(Notice::Trigger)).unwrap();
    assert_eq!((req.method, req.url.as_str()), ("POST", teams().url.as_str()));
    assert_eq!(req.body["type"], "message");
    let attachments = req.body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(attachments[0]["contentUrl"].is_null());
    let card = &attachments[0]["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn every_notice_reads_as_its_state() {
    let card = |notice| teams().build_request(&message(notice)).unwrap().body["attachments"][0]["content"].clone();
    let title = |notice| card(notice)["body"][0]["text"].as_str().unwrap().to_string();
    let colour = |notice| card(notice)["body"][0]["color"].as_str().unwrap().to_string();
    assert!(title(Notice::Trigger).starts_with("[FIRING]"));
    assert!(title(Notice::Remind).starts_with("[STILL FIRING]"));
    assert!(title(Notice::Resolve).starts_with("[RESOLVED]"));
    assert!(title(Notice::Acknowledge).starts_with("[ACKNOWLEDGED]"));
    assert_eq!((colour(Notice::Trigger), colour(Notice::Resolve)), ("attention".into(), "good".into()));
    let actions = &card(Notice::Trigger)["actions"];
    assert_eq!(
        actions[0],
        json!({"type": "Action.OpenUrl", "title": "Failed runs", "url": "https://conductor.example.com/search"})
    );
}

#[test]
fn a_url_that_is_not_one_is_refused_and_answers_are_classified() {
    let bad: TeamsConfig = serde_json::from_value(json!({"name": "ops", "url": "teams-channel"})).unwrap();
    assert!(matches!(bad.build_request(&message(Notice::Trigger)), Err(NotifyError::Invalid(_))));
    assert!(serde_json::from_value::<TeamsConfig>(json!({"name": "ops", "url": "https://x", "webhook": "y"})).is_err());
    let t = teams();
    assert_eq!(t.classify(202, None, ""), Outcome::Delivered);
    assert!(matches!(t.classify(429, Some(Duration::from_secs(30)), ""), Outcome::Retry { after: Some(_), .. }));
    assert!(matches!(t.classify(400, None, "BadRequest"), Outcome::Permanent { .. }));
}
