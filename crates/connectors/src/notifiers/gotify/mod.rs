//! Gotify: `POST {url}/message` with the application token in `X-Gotify-Key`, a Markdown message
//! (`extras."client::display".contentType`), a priority by severity (8 pages with sound and
//! vibration, 2 once resolved) and the first link opened on a tap. Gotify answers 200 with the
//! message.

use serde::Deserialize;
use serde_json::json;
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, Severity, text};

/// `type: gotify`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GotifyConfig {
    /// Notifier name.
    pub name: String,
    /// The Gotify server, `https://gotify.example.org`.
    pub url: String,
    /// The application's token (use `${workflow.secrets.NAME}`).
    pub token: String,
}

/// Gotify's priorities as its Android app reads them: 8 and up vibrate, 4-7 sound, 1-3 stay quiet.
fn priority(msg: &AlertMessage) -> u8 {
    match (msg.notice, msg.severity) {
        (Notice::Resolve | Notice::Acknowledge, _) => 2,
        (_, Severity::Critical | Severity::Error) => 8,
        (_, Severity::Warning) => 5,
        (_, Severity::Info) => 2,
    }
}

impl GotifyConfig {
    /// The create-message request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("gotify: url must be the server's URL".into()));
        }
        let mut extras = json!({"client::display": {"contentType": "text/markdown"}});
        if let Some(link) = msg.links.first() {
            extras["client::notification"] = json!({"click": {"url": link.href}});
        }
        let body = json!({
            "title": text::heading(msg),
            "message": text::markdown_body(msg),
            "priority": priority(msg),
            "extras": extras,
        });
        let url = format!("{}/message", self.url.trim_end_matches('/'));
        Ok(OutgoingRequest::post_json(url, body).header("X-Gotify-Key", self.token.as_str()))
    }
}

impl super::Notifier for GotifyConfig {
    const TYPE: &'static str = "gotify";
    const SECRETS: &'static [&'static str] = &["token"];
    /// A Gotify server of one's own sets no limit.
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
    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn a_markdown_message_with_the_token_in_a_header() {
        let g: GotifyConfig =
            serde_json::from_value(json!({"name": "g", "url": "https://gotify.example.org/", "token": "AbC"})).unwrap();
        let req = g.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://gotify.example.org/message");
        assert_eq!(req.headers[0], ("X-Gotify-Key".into(), "AbC".into()));
        assert_eq!(req.body["priority"], 8);
        assert_eq!(req.body["extras"]["client::display"]["contentType"], "text/markdown");
        insta::assert_json_snapshot!(req.body);
        let resolved = g.build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolved.body["title"].as_str().unwrap().contains("[RESOLVED]"));
        assert_eq!(resolved.body["priority"], 2);
    }
}
