//! AMQP 0-9-1 (RabbitMQ): `amqp_queue:` and `amqp_exchange:` sinks, published with publisher
//! confirms, as Conductor's `AMQPObservableQueue` publishes them (message id, the task's id as
//! correlation id, `application/json`, UTF-8, delivery mode 2 unless the sink says otherwise).

use std::collections::HashSet;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::address::AmqpTarget;
use super::{Message, PublishError};

pub mod consumer;
pub(crate) mod depth;

/// One connection and one confirming channel to a broker.
pub struct AmqpClient {
    connection: Connection,
    channel: Channel,
    /// The queues and exchanges declared on this connection (declared once each).
    declared: tokio::sync::Mutex<HashSet<String>>,
    url: String,
}

impl AmqpClient {
    /// Connects to `url` and opens a channel in confirm mode.
    pub async fn connect(url: &str) -> Result<Self, PublishError> {
        let broken = |e: lapin::Error| {
            PublishError::Broker(super::without_password(&format!("cannot reach the AMQP broker: {e}"), url))
        };
        let properties = ConnectionProperties::default()
            .with_connection_name("vigil".into())
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current());
        let connection = Connection::connect(url, properties).await.map_err(broken)?;
        let channel = connection.create_channel().await.map_err(broken)?;
        channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(broken)?;
        Ok(Self { connection, channel, declared: Default::default(), url: url.to_string() })
    }

    /// Whether the connection and channel still work (a refused declaration closes the channel).
    pub fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Closes the connection.
    pub(crate) async fn close(&self) -> Result<(), lapin::Error> {
        self.connection.close(0, "").await
    }

    /// The channel.
    pub(crate) fn channel(&self) -> &Channel {
        &self.channel
    }

    pub(crate) fn failed(&self, what: &str, e: lapin::Error) -> PublishError {
        PublishError::Broker(super::without_password(&format!("{what}: {e}"), &self.url))
    }

    /// Declares what `to` names (once per connection), publishes and waits for the confirm.
    pub async fn publish(&self, to: &AmqpTarget, message: &Message) -> Result<(), PublishError> {
        self.declare(to).await?;
        let (exchange, routing_key) =
            if to.exchange { (to.name.as_str(), to.routing_key.as_str()) } else { ("", to.name.as_str()) };
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from(message.id.as_str()))
            .with_correlation_id(ShortString::from(message.id.as_str()))
            .with_content_type("application/json".into())
            .with_content_encoding("UTF-8".into())
            .with_delivery_mode(to.delivery_mode);
        let confirm = self
            .channel
            .basic_publish(exchange, routing_key, BasicPublishOptions::default(), &message.payload, properties)
            .await
            .map_err(|e| self.failed("publishing failed", e))?;
        match confirm.await.map_err(|e| self.failed("the broker did not confirm", e))? {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(PublishError::Broker("the AMQP broker refused the message (nack)".into())),
        }
    }

    /// Declares `to`'s queue, or its exchange (and the queue bound to it, when the sink names
    /// one, so messages wait for consumers), with the sink's settings.
    pub(crate) async fn declare(&self, to: &AmqpTarget) -> Result<(), PublishError> {
        let key = format!("{}:{}", if to.exchange { "x" } else { "q" }, to.name);
        let mut declared = self.declared.lock().await;
        if declared.contains(&key) {
            return Ok(());
        }
        if to.exchange {
            let options =
                ExchangeDeclareOptions { durable: to.durable, auto_delete: to.auto_delete, ..Default::default() };
            self.channel
                .exchange_declare(&to.name, exchange_kind(&to.exchange_type), options, FieldTable::default())
                .await
                .map_err(|e| self.failed(&format!("declaring exchange `{}` failed", to.name), e))?;
            if let Some(queue) = &to.bind_queue {
                self.declare_queue(queue, to).await?;
                self.channel
                    .queue_bind(queue, &to.name, &to.routing_key, QueueBindOptions::default(), FieldTable::default())
                    .await
                    .map_err(|e| self.failed(&format!("binding queue `{queue}` failed"), e))?;
            }
        } else {
            self.declare_queue(&to.name, to).await?;
        }
        declared.insert(key);
        Ok(())
    }

    async fn declare_queue(&self, queue: &str, to: &AmqpTarget) -> Result<lapin::Queue, PublishError> {
        self.channel
            .queue_declare(queue, queue_options(to), queue_arguments(to))
            .await
            .map_err(|e| self.failed(&format!("declaring queue `{queue}` failed"), e))
    }
}

/// How `to`'s queue is declared.
pub(crate) fn queue_options(to: &AmqpTarget) -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: to.durable,
        exclusive: to.exclusive && !to.exchange,
        auto_delete: to.auto_delete,
        ..Default::default()
    }
}

/// `x-max-priority`, when the sink sets it.
pub(crate) fn queue_arguments(to: &AmqpTarget) -> FieldTable {
    let mut arguments = FieldTable::default();
    if let Some(p) = to.max_priority {
        arguments.insert("x-max-priority".into(), AMQPValue::ShortShortUInt(p));
    }
    arguments
}

fn exchange_kind(name: &str) -> ExchangeKind {
    match name {
        "direct" => ExchangeKind::Direct,
        "fanout" => ExchangeKind::Fanout,
        "headers" => ExchangeKind::Headers,
        "topic" => ExchangeKind::Topic,
        other => ExchangeKind::Custom(other.to_string()),
    }
}
