//! Lark / Feishu custom bots: `POST <bot webhook url>` with `msg_type` `text`, `post` or
//! `interactive` (a card). With a signing secret, the body carries `timestamp` (seconds, as a
//! string) and `sign` = base64(HMAC-SHA256 keyed with `timestamp + "\n" + secret`, over an empty
//! message). Lark answers HTTP 200 even on failure: a non-zero `code` in the body is a failure.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, Outcome, OutgoingRequest, classify_http};

/// Lark's message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LarkMessageType {
    /// Plain text.
    Text,
    /// Rich text (`post`).
    Post,
    /// A message card.
    #[default]
    Interactive,
}

/// `type: lark`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LarkConfig {
    /// Notifier name.
    pub name: String,
    /// The bot's webhook URL.
    pub url: String,
    /// The bot's signing secret, when signature verification is on.
    #[serde(default)]
    pub secret: Option<String>,
    /// Message kind; a card by default.
    #[serde(default)]
    pub message_type: LarkMessageType,
}

/// The signature Lark expects for `timestamp` (seconds) and `secret`.
pub fn sign(timestamp: i64, secret: &str) -> String {
    let key = format!("{timestamp}\n{secret}");
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl LarkConfig {
    /// The bot request for `msg`, signed at `now` when a secret is set.
    pub fn build_request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("http") {
            return Err(NotifyError::Invalid("lark: url must be the bot's webhook URL".into()));
        }
        let mut body = match self.message_type {
            LarkMessageType::Text => json!({"msg_type": "text", "content": {"text": text(msg)}}),
            LarkMessageType::Post => json!({"msg_type": "post", "content": {"post": {"en_us": {
                "title": msg.title(),
                "content": post_lines(msg),
            }}}}),
            LarkMessageType::Interactive => json!({"msg_type": "interactive", "card": card(msg)}),
        };
        if let Some(secret) = self.secret.as_deref().filter(|s| !s.is_empty()) {
            let timestamp = now / 1000;
            body["timestamp"] = Value::String(timestamp.to_string());
            body["sign"] = Value::String(sign(timestamp, secret));
        }
        Ok(OutgoingRequest {
            method: "POST",
            url: self.url.clone(),
            headers: Vec::new(),
            body,
            encoding: Encoding::Json,
        })
    }
}

fn text(msg: &AlertMessage) -> String {
    let labels: Vec<String> = msg.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}\nseverity: {}\nsource: {}\nlabels: {}\ndedup key: {}",
        msg.title(),
        msg.severity.as_str(),
        msg.source,
        labels.join(", "),
        msg.dedup_key
    )
}

fn post_lines(msg: &AlertMessage) -> Value {
    let mut lines = vec![
        json!([{"tag": "text", "text": format!("severity: {}  source: {}", msg.severity.as_str(), msg.source)}]),
        json!([{"tag": "text", "text": format!("dedup key: {}", msg.dedup_key)}]),
    ];
    for link in &msg.links {
        lines.push(json!([{"tag": "a", "text": link.text, "href": link.href}]));
    }
    Value::Array(lines)
}

fn card(msg: &AlertMessage) -> Value {
    let template = match (msg.notice, msg.severity) {
        (Notice::Resolve, _) => "green",
        (Notice::Acknowledge, _) => "blue",
        (_, super::Severity::Critical | super::Severity::Error) => "red",
        _ => "orange",
    };
    let labels: Vec<String> = msg.labels.iter().map(|(k, v)| format!("**{k}**: {v}")).collect();
    let mut elements = vec![json!({"tag": "div", "text": {"tag": "lark_md", "content": format!(
        "**Severity**: {}\n**Source**: {}\n{}\n**Dedup key**: {}",
        msg.severity.as_str(), msg.source, labels.join("\n"), msg.dedup_key
    )}})];
    if !msg.links.is_empty() {
        let actions: Vec<Value> = msg
            .links
            .iter()
            .map(|l| json!({"tag": "button", "text": {"tag": "plain_text", "content": l.text}, "url": l.href, "type": "default"}))
            .collect();
        elements.push(json!({"tag": "action", "actions": actions}));
    }
    json!({"header": {"title": {"tag": "plain_text", "content": msg.title()}, "template": template}, "elements": elements})
}

/// Lark's answer: `{"code": 0, "msg": "success"}` means delivered; any other code failed, even
/// with HTTP 200. Its rate limits (11232 for the bot's 100/min and 5/s, 230020 per chat) and
/// internal errors (2200) are retried, also when they come with HTTP 400; other codes are permanent.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = parsed.get("code").or_else(|| parsed.get("StatusCode")).and_then(Value::as_i64);
    let message = parsed.get("msg").or_else(|| parsed.get("StatusMessage")).and_then(Value::as_str).unwrap_or("");
    match code {
        Some(0) if status == 200 => Outcome::Delivered,
        Some(c @ (11232 | 230020)) => {
            Outcome::Retry { reason: format!("lark rate limit ({c}): {message}"), after: retry_after }
        }
        Some(2200) => Outcome::Retry { reason: format!("lark internal error (2200): {message}"), after: retry_after },
        Some(c) if c != 0 => {
            Outcome::Permanent { reason: format!("lark refused the message with code {c}: {message}") }
        }
        _ if status != 200 => classify_http(status, retry_after, body),
        _ => Outcome::Permanent {
            reason: format!("lark answered without a code: {}", body.chars().take(200).collect::<String>()),
        },
    }
}

impl super::Notifier for LarkConfig {
    const TYPE: &'static str = "lark";
    const SECRETS: &'static [&'static str] = &["url", "secret"];
    /// Lark: 100 a minute and 5 a second per bot.
    const RATE_LIMIT: Option<(f64, f64)> = Some((100.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg, now)
    }

    fn classify(&self, status: u16, retry_after: Option<std::time::Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests;
