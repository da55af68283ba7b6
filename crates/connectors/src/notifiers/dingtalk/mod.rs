//! DingTalk custom robots: `POST <robot webhook url>` (its `access_token` in the query) with a
//! Markdown message. With the robot's signing secret ("加签"), the URL carries `timestamp`
//! (milliseconds) and `sign` = base64(HMAC-SHA256 keyed with the secret over
//! `timestamp + "\n" + secret`), URL-encoded once. `msgUuid` is the notice's id, so a retry is not
//! posted twice. DingTalk answers HTTP 200 even on failure: `errcode` 0 is success, 130101 means
//! "more than 20 a minute" (the robot is then throttled for 10 minutes), 310000 a signature,
//! keyword or address refused.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http, text, truncate};

/// Bytes of Markdown per message (DingTalk refuses bodies over 20,000 bytes).
const MAX_TEXT: usize = 18_000;

/// `type: dingtalk`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DingTalkConfig {
    /// Notifier name.
    pub name: String,
    /// The robot's webhook URL, `https://oapi.dingtalk.com/robot/send?access_token=...` (use
    /// `${workflow.secrets.NAME}`).
    pub url: String,
    /// The robot's signing secret (`SEC...`), when its security setting is signing.
    #[serde(default)]
    pub secret: Option<String>,
    /// Mobile numbers to @-mention on a page.
    #[serde(default)]
    pub at_mobiles: Vec<String>,
}

/// The signature DingTalk expects at `timestamp` (milliseconds), before URL-encoding.
pub fn sign(timestamp: Millis, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl DingTalkConfig {
    /// The robot request for `msg`, signed at `now` when a secret is set.
    pub fn build_request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("dingtalk: url must be the robot's webhook URL".into()));
        }
        let pages = !matches!(msg.notice, vigil_core::alert::Notice::Resolve | vigil_core::alert::Notice::Acknowledge);
        let mut markdown = format!("### {}\n\n{}", text::heading(msg), text::markdown_body(msg));
        let mentions: Vec<&String> = if pages { self.at_mobiles.iter().collect() } else { Vec::new() };
        if !mentions.is_empty() {
            // A mention shows only when the text names the number too.
            let named: Vec<String> = mentions.iter().map(|m| format!("@{m}")).collect();
            markdown.push_str(&format!("\n\n{}", named.join(" ")));
        }
        let body = json!({
            "msgtype": "markdown",
            "markdown": {"title": truncate(&text::heading(msg), 100), "text": text::truncate_bytes(&markdown, MAX_TEXT)},
            "at": {"atMobiles": mentions, "isAtAll": false},
            "msgUuid": msg.notice_id(),
        });
        let mut url = self.url.clone();
        if let Some(secret) = self.secret.as_deref().filter(|s| !s.is_empty()) {
            let signature: String = form_urlencoded::byte_serialize(sign(now, secret).as_bytes()).collect();
            let joiner = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{joiner}timestamp={now}&sign={signature}");
        }
        Ok(OutgoingRequest::post_json(url, body))
    }
}

/// `errcode` decides: 0 sent; throttling (130101, 410100), "busy" (-1) or no `errcode` at all (an
/// anti-abuse answer) retried after a minute; anything else refused.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    if !(200..=299).contains(&status) {
        return classify_http(status, retry_after, body);
    }
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match answer["errcode"].as_i64() {
        Some(0) => Outcome::Delivered,
        Some(130101 | 410100 | -1) | None => Outcome::Retry {
            reason: format!("dingtalk is throttling: {}", truncate(body, 300)),
            after: Some(retry_after.unwrap_or(Duration::from_secs(60))),
        },
        Some(_) => Outcome::Permanent { reason: format!("dingtalk answered: {}", truncate(body, 300)) },
    }
}

impl super::Notifier for DingTalkConfig {
    const TYPE: &'static str = "dingtalk";
    const SECRETS: &'static [&'static str] = &["url", "secret"];
    /// DingTalk: 20 messages a minute per robot.
    const RATE_LIMIT: Option<(f64, f64)> = Some((20.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg, now)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::fixtures::message;

    /// DingTalk's recipe: the HMAC over `timestamp\nsecret`, base64, URL-encoded once.
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_and_secret_encoded_once() {
        let d: DingTalkConfig = serde_json::from_value(json!({"name": "d", "url": "https://oapi.dingtalk.com/robot/send?access_token=T", "secret": "SECabc", "at_mobiles": ["13800000000"]})).unwrap();
        let req = d.build_request(&message(Notice::Trigger), 1_700_000_000_000).unwrap();
        // Python: quote_plus(b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", sha256).digest()))
        assert_eq!(
            req.url,
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000&sign=jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM%3D"
        );
        assert_eq!(req.body["msgtype"], "markdown");
        assert!(req.body["markdown"]["text"].as_str().unwrap().ends_with("@13800000000"));
        assert_eq!(req.body["at"]["atMobiles"], json!(["13800000000"]));
        let resolved = d.build_request(&message(Notice::Resolve), 0).unwrap();
        assert!(resolved.body["markdown"]["title"].as_str().unwrap().contains("[RESOLVED]"));
        assert_eq!(resolved.body["at"]["atMobiles"], json!([]), "a resolve mentions nobody");
        insta::assert_json_snapshot!(resolved.body);
    }

    #[test]
    fn errcode_decides_even_in_a_200() {
        assert_eq!(classify(200, None, r#"{"errcode":0,"errmsg":"ok"}"#), Outcome::Delivered);
        assert!(
            matches!(classify(200, None, r#"{"errcode":130101,"errmsg":"send too fast"}"#), Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(60))
        );
        assert!(matches!(classify(200, None, r#"{"status":1111,"wait":5}"#), Outcome::Retry { .. }));
        assert!(matches!(
            classify(200, None, r#"{"errcode":310000,"errmsg":"sign not match"}"#),
            Outcome::Permanent { .. }
        ));
    }
}
