//! Notifiers: one closed enum of types, one folder per type.

pub mod alertmanager;
pub mod dingtalk;
pub mod discord;
pub mod email;
pub mod escalation;
#[cfg(test)]
mod every_notice_tests;
pub mod from_alertmanager;
pub mod google_chat;
pub mod gotify;
pub mod incident_io;
pub mod jsm;
pub mod lark;
pub mod load;
pub mod matrix;
pub mod mattermost;
mod notifier;
pub mod ntfy;
pub mod opsgenie;
pub mod pagerduty;
pub mod pushover;
pub mod queue;
pub mod rocketchat;
pub mod signal;
pub mod slack;
pub mod splunk_oncall;
pub mod squadcast;
pub mod teams;
pub mod telegram;
pub mod text;
pub mod twilio;
pub mod webhook;
pub mod wecom;
pub mod zulip;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

pub use notifier::Notifier;

/// Declares [`NotifierConfig`], one line per notifier type: its variant and its config type,
/// which implements [`Notifier`] in its folder. Everything else is generated from the list.
macro_rules! notifiers {
    ($($(#[$doc:meta])* $variant:ident($config:ty),)*) => {
        /// A notifier as written in `<config>/notifiers/NAME.yaml`: `name`, `type`, then the
        /// type's fields.
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum NotifierConfig {
            $($(#[$doc])* $variant($config),)*
        }

        impl NotifierConfig {
            /// The notifier types, as `type:` takes them.
            pub const TYPES: &'static [&'static str] = &[$(<$config as Notifier>::TYPE),*];

            /// Each type's `type:` name and the JSON Schema of its fields (without `type`), with
            /// the schemas those refer to (generated from the config type: `crate::schema`).
            pub fn schemas() -> Vec<(&'static str, serde_json::Value, serde_json::Map<String, serde_json::Value>)> {
                vec![$({
                    let (schema, defs) = crate::schema::json_schema::<$config>();
                    (<$config as Notifier>::TYPE, schema, defs)
                },)*]
            }

            /// Reads the body of a notifier of type `kind` (its `type` removed); `None` for a type
            /// that does not exist.
            pub(crate) fn read(kind: &str, body: serde_json::Value) -> Option<Result<NotifierConfig, load::ConfigError>> {
                $(if kind == <$config as Notifier>::TYPE {
                    return Some(load::typed::<$config>(body).and_then(|c| match c.problem() {
                        Some((path, message, hint)) => Err(load::ConfigError { path, message, hint }),
                        None => Ok(NotifierConfig::$variant(c)),
                    }));
                })*
                None
            }

            /// The fields of notifier type `kind` that carry a credential (`Notifier::SECRETS`).
            pub fn secret_fields(kind: &str) -> &'static [&'static str] {
                $(if kind == <$config as Notifier>::TYPE {
                    return <$config as Notifier>::SECRETS;
                })*
                &[]
            }

            /// The notifier's name.
            pub fn name(&self) -> &str {
                match self {
                    $(NotifierConfig::$variant(c) => c.name(),)*
                }
            }

            /// The notifier's type, as written in its file.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(NotifierConfig::$variant(_) => <$config as Notifier>::TYPE,)*
                }
            }

            /// The provider's documented rate limit, as (events per minute, burst); `None`:
            /// unlimited.
            pub fn rate_limit(&self) -> Option<(f64, f64)> {
                match self {
                    $(NotifierConfig::$variant(_) => <$config as Notifier>::RATE_LIMIT,)*
                }
            }

            /// Builds the provider's request for `msg`. `now` is the send time (Lark signs it).
            pub fn build_request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
                match self {
                    $(NotifierConfig::$variant(c) => c.request(msg, now),)*
                }
            }

            /// Most notifications one request may carry (Alertmanager takes a list, a webhook
            /// may be configured to; every other provider takes one event per request).
            pub fn max_batch(&self) -> usize {
                match self {
                    $(NotifierConfig::$variant(c) => c.max_batch(),)*
                }
            }

            /// Builds one request for all of `msgs` (at most [`Self::max_batch`] of them).
            pub fn build_batch_request(&self, msgs: &[AlertMessage], now: Millis) -> Result<OutgoingRequest, NotifyError> {
                match (self, msgs) {
                    (_, [one]) => self.build_request(one, now),
                    $((NotifierConfig::$variant(c), _) => c.batch_request(msgs, now),)*
                }
            }

            /// Reads the provider's answer.
            pub fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
                match self {
                    $(NotifierConfig::$variant(c) => c.classify(status, retry_after, body),)*
                }
            }
        }
    };
}

