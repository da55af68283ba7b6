//! Jira Service Management's alerts (Opsgenie's successor at Atlassian), through an API
//! integration: the Opsgenie Alert API at `https://api.atlassian.com/jsm/ops/integration`, with
//! `GenieKey` auth. Create `POST /v2/alerts` (the dedup key is the alias), acknowledge and close
//! by alias. It answers 202.

use serde::Deserialize;
use vigil_core::time::Millis;

use super::opsgenie::OpsgenieConfig;
use super::{AlertMessage, NotifyError, OutgoingRequest};

/// JSM's integration API base.
pub const DEFAULT_URL: &str = "https://api.atlassian.com/jsm/ops/integration";

/// `type: jsm`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsmConfig {
    /// Notifier name.
    pub name: String,
    /// The API integration's key (use `${workflow.secrets.NAME}`).
    pub api_key: String,
    /// The integration API's base URL.
    #[serde(default = "default_url")]
    pub url: String,
    /// Fixed priority `P1`–`P5`; by default derived from the severity.
    #[serde(default)]
    pub priority: Option<String>,
    /// Tags added to every alert.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

impl JsmConfig {
    /// The alert request for `msg`: Opsgenie's, at JSM's address.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        let opsgenie = OpsgenieConfig {
            name: self.name.clone(),
            api_key: self.api_key.clone(),
            url: self.url.clone(),
            priority: self.priority.clone(),
            tags: self.tags.clone(),
            heartbeat: None,
        };
        opsgenie.build_request(msg)
    }
}

impl super::Notifier for JsmConfig {
    const TYPE: &'static str = "jsm";
    const SECRETS: &'static [&'static str] = &["api_key"];
    /// As Opsgenie's.
    const RATE_LIMIT: Option<(f64, f64)> = Some((600.0, 50.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn opsgenies_requests_at_jsms_address() {
        let j: JsmConfig = serde_json::from_value(json!({"name": "j", "api_key": "k"})).unwrap();
        let page = j.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(page.url, "https://api.atlassian.com/jsm/ops/integration/v2/alerts");
        assert_eq!(page.headers[0], ("Authorization".into(), "GenieKey k".into()));
        assert_eq!(page.body["alias"], "failure_alert/sample_tracker_workflow");
        let close = j.build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!(
            close.url,
            "https://api.atlassian.com/jsm/ops/integration/v2/alerts/failure_alert%2Fsample_tracker_workflow/close?identifierType=alias"
        );
        let ack = j.build_request(&message(Notice::Acknowledge)).unwrap();
        assert!(ack.url.ends_with("/acknowledge?identifierType=alias"));
    }
}
