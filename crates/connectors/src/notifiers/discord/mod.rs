//! Discord through a channel webhook ("Execute Webhook"): `POST <webhook url>?wait=true` with one
//! embed coloured by state. With `wait=true` Discord answers 200 with the saved message (without
//! it, a 204 does not prove the message was kept). A 429 carries `Retry-After` and a body
//! `retry_after` in seconds.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{
    AlertMessage, NotifyError, Outcome, OutgoingRequest, Severity, classify_http, text, truncate, wait_in_body,
};

/// Discord's limits on an embed (characters).
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 4096;
const MAX_FIELD_VALUE: usize = 1024;
const MAX_FIELDS: usize = 25;

/// `type: discord`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Notifier name.
    pub name: String,
    /// The channel webhook's URL, `https://discord.com/api/webhooks/ID/TOKEN` (use
    /// `${workflow.secrets.NAME}`: the token is in it).
    pub url: String,
    /// Text before the embed, such as a role mention `<@&ROLE_ID>` that pings on-call.
    #[serde(default)]
    pub content: Option<String>,
    /// The name the webhook posts as.
    #[serde(default)]
    pub username: Option<String>,
}

/// The embed's colour: red firing, amber warning, blue information, green resolved, grey
/// acknowledged.
fn colour(msg: &AlertMessage) -> u32 {
    match msg.notice {
        Notice::Resolve => 0x2E_CC_71,
        Notice::Acknowledge => 0x95_A5_A6,
        _ if msg.severity == Severity::Info => 0x34_98_DB,
        _ if msg.severity == Severity::Warning => 0xF1_C4_0F,
        _ => 0xE7_4C_3C,
    }
}

impl DiscordConfig {
    /// The webhook request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("discord: url must be the channel webhook's URL".into()));
        }
        let mut fields: Vec<Value> = text::facts(msg)
            .into_iter()
            .map(|(k, v)| json!({"name": truncate(&k, MAX_TITLE), "value": truncate(&v, MAX_FIELD_VALUE), "inline": true}))
            .collect();
        if let Some(details) = super::details_text(&msg.details) {
            let value = format!("```\n{}\n```", truncate(&details, MAX_FIELD_VALUE - 8));
            fields.push(json!({"name": "details", "value": value, "inline": false}));
        }
        if !msg.links.is_empty() {
            let links: Vec<String> = msg.links.iter().map(|l| format!("[{}]({})", l.text, l.href)).collect();
            fields.push(
                json!({"name": "links", "value": truncate(&links.join(" · "), MAX_FIELD_VALUE), "inline": false}),
            );
        }
        fields.truncate(MAX_FIELDS);
        let mut embed = json!({
            "title": truncate(&text::heading(msg), MAX_TITLE),
            "color": colour(msg),
            "fields": fields,
            "timestamp": super::rfc3339(msg.at),
            "footer": {"text": truncate(&format!("dedup key {}", msg.dedup_key), 2048)},
        });
        if let Some(body) = msg.rendered_text() {
            embed["description"] = json!(truncate(body, MAX_DESCRIPTION));
        }
        if let Some(link) = msg.links.first() {
            embed["url"] = json!(link.href);
        }
        // Mentions only where the configuration wrote them: a label cannot ping @everyone.
        let mut body = json!({"embeds": [embed], "allowed_mentions": {"parse": ["users", "roles"]}});
        if let Some(content) = self.content.as_deref().filter(|c| !c.is_empty()) {
            body["content"] = json!(truncate(content, 2000));
        }
        if let Some(username) = &self.username {
            body["username"] = json!(username);
        }
        let joiner = if self.url.contains('?') { '&' } else { '?' };
        Ok(OutgoingRequest::post_json(format!("{}{joiner}wait=true", self.url), body))
    }
}

impl super::Notifier for DiscordConfig {
    const TYPE: &'static str = "discord";
    const SECRETS: &'static [&'static str] = &["url"];
    /// Discord: a webhook takes about 5 requests in 2 seconds and 30 a minute into one channel.
    const RATE_LIMIT: Option<(f64, f64)> = Some((30.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        let wait = retry_after.or_else(|| wait_in_body(body, "/retry_after", Duration::from_secs(1)));
        classify_http(status, wait, body)
    }
}

#[cfg(test)]
mod tests;
