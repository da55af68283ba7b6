//! Consuming the queue an event handler listens to, with explicit acknowledgements: a message is
//! acknowledged only when the caller says its effects are committed, and one that is not comes
//! again (after a restart, or when another consumer takes over).
//!
//! | queue | how | delivered again |
//! |---|---|---|
//! | `amqp_queue:`, `amqp_exchange:` | a consumer with manual acks on the queue (the exchange's bound queue, declared and bound) | when the channel closes unacknowledged |
//! | `jsm:`, `nats_stream:` | a durable pull consumer, explicit acks | after its ack wait (30 s), or at once after a NAK |
//! | `nats:` | a plain subscription (in the queue group, if any) | never: core NATS keeps nothing |
//! | `mqtt:` | a persistent MQTT 5 session, QoS 1, manual acks | when the session resumes unacknowledged |
//! | `redis:` | a consumer group `vigil` | this consumer's pending entries at its next start; another's, claimed after 30 s idle |

use std::time::Duration;

use super::address::Address;
pub use super::received::{AckToken, Received};
use super::{Brokers, PublishError};

/// The durable consumer's name for queue `event`: the same on every node, so a consumer that
/// takes the queue over resumes where the last one left it.
pub fn durable_name(event: &str) -> String {
    let hash =
        event.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("events-{hash:016x}")
}

/// A consumer of one queue.
pub enum Consumer {
    /// RabbitMQ.
    Amqp(Box<super::amqp::consumer::AmqpConsumer>),
    /// NATS, core or JetStream.
    Nats(super::nats::consumer::NatsConsumer),
    /// MQTT.
    Mqtt(super::mqtt::consumer::MqttConsumer),
    /// Redis streams.
    Redis(super::redis::consumer::RedisConsumer),
}

impl Consumer {
    /// Starts consuming `event` (a sink's address) on `brokers`, as durable consumer `name`
    /// (the same name resumes what an earlier consumer of that name left) on node `node`.
    pub async fn open(brokers: &Brokers, event: &str, name: &str, node: &str) -> Result<Consumer, PublishError> {
        let to = Address::parse(event)?;
        let url = brokers.url_for(&to)?;
        Ok(match to {
            Address::Amqp(to) => {
                Consumer::Amqp(Box::new(super::amqp::consumer::AmqpConsumer::open(url, &to, name).await?))
            }
            Address::Nats(to) => Consumer::Nats(super::nats::consumer::NatsConsumer::open(url, &to, name).await?),
            Address::Mqtt(to) => Consumer::Mqtt(super::mqtt::consumer::MqttConsumer::open(url, &to, name).await?),
            Address::Redis(to) => Consumer::Redis(super::redis::consumer::RedisConsumer::open(url, &to, node).await?),
            Address::Conductor(_) => unreachable!("url_for refuses vigil's own queue"),
        })
    }

    /// Up to `max` messages: waits up to `wait` for the first, then takes what is there.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, PublishError> {
        match self {
            Consumer::Amqp(c) => c.next(max, wait).await,
            Consumer::Nats(c) => c.next(max, wait).await,
            Consumer::Mqtt(c) => c.next(max, wait).await,
            Consumer::Redis(c) => c.next(max, wait).await,
        }
    }

    /// Acknowledges `done` (their effects are committed, or they are parked): they do not come
    /// again. `again` are to be delivered again later.
    pub async fn settle(&mut self, done: &[AckToken], again: &[AckToken]) -> Result<(), PublishError> {
        match self {
            Consumer::Amqp(c) => c.settle(done, again).await,
            Consumer::Nats(c) => c.settle(done, again).await,
            Consumer::Mqtt(c) => c.settle(done, again).await,
            Consumer::Redis(c) => c.settle(done).await,
        }
    }

    /// Whether the connection still works (else open a new consumer).
    pub fn is_open(&self) -> bool {
        match self {
            Consumer::Amqp(c) => c.is_open(),
            Consumer::Nats(c) => c.is_open(),
            Consumer::Mqtt(c) => c.is_open(),
            Consumer::Redis(c) => c.is_open(),
        }
    }
}
