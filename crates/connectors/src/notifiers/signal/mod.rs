//! Signal, through a signal-cli-rest-api server of one's own (Signal has no server-side API of its
//! own; Gatus and Uptime Kuma send through the same one): `POST {url}/v2/send` with the sender's
//! `number`, the `recipients` (phone numbers, usernames or `group.<id>` ids) and the text as
//! `message`. The server answers 201 with the message's timestamp, 400 with `{"error": ...}`.

use serde::Deserialize;
use serde_json::json;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, text};

/// Most bytes of a Signal message vigil sends (Signal clients turn longer text into an attachment).
const MAX_MESSAGE: usize = 2_000;

/// `type: signal`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalConfig {
    /// Notifier name.
    pub name: String,
    /// The signal-cli-rest-api server, `http://signal-api:8080` (Gatus' `api-url`).
    pub url: String,
    /// The registered number that sends, `+4915112345678`.
    pub number: String,
    /// Who is told: phone numbers, usernames or `group.<id>` group ids.
    pub recipients: Vec<String>,
}

impl SignalConfig {
    /// The send request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("signal: url must be the signal-cli-rest-api server's URL".into()));
        }
        if self.number.trim().is_empty() {
            return Err(NotifyError::Invalid("signal: number (the registered sender) is empty".into()));
        }
        if self.recipients.is_empty() || self.recipients.iter().any(|r| r.trim().is_empty()) {
            return Err(NotifyError::Invalid("signal: recipients needs at least one number, username or group".into()));
        }
        let body = json!({
            "message": text::truncate_bytes(&text::plain(msg), MAX_MESSAGE),
            "number": self.number,
            "recipients": self.recipients,
        });
        let url = format!("{}/v2/send", self.url.trim_end_matches('/'));
        Ok(OutgoingRequest::post_json(url, body))
    }
}

impl super::Notifier for SignalConfig {
    const TYPE: &'static str = "signal";
    /// A signal-cli-rest-api server of one's own sets no limit (Signal's own are not published).
    const RATE_LIMIT: Option<(f64, f64)> = None;

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::fixtures::message;

    fn signal(extra: serde_json::Value) -> SignalConfig {
        let mut config = json!({"name": "s", "url": "http://signal-api:8080/", "number": "+4915100000000",
            "recipients": ["+4915111111111", "group.b3BzCg=="]});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(config).unwrap()
    }

    #[test]
    fn one_send_to_every_recipient_from_the_number() {
        let req = signal(json!({})).build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "http://signal-api:8080/v2/send");
        assert_eq!(req.body["recipients"], json!(["+4915111111111", "group.b3BzCg=="]));
        insta::assert_json_snapshot!(req.body);
        let resolved = signal(json!({})).build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolved.body["message"].as_str().unwrap().contains("[RESOLVED]"), "{}", resolved.body);
    }

    #[test]
    fn settings_that_cannot_send_are_refused() {
        for bad in [json!({"url": "signal-api:8080"}), json!({"number": " "}), json!({"recipients": []})] {
            assert!(signal(bad.clone()).build_request(&message(Notice::Trigger)).is_err(), "{bad}");
        }
    }
}
