//! Consuming an AMQP queue (an exchange's bound queue for `amqp_exchange:`) with manual acks.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;

use super::super::PublishError;
use super::super::address::AmqpTarget;
use super::super::received::{AckToken, Received, fresh_id};
use super::AmqpClient;

/// Most unacknowledged messages the broker hands over at once.
const PREFETCH: u16 = 4096;

/// A consumer of one queue.
pub struct AmqpConsumer {
    client: AmqpClient,
    deliveries: lapin::Consumer,
}

impl AmqpConsumer {
    /// Declares the queue (and, for an exchange, the exchange and the binding) and consumes it
    /// as consumer `name`.
    pub async fn open(url: &str, to: &AmqpTarget, name: &str) -> Result<Self, PublishError> {
        let client = AmqpClient::connect(url).await?;
        let queue = to.consumer_queue();
        let mut bound = to.clone();
        if to.exchange {
            bound.bind_queue = Some(queue.clone());
        }
        client.declare(&bound).await?;
        let channel = client.channel();
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await
            .map_err(|e| client.failed("setting the prefetch failed", e))?;
        let deliveries = channel
            .basic_consume(&queue, &format!("vigil-{name}"), BasicConsumeOptions::default(), FieldTable::default())
            .await
            .map_err(|e| client.failed(&format!("consuming queue `{queue}` failed"), e))?;
        Ok(Self { client, deliveries })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.client.is_open()
    }

    /// Up to `max` messages, waiting up to `wait` for the first.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, PublishError> {
        let mut got = Vec::new();
        let first = match tokio::time::timeout(wait, self.deliveries.next()).await {
            Err(_) => return Ok(got),
            Ok(None) => return Err(PublishError::Broker("the AMQP consumer was cancelled".into())),
            Ok(Some(d)) => d,
        };
        got.push(self.received(first)?);
        while got.len() < max {
            match self.deliveries.next().now_or_never() {
                Some(Some(d)) => got.push(self.received(d)?),
                Some(None) | None => break,
            }
        }
        Ok(got)
    }

    fn received(&self, d: lapin::Result<lapin::message::Delivery>) -> Result<Received, PublishError> {
        let d = d.map_err(|e| self.client.failed("the AMQP delivery failed", e))?;
        let id = d.properties.message_id().as_ref().map(|s| s.to_string()).unwrap_or_else(fresh_id);
        Ok(Received {
            id,
            deliveries: if d.redelivered { 2 } else { 1 },
            payload: d.data,
            ack: AckToken::Amqp(d.delivery_tag),
        })
    }

    /// Acknowledges `done` and returns `again` to the queue. The caller settles every message of
    /// a batch before it takes the next.
    pub async fn settle(&mut self, done: &[AckToken], again: &[AckToken]) -> Result<(), PublishError> {
        let channel = self.client.channel();
        for token in again {
            if let AckToken::Amqp(tag) = token {
                channel
                    .basic_nack(*tag, BasicNackOptions { multiple: false, requeue: true })
                    .await
                    .map_err(|e| self.client.failed("returning a message failed", e))?;
            }
        }
        // Every delivery before these is settled already (a batch is settled whole before the
        // next is taken, and `again` was just returned): one ack with `multiple` settles them all.
        let last = done.iter().filter_map(|t| if let AckToken::Amqp(tag) = t { Some(*tag) } else { None }).max();
        if let Some(tag) = last {
            channel
                .basic_ack(tag, BasicAckOptions { multiple: true })
                .await
                .map_err(|e| self.client.failed("acknowledging messages failed", e))?;
        }
        Ok(())
    }
}
