//! Google Chat through a space's incoming webhook: `POST <webhook url>` (its `key` and `token` are
//! in the query) with a card (`cardsV2`). Each alert is one thread (`thread.threadKey` from the
//! dedup key, `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`), so a resolve answers its
//! page; `requestId` is the notice's id, so a retried send returns the message made the first
//! time instead of posting it twice.

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, OutgoingRequest, Severity, text, truncate};

/// Characters of text per widget (a message may be 32,000 bytes in all).
const MAX_WIDGET: usize = 4000;

/// `type: google_chat`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoogleChatConfig {
    /// Notifier name.
    pub name: String,
    /// The space's webhook URL, `https://chat.googleapis.com/v1/spaces/SPACE/messages?key=...&token=...`
    /// (use `${workflow.secrets.NAME}`).
    pub url: String,
}

fn colour(msg: &AlertMessage) -> &'static str {
    match msg.notice {
        Notice::Resolve => "#2EB67D",
        Notice::Acknowledge => "#757575",
        _ if msg.severity == Severity::Info => "#1A73E8",
        _ if msg.severity == Severity::Warning => "#E37400",
        _ => "#D93025",
    }
}

impl GoogleChatConfig {
    /// The webhook request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("google_chat: url must be the space's webhook URL".into()));
        }
        let escape = text::escape_html;
        let mut widgets: Vec<Value> = Vec::new();
        if let Some(rendered) = msg.rendered_text() {
            widgets.push(json!({"textParagraph": {"text": escape(&truncate(rendered, MAX_WIDGET))}}));
        }
        widgets.extend(
            text::facts(msg)
                .into_iter()
                .map(|(k, v)| json!({"decoratedText": {"topLabel": escape(&k), "text": escape(&v)}})),
        );
        if let Some(details) = super::details_text(&msg.details) {
            widgets.push(json!({"textParagraph": {"text": format!("<font color=\"#5f6368\">{}</font>", escape(&truncate(&details, MAX_WIDGET)))}}));
        }
        widgets.push(json!({"decoratedText": {"topLabel": "dedup key", "text": escape(&msg.dedup_key)}}));
        if !msg.links.is_empty() {
            let buttons: Vec<Value> =
                msg.links.iter().map(|l| json!({"text": l.text, "onClick": {"openLink": {"url": l.href}}})).collect();
            widgets.push(json!({"buttonList": {"buttons": buttons}}));
        }
        let title = format!("<font color=\"{}\"><b>{}</b></font>", colour(msg), escape(&msg.heading()));
        let body = json!({
            "fallbackText": text::heading(msg),
            "cardsV2": [{
                "cardId": "vigil",
                "card": {
                    "header": {"title": truncate(&text::heading(msg), 200), "subtitle": msg.source},
                    "sections": [{"widgets": [{"textParagraph": {"text": title}}]}, {"widgets": widgets}],
                },
            }],
            "thread": {"threadKey": thread_key(&msg.dedup_key)},
        });
        let joiner = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{joiner}messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD&requestId={}",
            self.url,
            msg.notice_id()
        );
        Ok(OutgoingRequest::post_json(url, body))
    }
}

/// A thread key for a dedup key: its hash, so any key fits Google Chat's limits.
fn thread_key(dedup_key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(dedup_key.as_bytes());
    format!("vigil-{}", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl super::Notifier for GoogleChatConfig {
    const TYPE: &'static str = "google_chat";
    const SECRETS: &'static [&'static str] = &["url"];
    /// Google Chat: 60 messages a minute into one space, shared by everything posting there.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 3.0));

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

    fn chat() -> GoogleChatConfig {
        serde_json::from_value(
            json!({"name": "ops", "url": "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"}),
        )
        .unwrap()
    }

    #[test]
    fn the_card_threads_by_alert_and_a_retry_keeps_its_request_id() {
        let trigger = chat().build_request(&message(Notice::Trigger)).unwrap();
        assert!(trigger.url.starts_with("https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD&requestId="));
        assert_eq!(
            trigger.url,
            chat().build_request(&message(Notice::Trigger)).unwrap().url,
            "the same notice, the same id"
        );
        let resolve = chat().build_request(&message(Notice::Resolve)).unwrap();
        assert_ne!(trigger.url, resolve.url, "another notice, another id");
        assert_eq!(trigger.body["thread"], resolve.body["thread"], "one thread per alert");
        assert!(resolve.body["fallbackText"].as_str().unwrap().contains("[RESOLVED]"));
        let card = &trigger.body["cardsV2"][0]["card"];
        assert!(card["header"]["title"].as_str().unwrap().contains("[FIRING]"));
        insta::assert_json_snapshot!(trigger.body);
    }

    #[test]
    fn text_from_labels_is_escaped() {
        let mut msg = message(Notice::Trigger);
        msg.labels.insert("host".into(), "<b>x</b>".into());
        let body = chat().build_request(&msg).unwrap().body.to_string();
        assert!(body.contains("&lt;b&gt;x&lt;/b&gt;") && !body.contains("<b>x</b>"), "{body}");
    }
}
