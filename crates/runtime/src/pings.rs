//! Heartbeat pings: durable before they are answered, batched into one transaction per round.
//!
//! [`Pings::ping`] resolves the ping id to its monitor, applies a per-id rate limit, and queues
//! the ping for the committer task, which writes everything queued in one transaction
//! ([`vigil_store::PingStore::record_pings`]) and only then answers each caller, so a ping that got
//! its 200 survives a crash (a group commit: under load one transaction serves many pings). The
//! new heartbeat states go to the monitors actor over the channel it owns.
//!
//! In a cluster any node accepts pings; a poller reads the heartbeat states other nodes changed
//! (a short look-back covers commit delays and clock skew) and hands them over the same way.
//! Merging states is idempotent ([`vigil_core::monitor::expect::Beats::merge`]), so a state seen
//! twice does no harm.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vigil_core::monitor::expect::PingKind;
use vigil_core::time::{Clock, Millis};
use vigil_store::{HeartbeatRow, PingRow, Store};

/// Longest ping body kept (the rest is cut), as Healthchecks keeps a capped body.
pub const MAX_BODY_BYTES: usize = 10_000;
/// Pings per id per second before `429` (a runaway loop cannot flood the store).
pub const MAX_PINGS_PER_SECOND: u32 = 20;
/// Pings written per transaction at most.
const MAX_BATCH: usize = 2_000;
/// How often other nodes' heartbeat changes are read.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How far back each poll looks, for commits that landed late.
const LOOK_BACK_MS: Millis = 5_000;
/// How long the ping log is kept (heartbeat states are kept for good).
pub const KEEP_PINGS_MS: Millis = 7 * 24 * 3_600_000;
/// Polls between two prunes of the ping log.
const PRUNE_EVERY_POLLS: u64 = 600;

/// Why a ping was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingError {
    /// No heartbeat monitor has this ping id.
    #[error("no heartbeat monitor has this ping id")]
    Unknown,
    /// Too many pings for this id this second.
    #[error("too many pings for this id; at most {MAX_PINGS_PER_SECOND} a second")]
    TooMany,
    /// The store did not take it (the caller should retry).
    #[error("the ping could not be stored: {0}")]
    Store(String),
}

/// One ping, as the HTTP route read it.
#[derive(Debug, Clone)]
pub struct Ping {
    /// What it reports.
    pub kind: PingKind,
    /// Exit code (`/ping/{id}/{code}`).
    pub exit_code: Option<i32>,
    /// Run id (`?rid=`).
    pub rid: Option<String>,
    /// Body, as sent (capped by [`Pings::ping`]).
    pub body: Option<Vec<u8>>,
    /// Where it came from: method, user agent, address and scheme.
    pub origin: vigil_store::PingOrigin,
}

/// Work for the committer.
pub struct PingMsg {
    row: PingRow,
    done: oneshot::Sender<Result<(), PingError>>,
}

/// Per ping id: the second counted, pings in it, and the last ping's time.
type PerId = (Millis, u32, Millis);

/// A heartbeat that listens to a queue: each message its condition lets through is a ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The heartbeat monitor.
    pub monitor: String,
    /// The queue (`mqtt:devices/42/alive`).
    pub queue: String,
    /// A JavaScript condition over the message (`$`), if only some messages are its pings.
    pub condition: Option<String>,
}

/// A queue's message read as a ping of one heartbeat.
#[derive(Debug, Clone)]
pub struct MessagePingRow {
    /// The heartbeat monitor.
    pub monitor: String,
    /// What the message reports.
    pub ping: vigil_core::monitor::message::MessagePing,
    /// The message's id: a message delivered again is not a second ping.
    pub message_id: String,
    /// Its body (the first [`MAX_BODY_BYTES`] are kept).
    pub body: Vec<u8>,
}

