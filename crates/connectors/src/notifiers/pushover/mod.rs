//! Pushover: `POST https://api.pushover.net/1/messages.json` with the application `token` and the
//! `user` (or group) key, a title, the message and a priority by severity (1 for critical, which
//! breaks quiet hours; with `emergency`, 2, repeated every `retry` seconds until someone
//! acknowledges or `expire` passes). Pushover answers 200 `{"status": 1}`; a 4xx or a status other
//! than 1 is bad input, never to be repeated; a 429 means the month's quota is used up.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, Severity, classify_http, text, truncate};

/// The API's endpoint.
pub const DEFAULT_URL: &str = "https://api.pushover.net/1/messages.json";
/// Pushover's limits (characters).
const MAX_MESSAGE: usize = 1024;
const MAX_TITLE: usize = 250;
const MAX_URL: usize = 512;
const MAX_URL_TITLE: usize = 100;

/// `type: pushover`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    /// Notifier name.
    pub name: String,
    /// The application's API token (use `${workflow.secrets.NAME}`).
    pub token: String,
    /// The user or group key.
    pub user: String,
    /// Send only to these devices (comma-separated names).
    #[serde(default)]
    pub device: Option<String>,
    /// A sound name from Pushover's list.
    #[serde(default)]
    pub sound: Option<String>,
    /// Critical alerts as emergencies (priority 2): repeated until acknowledged in the app.
    #[serde(default)]
    pub emergency: bool,
    /// Seconds between an emergency's repeats (at least 30).
    #[serde(default = "default_retry")]
    pub retry: u32,
    /// Seconds an emergency is repeated for (at most 10800).
    #[serde(default = "default_expire")]
    pub expire: u32,
    /// The API endpoint.
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_retry() -> u32 {
    60
}

fn default_expire() -> u32 {
    3600
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

impl PushoverConfig {
    fn priority(&self, msg: &AlertMessage) -> i8 {
        match (msg.notice, msg.severity) {
            (Notice::Resolve | Notice::Acknowledge, _) => -1,
            (_, Severity::Critical) if self.emergency => 2,
            (_, Severity::Critical) => 1,
            (_, Severity::Error | Severity::Warning) => 0,
            (_, Severity::Info) => -1,
        }
    }

    /// The messages request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if self.emergency && (self.retry < 30 || self.expire > 10_800) {
            return Err(NotifyError::Invalid("pushover: an emergency needs retry >= 30 and expire <= 10800".into()));
        }
        let priority = self.priority(msg);
        let mut body = json!({
            "token": self.token,
            "user": self.user,
            "title": truncate(&text::heading(msg), MAX_TITLE),
            "message": truncate(&text::plain_body(msg), MAX_MESSAGE),
            "priority": priority,
            "timestamp": msg.at / 1000,
        });
        if priority == 2 {
            body["retry"] = json!(self.retry);
            body["expire"] = json!(self.expire);
        }
        if let Some(link) = msg.links.first() {
            body["url"] = json!(truncate(&link.href, MAX_URL));
            body["url_title"] = json!(truncate(&link.text, MAX_URL_TITLE));
        }
        for (field, value) in [("device", &self.device), ("sound", &self.sound)] {
            if let Some(v) = value {
                body[field] = json!(v);
            }
        }
        Ok(OutgoingRequest::post_json(self.url.clone(), body))
    }
}

/// `status: 1` is accepted; any other status, or a 4xx, is bad input (Pushover asks that it not be
/// repeated); a 5xx is retried.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200..=299 if answer["status"] == json!(1) => Outcome::Delivered,
        200..=299 => Outcome::Permanent { reason: format!("pushover answered: {}", truncate(body, 300)) },
        _ => classify_http(status, retry_after, body),
    }
}

impl super::Notifier for PushoverConfig {
    const TYPE: &'static str = "pushover";
    const SECRETS: &'static [&'static str] = &["token", "user"];
    /// Pushover asks for at most two connections at once; a burst of two, then one a second.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 2.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        if !self.emergency {
            return None;
        }
        if self.retry < 30 {
            return Some(("retry".into(), format!("{} is below Pushover's minimum of 30 seconds", self.retry), None));
        }
        (self.expire > 10_800)
            .then(|| ("expire".into(), format!("{} is above Pushover's maximum of 10800 seconds", self.expire), None))
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
    use crate::notifiers::Notifier;
    use crate::notifiers::fixtures::message;

    fn pushover(extra: Value) -> PushoverConfig {
        let mut v =
            json!({"name": "p", "token": "azGDORePK8gMaC0QOYAMyEEuzJnyUi", "user": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn priority_follows_severity_and_an_emergency_repeats() {
        let req = pushover(json!({})).build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://api.pushover.net/1/messages.json");
        assert_eq!((req.body["priority"].as_i64(), req.body.get("retry")), (Some(1), None));
        assert_eq!(req.body["url"], "https://conductor.example.com/search");
        insta::assert_json_snapshot!(req.body);
        let emergency = pushover(json!({"emergency": true})).build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(
            (emergency.body["priority"].as_i64(), emergency.body["retry"].as_u64(), emergency.body["expire"].as_u64()),
            (Some(2), Some(60), Some(3600))
        );
        let resolved = pushover(json!({"emergency": true})).build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolved.body["title"].as_str().unwrap().contains("[RESOLVED]"));
        assert_eq!(resolved.body["priority"], -1);
        assert!(pushover(json!({"emergency": true, "retry": 10})).problem().is_some());
    }

    #[test]
    fn status_in_the_body_decides() {
        assert_eq!(classify(200, None, r#"{"status":1,"request":"x"}"#), Outcome::Delivered);
        assert!(matches!(classify(200, None, r#"{"status":0}"#), Outcome::Permanent { .. }));
        assert!(matches!(
            classify(400, None, r#"{"user":"invalid","errors":["user identifier is invalid"],"status":0}"#),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(classify(500, None, ""), Outcome::Retry { .. }));
    }
}
