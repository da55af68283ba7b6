use super::*;
use crate::notifiers::fixtures::message;

#[test]
fn message_has_text_and_blocks() {
    let slack: SlackConfig =
        serde_json::from_value(json!({"name": "chat", "url": "https://hooks.slack.com/services/T000/B000/XXXX"}))
            .unwrap();
    let req = slack.build_request(&message(Notice::Trigger)).unwrap();
    insta::assert_json_snapshot!(req.body);
    let resolved = slack.build_request(&message(Notice::Resolve)).unwrap();
    assert!(resolved.body["text"].as_str().unwrap().starts_with(":white_check_mark: [RESOLVED]"));
}

#[test]
fn answers_are_classified() {
    assert_eq!(classify(200, None, "ok"), Outcome::Delivered);
    assert!(matches!(classify(200, None, "invalid_payload"), Outcome::Permanent { .. }));
    assert_eq!(
        classify(429, Some(Duration::from_secs(7)), "").clone(),
        Outcome::Retry { reason: "rate limited (429): ".into(), after: Some(Duration::from_secs(7)) }
    );
    assert!(matches!(classify(404, None, "no_service"), Outcome::Permanent { .. }));
    assert!(matches!(classify(503, None, ""), Outcome::Retry { .. }));
}