notifiers! {
    /// PagerDuty Events API v2.
    Pagerduty(pagerduty::PagerDutyConfig),
    /// Slack incoming webhook.
    Slack(slack::SlackConfig),
    /// Lark / Feishu custom bot.
    Lark(lark::LarkConfig),
    /// Opsgenie Alert API.
    Opsgenie(opsgenie::OpsgenieConfig),
    /// A generic JSON webhook.
    Webhook(webhook::WebhookConfig),
    /// Prometheus Alertmanager's `/api/v2/alerts`.
    Alertmanager(alertmanager::AlertmanagerConfig),
    /// Email over SMTP.
    Email(email::EmailConfig),
    /// Microsoft Teams through a Workflows webhook.
    Teams(teams::TeamsConfig),
    /// Discord through a channel webhook.
    Discord(discord::DiscordConfig),
    /// Telegram through a bot.
    Telegram(telegram::TelegramConfig),
    /// Mattermost incoming webhook.
    Mattermost(mattermost::MattermostConfig),
    /// Rocket.Chat incoming webhook or REST API.
    Rocketchat(rocketchat::RocketChatConfig),
    /// Google Chat space webhook.
    GoogleChat(google_chat::GoogleChatConfig),
    /// Zulip channel message.
    Zulip(zulip::ZulipConfig),
    /// Matrix room message.
    Matrix(matrix::MatrixConfig),
    /// ntfy publish.
    Ntfy(ntfy::NtfyConfig),
    /// Gotify message.
    Gotify(gotify::GotifyConfig),
    /// Pushover message.
    Pushover(pushover::PushoverConfig),
    /// DingTalk custom robot.
    Dingtalk(dingtalk::DingTalkConfig),
    /// WeCom group robot.
    Wecom(wecom::WeComConfig),
    /// Twilio text or voice call.
    Twilio(twilio::TwilioConfig),
    /// Splunk On-Call (VictorOps) REST endpoint.
    SplunkOncall(splunk_oncall::SplunkOnCallConfig),
    /// Squadcast incident webhook.
    Squadcast(squadcast::SquadcastConfig),
    /// incident.io HTTP alert source.
    IncidentIo(incident_io::IncidentIoConfig),
    /// Jira Service Management alerts.
    Jsm(jsm::JsmConfig),
    /// Signal through a signal-cli-rest-api server.
    Signal(signal::SignalConfig),
    /// A broker's queue (RabbitMQ, NATS, MQTT, Redis streams).
    Queue(queue::QueueConfig),
    /// An escalation policy: its steps' notifiers, told in turn until someone acknowledges.
    Escalation(escalation::EscalationConfig),
}

/// Most alerts per Alertmanager request.
const ALERTMANAGER_BATCH: usize = 64;

/// Alert severity, in PagerDuty's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wake someone up.
    Critical,
    /// Something is broken.
    #[default]
    Error,
    /// Something will break.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A link shown with the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// URL.
    pub href: String,
    /// Text.
    pub text: String,
}

/// One notification about one alert, as every notifier receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// What happened.
    pub notice: Notice,
    /// The alert's dedup key, carried by every send so providers de-duplicate repeats.
    pub dedup_key: String,
    /// Alert name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// Structured details.
    pub details: Value,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Where it comes from (workflow or monitor).
    pub source: String,
    /// When it started firing.
    pub firing_since: Millis,
    /// When this notice was created.
    pub at: Millis,
    /// Links.
    pub links: Vec<Link>,
    /// A `vigil notify test` message.
    pub test: bool,
    /// Texts rendered from Alertmanager templates for the integration told (`title`, `text`,
    /// `html`): they take the place of the notifier's own wording.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rendered: BTreeMap<String, String>,
}

impl AlertMessage {
    /// The summary prefixed the way humans read it: `[RESOLVED] ...`, `[NOW CRITICAL] ...` (a
    /// change of tier), `[TEST] ...`; an informational message (severity `info`, nothing to
    /// resolve: vigil's startup heartbeat, `vigil notify test`) reads `[INFO] ...`.
    /// The title: rendered from a template when the message carries one, else [`Self::title`].
    pub fn heading(&self) -> String {
        self.rendered.get("title").filter(|t| !t.trim().is_empty()).cloned().unwrap_or_else(|| self.title())
    }

    /// A body text rendered from a template, when the message carries a non-empty one.
    pub fn rendered_text(&self) -> Option<&str> {
        self.rendered.get("text").map(String::as_str).filter(|t| !t.trim().is_empty())
    }

