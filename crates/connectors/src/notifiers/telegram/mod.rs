//! Telegram through a bot: `POST {api_url}/bot{token}/sendMessage` with the chat id and an HTML
//! message. Telegram answers `{"ok": true, ...}`; a 429 says how long to wait in
//! `parameters.retry_after` (and `Retry-After`). Resolves and acknowledgements arrive silently
//! (`disable_notification`); pages ring.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http, text, truncate, wait_in_body};

/// Telegram's limit on a message's text (characters, after entities are parsed).
const MAX_TEXT: usize = 4096;
/// The Bot API's public endpoint.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// `type: telegram`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Notifier name.
    pub name: String,
    /// The bot's token from @BotFather, `123456:ABC-...` (use `${workflow.secrets.NAME}`).
    pub bot_token: String,
    /// The chat: a numeric id (groups are negative) or `@channelusername`.
    #[serde(deserialize_with = "super::string_or_number")]
    #[schema(value_type = String)]
    pub chat_id: String,
    /// A forum topic of the chat to post into.
    #[serde(default)]
    pub message_thread_id: Option<i64>,
    /// The Bot API server (a local one, say).
    #[serde(default = "default_api_url")]
    pub api_url: String,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.into()
}

impl TelegramConfig {
    /// The `sendMessage` request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if self.bot_token.trim().is_empty() || self.chat_id.trim().is_empty() {
            return Err(NotifyError::Invalid("telegram: bot_token and chat_id are needed".into()));
        }
        let html = text::html(msg);
        // HTML cut in the middle would not parse: a message too long goes as plain text instead.
        let (text, parse_mode) = if html.chars().count() <= MAX_TEXT {
            (html, Some("HTML"))
        } else {
            (truncate(&text::plain(msg), MAX_TEXT), None)
        };
        let mut body = json!({
            "chat_id": self.chat_id,
            "text": text,
            "link_preview_options": {"is_disabled": true},
            "disable_notification": matches!(msg.notice, Notice::Resolve | Notice::Acknowledge),
        });
        if let Some(mode) = parse_mode {
            body["parse_mode"] = json!(mode);
        }
        if let Some(thread) = self.message_thread_id {
            body["message_thread_id"] = json!(thread);
        }
        let url = format!("{}/bot{}/sendMessage", self.api_url.trim_end_matches('/'), self.bot_token);
        Ok(OutgoingRequest::post_json(url, body))
    }
}

/// Telegram answers `{"ok": true}`; `ok: false` in a 200 is a failure it describes.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200..=299 if answer["ok"] == json!(true) => Outcome::Delivered,
        200..=299 => Outcome::Permanent { reason: format!("telegram answered: {}", truncate(body, 300)) },
        429 => {
            let wait = retry_after.or_else(|| wait_in_body(body, "/parameters/retry_after", Duration::from_secs(1)));
            classify_http(status, wait, body)
        }
        _ => classify_http(status, retry_after, body),
    }
}

impl super::Notifier for TelegramConfig {
    const TYPE: &'static str = "telegram";
    const SECRETS: &'static [&'static str] = &["bot_token"];
    /// Telegram: about one message a second into a chat, 20 a minute into a group.
    const RATE_LIMIT: Option<(f64, f64)> = Some((20.0, 3.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests;
