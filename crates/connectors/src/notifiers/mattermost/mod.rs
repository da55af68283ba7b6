//! Mattermost incoming webhooks: `POST <webhook url>` with a Slack-compatible attachment coloured
//! by state. Mattermost answers 200 `ok`; with the server's rate limiting on, a 429 carries
//! `Retry-After`.

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, Severity, text, truncate};

/// Mattermost's limit on a post's text (characters).
const MAX_TEXT: usize = 16_383;

/// `type: mattermost`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MattermostConfig {
    /// Notifier name.
    pub name: String,
    /// The incoming webhook's URL, `https://HOST/hooks/KEY` (use `${workflow.secrets.NAME}`).
    pub url: String,
    /// A channel other than the webhook's own (its name, or `@user`), where the webhook allows it.
    #[serde(default)]
    pub channel: Option<String>,
    /// The name to post as, where the server lets integrations override it.
    #[serde(default)]
    pub username: Option<String>,
}

/// The attachment colour: red firing, amber warning, blue information, green resolved, grey
/// acknowledged.
pub fn colour(msg: &AlertMessage) -> &'static str {
    match msg.notice {
        Notice::Resolve => "#2EB67D",
        Notice::Acknowledge => "#9E9E9E",
        _ if msg.severity == Severity::Info => "#3498DB",
        _ if msg.severity == Severity::Warning => "#ECB22E",
        _ => "#E01E5A",
    }
}

/// A Slack-compatible attachment for `msg` (Mattermost's and Rocket.Chat's): the heading as the
/// title, linked to the first link, the body in Markdown, the facts as short fields.
pub fn attachment(msg: &AlertMessage, max_text: usize) -> Value {
    let fields: Vec<Value> =
        text::facts(msg).into_iter().map(|(k, v)| json!({"title": k, "value": v, "short": true})).collect();
    let mut body = Vec::new();
    if let Some(rendered) = msg.rendered_text() {
        body.push(rendered.to_string());
    }
    if let Some(details) = super::details_text(&msg.details) {
        body.push(format!("```\n{details}\n```"));
    }
    if !msg.links.is_empty() {
        body.push(msg.links.iter().map(|l| format!("[{}]({})", l.text, l.href)).collect::<Vec<_>>().join(" · "));
    }
    body.push(format!("dedup key `{}`", msg.dedup_key));
    let mut attachment = json!({
        "fallback": text::heading(msg),
        "color": colour(msg),
        "title": text::heading(msg),
        "text": truncate(&body.join("\n\n"), max_text),
        "fields": fields,
    });
    if let Some(link) = msg.links.first() {
        attachment["title_link"] = json!(link.href);
    }
    attachment
}

impl MattermostConfig {
    /// The webhook request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("mattermost: url must be the incoming webhook's URL".into()));
        }
        let mut body = json!({"attachments": [attachment(msg, MAX_TEXT)]});
        if let Some(channel) = &self.channel {
            body["channel"] = json!(channel);
        }
        if let Some(username) = &self.username {
            body["username"] = json!(username);
        }
        Ok(OutgoingRequest::post_json(self.url.clone(), body))
    }
}

impl super::Notifier for MattermostConfig {
    const TYPE: &'static str = "mattermost";
    const SECRETS: &'static [&'static str] = &["url"];
    /// Mattermost's own rate limiting, when a server turns it on: 10 a second, bursts of 100.
    const RATE_LIMIT: Option<(f64, f64)> = Some((600.0, 100.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifiers::fixtures::message;
    use crate::notifiers::{Notifier, Outcome};

    fn mattermost() -> MattermostConfig {
        serde_json::from_value(json!({"name": "ops", "url": "https://chat.example.com/hooks/xyz", "channel": "alerts"}))
            .unwrap()
    }

    #[test]
    fn the_post_is_an_attachment_coloured_by_state() {
        let req = mattermost().build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://chat.example.com/hooks/xyz");
        assert_eq!(req.body["channel"], "alerts");
        let a = &req.body["attachments"][0];
        assert!(a["title"].as_str().unwrap().contains("[FIRING]"));
        assert_eq!(
            (a["color"].as_str(), a["title_link"].as_str()),
            (Some("#E01E5A"), Some("https://conductor.example.com/search"))
        );
        insta::assert_json_snapshot!(req.body);
        let resolved = mattermost().build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!(resolved.body["attachments"][0]["color"], "#2EB67D");
        assert!(resolved.body["attachments"][0]["fallback"].as_str().unwrap().contains("[RESOLVED]"));
        let acked = mattermost().build_request(&message(Notice::Acknowledge)).unwrap();
        assert!(acked.body["attachments"][0]["title"].as_str().unwrap().contains("[ACKNOWLEDGED]"));
        assert_eq!(mattermost().classify(200, None, "ok"), Outcome::Delivered);
    }
}
