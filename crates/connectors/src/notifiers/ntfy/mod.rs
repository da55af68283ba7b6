//! ntfy (ntfy.sh or a server of one's own): a JSON publish to the server's root URL, `POST {url}`
//! with the `topic`, a title, the message, a priority by severity (5 for critical, 3 once
//! resolved), emoji tags and the links as view actions. Auth is a Bearer access token or a user
//! and password. ntfy answers 200 with the message; a 429 has no `Retry-After` (its default is a
//! request every 5 seconds after a burst of 60).

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, Severity, text};

/// ntfy's default limit on a message (bytes).
const MAX_MESSAGE: usize = 4096;
/// The public server.
pub const DEFAULT_URL: &str = "https://ntfy.sh";

/// `type: ntfy`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// Notifier name.
    pub name: String,
    /// The topic (on ntfy.sh its name is its password: use `${workflow.secrets.NAME}`).
    pub topic: String,
    /// The server.
    #[serde(default = "default_url")]
    pub url: String,
    /// An access token (`tk_...`), sent as `Authorization: Bearer`.
    #[serde(default)]
    pub token: Option<String>,
    /// A user, with `password`, for Basic auth.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's password.
    #[serde(default)]
    pub password: Option<String>,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

/// ntfy's priority 1-5 for a notice: pages by severity, the rest quieter.
fn priority(msg: &AlertMessage) -> u8 {
    match (msg.notice, msg.severity) {
        (Notice::Resolve, _) => 3,
        (Notice::Acknowledge, _) => 2,
        (_, Severity::Critical) => 5,
        (_, Severity::Error) => 4,
        (_, Severity::Warning) => 4,
        (_, Severity::Info) => 3,
    }
}

/// Tags ntfy shows as emoji: the state, then the severity.
fn tags(msg: &AlertMessage) -> Vec<&'static str> {
    let state = match msg.notice {
        Notice::Resolve => "white_check_mark",
        Notice::Acknowledge => "eyes",
        _ if msg.severity == Severity::Warning => "warning",
        _ if msg.severity == Severity::Info => "information_source",
        _ => "rotating_light",
    };
    vec![state, msg.severity.as_str()]
}

impl NtfyConfig {
    /// The publish request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.topic.is_empty() || self.topic.len() > 64 || !self.topic.chars().all(valid) {
            return Err(NotifyError::Invalid(format!("ntfy: topic `{}` is not 1-64 of A-Z a-z 0-9 - _", self.topic)));
        }
        let actions: Vec<Value> =
            msg.links.iter().take(3).map(|l| json!({"action": "view", "label": l.text, "url": l.href})).collect();
        let mut body = json!({
            "topic": self.topic,
            "title": msg.heading(),
            "message": text::truncate_bytes(&text::plain_body(msg), MAX_MESSAGE),
            "priority": priority(msg),
            "tags": tags(msg),
            "actions": actions,
        });
        if let Some(link) = msg.links.first() {
            body["click"] = json!(link.href);
        }
        let mut req = OutgoingRequest::post_json(self.url.trim_end_matches('/').to_string() + "/", body);
        match (&self.token, &self.username, &self.password) {
            (Some(token), _, _) => req = req.header("Authorization", format!("Bearer {token}")),
            (None, Some(user), Some(password)) => {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                req = req.header("Authorization", format!("Basic {basic}"));
            }
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(NotifyError::Invalid("ntfy: `username` and `password` go together".into()));
            }
            (None, None, None) => {}
        }
        Ok(req)
    }
}

impl super::Notifier for NtfyConfig {
    const TYPE: &'static str = "ntfy";
    const SECRETS: &'static [&'static str] = &["token", "password"];
    /// ntfy's default visitor limit: a burst of 60, then one request every 5 seconds.
    const RATE_LIMIT: Option<(f64, f64)> = Some((12.0, 60.0));

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
    fn a_json_publish_to_the_root_with_priority_tags_and_actions() {
        let n: NtfyConfig =
            serde_json::from_value(json!({"name": "n", "topic": "ops-alerts", "token": "tk_abc"})).unwrap();
        let req = n.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://ntfy.sh/");
        assert_eq!(req.headers[0], ("Authorization".into(), "Bearer tk_abc".into()));
        assert_eq!((req.body["topic"].as_str(), req.body["priority"].as_u64()), (Some("ops-alerts"), Some(5)));
        assert_eq!(req.body["tags"], json!(["rotating_light", "critical"]));
        assert_eq!(req.body["click"], "https://conductor.example.com/search");
        insta::assert_json_snapshot!(req.body);
        let resolved = n.build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolved.body["title"].as_str().unwrap().starts_with("[RESOLVED]"));
        assert_eq!(
            (resolved.body["priority"].as_u64(), resolved.body["tags"][0].as_str()),
            (Some(3), Some("white_check_mark"))
        );
    }

    #[test]
    fn a_bad_topic_and_half_a_login_are_refused() {
        let bad: NtfyConfig = serde_json::from_value(json!({"name": "n", "topic": "a/b"})).unwrap();
        assert!(bad.build_request(&message(Notice::Trigger)).is_err());
        let half: NtfyConfig = serde_json::from_value(json!({"name": "n", "topic": "t", "username": "u"})).unwrap();
        assert!(half.build_request(&message(Notice::Trigger)).is_err());
        let basic: NtfyConfig = serde_json::from_value(
            json!({"name": "n", "topic": "t", "url": "http://ntfy.local", "username": "u", "password": "p"}),
        )
        .unwrap();
        let req = basic.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!((req.url.as_str(), req.headers[0].1.as_str()), ("http://ntfy.local/", "Basic dTpw"));
    }
}