/// The handle. Cheap to clone.
#[derive(Clone)]
pub struct Pings {
    tx: mpsc::UnboundedSender<PingMsg>,
    ids: Arc<RwLock<HashMap<String, String>>>,
    /// Per ping id: the second counted, pings in it, and the last ping's time.
    limits: Arc<Mutex<HashMap<String, PerId>>>,
    /// The heartbeats that listen to queues.
    feeds: Arc<RwLock<Vec<Feed>>>,
    /// Per monitor, the time of the last ping a message made.
    last_message: Arc<Mutex<HashMap<String, Millis>>>,
    clock: Arc<dyn Clock>,
}

impl Pings {
    /// Starts the committer and the poller; new heartbeat states go to `states`. Alone on its
    /// store (`solo`), a node sees every ping itself: the poller only prunes the ping log.
    pub fn spawn(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        states: mpsc::UnboundedSender<Vec<HeartbeatRow>>,
        solo: bool,
    ) -> (Pings, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(committer(rx, store.clone(), clock.clone(), states.clone())),
            tokio::spawn(poller(store, clock.clone(), states, solo)),
        ];
        let pings = Pings {
            tx,
            ids: Arc::default(),
            limits: Arc::default(),
            feeds: Arc::default(),
            last_message: Arc::default(),
            clock,
        };
        (pings, tasks)
    }

    /// Replaces the ping ids: id → monitor name.
    pub fn set_ids(&self, ids: HashMap<String, String>) {
        self.set_ids_where(|_| true, ids, Vec::new());
    }

    /// Replaces the ping ids and queue feeds of the monitors `mine` says are the caller's (a
    /// monitors shard's), keeping the others'.
    pub fn set_ids_where(&self, mine: impl Fn(&str) -> bool, ids: HashMap<String, String>, feeds: Vec<Feed>) {
        let mut all = self.ids.write().expect("lock");
        all.retain(|_, monitor| !mine(monitor));
        all.extend(ids);
        drop(all);
        let mut all = self.feeds.write().expect("lock");
        all.retain(|f| !mine(&f.monitor));
        all.extend(feeds);
        drop(all);
        self.limits.lock().expect("lock").clear();
    }

    /// The queues some heartbeat listens to.
    pub fn queues(&self) -> BTreeSet<String> {
        self.feeds.read().expect("lock").iter().map(|f| f.queue.clone()).collect()
    }

    /// The heartbeats that listen to `queue`.
    pub fn feeds_of(&self, queue: &str) -> Vec<Feed> {
        self.feeds.read().expect("lock").iter().filter(|f| f.queue == queue).cloned().collect()
    }

    /// Records pings that came as messages on `queue`; returns once they are durable. No rate
    /// limit: the queue paces them, and they are written in the same batches as HTTP pings. Each
    /// is later than the monitor's previous one, so their order holds.
    pub async fn record_messages(&self, queue: &str, pings: Vec<MessagePingRow>) -> Result<(), PingError> {
        let now = self.clock.now();
        let mut answers = Vec::with_capacity(pings.len());
        for p in pings {
            let at = {
                let mut last = self.last_message.lock().expect("lock");
                let last = last.entry(p.monitor.clone()).or_insert(Millis::MIN);
                *last = now.max(last.saturating_add(1));
                *last
            };
            let mut body = p.body;
            body.truncate(MAX_BODY_BYTES);
            let row = PingRow {
                monitor: p.monitor,
                kind: p.ping.kind,
                exit_code: p.ping.exit_code,
                rid: p.ping.rid,
                body: Some(body),
                origin: vigil_store::PingOrigin {
                    queue: Some(queue.to_string()),
                    message_id: Some(p.message_id),
                    ..Default::default()
                },
                received_at: at,
            };
            let (done, answer) = oneshot::channel();
            self.tx.send(PingMsg { row, done }).map_err(|_| PingError::Store("vigil is stopping".into()))?;
            answers.push(answer);
        }
        for answer in answers {
            answer.await.map_err(|_| PingError::Store("vigil is stopping".into()))??;
        }
        Ok(())
    }

    /// The ping id of heartbeat monitor `monitor`.
    pub fn id_of(&self, monitor: &str) -> Option<String> {
        self.ids.read().expect("lock").iter().find(|(_, m)| m.as_str() == monitor).map(|(id, _)| id.clone())
    }

    /// The monitor a ping id belongs to.
    pub fn monitor_of(&self, id: &str) -> Option<String> {
        self.ids.read().expect("lock").get(id).cloned()
    }

    /// Records a ping for `id`; returns once it is durable.
    pub async fn ping(&self, id: &str, ping: Ping) -> Result<String, PingError> {
        let monitor = self.monitor_of(id).ok_or(PingError::Unknown)?;
        let mut now = self.clock.now();
        {
            let mut limits = self.limits.lock().expect("lock");
            let (second, count, last) = limits.entry(id.to_string()).or_insert((now / 1000, 0, Millis::MIN));
            if *second != now / 1000 {
                (*second, *count) = (now / 1000, 0);
            }
            *count += 1;
            if *count > MAX_PINGS_PER_SECOND {
                metrics::counter!("vigil_pings_total", "outcome" => "rate_limited").increment(1);
                return Err(PingError::TooMany);
            }
            // Each ping of a heartbeat is later than the one before, so of two in one
            // millisecond the last wins (a /fail then a success: up).
            now = now.max(last.saturating_add(1));
            *last = now;
        }
        // The first bytes as sent, as Healthchecks keeps them (not cut to a character).
        let body = ping.body.map(|mut b| {
            b.truncate(MAX_BODY_BYTES);
            b
        });
        let row = PingRow {
            monitor: monitor.clone(),
            kind: ping.kind,
            exit_code: ping.exit_code,
            rid: ping.rid,
            body,
            origin: ping.origin,
            received_at: now,
        };
        let (done, answer) = oneshot::channel();
        self.tx.send(PingMsg { row, done }).map_err(|_| PingError::Store("vigil is stopping".into()))?;
        answer.await.map_err(|_| PingError::Store("vigil is stopping".into()))??;
        Ok(monitor)
    }
}

