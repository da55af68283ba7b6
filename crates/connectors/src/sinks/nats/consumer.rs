//! Consuming NATS: a durable JetStream pull consumer with explicit acks (`jsm:`, `nats_stream:`),
//! or a plain subscription (`nats:`), which core NATS delivers at most once.

use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use super::super::PublishError;
use super::super::address::NatsTarget;
use super::super::received::{AckToken, Received, fresh_id};
use super::client::Delivery;
use super::{NatsClient, broken};

/// The JetStream durable consumer vigil's consumer `name` is.
pub(crate) fn jetstream_durable(name: &str) -> String {
    format!("vigil-{name}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

/// A consumer of one subject.
pub struct NatsConsumer {
    client: NatsClient,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    /// JetStream: the stream, the durable consumer and the subject fetched messages come to.
    pull: Option<(String, String, String)>,
    /// The pull request still open on the server, if any.
    open_request: Option<OpenRequest>,
}

/// A JetStream pull request the server has not finished: how many messages it may still bring,
/// and when the server ends it.
///
/// vigil keeps at most one open: another would wait on the server beside it, and a request left
/// waiting when its consumer dies makes nats-server before 2.11 send a redelivery again as a new
/// message, with its delivery count set back (nats-io/nats-server#5305).
#[derive(Debug, Clone, Copy)]
struct OpenRequest {
    remaining: usize,
    expires: tokio::time::Instant,
}

impl NatsConsumer {
    /// Subscribes (core NATS), or creates the stream and the durable consumer `name` and
    /// subscribes to the subject its fetched messages come to (JetStream).
    pub async fn open(url: &str, to: &NatsTarget, name: &str) -> Result<Self, PublishError> {
        let client = NatsClient::connect(url).await?;
        if !to.jetstream {
            let deliveries = client
                .connection()
                .subscribe(&to.subject, to.queue_group.as_deref())
                .await
                .map_err(|e| broken(&e, url))?;
            client.connection().flush().await.map_err(|e| broken(&e, url))?;
            return Ok(Self { client, deliveries, pull: None, open_request: None });
        }
        client.ensure_stream(to).await?;
        let stream = to.stream();
        let durable = jetstream_durable(name);
        let config = json!({"stream_name": stream, "config": {
            "durable_name": durable, "ack_policy": "explicit", "ack_wait": to.ack_wait.as_nanos() as u64,
            "deliver_policy": "all", "filter_subject": to.subject, "max_ack_pending": 20_000,
        }});
        let created = client.api(&format!("CONSUMER.DURABLE.CREATE.{stream}.{durable}"), &config).await?;
        if let Some(err) = created.get("error") {
            return Err(PublishError::Broker(format!("creating JetStream consumer `{durable}`: {err}")));
        }
        let inbox = client.connection().new_inbox();
        let deliveries = client.connection().subscribe(&inbox, None).await.map_err(|e| broken(&e, url))?;
        Ok(Self { client, deliveries, pull: Some((stream, durable, inbox)), open_request: None })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.client.is_open()
    }

    /// Up to `max` messages, waiting up to `wait` for the first.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, PublishError> {
        let mut got = Vec::new();
        let Some((stream, durable, inbox)) = &self.pull else {
            match tokio::time::timeout(wait, self.deliveries.recv()).await {
                Err(_) => return Ok(got),
                Ok(None) => return Err(PublishError::Broker("the NATS connection closed".into())),
                Ok(Some(d)) => got.push(core_message(d)),
            }
            while got.len() < max {
                match self.deliveries.try_recv() {
                    Ok(d) => got.push(core_message(d)),
                    Err(_) => break,
                }
            }
            return Ok(got);
        };
        // What the open request brought meanwhile (it stays open on the server until it has its
        // batch or expires, so messages published later arrive here between calls).
        while got.len() < max {
            match self.deliveries.try_recv() {
                Ok(d) => got.extend(pulled(&mut self.open_request, stream, d)),
                Err(_) => break,
            }
        }
        if !got.is_empty() {
            return Ok(got);
        }
        let now = tokio::time::Instant::now();
        // A request the server has ended without saying so (its 408 lost) is over a second later.
        let open = self.open_request.filter(|r| r.remaining > 0 && now < r.expires + Duration::from_secs(1));
        let deadline = match open {
            Some(r) => (r.expires + Duration::from_secs(1)).min(now + wait.max(Duration::from_millis(10))),
            None => {
                let expires = wait.max(Duration::from_millis(10));
                let request = json!({"batch": max, "expires": expires.as_nanos() as u64});
                self.client
                    .connection()
                    .send_request(
                        &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"),
                        inbox,
                        request.to_string().as_bytes(),
                    )
                    .await
                    .map_err(|e| PublishError::Broker(e.to_string()))?;
                self.open_request = Some(OpenRequest { remaining: max, expires: now + expires });
                now + expires + Duration::from_secs(1)
            }
        };
        while got.is_empty() && self.open_request.is_some() {
            match tokio::time::timeout_at(deadline, self.deliveries.recv()).await {
                Err(_) => return Ok(got),
                Ok(None) => return Err(PublishError::Broker("the NATS connection closed".into())),
                Ok(Some(d)) => got.extend(pulled(&mut self.open_request, stream, d)),
            }
        }
        // The first arrived: take what follows at once, without waiting for the batch to fill.
        while got.len() < max && self.open_request.is_some() {
            match tokio::time::timeout(Duration::from_millis(1), self.deliveries.recv()).await {
                Ok(Some(d)) => got.extend(pulled(&mut self.open_request, stream, d)),
                _ => break,
            }
        }
        Ok(got)
    }

    /// Acknowledges `done`, and asks for `again` to be delivered again at once (JetStream; core
    /// NATS has nothing to acknowledge).
    pub async fn settle(&mut self, done: &[AckToken], again: &[AckToken]) -> Result<(), PublishError> {
        let connection = self.client.connection();
        let mut sent = false;
        for (tokens, verb) in [(done, b"+ACK".as_slice()), (again, b"-NAK".as_slice())] {
            for token in tokens {
                if let AckToken::JetStream(reply) = token {
                    connection.send(reply, verb).await.map_err(|e| PublishError::Broker(e.to_string()))?;
                    sent = true;
                }
            }
        }
        if sent {
            connection.flush().await.map_err(|e| PublishError::Broker(e.to_string()))?;
        }
        Ok(())
    }
}

/// A message the open request brought, counted against it; a status (no messages, expired,
/// ended) closes the request and brings nothing.
fn pulled(open_request: &mut Option<OpenRequest>, stream: &str, d: Delivery) -> Option<Received> {
    if matches!(d.status, Some(404 | 408 | 409)) {
        *open_request = None;
        return None;
    }
    let message = jetstream_message(stream, d)?;
    if let Some(r) = open_request {
        r.remaining = r.remaining.saturating_sub(1);
        if r.remaining == 0 {
            *open_request = None;
        }
    }
    Some(message)
}

/// A message a fetch delivered (nothing for a status or a heartbeat).
fn jetstream_message(stream: &str, d: Delivery) -> Option<Received> {
    if d.status.is_some() {
        return None;
    }
    let reply = d.reply.clone()?;
    let (deliveries, sequence) = ack_subject(&reply);
    let id = d.header("Nats-Msg-Id").map(str::to_string).unwrap_or_else(|| format!("jsm:{stream}:{sequence}"));
    Some(Received { id, payload: d.payload, deliveries, ack: AckToken::JetStream(reply) })
}

fn core_message(d: Delivery) -> Received {
    let id = d.header("Nats-Msg-Id").map(str::to_string).unwrap_or_else(fresh_id);
    Received { id, payload: d.payload, deliveries: 1, ack: AckToken::None }
}

/// The delivery count and stream sequence in a JetStream ack subject:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...`, or with a domain and an account
/// hash after `ACK` (12 tokens or more).
fn ack_subject(reply: &str) -> (u32, u64) {
    let tokens: Vec<&str> = reply.split('.').collect();
    let at = if tokens.len() >= 12 { 4 } else { 2 };
    let delivered = tokens.get(at + 2).and_then(|t| t.parse().ok()).unwrap_or(1);
    let sequence = tokens.get(at + 3).and_then(|t| t.parse().ok()).unwrap_or(0);
    (delivered, sequence)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ack_subjects_give_the_delivery_count_and_sequence() {
        assert_eq!(super::ack_subject("$JS.ACK.ORDERS.vigil-h.3.17.9.1700000000.0"), (3, 17));
        assert_eq!(super::ack_subject("$JS.ACK.dom.acc.ORDERS.vigil-h.2.18.9.1700000000.0.x"), (2, 18));
    }
}
