//! incident.io through an HTTP alert source: `POST <alert source url>` with
//! `Authorization: Bearer <token>`, `status` `firing` or `resolved`, and the dedup key as
//! `deduplication_key`, so repeats update one alert. It answers 202; a 429 carries `Retry-After`.
//! An acknowledgement has no status of its own: it goes as an update of the firing alert.

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, text, truncate};

/// `type: incident_io`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentIoConfig {
    /// Notifier name.
    pub name: String,
    /// The alert source's URL, `https://api.incident.io/v2/alert_events/http/ID`.
    pub url: String,
    /// The alert source's token (use `${workflow.secrets.NAME}`).
    pub token: String,
}

impl IncidentIoConfig {
    /// The alert event request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("incident_io: url must be the HTTP alert source's URL".into()));
        }
        let mut metadata = serde_json::Map::new();
        metadata.insert("severity".into(), json!(msg.severity.as_str()));
        metadata.insert("source".into(), json!(msg.source));
        metadata.insert("notice".into(), json!(msg.heading()));
        for (k, v) in &msg.labels {
            metadata.insert(k.clone(), Value::String(v.clone()));
        }
        if let Some(details) = msg.details.as_object() {
            metadata.insert("details".into(), Value::Object(details.clone()));
        }
        let mut body = json!({
            "title": truncate(&msg.summary, 255),
            "description": truncate(&text::markdown_body(msg), 10_000),
            "deduplication_key": msg.dedup_key,
            "status": if msg.notice == Notice::Resolve { "resolved" } else { "firing" },
            "metadata": metadata,
        });
        if let Some(link) = msg.links.first() {
            body["source_url"] = json!(link.href);
        }
        Ok(OutgoingRequest::post_json(self.url.clone(), body).header("Authorization", format!("Bearer {}", self.token)))
    }
}

impl super::Notifier for IncidentIoConfig {
    const TYPE: &'static str = "incident_io";
    const SECRETS: &'static [&'static str] = &["token"];
    /// incident.io: 1,200 requests a minute per key.
    const RATE_LIMIT: Option<(f64, f64)> = Some((1200.0, 50.0));

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
    fn firing_and_resolved_under_one_deduplication_key() {
        let i: IncidentIoConfig = serde_json::from_value(
            json!({"name": "i", "url": "https://api.incident.io/v2/alert_events/http/01H", "token": "tok"}),
        )
        .unwrap();
        let page = i.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(page.headers[0], ("Authorization".into(), "Bearer tok".into()));
        assert_eq!(
            (page.body["status"].as_str(), page.body["deduplication_key"].as_str()),
            (Some("firing"), Some("failure_alert/sample_tracker_workflow"))
        );
        assert_eq!(page.body["source_url"], "https://conductor.example.com/search");
        insta::assert_json_snapshot!(page.body);
        let resolve = i.build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!(resolve.body["status"], "resolved");
        assert!(resolve.body["metadata"]["notice"].as_str().unwrap().starts_with("[RESOLVED]"));
    }
}
