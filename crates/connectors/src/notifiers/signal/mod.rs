//! Signal, through a signal-cli-rest-api server of one's own (Signal has no server-side API of its
//! own; Gatus and Uptime Kuma send through the same one): `POST {url}/v2/send` with the sender's
//! `number`, the `recipients` and the text as `message` (`text_mode: normal`, so a server set to
//! styled text does not read `*` or `~` in it as formatting). The server answers 201 with the
//! message's timestamp, 400 with `{"error": ...}`; it sends to several phone numbers, or several
//! usernames, or one group (`group.<id>`) per request, and refuses a mix: so does vigil, when the
//! file is read.

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

/// What a recipient is, as signal-cli-rest-api tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Group,
    Username,
}

fn kind(recipient: &str) -> Kind {
    if recipient.starts_with('+') {
        Kind::Number
    } else if recipient.starts_with("group.") {
        Kind::Group
    } else {
        Kind::Username
    }
}

impl SignalConfig {
    /// What in the settings cannot send, as (field, message).
    fn settings_problem(&self) -> Option<(&'static str, String)> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Some(("url", "the signal-cli-rest-api server's URL, `http://signal-api:8080`".into()));
        }
        if self.number.trim().is_empty() {
            return Some(("number", "the registered number that sends, `+4915112345678`".into()));
        }
        if self.recipients.is_empty() || self.recipients.iter().any(|r| r.trim().is_empty()) {
            return Some(("recipients", "at least one phone number, username or `group.<id>`".into()));
        }
        let kinds: Vec<Kind> = self.recipients.iter().map(|r| kind(r)).collect();
        if kinds.windows(2).any(|k| k[0] != k[1]) || kinds.iter().filter(|k| **k == Kind::Group).count() > 1 {
            return Some((
                "recipients",
                "signal-cli-rest-api sends to phone numbers, or usernames, or one group per request: \
                 write a notifier for each"
                    .into(),
            ));
        }
        None
    }

    /// The send request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if let Some((field, why)) = self.settings_problem() {
            return Err(NotifyError::Invalid(format!("signal: {field}: {why}")));
        }
        let body = json!({
            "message": text::truncate_bytes(&text::plain(msg), MAX_MESSAGE),
            "number": self.number,
            "recipients": self.recipients,
            "text_mode": "normal",
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

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        self.settings_problem().map(|(field, why)| (field.to_string(), why, None))
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
            "recipients": ["+4915111111111", "+4915122222222"]});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(config).unwrap()
    }

    #[test]
    fn one_send_to_every_recipient_from_the_number() {
        let req = signal(json!({})).build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "http://signal-api:8080/v2/send");
        assert_eq!(req.body["recipients"], json!(["+4915111111111", "+4915122222222"]));
        assert_eq!(req.body["text_mode"], "normal");
        insta::assert_json_snapshot!(req.body);
        let resolved = signal(json!({})).build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolved.body["message"].as_str().unwrap().contains("[RESOLVED]"), "{}", resolved.body);
    }

    #[test]
    fn settings_that_cannot_send_are_refused() {
        for bad in [
            json!({"url": "signal-api:8080"}),
            json!({"number": " "}),
            json!({"recipients": []}),
            json!({"recipients": ["+4915111111111", "group.b3BzCg=="]}),
            json!({"recipients": ["group.b3BzCg==", "group.ZGV2Cg=="]}),
            json!({"recipients": ["+4915111111111", "ops.01"]}),
        ] {
            let config = signal(bad.clone());
            assert!(config.build_request(&message(Notice::Trigger)).is_err(), "{bad}");
            let field = bad.as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(crate::notifiers::Notifier::problem(&config).map(|p| p.0), Some(field), "{bad}");
        }
        assert!(signal(json!({"recipients": ["group.b3BzCg=="]})).settings_problem().is_none());
        assert!(signal(json!({"recipients": ["ops.01", "dev.02"]})).settings_problem().is_none());
    }
}