    /// An id for this notice that stays the same across retries (it is made of the dedup key,
    /// the notice and its time, which the outbox keeps): providers that de-duplicate by a
    /// client id (Matrix's transaction id, Google Chat's request id, DingTalk's `msgUuid`) see a
    /// retry as the same message.
    pub fn notice_id(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}\n{:?}\n{}", self.dedup_key, self.notice, self.at));
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The title line: state, name and summary.
    pub fn title(&self) -> String {
        let changed;
        let state = match self.notice {
            Notice::Trigger if self.severity == Severity::Info => "INFO",
            Notice::Trigger => "FIRING",
            Notice::Remind => "STILL FIRING",
            Notice::Change => {
                changed = format!("NOW {}", self.severity.as_str().to_ascii_uppercase());
                changed.as_str()
            }
            Notice::Resolve => "RESOLVED",
            Notice::Acknowledge => "ACKNOWLEDGED",
        };
        let test = if self.test { "[TEST] " } else { "" };
        format!("{test}[{state}] {}", self.summary)
    }
}

/// A message's details as readable text, fields without a value left out; `None` when nothing is
/// left to say (no details, `{}`, `[]`), so no receiver shows a literal `null`.
pub fn details_text(details: &Value) -> Option<String> {
    let shown = match details {
        Value::Object(map) => {
            Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        other => other.clone(),
    };
    let empty = match &shown {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    (!empty).then(|| serde_json::to_string_pretty(&shown).unwrap_or_default())
}

/// An HTTP request to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutgoingRequest {
    /// Method.
    pub method: &'static str,
    /// URL.
    pub url: String,
    /// Headers (values may hold credentials: never log them).
    pub headers: Vec<(String, String)>,
    /// The body's fields.
    pub body: Value,
    /// How the body goes on the wire.
    pub encoding: Encoding,
}

impl OutgoingRequest {
    /// A `POST` of `body` as JSON to `url`.
    pub fn post_json(url: impl Into<String>, body: Value) -> Self {
        Self { method: "POST", url: url.into(), headers: Vec::new(), body, encoding: Encoding::Json }
    }

    /// The same request with header `name: value` added.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The body as the bytes sent: JSON, or the object's fields form-encoded (strings as they
    /// are, other values as their JSON text, nulls left out).
    pub fn wire_body(&self) -> (Vec<u8>, &'static str) {
        match self.encoding {
            Encoding::Json => (serde_json::to_vec(&self.body).unwrap_or_default(), "application/json"),
            Encoding::Form => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                for (k, v) in self.body.as_object().into_iter().flatten() {
                    match v {
                        Value::Null => {}
                        Value::String(s) => {
                            form.append_pair(k, s);
                        }
                        other => {
                            form.append_pair(k, &other.to_string());
                        }
                    }
                }
                (form.finish().into_bytes(), "application/x-www-form-urlencoded")
            }
        }
    }
}

/// How a request's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// `application/json`.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`, from the fields of the body's object (Twilio, Zulip).
    Form,
}

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Delivered,
    /// Try again, after at least this long when the provider said so (429 Retry-After).
    Retry {
        /// Why.
        reason: String,
        /// The provider's requested delay.
        after: Option<Duration>,
    },
    /// Retrying cannot help (bad request, bad key): record and show it.
    Permanent {
        /// Why.
        reason: String,
    },
}

/// A notifier could not build its request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// A field is missing or invalid.
    #[error("{0}")]
    Invalid(String),
}

/// The common reading of an answer: 2xx delivered; 429, 408 and 5xx retried; other 4xx permanent.
pub fn classify_http(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let snippet: String = body.chars().take(300).collect();
    match status {
        200..=299 => Outcome::Delivered,
        429 => Outcome::Retry { reason: format!("rate limited (429): {snippet}"), after: retry_after },
        408 | 500..=599 => Outcome::Retry { reason: format!("HTTP {status}: {snippet}"), after: retry_after },
        _ => Outcome::Permanent { reason: format!("HTTP {status}: {snippet}") },
    }
}

/// Reads a string or a number as a string (a Telegram chat id is written either way).
pub(crate) fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected a string or a number, found {other}"))),
    }
}

