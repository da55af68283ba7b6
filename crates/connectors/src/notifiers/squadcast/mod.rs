//! Squadcast through an "Incident Webhook" alert source: `POST <webhook url>` (its token in the
//! path) with `status` `trigger` or `resolve` and the dedup key as `event_id`, so a resolve closes
//! the incident its page opened. Squadcast takes no acknowledgement this way: an acknowledgement
//! is sent as a new event on the open incident (`trigger` with the same `event_id`, which
//! Squadcast de-duplicates), so its timeline shows it.

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, text, truncate};

/// `type: squadcast`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SquadcastConfig {
    /// Notifier name.
    pub name: String,
    /// The alert source's webhook URL, `https://api.squadcast.com/v2/incidents/api/TOKEN` (use
    /// `${workflow.secrets.NAME}`).
    pub url: String,
}

impl SquadcastConfig {
    /// The webhook request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("squadcast: url must be the alert source's webhook URL".into()));
        }
        let status = if msg.notice == Notice::Resolve { "resolve" } else { "trigger" };
        let mut tags = serde_json::Map::new();
        tags.insert("severity".into(), json!(msg.severity.as_str()));
        tags.insert("source".into(), json!(msg.source));
        for (k, v) in &msg.labels {
            tags.insert(k.clone(), Value::String(v.clone()));
        }
        let body = json!({
            "message": truncate(&msg.heading(), 300),
            "description": truncate(&text::markdown_body(msg), 20_000),
            "status": status,
            "event_id": msg.dedup_key,
            "tags": tags,
        });
        Ok(OutgoingRequest::post_json(self.url.clone(), body))
    }
}

impl super::Notifier for SquadcastConfig {
    const TYPE: &'static str = "squadcast";
    const SECRETS: &'static [&'static str] = &["url"];
    /// Squadcast's smallest plan: 15 incidents a minute (resolves count too).
    const RATE_LIMIT: Option<(f64, f64)> = Some((15.0, 5.0));

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

    #[test]
    fn a_page_and_its_resolve_share_an_event_id() {
        let s: SquadcastConfig =
            serde_json::from_value(json!({"name": "s", "url": "https://api.squadcast.com/v2/incidents/api/TOKEN"}))
                .unwrap();
        let page = s.build_request(&message(Notice::Trigger)).unwrap();
        let resolve = s.build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!((page.body["status"].as_str(), resolve.body["status"].as_str()), (Some("trigger"), Some("resolve")));
        assert_eq!(page.body["event_id"], resolve.body["event_id"]);
        assert_eq!(page.body["tags"]["team"], "platform");
        let ack = s.build_request(&message(Notice::Acknowledge)).unwrap();
        assert!(ack.body["message"].as_str().unwrap().starts_with("[ACKNOWLEDGED]"));
        insta::assert_json_snapshot!(page.body);
    }
}
