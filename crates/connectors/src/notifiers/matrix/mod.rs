//! Matrix, as a bot user of a homeserver: `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/
//! m.room.message/{txnId}` with `Authorization: Bearer`. The message is an `m.notice` (what
//! automated clients send) with an HTML body. The transaction id is the notice's id, so a retried
//! send is recognised by the homeserver and posted once. A 429 (`M_LIMIT_EXCEEDED`) gives
//! `Retry-After` or `retry_after_ms`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http, text, wait_in_body};

/// Bytes of text per body (a whole event may be 64 KiB).
const MAX_BODY: usize = 24_000;

/// `type: matrix`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// Notifier name.
    pub name: String,
    /// The homeserver's client-server API base, `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot user's access token (use `${workflow.secrets.NAME}`).
    pub access_token: String,
    /// The room's internal id, `!abc:example.org` (Room settings, Advanced); the bot must have
    /// joined it.
    pub room_id: String,
}

impl MatrixConfig {
    /// The send-event request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.room_id.starts_with('!') {
            return Err(NotifyError::Invalid(format!(
                "matrix: room_id `{}` is not a room's internal id (`!...:server`)",
                self.room_id
            )));
        }
        let url = format!(
            "{}/_matrix/client/v3/rooms/{}/send/m.room.message/vigil-{}",
            self.homeserver.trim_end_matches('/'),
            super::opsgenie::encode_path(&self.room_id),
            msg.notice_id()
        );
        let body = json!({
            "msgtype": "m.notice",
            "body": text::truncate_bytes(&text::plain(msg), MAX_BODY),
            "format": "org.matrix.custom.html",
            "formatted_body": text::truncate_bytes(&text::html(msg).replace('\n', "<br>"), MAX_BODY),
        });
        let mut req =
            OutgoingRequest::post_json(url, body).header("Authorization", format!("Bearer {}", self.access_token));
        req.method = "PUT";
        Ok(req)
    }
}

impl super::Notifier for MatrixConfig {
    const TYPE: &'static str = "matrix";
    const SECRETS: &'static [&'static str] = &["access_token"];
    /// Homeservers set their own limits (Synapse: a few messages a second per user).
    const RATE_LIMIT: Option<(f64, f64)> = Some((120.0, 10.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        (!self.room_id.starts_with('!')).then(|| {
            (
                "room_id".into(),
                format!("`{}` is not a room's internal id", self.room_id),
                Some("use the id from Room settings > Advanced, like `!abc:example.org`".into()),
            )
        })
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        let wait = retry_after.or_else(|| wait_in_body(body, "/retry_after_ms", Duration::from_millis(1)));
        classify_http(status, wait, body)
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::Notifier;
    use crate::notifiers::fixtures::message;

    fn matrix() -> MatrixConfig {
        serde_json::from_value(json!({"name": "m", "homeserver": "https://matrix.example.org/", "access_token": "syt_x", "room_id": "!room:example.org"})).unwrap()
    }

    #[test]
    fn a_notice_put_under_a_transaction_id_that_a_retry_repeats() {
        let req = matrix().build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.method, "PUT");
        assert!(req.url.starts_with(
            "https://matrix.example.org/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/vigil-"
        ));
        assert_eq!(req.url, matrix().build_request(&message(Notice::Trigger)).unwrap().url);
        assert_ne!(req.url, matrix().build_request(&message(Notice::Resolve)).unwrap().url);
        assert_eq!(req.headers[0], ("Authorization".into(), "Bearer syt_x".into()));
        assert_eq!(
            (req.body["msgtype"].as_str(), req.body["format"].as_str()),
            (Some("m.notice"), Some("org.matrix.custom.html"))
        );
        assert!(req.body["formatted_body"].as_str().unwrap().starts_with("<b>🚨 [FIRING]"));
        let bad: MatrixConfig = serde_json::from_value(
            json!({"name": "m", "homeserver": "https://x", "access_token": "t", "room_id": "#alias:x"}),
        )
        .unwrap();
        assert!(bad.problem().is_some() && bad.build_request(&message(Notice::Trigger)).is_err());
    }

    #[test]
    fn a_429_waits_for_retry_after_ms() {
        let body = r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2000}"#;
        assert!(
            matches!(matrix().classify(429, None, body), Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(2))
        );
    }
}
