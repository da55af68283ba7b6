//! Slack incoming webhooks: `POST <webhook url>` with `text` (the notification fallback) and
//! `blocks`. Slack answers 200 `ok`; 429 carries `Retry-After`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;

use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, Outcome, OutgoingRequest, classify_http, truncate};

/// Slack's limit on a section block's text.
const MAX_SECTION: usize = 3000;

/// `type: slack`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Notifier name.
    pub name: String,
    /// The incoming webhook URL (use `${workflow.secrets.NAME}`: it is a credential).
    pub url: String,
}

impl SlackConfig {
    /// The webhook request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("http") {
            return Err(NotifyError::Invalid("slack: url must be the incoming webhook URL".into()));
        }
        if msg.details.get("groupKey").is_some() && !msg.rendered.is_empty() {
            return Ok(self.post(alertmanager_layout(msg)));
        }
        let emoji = match msg.notice {
            Notice::Change if msg.severity == super::Severity::Warning => ":warning:",
            Notice::Trigger if msg.severity == super::Severity::Info => ":information_source:",
            Notice::Trigger | Notice::Remind | Notice::Change => ":rotating_light:",
            Notice::Resolve => ":white_check_mark:",
            Notice::Acknowledge => ":eyes:",
        };
        let title = format!("{emoji} {}", msg.heading());
        let mut fields: Vec<Value> = vec![
            json!({"type": "mrkdwn", "text": format!("*Severity*\n{}", msg.severity.as_str())}),
            json!({"type": "mrkdwn", "text": format!("*Source*\n{}", msg.source)}),
        ];
        fields.extend(msg.labels.iter().take(8).map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{k}*\n{v}")})));
        let mut blocks =
            vec![json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&msg.heading(), 150)}})];
        if let Some(text) = msg.rendered_text() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}));
        }
        blocks.push(json!({"type": "section", "fields": fields}));
        if let Some(details) = super::details_text(&msg.details) {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&format!("```{details}```"), MAX_SECTION)}}));
        }
        if !msg.links.is_empty() {
            let links: Vec<String> = msg.links.iter().map(|l| format!("<{}|{}>", l.href, l.text)).collect();
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": links.join(" · ")}]}));
        }
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("dedup key `{}`", msg.dedup_key)}]}));
        Ok(self.post(json!({"text": title, "blocks": blocks})))
    }

    fn post(&self, body: Value) -> OutgoingRequest {
        OutgoingRequest { method: "POST", url: self.url.clone(), headers: Vec::new(), body, encoding: Encoding::Json }
    }
}

/// A group routed by `alertmanager.yml`, as Alertmanager's Slack integration posts it: one
/// attachment of its rendered title, link, pretext, text, fallback, colour and footer, posted as
/// the rendered `username` (with `icon_emoji` or `icon_url`) to the `channel` the receiver names,
/// each from the receiver's own template or Alertmanager's default; nothing else (the group's
/// data is the templates' to show, not dumped after them).
fn alertmanager_layout(msg: &AlertMessage) -> Value {
    let part = |k: &str| msg.rendered.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let mut attachment = serde_json::Map::new();
    for key in ["title", "title_link", "pretext", "text", "fallback", "color", "footer"] {
        if let Some(v) = part(key) {
            attachment.insert(key.into(), json!(truncate(v, MAX_SECTION)));
        }
    }
    attachment.insert("mrkdwn_in".into(), json!(["fallback", "pretext", "text"]));
    let mut body = json!({"attachments": [attachment]});
    for key in ["channel", "username", "icon_emoji", "icon_url"] {
        if let Some(v) = part(key) {
            body[key] = json!(v);
        }
    }
    body
}

/// Slack answers `ok` with 200; anything else in a 200 is an error it describes in the body.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    match (status, body.trim()) {
        (200, "ok") => Outcome::Delivered,
        (200, other) => Outcome::Permanent { reason: format!("slack answered `{other}`") },
        _ => classify_http(status, retry_after, body),
    }
}

impl super::Notifier for SlackConfig {
    const TYPE: &'static str = "slack";
    const SECRETS: &'static [&'static str] = &["url"];
    /// Slack: about one message a second per webhook.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 3.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<std::time::Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests;
