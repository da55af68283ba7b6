//! How full a queue is and how far its consumer is behind, as its broker tells: what the `queue`
//! monitor source reads. One function per protocol, in its folder; here the counts and which
//! protocol answers.
//!
//! | queue | read from | depth | lag | unacked | consumers |
//! |---|---|---|---|---|---|
//! | `amqp_queue:`, `amqp_exchange:` with an `http://` URL | RabbitMQ's management API | `messages` | `messages_ready` | `messages_unacknowledged` | `consumers` |
//! | the same with an `amqp://` URL | a passive queue declaration | ready messages | ready messages | — | consumers |
//! | `jsm:`, `nats_stream:` | JetStream's stream and consumer info | the stream's messages | the consumer's `num_pending` | the consumer's `num_ack_pending` | the stream's consumers |
//! | `redis:` | `XLEN`, `XINFO GROUPS` | the stream's length | the group's `lag` | the group's `pending` | the group's consumers |
//!
//! Core NATS and MQTT keep no queue, so they have nothing to count.

use super::address::Address;
pub use super::queue_counts::Depth;
use super::{PublishError, amqp, nats, redis};

/// Reads `queue` (written as a sink) at `url` (the broker's, or RabbitMQ's management API's);
/// `consumer` names the JetStream consumer or the Redis consumer group whose lag counts (by
/// default vigil's own: the durable consumer its event handlers and heartbeats read the queue
/// with, the Redis group `vigil`). `vhost` is the RabbitMQ virtual host the management API
/// looks in.
pub async fn measure(url: &str, queue: &str, consumer: Option<&str>, vhost: &str) -> Result<Depth, PublishError> {
    let to = Address::parse(queue)?;
    match &to {
        Address::Amqp(to) if url.starts_with("http://") || url.starts_with("https://") => {
            amqp::depth::by_management(url, vhost, &to.consumer_queue()).await
        }
        Address::Amqp(to) => amqp::depth::by_declaring(url, &to.consumer_queue()).await,
        Address::Nats(to) if to.jetstream => {
            let own = super::consume::durable_name(queue);
            nats::depth::measure(url, to, consumer.unwrap_or(&own), consumer.is_some()).await
        }
        Address::Nats(to) => Err(PublishError::Broker(format!(
            "`nats:{}` is core NATS, which keeps no messages to count: use `jsm:{}` (JetStream)",
            to.subject, to.subject
        ))),
        Address::Redis(to) => redis::depth::measure(url, to, consumer).await,
        Address::Mqtt(to) => {
            Err(PublishError::Broker(format!("MQTT topic `{}` is no queue: a broker tells no depth of it", to.topic)))
        }
        Address::Conductor(queue) => {
            Err(PublishError::Broker(format!("`{queue}` is vigil's own queue, not a broker's")))
        }
    }
}
