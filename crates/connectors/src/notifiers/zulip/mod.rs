//! Zulip: `POST {url}/api/v1/messages`, form-encoded, with the bot's email and API key as HTTP
//! Basic auth: a channel message whose topic is the alert, so its page, acknowledgement and
//! resolve read as one conversation. Zulip answers `{"result": "success"}`; its 429 gives
//! `Retry-After` (fractional seconds) and `retry-after` in the body.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::time::Millis;

use super::{
    AlertMessage, Encoding, NotifyError, Outcome, OutgoingRequest, classify_http, text, truncate, wait_in_body,
};

/// Zulip's limits: a topic's characters, a message's bytes.
const MAX_TOPIC: usize = 60;
const MAX_CONTENT: usize = 10_000;

/// `type: zulip`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZulipConfig {
    /// Notifier name.
    pub name: String,
    /// The organisation's URL, `https://ORG.zulipchat.com`.
    pub url: String,
    /// The bot's email address.
    pub bot_email: String,
    /// The bot's API key (use `${workflow.secrets.NAME}`).
    pub api_key: String,
    /// The channel (stream) to post in: its name or id.
    #[serde(deserialize_with = "super::string_or_number")]
    #[schema(value_type = String)]
    pub channel: String,
    /// The topic; by default the alert's name, so each alert is its own conversation.
    #[serde(default)]
    pub topic: Option<String>,
}

impl ZulipConfig {
    /// The send-message request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("zulip: url must be the organisation's URL".into()));
        }
        let topic = self.topic.clone().unwrap_or_else(|| msg.name.clone());
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.bot_email, self.api_key));
        let body = json!({
            "type": "stream",
            "to": self.channel,
            "topic": truncate(&topic, MAX_TOPIC),
            "content": text::truncate_bytes(&text::markdown(msg), MAX_CONTENT),
        });
        let url = format!("{}/api/v1/messages", self.url.trim_end_matches('/'));
        let mut req = OutgoingRequest::post_json(url, body).header("Authorization", format!("Basic {auth}"));
        req.encoding = Encoding::Form;
        Ok(req)
    }
}

/// `result` in the body decides; a 429 names its wait in the header or the body.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200..=299 if answer["result"] == json!("success") => Outcome::Delivered,
        200..=299 => Outcome::Permanent { reason: format!("zulip answered: {}", truncate(body, 300)) },
        429 => classify_http(
            status,
            retry_after.or_else(|| wait_in_body(body, "/retry-after", Duration::from_secs(1))),
            body,
        ),
        _ => classify_http(status, retry_after, body),
    }
}

impl super::Notifier for ZulipConfig {
    const TYPE: &'static str = "zulip";
    const SECRETS: &'static [&'static str] = &["api_key"];
    /// Zulip's default: 200 API requests a minute per user.
    const RATE_LIMIT: Option<(f64, f64)> = Some((200.0, 20.0));

    fn name(&self) -> &str {
        &self.name
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
    use crate::notifiers::fixtures::message;

    #[test]
    fn a_form_to_the_channel_with_the_alert_as_topic_and_basic_auth() {
        let z: ZulipConfig = serde_json::from_value(json!({"name": "z", "url": "https://org.zulipchat.com/", "bot_email": "bot@org.zulipchat.com", "api_key": "KEY", "channel": 12})).unwrap();
        let req = z.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!((req.url.as_str(), req.encoding), ("https://org.zulipchat.com/api/v1/messages", Encoding::Form));
        assert_eq!(req.headers[0], ("Authorization".into(), "Basic Ym90QG9yZy56dWxpcGNoYXQuY29tOktFWQ==".into()));
        let (bytes, content_type) = req.wire_body();
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        assert_eq!(form[0], ("type".into(), "stream".into()));
        assert!(form.contains(&("to".into(), "12".into())));
        assert!(form.contains(&("topic".into(), "workflow failures".into())));
        assert!(form.iter().any(|(k, v)| k == "content" && v.starts_with("**🚨 [FIRING]")));
    }

    #[test]
    fn answers_are_read_from_the_body() {
        assert_eq!(classify(200, None, r#"{"result":"success","msg":"","id":42}"#), Outcome::Delivered);
        let limited =
            r#"{"result":"error","code":"RATE_LIMIT_HIT","msg":"API usage exceeded rate limit","retry-after":0.5}"#;
        assert!(
            matches!(classify(429, None, limited), Outcome::Retry { after: Some(a), .. } if a == Duration::from_millis(500))
        );
        assert!(matches!(
            classify(400, None, r#"{"result":"error","code":"STREAM_DOES_NOT_EXIST"}"#),
            Outcome::Permanent { .. }
        ));
    }
}
