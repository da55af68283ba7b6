//! Rocket.Chat, two ways: an incoming webhook integration (`POST <webhook url>`), or, with `token`
//! and `user_id` as Alertmanager's `rocketchat_configs` does, the REST API
//! (`POST {url}/api/v1/chat.postMessage` with `X-Auth-Token` and `X-User-Id`). The message is one
//! attachment coloured by state. Rocket.Chat answers `{"success": true}`, and may answer
//! `success: false` in a 200; its 429 says "wait N seconds" in the body.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http, text, truncate};

/// Rocket.Chat's default limit on a message (`Message_MaxAllowedSize`, characters).
const MAX_TEXT: usize = 5000;

/// `type: rocketchat`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RocketChatConfig {
    /// Notifier name.
    pub name: String,
    /// The incoming webhook's URL (`https://HOST/hooks/ID/TOKEN`), or, with `token`, the server's
    /// base URL (use `${workflow.secrets.NAME}`).
    pub url: String,
    /// The channel (`#name`, `@user` or a room id): needed with `token`; with a webhook, only
    /// where the integration lets messages override its channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// A personal access token, sent as `X-Auth-Token` (REST API).
    #[serde(default)]
    pub token: Option<String>,
    /// The token's user id, sent as `X-User-Id` (REST API).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The name shown with the message.
    #[serde(default)]
    pub alias: Option<String>,
}

impl RocketChatConfig {
    /// The request for `msg`: to the webhook, or to `chat.postMessage` with a token.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("rocketchat: url must be a webhook or server URL".into()));
        }
        let attachment = super::mattermost::attachment(msg, MAX_TEXT);
        let mut body = json!({"text": truncate(&text::heading(msg), MAX_TEXT), "attachments": [attachment]});
        if let Some(channel) = &self.channel {
            body["channel"] = json!(channel);
        }
        if let Some(alias) = &self.alias {
            body["alias"] = json!(alias);
        }
        match (&self.token, &self.user_id) {
            (Some(token), Some(user)) => {
                if self.channel.is_none() {
                    return Err(NotifyError::Invalid("rocketchat: `channel` is needed with a token".into()));
                }
                let url = format!("{}/api/v1/chat.postMessage", self.url.trim_end_matches('/'));
                Ok(OutgoingRequest::post_json(url, body)
                    .header("X-Auth-Token", token.as_str())
                    .header("X-User-Id", user.as_str()))
            }
            (None, None) => Ok(OutgoingRequest::post_json(self.url.clone(), body)),
            _ => Err(NotifyError::Invalid("rocketchat: `token` and `user_id` go together".into())),
        }
    }
}

/// `success` in the body decides; a 429's body says how many seconds to wait.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200..=299 if answer["success"] == json!(false) => {
            Outcome::Permanent { reason: format!("rocketchat answered: {}", truncate(body, 300)) }
        }
        429 => classify_http(status, retry_after.or_else(|| wait_in_words(body)), body),
        _ => classify_http(status, retry_after, body),
    }
}

/// The N of "You must wait N seconds" in Rocket.Chat's 429.
fn wait_in_words(body: &str) -> Option<Duration> {
    let (_, rest) = body.split_once("wait ")?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    n.parse().ok().map(Duration::from_secs)
}

impl super::Notifier for RocketChatConfig {
    const TYPE: &'static str = "rocketchat";
    const SECRETS: &'static [&'static str] = &["url", "token"];
    /// Rocket.Chat's API rate limiter default: 10 calls a minute per route and client.
    const RATE_LIMIT: Option<(f64, f64)> = Some((10.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        match (&self.token, &self.user_id, &self.channel) {
            (Some(_), None, _) | (None, Some(_), _) => Some((
                "token".into(),
                "`token` and `user_id` go together".into(),
                Some("set both, or neither for a webhook".into()),
            )),
            (Some(_), Some(_), None) => Some(("channel".into(), "`channel` is needed with a token".into(), None)),
            _ => None,
        }
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::Notifier;
    use crate::notifiers::fixtures::message;

    #[test]
    fn a_webhook_gets_the_attachment_and_the_rest_api_the_token_headers() {
        let hook: RocketChatConfig =
            serde_json::from_value(json!({"name": "rc", "url": "https://chat.example.com/hooks/abc/def"})).unwrap();
        let req = hook.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!((req.url.as_str(), req.headers.len()), ("https://chat.example.com/hooks/abc/def", 0));
        assert!(req.body["text"].as_str().unwrap().contains("[FIRING]"));
        insta::assert_json_snapshot!(req.body);
        let api: RocketChatConfig = serde_json::from_value(
            json!({"name": "rc", "url": "https://chat.example.com/", "token": "t", "user_id": "u", "channel": "#ops"}),
        )
        .unwrap();
        let req = api.build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!(req.url, "https://chat.example.com/api/v1/chat.postMessage");
        assert_eq!(req.headers, [("X-Auth-Token".to_string(), "t".to_string()), ("X-User-Id".into(), "u".into())]);
        assert_eq!(req.body["channel"], "#ops");
        let half: RocketChatConfig =
            serde_json::from_value(json!({"name": "rc", "url": "https://x", "token": "t"})).unwrap();
        assert!(half.problem().is_some());
    }

    #[test]
    fn success_false_fails_and_a_429_waits_as_told() {
        assert_eq!(classify(200, None, r#"{"success":true}"#), Outcome::Delivered);
        assert!(matches!(classify(200, None, r#"{"success":false,"error":"x"}"#), Outcome::Permanent { .. }));
        let limited = r#"{"success":false,"error":"Error, too many requests. Please slow down. You must wait 42 seconds before trying this endpoint again. [error-too-many-requests]"}"#;
        assert!(
            matches!(classify(429, None, limited), Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(42))
        );
    }
}
