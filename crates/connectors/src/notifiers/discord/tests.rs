use std::time::Duration;

use super::*;
use crate::notifiers::fixtures::message;
use crate::notifiers::{Notifier, Outcome};

fn discord() -> DiscordConfig {
    serde_json::from_value(
        json!({"name": "ops", "url": "https://discord.com/api/webhooks/123/tok", "content": "<@&42>"}),
    )
    .unwrap()
}

/// Discord's Execute Webhook: an embed within its limits, `wait=true` so a 200 proves it was kept.
#[test]
fn the_message_is_one_embed_within_discords_limits() {
    let req = discord().build_request(&message(Notice::Trigger)).unwrap();
    assert_eq!((req.method, req.url.as_str()), ("POST", "https://discord.com/api/webhooks/123/tok?wait=true"));
    let embed = &req.body["embeds"][0];
    assert!(embed["title"].as_str().unwrap().contains("[FIRING]"));
    assert_eq!(embed["color"], 0xE74C3C);
    assert!(embed["fields"].as_array().unwrap().len() <= 25);
    assert_eq!(req.body["content"], "<@&42>");
    assert_eq!(req.body["allowed_mentions"]["parse"], json!(["users", "roles"]));
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn every_notice_reads_as_its_state_and_colour() {
    let embed = |n| discord().build_request(&message(n)).unwrap().body["embeds"][0].clone();
    assert!(embed(Notice::Resolve)["title"].as_str().unwrap().contains("[RESOLVED]"));
    assert_eq!(embed(Notice::Resolve)["color"], 0x2ECC71);
    assert!(embed(Notice::Acknowledge)["title"].as_str().unwrap().contains("[ACKNOWLEDGED]"));
    assert!(embed(Notice::Remind)["title"].as_str().unwrap().contains("[STILL FIRING]"));
    let mut warning = message(Notice::Change);
    warning.severity = Severity::Warning;
    let changed = discord().build_request(&warning).unwrap().body["embeds"][0].clone();
    assert!(changed["title"].as_str().unwrap().contains("[NOW WARNING]"));
    assert_eq!(changed["color"], 0xF1C40F);
}

#[test]
fn a_429_waits_as_long_as_discord_says_in_the_header_or_the_body() {
    let d = discord();
    let body = r#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
    assert_eq!(
        d.classify(429, None, body),
        Outcome::Retry { reason: format!("rate limited (429): {body}"), after: Some(Duration::from_millis(1500)) }
    );
    assert!(
        matches!(d.classify(429, Some(Duration::from_secs(3)), body), Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(3))
    );
    assert!(matches!(d.classify(404, None, r#"{"code": 10015}"#), Outcome::Permanent { .. }));
    assert_eq!(d.classify(200, None, "{}"), Outcome::Delivered);
    let bad: DiscordConfig = serde_json::from_value(json!({"name": "d", "url": "discord"})).unwrap();
    assert!(bad.build_request(&message(Notice::Trigger)).is_err());
}
