//! Consuming an MQTT topic in a persistent MQTT 5 session (the same client id, no clean start):
//! QoS 1 messages not acknowledged before the session ends come again when it resumes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::{AsyncClient, Event};
use tokio::sync::{mpsc, oneshot};

use super::super::PublishError;
use super::super::address::MqttTarget;
use super::super::received::{AckToken, Received, fresh_id};
use super::{handshake, options};

/// How long the broker keeps the session while no consumer is connected.
const SESSION_EXPIRY_SECONDS: u32 = 7 * 24 * 3600;

/// A consumer of one topic (filter).
pub struct MqttConsumer {
    client: AsyncClient,
    messages: mpsc::UnboundedReceiver<Publish>,
    /// Acknowledgements asked for, by packet id, told when their PUBACK is written.
    acks: Arc<std::sync::Mutex<HashMap<u16, oneshot::Sender<()>>>>,
    open: Arc<AtomicBool>,
    events: tokio::task::JoinHandle<()>,
}

impl Drop for MqttConsumer {
    fn drop(&mut self) {
        self.events.abort();
    }
}

impl MqttConsumer {
    /// Resumes (or starts) session `vigil-NAME` and subscribes to the topic at QoS 1.
    pub async fn open(url: &str, to: &MqttTarget, name: &str) -> Result<Self, PublishError> {
        let id: String =
            format!("vigil-{name}").chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
        let mut options = options(url, &id, false)?;
        options.set_session_expiry_interval(Some(SESSION_EXPIRY_SECONDS));
        options.set_manual_acks(true);
        let (client, mut events) = AsyncClient::new(options, 4096);
        handshake(&mut events, url).await?;
        client
            .subscribe(to.topic.clone(), QoS::AtLeastOnce)
            .await
            .map_err(|e| PublishError::Broker(format!("subscribing to `{}` failed: {e}", to.topic)))?;
        let (tx, messages) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicBool::new(true));
        let still = open.clone();
        let acks: Arc<std::sync::Mutex<HashMap<u16, oneshot::Sender<()>>>> = Default::default();
        let written = acks.clone();
        let events = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(p).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Outgoing(Outgoing::PubAck(pkid))) => {
                        if let Some(tx) = written.lock().expect("lock").remove(&pkid) {
                            let _ = tx.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "An MQTT consumer's session ended.");
                        break;
                    }
                }
            }
            still.store(false, Ordering::Release);
        });
        Ok(Self { client, messages, acks, open, events })
    }

    /// Whether the session still works.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Up to `max` messages, waiting up to `wait` for the first.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, PublishError> {
        let mut got = Vec::new();
        match tokio::time::timeout(wait, self.messages.recv()).await {
            Err(_) => return Ok(got),
            Ok(None) => return Err(PublishError::Broker("the MQTT session ended".into())),
            Ok(Some(p)) => got.push(received(p)),
        }
        while got.len() < max {
            match self.messages.try_recv() {
                Ok(p) => got.push(received(p)),
                Err(_) => break,
            }
        }
        Ok(got)
    }

    /// Acknowledges `done`, returning once every PUBACK is written to the broker. MQTT cannot
    /// ask for a message again, and holds unacknowledged ones in flight until the session
    /// resumes: when `again` holds any, the session ends here (the caller opens it again).
    pub async fn settle(&mut self, done: &[AckToken], again: &[AckToken]) -> Result<(), PublishError> {
        let result = self.acknowledge(done).await;
        if !again.is_empty() {
            self.events.abort();
            self.open.store(false, Ordering::Release);
        }
        result
    }

    async fn acknowledge(&mut self, done: &[AckToken]) -> Result<(), PublishError> {
        let mut written = Vec::new();
        for token in done {
            if let AckToken::Mqtt(p) = token
                && p.qos != QoS::AtMostOnce
            {
                let (tx, rx) = oneshot::channel();
                self.acks.lock().expect("lock").insert(p.pkid, tx);
                written.push(rx);
                self.client.ack(p).await.map_err(|e| PublishError::Broker(format!("acknowledging failed: {e}")))?;
            }
        }
        for rx in written {
            match tokio::time::timeout(Duration::from_secs(5), rx).await {
                Ok(Ok(())) => {}
                _ => return Err(PublishError::Broker("an MQTT acknowledgement was not written".into())),
            }
        }
        Ok(())
    }
}

fn received(p: Publish) -> Received {
    let id = p
        .properties
        .as_ref()
        .and_then(|props| props.user_properties.iter().find(|(k, _)| k == "message-id").map(|(_, v)| v.clone()))
        .unwrap_or_else(fresh_id);
    Received { id, payload: p.payload.to_vec(), deliveries: if p.dup { 2 } else { 1 }, ack: AckToken::Mqtt(p) }
}
