//! Email over SMTP (lettre): STARTTLS (default), implicit TLS, or plain for local relays, with
//! optional authentication. The subject is the alert title; the body lists the details and the
//! dedup key, and a `X-Vigil-Dedup-Key` header carries the key for mail filters.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, rfc3339};

mod letter;

pub use letter::{Letter, is_address};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

/// `type: email`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Notifier name.
    pub name: String,
    /// SMTP server host.
    pub host: String,
    /// SMTP port; 587 for STARTTLS, 465 for TLS, 25 otherwise by default.
    #[serde(default)]
    pub port: Option<u16>,
    /// Connection security.
    #[serde(default)]
    pub tls: EmailTls,
    /// SMTP user.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password (use `${workflow.secrets.NAME}`).
    #[serde(default)]
    pub password: Option<String>,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
}

/// The header that carries the dedup key.
const DEDUP_HEADER: &str = "X-Vigil-Dedup-Key";

impl EmailConfig {
    /// The message for `msg`.
    pub fn build_message(&self, msg: &AlertMessage) -> Result<Message, NotifyError> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| NotifyError::Invalid(format!("email: {what}: {e}"));
        if self.to.is_empty() {
            return Err(NotifyError::Invalid("email: `to` lists no recipient".into()));
        }
        // A subject rendered from a template is used as it is (Alertmanager's), else vigil's.
        let subject = match msg.rendered.get("title").filter(|t| !t.trim().is_empty()) {
            Some(s) => s.trim().to_string(),
            None => format!("[vigil] {}", msg.title()),
        };
        let mut builder = Message::builder()
            .from(self.from.parse().map_err(|e| invalid("from", &e))?)
            .subject(subject)
            .header(DedupKey(msg.dedup_key.clone()));
        for to in &self.to {
            builder = builder.to(to.parse().map_err(|e| invalid("to", &e))?);
        }
        let text = msg.rendered_text().map_or_else(|| body(msg), str::to_string);
        match msg.rendered.get("html").filter(|h| !h.trim().is_empty()) {
            // Alertmanager's email: the HTML part, and the text part beside it when there is one.
            Some(html) => {
                let html_part = SinglePart::html(html.clone());
                let built = match msg.rendered_text() {
                    Some(_) => builder
                        .multipart(MultiPart::alternative().singlepart(SinglePart::plain(text)).singlepart(html_part)),
                    None => builder.singlepart(html_part),
                };
                built.map_err(|e| invalid("message", &e))
            }
            None => builder.header(ContentType::TEXT_PLAIN).body(text).map_err(|e| invalid("message", &e)),
        }
    }

    pub(crate) fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
        let fail = |e: lettre::transport::smtp::Error| NotifyError::Invalid(format!("email: {e}"));
        let mut builder = match self.tls {
            EmailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                .map_err(fail)?
                .port(self.port.unwrap_or(587)),
            EmailTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(fail)?.port(self.port.unwrap_or(465))
            }
            EmailTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host).port(self.port.unwrap_or(25))
            }
        };
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(builder.build())
    }

    /// Sends `msg`. SMTP 5xx answers are permanent; connection problems and 4xx are retried.
    pub async fn send(&self, msg: &AlertMessage, timeout: Duration) -> Outcome {
        self.deliver(self.build_message(msg), timeout).await
    }

    /// Sends a built `message` through this notifier's server.
    pub(crate) async fn deliver(&self, message: Result<Message, NotifyError>, timeout: Duration) -> Outcome {
        let (message, transport) = match (message, self.transport()) {
            (Ok(m), Ok(t)) => (m, t),
            (Err(e), _) | (_, Err(e)) => return Outcome::Permanent { reason: e.to_string() },
        };
        match tokio::time::timeout(timeout, transport.send(message)).await {
            Ok(Ok(_)) => Outcome::Delivered,
            Ok(Err(e)) if e.is_permanent() => Outcome::Permanent { reason: format!("SMTP refused the message: {e}") },
            Ok(Err(e)) => Outcome::Retry { reason: format!("SMTP: {e}"), after: None },
            Err(_) => Outcome::Retry { reason: format!("SMTP server did not answer within {timeout:?}"), after: None },
        }
    }
}

fn body(msg: &AlertMessage) -> String {
    let labels: Vec<String> = msg.labels.iter().map(|(k, v)| format!("  {k} = {v}")).collect();
    let links: Vec<String> = msg.links.iter().map(|l| format!("  {}: {}", l.text, l.href)).collect();
    let details = super::details_text(&msg.details).map(|d| format!("\n\ndetails:\n{d}")).unwrap_or_default();
    format!(
        "{}\n\nseverity: {}\nsource: {}\nfiring since: {}\ndedup key: {}\n\nlabels:\n{}{details}\n{}",
        msg.title(),
        msg.severity.as_str(),
        msg.source,
        rfc3339(msg.firing_since),
        msg.dedup_key,
        labels.join("\n"),
        if links.is_empty() { String::new() } else { format!("\nlinks:\n{}\n", links.join("\n")) },
    )
}

#[derive(Clone)]
struct DedupKey(String);

impl lettre::message::header::Header for DedupKey {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str(DEDUP_HEADER)
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

impl super::Notifier for EmailConfig {
    const TYPE: &'static str = "email";
    const SECRETS: &'static [&'static str] = &["password"];
    /// email: a mail server's usual limits.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 10.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, _msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        Err(NotifyError::Invalid("email is sent over SMTP, not HTTP".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_notice_without_details_has_no_details_section() {
        let mut msg = crate::notifiers::fixtures::message(Notice::Trigger);
        msg.details = serde_json::Value::Null;
        let text = body(&msg);
        assert!(!text.contains("null") && !text.contains("details:"), "{text}");
    }

    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::fixtures::message;

    fn email() -> EmailConfig {
        serde_json::from_value(serde_json::json!({"name": "mail", "host": "smtp.example.com", "from": "vigil@example.com", "to": ["oncall@example.com"]})).unwrap()
    }

    #[test]
    fn message_has_subject_recipients_and_key() {
        let text = String::from_utf8(email().build_message(&message(Notice::Trigger)).unwrap().formatted()).unwrap();
        assert!(text.contains("Subject: [vigil] [FIRING] 2 failed runs"), "{text}");
        assert!(text.contains("To: oncall@example.com"));
        assert!(text.contains("X-Vigil-Dedup-Key: failure_alert/sample_tracker_workflow"));
        assert!(text.contains("team = platform"));
    }

    #[test]
    fn bad_addresses_are_named() {
        let mut bad = email();
        bad.to = vec!["not an address".into()];
        assert!(bad.build_message(&message(Notice::Trigger)).unwrap_err().to_string().contains("email: to"));
        bad.to.clear();
        assert!(bad.build_message(&message(Notice::Trigger)).unwrap_err().to_string().contains("no recipient"));
    }
}
