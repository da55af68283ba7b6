//! PagerDuty Events API v2: `POST /v2/enqueue` with `routing_key`, `event_action`, `dedup_key` and
//! `payload`. 202 is success; 400 is permanent; 429 and 5xx are retried. Reminders re-send the
//! trigger with the same `dedup_key`, which PagerDuty folds into the open incident.

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest, rfc3339, truncate};

/// The public endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// PagerDuty's limit on `dedup_key`.
pub const MAX_DEDUP_KEY: usize = 255;
/// PagerDuty's limit on `payload.summary`.
pub const MAX_SUMMARY: usize = 1024;

/// `type: pagerduty`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Notifier name.
    pub name: String,
    /// The integration's routing key (use `${workflow.secrets.NAME}`).
    pub routing_key: String,
    /// Endpoint; the public one by default (set it for proxies, EU gateways and tests).
    #[serde(default = "default_url")]
    pub url: String,
    /// `payload.component`.
    #[serde(default)]
    pub component: Option<String>,
    /// `payload.group`.
    #[serde(default)]
    pub group: Option<String>,
    /// `payload.class`.
    #[serde(default)]
    pub class: Option<String>,
    /// Image URLs shown on the incident.
    #[serde(default)]
    pub images: Vec<String>,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

impl PagerDutyConfig {
    /// The Events v2 request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if self.routing_key.trim().is_empty() {
            return Err(NotifyError::Invalid("pagerduty: routing_key is empty".into()));
        }
        let action = match msg.notice {
            // A trigger on an open incident's dedup key updates its severity (Events API v2).
            Notice::Trigger | Notice::Remind | Notice::Change => "trigger",
            Notice::Resolve => "resolve",
            Notice::Acknowledge => "acknowledge",
        };
        let dedup_key = dedup_key(&msg.dedup_key);
        let mut body = json!({"routing_key": self.routing_key, "event_action": action, "dedup_key": dedup_key});
        if action == "trigger" {
            let mut details = match &msg.details {
                Value::Object(m) => m.clone(),
                Value::Null => Default::default(),
                other => [("details".to_string(), other.clone())].into_iter().collect(),
            };
            for (k, v) in &msg.labels {
                details.entry(format!("label.{k}")).or_insert_with(|| Value::String(v.clone()));
            }
            let mut payload = json!({
                "summary": truncate(&msg.heading(), MAX_SUMMARY),
                "source": msg.source,
                "severity": msg.severity.as_str(),
                "timestamp": rfc3339(msg.firing_since),
                "custom_details": details,
            });
            for (field, value) in [("component", &self.component), ("group", &self.group), ("class", &self.class)] {
                if let Some(v) = value {
                    payload[field] = Value::String(v.clone());
                }
            }
            body["payload"] = payload;
            body["client"] = json!("vigil");
            if !msg.links.is_empty() {
                body["links"] =
                    json!(msg.links.iter().map(|l| json!({"href": l.href, "text": l.text})).collect::<Vec<_>>());
            }
            if !self.images.is_empty() {
                body["images"] = json!(self.images.iter().map(|src| json!({"src": src})).collect::<Vec<_>>());
            }
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

impl PagerDutyConfig {
    /// A Change Event (`/v2/change/enqueue`): something that happened, not a problem, so it
    /// opens no incident and pages nobody (a startup notice, say). The endpoint is the events
    /// URL's `/v2/enqueue` replaced by `/v2/change/enqueue`.
    pub fn change_request(
        &self,
        summary: &str,
        source: &str,
        details: Value,
        at: Millis,
    ) -> Result<OutgoingRequest, NotifyError> {
        if self.routing_key.trim().is_empty() {
            return Err(NotifyError::Invalid("pagerduty: routing_key is empty".into()));
        }
        let url = match self.url.strip_suffix("/v2/enqueue") {
            Some(base) => format!("{base}/v2/change/enqueue"),
            None => self.url.trim_end_matches('/').to_string() + "/v2/change/enqueue",
        };
        let body = json!({
            "routing_key": self.routing_key,
            "payload": {
                "summary": truncate(summary, MAX_SUMMARY),
                "source": source,
                "timestamp": rfc3339(at),
                "custom_details": details,
            },
        });
        Ok(OutgoingRequest { method: "POST", url, headers: Vec::new(), body, encoding: Encoding::Json })
    }
}

/// A dedup key within PagerDuty's 255 characters: long keys keep a prefix and a hash of the rest,
/// so they stay stable and distinct.
pub fn dedup_key(key: &str) -> String {
    if key.len() <= MAX_DEDUP_KEY {
        return key.to_string();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let mut cut = MAX_DEDUP_KEY - hex.len() - 1;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{hex}", &key[..cut])
}

impl super::Notifier for PagerDutyConfig {
    const TYPE: &'static str = "pagerduty";
    const SECRETS: &'static [&'static str] = &["routing_key"];
    /// PagerDuty: about 120 events a minute per routing key.
    const RATE_LIMIT: Option<(f64, f64)> = Some((120.0, 20.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests;
