//! A message taken from a queue, and what acknowledges it: what every protocol's consumer
//! hands to [`super::consume::Consumer`]'s caller.

/// A message taken from a queue.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its id: the id its producer gave it (AMQP `message-id`, `Nats-Msg-Id`, MQTT's
    /// `message-id` property, a Redis entry's `id` field), else one the broker fixes for it
    /// (JetStream's stream sequence, the Redis entry id), else a fresh one.
    pub id: String,
    /// Its body.
    pub payload: Vec<u8>,
    /// How many times it was delivered, when the broker says (1: the first time).
    pub deliveries: u32,
    /// What acknowledges it.
    pub ack: AckToken,
}

/// What acknowledges one message.
#[derive(Debug, Clone)]
pub enum AckToken {
    /// An AMQP delivery tag.
    Amqp(u64),
    /// JetStream's reply subject.
    JetStream(String),
    /// Nothing to acknowledge (core NATS).
    None,
    /// An MQTT packet id.
    Mqtt(rumqttc::v5::mqttbytes::v5::Publish),
    /// A Redis stream entry id.
    Redis(String),
}

/// A fresh id for a message its producer gave none and its broker numbers nothing for.
pub(crate) fn fresh_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
