//! A plain letter to one address through an email notifier's SMTP server, for status page
//! subscribers: a confirmation link, an incident's update. It carries RFC 8058's one-click
//! unsubscribe headers when it has an unsubscribe address, and a `Message-ID` of its own, so a
//! letter sent again after a crash is the same message to the reader's mail program.

use std::time::Duration;

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};

use super::EmailConfig;
use crate::notifiers::{NotifyError, Outcome};

/// One letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter<'a> {
    /// The one recipient.
    pub to: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its text.
    pub text: &'a str,
    /// The address that unsubscribes with one click (`POST`), when there is one.
    pub unsubscribe: Option<&'a str>,
    /// Its `Message-ID`, without the angle brackets (`id@host`).
    pub message_id: &'a str,
}

/// Whether `text` is one email address as SMTP takes it.
pub fn is_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}

macro_rules! text_header {
    ($ty:ident, $name:literal) => {
        #[derive(Clone)]
        struct $ty(String);

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(ListUnsubscribe, "List-Unsubscribe");
text_header!(ListUnsubscribePost, "List-Unsubscribe-Post");

impl EmailConfig {
    /// `letter` as a message from this notifier's sender.
    pub fn letter(&self, letter: &Letter<'_>) -> Result<Message, NotifyError> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| NotifyError::Invalid(format!("email: {what}: {e}"));
        let mut builder = Message::builder()
            .from(self.from.parse().map_err(|e| invalid("from", &e))?)
            .to(letter.to.parse().map_err(|e| invalid("to", &e))?)
            .subject(letter.subject)
            .message_id(Some(format!("<{}>", letter.message_id)));
        if let Some(url) = letter.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()));
        }
        builder.header(ContentType::TEXT_PLAIN).body(letter.text.to_string()).map_err(|e| invalid("message", &e))
    }

    /// Sends `letter`. SMTP 5xx answers are permanent; connection problems and 4xx are retried.
    pub async fn send_letter(&self, letter: &Letter<'_>, timeout: Duration) -> Outcome {
        self.deliver(self.letter(letter), timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_carries_one_click_unsubscribe_and_its_own_message_id() {
        let mail: EmailConfig = serde_json::from_value(serde_json::json!({
            "name": "mail", "host": "127.0.0.1", "from": "status@example.com", "to": ["ops@example.com"]
        }))
        .unwrap();
        let letter = Letter {
            to: "reader@example.org",
            subject: "[Acme] API is unavailable",
            text: "We are investigating.",
            unsubscribe: Some("https://status.example.com/status/acme/subscriptions/ab12/unsubscribe?token=x"),
            message_id: "n-42@status.example.com",
        };
        let text = String::from_utf8(mail.letter(&letter).unwrap().formatted()).unwrap();
        assert!(text.contains("To: reader@example.org\r\n"), "{text}");
        assert!(!text.contains("ops@example.com"), "only the subscriber: {text}");
        assert!(
            text.contains(
                "List-Unsubscribe: <https://status.example.com/status/acme/subscriptions/ab12/unsubscribe?token=x>"
            ),
            "{text}"
        );
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{text}");
        assert!(text.contains("Message-ID: <n-42@status.example.com>\r\n"), "{text}");
        let bad = Letter { to: "not an address", ..letter };
        assert!(mail.letter(&bad).is_err());
    }
}
