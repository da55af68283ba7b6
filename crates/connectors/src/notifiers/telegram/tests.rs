use std::time::Duration;

use super::*;
use crate::notifiers::fixtures::message;
use crate::notifiers::{Notifier, Outcome};

fn telegram() -> TelegramConfig {
    serde_json::from_value(
        json!({"name": "ops", "bot_token": "123456:ABC", "chat_id": -1001234567890i64, "message_thread_id": 7}),
    )
    .unwrap()
}

/// The Bot API's sendMessage: chat id, HTML text within 4096 characters, link previews off.
#[test]
fn the_message_is_html_for_the_chat() {
    let req = telegram().build_request(&message(Notice::Trigger)).unwrap();
    assert_eq!(req.url, "https://api.telegram.org/bot123456:ABC/sendMessage");
    assert_eq!(req.body["chat_id"], "-1001234567890");
    assert_eq!((req.body["parse_mode"].as_str(), req.body["message_thread_id"].as_i64()), (Some("HTML"), Some(7)));
    assert!(req.body["text"].as_str().unwrap().starts_with("<b>🚨 [FIRING]"));
    assert_eq!(req.body["disable_notification"], false);
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn resolves_are_silent_and_long_messages_go_as_plain_text() {
    let resolve = telegram().build_request(&message(Notice::Resolve)).unwrap();
    assert!(resolve.body["text"].as_str().unwrap().contains("[RESOLVED]"));
    assert_eq!(resolve.body["disable_notification"], true);
    let mut long = message(Notice::Trigger);
    long.details = json!({"log": "<x>".repeat(3000)});
    let req = telegram().build_request(&long).unwrap();
    assert!(req.body.get("parse_mode").is_none());
    assert!(req.body["text"].as_str().unwrap().chars().count() <= 4096);
}

#[test]
fn answers_are_read_from_the_body() {
    let t = telegram();
    assert_eq!(t.classify(200, None, r#"{"ok":true,"result":{"message_id":1}}"#), Outcome::Delivered);
    assert!(matches!(t.classify(200, None, r#"{"ok":false}"#), Outcome::Permanent { .. }));
    let limited = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
    assert!(
        matches!(t.classify(429, None, limited), Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(7))
    );
    assert!(matches!(
        t.classify(400, None, r#"{"ok":false,"description":"Bad Request: chat not found"}"#),
        Outcome::Permanent { .. }
    ));
}
