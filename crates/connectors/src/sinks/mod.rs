//! Sinks: publishing a message to a queue on RabbitMQ (AMQP 0-9-1), NATS (core and JetStream),
//! an MQTT broker or a Redis stream, one folder per protocol. A sink is written as Conductor
//! writes an event queue, `TYPE:NAME?PARAMS` (the types: [`vigil_core::sink`]); the broker each
//! type reaches is a node's setting ([`Brokers`]), as Conductor's `conductor.event-queues.*`.
//!
//! Every message carries an id, the same each time it is published again, for consumers to
//! de-duplicate by: AMQP's `message-id` property, NATS' `Nats-Msg-Id` header (JetStream drops a
//! repeat within its duplicate window), MQTT 5's `message-id` user property, a Redis stream
//! entry's `id` field.

pub mod address;
pub mod amqp;
pub mod consume;
pub mod depth;
pub(crate) mod guard;
pub mod mqtt;
pub mod nats;
mod queue_counts;
pub mod received;
pub mod redis;

use std::sync::Arc;

pub use address::Address;

/// The brokers a node publishes to and consumes from, by URL; a sink of a type whose broker is
/// not set fails with a message saying which setting is missing.
#[derive(Clone, Default)]
pub struct Brokers {
    /// `amqp://user:password@host:port/vhost`.
    pub amqp: Option<String>,
    /// `nats://[user:password@]host:port`.
    pub nats: Option<String>,
    /// `mqtt://[user:password@]host:port`.
    pub mqtt: Option<String>,
    /// `redis://[:password@]host:port`.
    pub redis: Option<String>,
}

impl Brokers {
    /// Brokers with only `url`, set for the protocol its scheme names (`amqp`/`amqps`, `nats`,
    /// `mqtt`, `redis`): a queue notifier's own broker.
    pub fn of_url(url: &str) -> Brokers {
        let scheme = url.split("://").next().unwrap_or_default();
        let only = |names: &[&str]| names.contains(&scheme).then(|| url.to_string());
        Brokers {
            amqp: only(&["amqp", "amqps"]),
            nats: only(&["nats"]),
            mqtt: only(&["mqtt"]),
            redis: only(&["redis"]),
        }
    }

    /// The URL of the broker `to` is on, or why there is none: the setting to give.
    pub fn url_for(&self, to: &Address) -> Result<&str, PublishError> {
        let (url, protocol, flag, env) = match to {
            Address::Amqp(_) => (&self.amqp, "AMQP", "--amqp-url", "VIGIL_AMQP_URL"),
            Address::Nats(_) => (&self.nats, "NATS", "--nats-url", "VIGIL_NATS_URL"),
            Address::Mqtt(_) => (&self.mqtt, "MQTT", "--mqtt-url", "VIGIL_MQTT_URL"),
            Address::Redis(_) => (&self.redis, "Redis", "--redis-url", "VIGIL_REDIS_URL"),
            Address::Conductor(queue) => {
                return Err(PublishError::Broker(format!("`{queue}` is vigil's own queue, not a broker's")));
            }
        };
        url.as_deref().ok_or(PublishError::NoBroker { protocol, flag, env })
    }
}

impl std::fmt::Debug for Brokers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may carry passwords.
        let set = |u: &Option<String>| if u.is_some() { "set" } else { "unset" };
        f.debug_struct("Brokers")
            .field("amqp", &set(&self.amqp))
            .field("nats", &set(&self.nats))
            .field("mqtt", &set(&self.mqtt))
            .field("redis", &set(&self.redis))
            .finish()
    }
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its id, the same every time it is published again.
    pub id: String,
    /// The body (JSON).
    pub payload: Vec<u8>,
}

/// Why a message was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The sink is malformed: publishing again will not help.
    #[error(transparent)]
    Address(#[from] address::AddressError),
    /// No broker is set for the sink's type.
    #[error("no {protocol} broker is set: start vigil with {flag} (or {env})")]
    NoBroker {
        /// The protocol.
        protocol: &'static str,
        /// The `vigil serve` flag.
        flag: &'static str,
        /// The environment variable.
        env: &'static str,
    },
    /// The broker could not be reached or refused the message; publishing again may work.
    #[error("{0}")]
    Broker(String),
}

impl PublishError {
    /// Whether publishing again cannot succeed (a malformed sink, a broker not set).
    pub fn is_permanent(&self) -> bool {
        !matches!(self, PublishError::Broker(_))
    }
}

/// Publishes to every broker a node is given, connecting to each when first used and again
/// after a connection fails.
pub struct Publisher {
    brokers: Brokers,
    amqp: tokio::sync::Mutex<Option<Arc<amqp::AmqpClient>>>,
    nats: tokio::sync::Mutex<Option<Arc<nats::NatsClient>>>,
    mqtt: tokio::sync::Mutex<Option<Arc<mqtt::MqttClient>>>,
    redis: tokio::sync::Mutex<Option<Arc<redis::RedisClient>>>,
}

/// Returns the connected client in `slot`, connecting first when there is none (or it broke).
macro_rules! connected {
    ($slot:expr, $url:expr, $connect:expr) => {{
        let mut slot = $slot.lock().await;
        match slot.as_ref().filter(|c| c.is_open()) {
            Some(c) => c.clone(),
            None => {
                let client = Arc::new($connect($url).await?);
                *slot = Some(client.clone());
                client
            }
        }
    }};
}

impl Publisher {
    /// A publisher for `brokers`; nothing connects until a message is published.
    pub fn new(brokers: Brokers) -> Self {
        Self {
            brokers,
            amqp: Default::default(),
            nats: Default::default(),
            mqtt: Default::default(),
            redis: Default::default(),
        }
    }

    /// The brokers set.
    pub fn brokers(&self) -> &Brokers {
        &self.brokers
    }

    /// Publishes `message` to `sink` (`TYPE:NAME?PARAMS`); returns once the broker accepted it
    /// (AMQP's publisher confirm, JetStream's ack, MQTT's PUBACK, Redis' reply; core NATS: the
    /// server answered a PING sent after it). Conductor's own queue (`conductor:...`) is not a
    /// broker's: the caller delivers it.
    pub async fn publish(&self, sink: &str, message: &Message) -> Result<(), PublishError> {
        let to = Address::parse(sink)?;
        let url = self.brokers.url_for(&to)?;
        match to {
            Address::Amqp(to) => connected!(self.amqp, url, amqp::AmqpClient::connect).publish(&to, message).await,
            Address::Nats(to) => connected!(self.nats, url, nats::NatsClient::connect).publish(&to, message).await,
            Address::Mqtt(to) => connected!(self.mqtt, url, mqtt::MqttClient::connect).publish(&to, message).await,
            Address::Redis(to) => connected!(self.redis, url, redis::RedisClient::connect).publish(&to, message).await,
            Address::Conductor(_) => unreachable!("url_for refuses vigil's own queue"),
        }
    }
}

/// `text` with the password of `url` (if any) replaced, for an error message that may quote
/// the URL.
pub(crate) fn without_password(text: &str, url: &str) -> String {
    match reqwest::Url::parse(url).ok().and_then(|u| u.password().map(str::to_string)) {
        Some(p) if !p.is_empty() => text.replace(&p, "***"),
        _ => text.to_string(),
    }
}