/// A wait given in seconds, whole or fractional (`Retry-After: 30`, Zulip's `0.5`).
pub fn seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// A wait a provider states in its JSON answer at `pointer` (`/retry_after`), as a number of
/// `unit`s (`Duration::from_secs(1)`, or `from_millis(1)` for Matrix's `retry_after_ms`).
pub fn wait_in_body(body: &str, pointer: &str, unit: Duration) -> Option<Duration> {
    let value: Value = serde_json::from_str(body).ok()?;
    let n = value.pointer(pointer)?.as_f64().filter(|n| n.is_finite() && *n >= 0.0)?;
    Some(unit.mul_f64(n.min(86_400.0 * 1000.0)).min(Duration::from_secs(86_400)))
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// RFC 3339 for epoch milliseconds.
pub fn rfc3339(at: Millis) -> String {
    vigil_core::time::format_millis(at)
}

/// Builds and sends `msg` through `notifier`, over HTTP or SMTP, and classifies the answer.
pub async fn deliver(
    client: &reqwest::Client,
    notifier: &NotifierConfig,
    msg: &AlertMessage,
    now: Millis,
    timeout: Duration,
) -> Outcome {
    if let NotifierConfig::Email(email) = notifier {
        return email.send(msg, timeout).await;
    }
    if let NotifierConfig::Queue(queue) = notifier {
        return queue.send(msg, timeout).await;
    }
    match notifier.build_request(msg, now) {
        Ok(req) => send(client, notifier, &req, timeout).await,
        Err(e) => Outcome::Permanent { reason: e.to_string() },
    }
}

/// Sends `msgs` through `notifier` in one request (see [`NotifierConfig::max_batch`]); one message
/// goes through [`deliver`], so email works too.
pub async fn deliver_batch(
    client: &reqwest::Client,
    notifier: &NotifierConfig,
    msgs: &[AlertMessage],
    now: Millis,
    timeout: Duration,
) -> Outcome {
    if let [one] = msgs {
        return deliver(client, notifier, one, now, timeout).await;
    }
    match notifier.build_batch_request(msgs, now) {
        Ok(req) => send(client, notifier, &req, timeout).await,
        Err(e) => Outcome::Permanent { reason: e.to_string() },
    }
}

/// Sends `req` with `client` and classifies the answer with `notifier`.
pub async fn send(
    client: &reqwest::Client,
    notifier: &NotifierConfig,
    req: &OutgoingRequest,
    timeout: Duration,
) -> Outcome {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let (body, content_type) = req.wire_body();
    let mut builder = client
        .request(method, &req.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(seconds);
            let body = response.text().await.unwrap_or_default();
            notifier.classify(status, retry_after, &body)
        }
        // Webhook URLs are credentials (Slack, Lark): errors are recorded without them.
        Err(e) if e.is_timeout() => Outcome::Retry { reason: format!("no answer within {timeout:?}"), after: None },
        Err(e) if e.is_builder() => Outcome::Permanent { reason: format!("invalid request: {}", e.without_url()) },
        Err(e) => Outcome::Retry { reason: format!("send failed: {}", e.without_url()), after: None },
    }
}

#[cfg(test)]
mod details_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn details_without_a_value_are_not_shown_as_null() {
        assert_eq!(details_text(&Value::Null), None);
        assert_eq!(details_text(&json!({})), None);
        assert_eq!(details_text(&json!({"note": null})), None);
        assert_eq!(details_text(&json!([])), None);
        let shown = details_text(&json!({"value": 99, "note": null})).unwrap();
        assert!(shown.contains("\"value\": 99") && !shown.contains("null"), "{shown}");
    }

    #[test]
    fn an_informational_message_reads_as_information() {
        let mut msg = fixtures::message(Notice::Trigger);
        msg.severity = Severity::Info;
        msg.summary = "vigil started on h".into();
        assert_eq!(msg.title(), "[INFO] vigil started on h");
        msg.test = true;
        assert_eq!(msg.title(), "[TEST] [INFO] vigil started on h");
        msg.severity = Severity::Critical;
        assert!(msg.title().starts_with("[TEST] [FIRING]"));
    }

    #[test]
    fn opsgenie_prints_no_null_for_a_notice_without_details() {
        let mut msg = fixtures::message(Notice::Trigger);
        msg.details = json!({"value": null, "note": null});
        let og: NotifierConfig =
            serde_json::from_value(json!({"name": "og", "type": "opsgenie", "api_key": "k"})).unwrap();
        let req = og.build_request(&msg, 0).unwrap();
        assert_eq!(req.body["description"], json!(msg.summary));
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A firing alert as the ALERT task produces it.
    pub fn message(notice: Notice) -> AlertMessage {
        AlertMessage {
            notice,
            dedup_key: "failure_alert/sample_tracker_workflow".into(),
            name: "workflow failures".into(),
            severity: Severity::Critical,
            summary: "2 failed runs of sample_tracker_workflow in the last 10 minutes".into(),
            details: serde_json::json!({"hits": 2, "window": {"from": 1_767_225_000_000i64, "to": 1_767_225_600_000i64}}),
            labels: [("team".to_string(), "platform".to_string()), ("env".to_string(), "prod".to_string())].into(),
            source: "vigil/failure_alert".into(),
            firing_since: 1_767_225_600_000,
            at: 1_767_225_660_000,
            links: vec![Link { href: "https://conductor.example.com/search".into(), text: "Failed runs".into() }],
            test: false,
            rendered: Default::default(),
        }
    }
}
