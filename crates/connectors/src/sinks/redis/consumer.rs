//! Consuming a Redis stream in the consumer group `vigil`, created reading from the stream's start
//! (entries published before the first consumer opened wait for it, as a queue's messages do):
//! each node reads as a consumer named
//! after itself, acknowledges with `XACK`, takes up its own pending entries after a restart, and
//! claims another consumer's entries idle for 30 s (a node that died).

use std::time::{Duration, Instant};

use super::super::PublishError;
use super::super::address::RedisTarget;
use super::super::received::{AckToken, Received};
use super::RedisClient;
use super::resp::Reply;

/// The consumer group.
pub(crate) const GROUP: &str = "vigil";
/// How long another consumer's entry stays pending before it is claimed.
const CLAIM_IDLE: Duration = Duration::from_secs(30);
/// How often idle entries are looked for.
const CLAIM_EVERY: Duration = Duration::from_secs(10);

/// A consumer of one stream.
pub struct RedisConsumer {
    client: RedisClient,
    stream: String,
    consumer: String,
    /// This consumer's entries delivered before and not acknowledged are read first.
    own_pending: bool,
    claimed_at: Instant,
}

impl RedisConsumer {
    /// Creates the group (and the stream) if missing; consumes as `node`.
    pub async fn open(url: &str, to: &RedisTarget, node: &str) -> Result<Self, PublishError> {
        let client = RedisClient::connect(url).await?;
        let created =
            client.call(&[b"XGROUP", b"CREATE", to.stream.as_bytes(), GROUP.as_bytes(), b"0", b"MKSTREAM"]).await;
        if let Err(e) = created
            && !e.to_string().contains("BUSYGROUP")
        {
            return Err(e);
        }
        let consumer = node.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
        Ok(Self { client, stream: to.stream.clone(), consumer, own_pending: true, claimed_at: Instant::now() })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.client.is_open()
    }

    /// Up to `max` entries: this consumer's pending ones first, then idle ones of others, then new
    /// ones (waiting up to `wait`).
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, PublishError> {
        let count = max.to_string();
        if self.own_pending {
            let reply = self
                .client
                .call(&[
                    b"XREADGROUP",
                    b"GROUP",
                    GROUP.as_bytes(),
                    self.consumer.as_bytes(),
                    b"COUNT",
                    count.as_bytes(),
                    b"STREAMS",
                    self.stream.as_bytes(),
                    b"0",
                ])
                .await?;
            let got = entries_of_read(&reply, 2);
            if !got.is_empty() {
                return Ok(got);
            }
            self.own_pending = false;
        }
        if self.claimed_at.elapsed() >= CLAIM_EVERY {
            self.claimed_at = Instant::now();
            let idle = CLAIM_IDLE.as_millis().to_string();
            let reply = self
                .client
                .call(&[
                    b"XAUTOCLAIM",
                    self.stream.as_bytes(),
                    GROUP.as_bytes(),
                    self.consumer.as_bytes(),
                    idle.as_bytes(),
                    b"0-0",
                    b"COUNT",
                    count.as_bytes(),
                ])
                .await?;
            if let Reply::Array(Some(parts)) = &reply
                && let Some(claimed) = parts.get(1)
            {
                let got = entries(claimed, 2);
                if !got.is_empty() {
                    return Ok(got);
                }
            }
        }
        let block = wait.as_millis().max(1).to_string();
        let reply = self
            .client
            .call(&[
                b"XREADGROUP",
                b"GROUP",
                GROUP.as_bytes(),
                self.consumer.as_bytes(),
                b"COUNT",
                count.as_bytes(),
                b"BLOCK",
                block.as_bytes(),
                b"STREAMS",
                self.stream.as_bytes(),
                b">",
            ])
            .await?;
        Ok(entries_of_read(&reply, 1))
    }

    /// Acknowledges `done` with one `XACK`.
    pub async fn settle(&mut self, done: &[AckToken]) -> Result<(), PublishError> {
        let ids: Vec<&[u8]> =
            done.iter().filter_map(|t| if let AckToken::Redis(id) = t { Some(id.as_bytes()) } else { None }).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut args: Vec<&[u8]> = vec![b"XACK", self.stream.as_bytes(), GROUP.as_bytes()];
        args.extend(ids);
        self.client.call(&args).await.map(|_| ())
    }
}

/// The entries of an `XREADGROUP` reply: `[[stream, [[id, [field, value, ...]], ...]]]`.
fn entries_of_read(reply: &Reply, deliveries: u32) -> Vec<Received> {
    match reply {
        Reply::Array(Some(streams)) => streams
            .iter()
            .filter_map(|s| if let Reply::Array(Some(pair)) = s { pair.get(1) } else { None })
            .flat_map(|list| entries(list, deliveries))
            .collect(),
        _ => Vec::new(),
    }
}

/// `[[id, [field, value, ...]], ...]` as messages: the id the `id` field gives, else the entry's.
fn entries(list: &Reply, deliveries: u32) -> Vec<Received> {
    let Reply::Array(Some(items)) = list else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let Reply::Array(Some(pair)) = item else { return None };
            let entry = pair.first()?.text()?;
            let mut fields = Vec::new();
            if let Some(Reply::Array(Some(kv))) = pair.get(1) {
                fields = kv.iter().map(|f| if let Reply::Bulk(Some(b)) = f { b.clone() } else { Vec::new() }).collect();
            }
            let field = |name: &[u8]| {
                fields.chunks(2).find(|c| c.first().map(Vec::as_slice) == Some(name)).and_then(|c| c.get(1).cloned())
            };
            let id = field(b"id")
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|| format!("redis:{entry}"));
            let payload = field(b"payload").unwrap_or_default();
            Some(Received { id, payload, deliveries, ack: AckToken::Redis(entry) })
        })
        .collect()
}
