//! Opsgenie Alert API: create with `POST /v2/alerts` (the dedup key is the `alias`, so repeats
//! update one alert), close and acknowledge by alias with
//! `POST /v2/alerts/{alias}/close|acknowledge?identifierType=alias`. `GenieKey` auth.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use vigil_core::alert::Notice;

use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest, Severity, truncate};

/// The public endpoint (use `https://api.eu.opsgenie.com` for the EU instance).
pub const DEFAULT_URL: &str = "https://api.opsgenie.com";
/// Opsgenie's limit on `message`.
pub const MAX_MESSAGE: usize = 130;
/// Opsgenie's limit on `alias`.
pub const MAX_ALIAS: usize = 512;
/// Opsgenie's limit on `description`.
pub const MAX_DESCRIPTION: usize = 15_000;

/// `type: opsgenie`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// Notifier name.
    pub name: String,
    /// The integration's API key (use `${workflow.secrets.NAME}`).
    pub api_key: String,
    /// API base URL.
    #[serde(default = "default_url")]
    pub url: String,
    /// Fixed priority `P1`–`P5`; by default derived from the severity.
    #[serde(default)]
    pub priority: Option<String>,
    /// Tags added to every alert.
    #[serde(default)]
    pub tags: Vec<String>,
    /// An Opsgenie heartbeat that vigil's startup notice pings (`vigil serve --heartbeat`).
    /// Opsgenie has no informational message: without one, the startup notice skips Opsgenie
    /// rather than opening and closing an alert.
    #[serde(default)]
    pub heartbeat: Option<String>,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

impl OpsgenieConfig {
    /// The Heartbeat API ping of the configured heartbeat, if there is one.
    pub fn heartbeat_request(&self) -> Option<OutgoingRequest> {
        let name = self.heartbeat.as_deref().filter(|n| !n.trim().is_empty())?;
        let base = self.url.trim_end_matches('/');
        Some(OutgoingRequest {
            method: "POST",
            url: format!("{base}/v2/heartbeats/{}/ping", encode_path(name)),
            headers: vec![("Authorization".to_string(), format!("GenieKey {}", self.api_key))],
            body: json!({}),
            encoding: Encoding::Json,
        })
    }

    /// The Alert API request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        let priority = match &self.priority {
            Some(p) if ["P1", "P2", "P3", "P4", "P5"].contains(&p.as_str()) => p.clone(),
            Some(p) => return Err(NotifyError::Invalid(format!("opsgenie: priority `{p}` is not one of P1-P5"))),
            None => match msg.severity {
                Severity::Critical => "P1",
                Severity::Error => "P2",
                Severity::Warning => "P3",
                Severity::Info => "P5",
            }
            .into(),
        };
        let alias = truncate(&msg.dedup_key, MAX_ALIAS);
        let base = self.url.trim_end_matches('/');
        let headers = vec![("Authorization".to_string(), format!("GenieKey {}", self.api_key))];
        let (url, body) = match msg.notice {
            Notice::Trigger | Notice::Remind => {
                let mut details = Map::new();
                for (k, v) in &msg.labels {
                    details.insert(k.clone(), Value::String(v.clone()));
                }
                details.insert("dedup_key".into(), Value::String(msg.dedup_key.clone()));
                let mut tags: Vec<String> = self.tags.clone();
                tags.extend(msg.labels.iter().map(|(k, v)| format!("{k}:{v}")));
                let description = match (msg.rendered_text(), super::details_text(&msg.details)) {
                    (Some(text), _) => text.to_string(),
                    (None, Some(details)) => format!("{}\n\n{details}", msg.summary),
                    (None, None) => msg.summary.clone(),
                };
                let body = json!({
                    "message": truncate(&msg.heading(), MAX_MESSAGE),
                    "alias": alias,
                    "description": truncate(&description, MAX_DESCRIPTION),
                    "priority": priority,
                    "source": msg.source,
                    "tags": tags,
                    "details": details,
                    "entity": msg.name,
                });
                (format!("{base}/v2/alerts"), body)
            }
            // Opsgenie keeps one alert per alias; a change of tier updates its priority.
            Notice::Change => {
                let url = format!("{base}/v2/alerts/{}/priority?identifierType=alias", encode_path(&alias));
                return Ok(OutgoingRequest {
                    method: "PUT",
                    url,
                    headers,
                    body: json!({"priority": priority}),
                    encoding: Encoding::Json,
                });
            }
            Notice::Resolve => (
                format!("{base}/v2/alerts/{}/close?identifierType=alias", encode_path(&alias)),
                json!({"source": msg.source, "note": "Resolved by vigil"}),
            ),
            Notice::Acknowledge => (
                format!("{base}/v2/alerts/{}/acknowledge?identifierType=alias", encode_path(&alias)),
                json!({"source": msg.source, "note": "Acknowledged in vigil"}),
            ),
        };
        Ok(OutgoingRequest { method: "POST", url, headers, body, encoding: Encoding::Json })
    }
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
pub fn encode_path(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl super::Notifier for OpsgenieConfig {
    const TYPE: &'static str = "opsgenie";
    const SECRETS: &'static [&'static str] = &["api_key"];
    /// Opsgenie: generous.
    const RATE_LIMIT: Option<(f64, f64)> = Some((600.0, 50.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests;
