//! Splunk On-Call (VictorOps) through its REST endpoint integration:
//! `POST {url}/{api_key}/{routing_key}` with `message_type` (`CRITICAL`, `WARNING`, `INFO`,
//! `ACKNOWLEDGEMENT`, `RECOVERY`) and the dedup key as `entity_id`, so a page, its
//! acknowledgement and its recovery are one incident. It answers `{"result": "success"}`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, Severity, classify_http, text, truncate};

/// The REST endpoint's base.
pub const DEFAULT_URL: &str = "https://alert.victorops.com/integrations/generic/20131114/alert";
/// Characters of `state_message` (Alertmanager's cut).
const MAX_STATE_MESSAGE: usize = 20_480;

/// `type: splunk_oncall`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplunkOnCallConfig {
    /// Notifier name.
    pub name: String,
    /// The REST integration's API key (use `${workflow.secrets.NAME}`).
    pub api_key: String,
    /// The routing key that picks the team.
    pub routing_key: String,
    /// The REST endpoint's base.
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

impl SplunkOnCallConfig {
    /// The REST endpoint request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        let message_type = match (msg.notice, msg.severity) {
            (Notice::Resolve, _) => "RECOVERY",
            (Notice::Acknowledge, _) => "ACKNOWLEDGEMENT",
            (_, Severity::Critical | Severity::Error) => "CRITICAL",
            (_, Severity::Warning) => "WARNING",
            (_, Severity::Info) => "INFO",
        };
        let mut body = json!({
            "message_type": message_type,
            "entity_id": msg.dedup_key,
            "entity_display_name": truncate(&msg.heading(), 512),
            "state_message": truncate(&text::plain_body(msg), MAX_STATE_MESSAGE),
            "state_start_time": msg.firing_since / 1000,
            "monitoring_tool": "vigil",
            "vigil_source": msg.source,
            "vigil_severity": msg.severity.as_str(),
        });
        for (k, v) in &msg.labels {
            body[format!("label_{k}")] = json!(v);
        }
        let url = format!(
            "{}/{}/{}",
            self.url.trim_end_matches('/'),
            super::opsgenie::encode_path(&self.api_key),
            super::opsgenie::encode_path(&self.routing_key)
        );
        Ok(OutgoingRequest::post_json(url, body))
    }
}

/// `result` in the body decides.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200..=299 if answer["result"] == json!("failure") => {
            Outcome::Permanent { reason: format!("splunk on-call answered: {}", truncate(body, 300)) }
        }
        _ => classify_http(status, retry_after, body),
    }
}

impl super::Notifier for SplunkOnCallConfig {
    const TYPE: &'static str = "splunk_oncall";
    const SECRETS: &'static [&'static str] = &["api_key"];
    /// No limit is documented; generous, as for Opsgenie.
    const RATE_LIMIT: Option<(f64, f64)> = Some((600.0, 50.0));

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
    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn one_entity_from_page_to_recovery() {
        let s: SplunkOnCallConfig =
            serde_json::from_value(json!({"name": "s", "api_key": "KEY", "routing_key": "team a"})).unwrap();
        let req = s.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://alert.victorops.com/integrations/generic/20131114/alert/KEY/team%20a");
        assert_eq!(
            (req.body["message_type"].as_str(), req.body["entity_id"].as_str()),
            (Some("CRITICAL"), Some("failure_alert/sample_tracker_workflow"))
        );
        insta::assert_json_snapshot!(req.body);
        let types: Vec<String> = [Notice::Acknowledge, Notice::Resolve]
            .into_iter()
            .map(|n| s.build_request(&message(n)).unwrap().body["message_type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(types, ["ACKNOWLEDGEMENT", "RECOVERY"]);
        assert_eq!(classify(200, None, r#"{"result":"success","entity_id":"x"}"#), Outcome::Delivered);
        assert!(matches!(
            classify(200, None, r#"{"result":"failure","message":"bad key"}"#),
            Outcome::Permanent { .. }
        ));
    }
}
