//! NATS: `nats:SUBJECT` publishes on core NATS (confirmed by a PING the server answers after
//! it); `jsm:SUBJECT` and `nats_stream:SUBJECT` publish to JetStream and wait for its ack, on the
//! stream named after the subject ([`NatsTarget::stream`]), created (file storage) when missing,
//! as Conductor's `JetStreamObservableQueue` does. The message id travels as `Nats-Msg-Id`, by
//! which JetStream drops a repeat within its duplicate window.

pub mod client;
pub mod consumer;
pub(crate) mod depth;

use std::collections::HashSet;

use serde_json::{Value, json};

use super::address::NatsTarget;
use super::{Message, PublishError};
use client::{Connection, NatsError};

/// A connection to a NATS server, and the JetStream streams known to exist on it.
pub struct NatsClient {
    connection: Connection,
    streams: tokio::sync::Mutex<HashSet<String>>,
    url: String,
}

impl NatsClient {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<Self, PublishError> {
        let connection = Connection::connect(url).await.map_err(|e| broken(&e, url))?;
        Ok(Self { connection, streams: Default::default(), url: url.to_string() })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.connection.is_open()
    }

    /// The connection, for consumers.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Publishes `message` to `to`.
    pub async fn publish(&self, to: &NatsTarget, message: &Message) -> Result<(), PublishError> {
        let headers = [("Nats-Msg-Id", message.id.as_str()), ("Content-Type", "application/json")];
        if !to.jetstream {
            return self
                .connection
                .publish(&to.subject, &headers, &message.payload)
                .await
                .map_err(|e| broken(&e, &self.url));
        }
        self.ensure_stream(to).await?;
        let reply = self
            .connection
            .request(&to.subject, &headers, &message.payload)
            .await
            .map_err(|e| broken(&e, &self.url))?;
        if reply.status == Some(503) {
            return Err(PublishError::Broker(format!("no JetStream stream takes subject `{}`", to.subject)));
        }
        let ack: Value = serde_json::from_slice(&reply.payload)
            .map_err(|e| PublishError::Broker(format!("JetStream's ack does not read: {e}")))?;
        match ack.get("error") {
            Some(err) => Err(PublishError::Broker(format!("JetStream refused the message: {}", describe(err)))),
            None => Ok(()),
        }
    }

    /// Makes sure the stream for `to` exists: looked up once per connection, created when missing.
    pub async fn ensure_stream(&self, to: &NatsTarget) -> Result<(), PublishError> {
        let stream = to.stream();
        let mut known = self.streams.lock().await;
        if known.contains(&stream) {
            return Ok(());
        }
        let info = self.api(&format!("STREAM.INFO.{stream}"), &json!({})).await?;
        if let Some(err) = info.get("error") {
            if err.get("code").and_then(Value::as_u64) != Some(404) {
                return Err(PublishError::Broker(format!("JetStream stream `{stream}`: {}", describe(err))));
            }
            let config = json!({"name": stream, "subjects": [to.subject], "storage": "file", "retention": "limits"});
            let created = self.api(&format!("STREAM.CREATE.{stream}"), &config).await?;
            if let Some(err) = created.get("error") {
                return Err(PublishError::Broker(format!("creating JetStream stream `{stream}`: {}", describe(err))));
            }
        }
        known.insert(stream);
        Ok(())
    }

    /// Calls JetStream's API `$JS.API.<what>` with `body`.
    pub async fn api(&self, what: &str, body: &Value) -> Result<Value, PublishError> {
        let subject = format!("$JS.API.{what}");
        let reply = self
            .connection
            .request(&subject, &[], body.to_string().as_bytes())
            .await
            .map_err(|e| broken(&e, &self.url))?;
        if reply.status == Some(503) {
            return Err(PublishError::Broker("the NATS server has no JetStream (start it with -js)".into()));
        }
        serde_json::from_slice(&reply.payload)
            .map_err(|e| PublishError::Broker(format!("JetStream's answer to {what} does not read: {e}")))
    }
}

pub(crate) fn describe(err: &Value) -> String {
    err.get("description").and_then(Value::as_str).map_or_else(|| err.to_string(), str::to_string)
}

pub(crate) fn broken(e: &NatsError, url: &str) -> PublishError {
    PublishError::Broker(super::without_password(&e.to_string(), url))
}
