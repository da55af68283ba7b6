//! MQTT 5: `mqtt:TOPIC` sinks, published at QoS 1 by default and confirmed by the broker's
//! PUBACK (QoS 2: PUBCOMP). The message id travels as the `message-id` user property, the content
//! type as `application/json`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::oneshot;

use super::address::MqttTarget;
use super::{Message, PublishError};

pub mod consumer;

/// How long a publish or the connection waits for the broker.
const TIMEOUT: Duration = Duration::from_secs(5);

type Confirm = oneshot::Sender<Result<(), String>>;

/// Publishes waiting for their packet id, in the order sent, then for their acknowledgement.
#[derive(Default)]
struct Waiters {
    unsent: VecDeque<(QoS, Confirm)>,
    by_pkid: HashMap<u16, Confirm>,
}

/// One MQTT 5 session with a broker.
pub struct MqttClient {
    client: AsyncClient,
    waiters: Arc<std::sync::Mutex<Waiters>>,
    open: Arc<AtomicBool>,
    /// Keeps a publish's waiter and its request in the same order.
    order: tokio::sync::Mutex<()>,
    events: tokio::task::JoinHandle<()>,
}

impl Drop for MqttClient {
    fn drop(&mut self) {
        self.events.abort();
    }
}

/// The options for `url` (`mqtt://[user:password@]host:port`) as client `id`.
pub fn options(url: &str, id: &str, clean: bool) -> Result<MqttOptions, PublishError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| PublishError::Broker(format!("the MQTT URL is malformed: {e}")))?;
    let host = parsed.host_str().ok_or_else(|| PublishError::Broker("the MQTT URL has no host".into()))?;
    let mut options = MqttOptions::new(id, host, parsed.port().unwrap_or(1883));
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_start(clean);
    if !parsed.username().is_empty() {
        let decode = super::guard::percent_decode;
        options.set_credentials(decode(parsed.username()), decode(parsed.password().unwrap_or_default()));
    }
    Ok(options)
}

/// Polls `events` until the broker accepts the connection.
pub async fn handshake(events: &mut EventLoop, url: &str) -> Result<(), PublishError> {
    let accepted = async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    };
    match tokio::time::timeout(TIMEOUT, accepted).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            Err(PublishError::Broker(super::without_password(&format!("cannot reach the MQTT broker: {e}"), url)))
        }
        Err(_) => {
            Err(PublishError::Broker(format!("the MQTT broker did not accept the connection within {TIMEOUT:?}")))
        }
    }
}

impl MqttClient {
    /// Connects to `url` with a fresh session.
    pub async fn connect(url: &str) -> Result<Self, PublishError> {
        let id = format!("vigil-{}", uuid::Uuid::new_v4().simple());
        let (client, mut events) = AsyncClient::new(options(url, &id, true)?, 1024);
        handshake(&mut events, url).await?;
        let waiters: Arc<std::sync::Mutex<Waiters>> = Default::default();
        let open = Arc::new(AtomicBool::new(true));
        let events = tokio::spawn(run(events, waiters.clone(), open.clone()));
        Ok(Self { client, waiters, open, order: Default::default(), events })
    }

    /// Whether the session still works.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Publishes `message` to `to` and waits for the broker's acknowledgement.
    pub async fn publish(&self, to: &MqttTarget, message: &Message) -> Result<(), PublishError> {
        let qos = match to.qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => QoS::ExactlyOnce,
        };
        let properties = PublishProperties {
            content_type: Some("application/json".into()),
            user_properties: vec![("message-id".into(), message.id.clone())],
            ..Default::default()
        };
        let (tx, rx) = oneshot::channel();
        {
            let _order = self.order.lock().await;
            // A waiter queued without its publish would be credited with the next one's PUBACK.
            let guard = super::guard::CloseUnlessDone::new(&self.open);
            self.waiters.lock().expect("lock").unsent.push_back((qos, tx));
            let sent = self
                .client
                .publish_with_properties(to.topic.clone(), qos, to.retain, message.payload.clone(), properties)
                .await;
            if let Err(e) = sent {
                self.waiters.lock().expect("lock").unsent.pop_back();
                guard.done();
                return Err(PublishError::Broker(format!("publishing to MQTT failed: {e}")));
            }
            guard.done();
        }
        match tokio::time::timeout(TIMEOUT, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(PublishError::Broker(e)),
            Ok(Err(_)) => Err(PublishError::Broker("the MQTT connection closed before the broker acknowledged".into())),
            Err(_) => {
                self.open.store(false, Ordering::Release);
                Err(PublishError::Broker(format!("the MQTT broker did not acknowledge within {TIMEOUT:?}")))
            }
        }
    }
}

/// Drives the session: matches packet ids to publishes and acknowledgements to waiters.
async fn run(mut events: EventLoop, waiters: Arc<std::sync::Mutex<Waiters>>, open: Arc<AtomicBool>) {
    loop {
        match events.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let mut w = waiters.lock().expect("lock");
                if let Some((qos, tx)) = w.unsent.pop_front() {
                    if qos == QoS::AtMostOnce {
                        let _ = tx.send(Ok(()));
                    } else {
                        w.by_pkid.insert(pkid, tx);
                    }
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                if let Some(tx) = waiters.lock().expect("lock").by_pkid.remove(&ack.pkid) {
                    let ok = matches!(ack.reason, PubAckReason::Success | PubAckReason::NoMatchingSubscribers);
                    let _ =
                        tx.send(if ok { Ok(()) } else { Err(format!("the MQTT broker refused: {:?}", ack.reason)) });
                }
            }
            Ok(Event::Incoming(Packet::PubComp(comp))) => {
                if let Some(tx) = waiters.lock().expect("lock").by_pkid.remove(&comp.pkid) {
                    let _ = tx.send(Ok(()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "An MQTT session ended.");
                break;
            }
        }
    }
    open.store(false, Ordering::Release);
    let mut w = waiters.lock().expect("lock");
    w.unsent.clear();
    w.by_pkid.clear();
}
