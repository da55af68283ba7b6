//! `type: queue`: alerts published to a broker's queue (RabbitMQ, NATS or JetStream, MQTT, a
//! Redis stream) for other systems to consume, as a sink is written (`amqp_exchange:alerts?
//! routingKey=alert`, `jsm:alerts`, ...; see `crate::sinks`). The message is the whole alert as
//! JSON (a webhook's default body, with `title`); its id is the dedup key, the notice and its
//! time, the same when the outbox sends it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest};
use crate::sinks::{Address, Brokers, Message, PublishError, Publisher};

/// `type: queue`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Notifier name.
    pub name: String,
    /// Where alerts go: `amqp_queue:NAME`, `amqp_exchange:NAME?routingKey=...`, `nats:SUBJECT`,
    /// `jsm:SUBJECT`, `mqtt:TOPIC`, `redis:STREAM`.
    pub sink: String,
    /// The broker: `amqp://`, `nats://`, `mqtt://` or `redis://` (a password as
    /// `${workflow.secrets.NAME}`).
    pub url: String,
}

impl super::Notifier for QueueConfig {
    const TYPE: &'static str = "queue";
    const RATE_LIMIT: Option<(f64, f64)> = None;

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        let address = match Address::parse(&self.sink) {
            Ok(a) => a,
            Err(e) => return Some(("sink".into(), e.to_string(), None)),
        };
        match Brokers::of_url(&self.url).url_for(&address) {
            Ok(_) => None,
            Err(PublishError::NoBroker { protocol, .. }) => Some((
                "url".into(),
                format!(
                    "sink `{}` needs the URL of its {} broker ({}://...)",
                    self.sink,
                    protocol,
                    protocol.to_lowercase()
                ),
                None,
            )),
            Err(e) => Some(("sink".into(), format!("{e}: name a broker's queue"), None)),
        }
    }

    fn request(&self, _msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        Err(NotifyError::Invalid("a queue notifier publishes to its broker, not over HTTP".into()))
    }
}

impl QueueConfig {
    /// The message for `msg`.
    pub fn message(&self, msg: &AlertMessage) -> Message {
        let mut body = serde_json::to_value(msg).unwrap_or(Value::Null);
        body["title"] = Value::String(msg.title());
        let id = format!(
            "{}:{}:{}",
            msg.dedup_key,
            serde_json::to_value(msg.notice).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            msg.at
        );
        Message { id, payload: body.to_string().into_bytes() }
    }

    /// Publishes `msg`, waiting at most `timeout` for the broker.
    pub async fn send(&self, msg: &AlertMessage, timeout: Duration) -> Outcome {
        let publisher = publisher_for(&self.url);
        match tokio::time::timeout(timeout, publisher.publish(&self.sink, &self.message(msg))).await {
            Ok(Ok(())) => Outcome::Delivered,
            Ok(Err(e @ (PublishError::Address(_) | PublishError::NoBroker { .. }))) => {
                Outcome::Permanent { reason: e.to_string() }
            }
            Ok(Err(e)) => Outcome::Retry { reason: e.to_string(), after: None },
            Err(_) => Outcome::Retry { reason: format!("the broker did not accept within {timeout:?}"), after: None },
        }
    }
}

/// One publisher (and its connections) per broker URL, shared by the queue notifiers.
fn publisher_for(url: &str) -> Arc<Publisher> {
    static PUBLISHERS: OnceLock<Mutex<HashMap<String, Arc<Publisher>>>> = OnceLock::new();
    let mut all = PUBLISHERS.get_or_init(Default::default).lock().expect("lock");
    all.entry(url.to_string()).or_insert_with(|| Arc::new(Publisher::new(Brokers::of_url(url)))).clone()
}