/// Writes queued pings in batches, answering each caller after its batch commits.
async fn committer(
    mut rx: mpsc::UnboundedReceiver<PingMsg>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    states: mpsc::UnboundedSender<Vec<HeartbeatRow>>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let rows: Vec<PingRow> = batch.iter().map(|m| m.row.clone()).collect();
        match store.record_pings(&rows, clock.now()).await {
            Ok(new_states) => {
                metrics::counter!("vigil_pings_total", "outcome" => "stored").increment(rows.len() as u64);
                // The states go to the monitors before the pings are answered, so whoever got a
                // 200 then sees the heartbeat's new state.
                let _ = states.send(new_states);
                for msg in batch {
                    let _ = msg.done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, pings = rows.len(), "Could not store pings; their senders get a 503 and retry.");
                metrics::counter!("vigil_pings_total", "outcome" => "failed").increment(rows.len() as u64);
                for msg in batch {
                    let _ = msg.done.send(Err(PingError::Store(e.to_string())));
                }
            }
        }
    }
}

/// Reads heartbeat states other nodes changed.
async fn poller(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    states: mpsc::UnboundedSender<Vec<HeartbeatRow>>,
    solo: bool,
) {
    let mut since = clock.now() - LOOK_BACK_MS;
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u64.. {
        tick.tick().await;
        let now = clock.now();
        if round % PRUNE_EVERY_POLLS == PRUNE_EVERY_POLLS - 1 {
            // In chunks, so a prune never holds the writer long.
            let before = now - KEEP_PINGS_MS;
            crate::retention::delete_in_chunks(5_000, "pings", |n| store.prune_pings(before, n)).await;
        }
        if solo {
            continue;
        }
        match store.heartbeats(since).await {
            Ok(rows) if !rows.is_empty() => {
                if states.send(rows).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "Reading heartbeat states failed; trying again."),
        }
        since = now - LOOK_BACK_MS;
    }
}

/// The ping id vigil derives for `monitor` when its file names none: the first 32 hex digits of
/// SHA-256 over the store's random salt and the name, the same on every node of one store.
pub fn derived_id(salt: &str, monitor: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("vigil-ping\0{salt}\0{monitor}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
