//! Sends the outbox. Notifications of one dedup key to one notifier go out in order (a resolve
//! never overtakes its trigger); each notifier has a token-bucket rate limit; failures are retried
//! with exponential backoff and jitter, honouring Retry-After; permanent failures are recorded and
//! shown, not retried. Every send carries the dedup key, so a crash between sending and recording
//! can at worst repeat a send the provider de-duplicates.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use vigil_connectors::notifiers::{AlertMessage, NotifierConfig, Outcome, deliver_batch};
use vigil_core::interpreter::Secrets;
use vigil_core::time::{Clock, Millis};
use vigil_store::{DeliveryUpdate, OutboxEntry};

/// Time allowed for one send: 10 s, or `VIGIL_NOTIFY_TIMEOUT_MS`.
fn send_timeout() -> Duration {
    std::env::var("VIGIL_NOTIFY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(10))
}
/// Most sends in flight per notifier: enough to hide latency, few enough that connections to a
/// provider are reused (keep-alive) instead of opened per message.
const MAX_IN_FLIGHT_PER_NOTIFIER: usize = 64;
/// Longest backoff between attempts.
const MAX_BACKOFF_MS: Millis = 5 * 60_000;

/// A token bucket: `capacity` sends at once, refilled at `per_sec`.
#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    at: Millis,
}

impl Bucket {
    fn new(per_minute: f64, burst: f64) -> Self {
        Self { capacity: burst, per_sec: per_minute / 60.0, tokens: burst, at: 0 }
    }

    /// No rate limit; only a pause can hold it back.
    fn unlimited() -> Self {
        Self { capacity: f64::MAX, per_sec: f64::MAX, tokens: f64::MAX, at: 0 }
    }

    /// Empties the bucket until `until`, for a provider that asked to wait (429 Retry-After).
    fn pause_until(&mut self, until: Millis) {
        self.tokens = 0.0;
        self.at = self.at.max(until);
    }

    /// Takes a token, or says when one will be there.
    fn take(&mut self, now: Millis) -> Result<(), Millis> {
        if now < self.at {
            return Err(self.at);
        }
        let elapsed = (now - self.at) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(now + (((1.0 - self.tokens) / self.per_sec) * 1000.0).ceil() as Millis)
        }
    }
}

/// The provider's documented rate limit, which each notifier type declares
/// (`Notifier::RATE_LIMIT`); `None` for an unlimited one (Alertmanager, webhooks).
fn bucket_for(notifier: &NotifierConfig) -> Option<Bucket> {
    notifier.rate_limit().map(|(per_minute, burst)| Bucket::new(per_minute, burst))
}

/// Backoff before attempt `attempts + 1`: 1 s doubling up to 5 min, ±20 % jitter.
pub fn backoff_ms(attempts: u32) -> Millis {
    let base = (1_000i64 << attempts.min(20)).min(MAX_BACKOFF_MS);
    let jitter = rand::rng().random_range(0.8..1.2);
    (base as f64 * jitter) as Millis
}

/// One finished request: the notifications it carried and how it went.
struct Done {
    notifier: String,
    items: Vec<(QueueKey, OutboxEntry)>,
    outcome: Outcome,
}

/// The result of one send of one notification, applied to its queue once durable.
#[derive(Debug)]
pub struct Recorded {
    /// The notification's outbox id.
    pub id: i64,
    /// Its queue.
    pub key: QueueKey,
    /// What to record.
    pub update: DeliveryUpdate,
}

/// The configured notifiers by name, replaceable while running; `None` until the configuration is
/// loaded, and delivery waits until then (a pending notification must not fail as "unknown
/// notifier" just because it was reloaded before the notifiers were).
pub type Notifiers = Arc<std::sync::RwLock<Option<Arc<HashMap<String, Arc<NotifierConfig>>>>>>;

/// A queue key: one dedup key to one notifier, delivered in order.
pub type QueueKey = (String, String);

/// Lets a stopping engine wait until the notices due now are sent: while someone watches, the
/// delivery loop publishes how many are due or in flight.
pub struct Unsettled {
    count: tokio::sync::watch::Sender<usize>,
    wake: tokio::sync::Notify,
}

impl Default for Unsettled {
    fn default() -> Self {
        Self { count: tokio::sync::watch::channel(0).0, wake: tokio::sync::Notify::new() }
    }
}

impl Unsettled {
    /// Waits up to `grace` until no notice is due or in flight; how many still are (`None`: the
    /// delivery loop did not answer).
    pub async fn settle(&self, grace: Duration) -> Option<usize> {
        self.count.send_replace(usize::MAX);
        let mut rx = self.count.subscribe();
        self.wake.notify_one();
        let _ = tokio::time::timeout(grace, rx.wait_for(|n| *n == 0)).await;
        let left = *rx.borrow();
        (left != usize::MAX).then_some(left)
    }
}

/// Runs the delivery loop until the entry channel closes. Work per event is O(log n): keys whose
/// head can go now sit in `ready`, the others in a heap by the time they can.
///
/// Send results go to the alert manager through `results`, which records them in its next commit
/// (so the store's single writer sees one alerting transaction, not two), and come back through
/// `recorded` once durable: a key's next notification waits for that, so a crash can never replay
/// a trigger after its resolve.
///
/// A send that an endpoint accepts wakes that notifier's keys waiting out a retry backoff: the
/// endpoint is back, so their notices go now (in order per key), not minutes later. While anyone
/// watches `unsettled` (a stopping engine), it holds how many notices are due or in flight.
pub async fn run(
    mut rx: mpsc::UnboundedReceiver<OutboxEntry>,
    results: mpsc::UnboundedSender<Vec<Recorded>>,
    mut recorded_rx: mpsc::UnboundedReceiver<Vec<Recorded>>,
    clock: Arc<dyn Clock>,
    (notifiers, ownership, secrets, unsettled): (
        Notifiers,
        Arc<crate::cluster::ownership::Ownership>,
        crate::secrets::SharedSecrets,
        Arc<Unsettled>,
    ),
) {
    let client = vigil_connectors::http_client();
    let timeout = send_timeout();
    let mut buckets: HashMap<String, Bucket> = HashMap::new();
    let mut queues: HashMap<QueueKey, VecDeque<OutboxEntry>> = HashMap::new();
    let mut ready: VecDeque<QueueKey> = VecDeque::new();
    let mut waiting: BinaryHeap<Reverse<(Millis, QueueKey)>> = BinaryHeap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut open = true;
    let mut in_flight = 0usize;
    let mut per_notifier: HashMap<String, usize> = HashMap::new();
    let mut blocked: HashMap<String, VecDeque<QueueKey>> = HashMap::new();
    // Ready notifications per notifier, sent as one request when the notifier takes lists.
    let mut batches: HashMap<String, Batch> = HashMap::new();
    // Keys whose head is being sent, or sent and not yet recorded: never sent twice at once.
    let mut sending: HashSet<QueueKey> = HashSet::new();
    // Per notifier, the keys whose head waits out a retry backoff.
    let mut backing_off: HashMap<String, HashSet<QueueKey>> = HashMap::new();
    let mut incoming = Vec::new();
    loop {
        let now = clock.now();
        while waiting.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            let Some(Reverse((_, key))) = waiting.pop() else { break };
            ready.push_back(key);
        }
        while let Some(key) = ready.pop_front() {
            let Some(head) = queues.get(&key).and_then(|q| q.front()) else { continue };
            if sending.contains(&key) {
                continue;
            }
            if !ownership.owns_key(&key.0) {
                // The key's partition moved to another node: its new owner sends what is left.
                queues.remove(&key);
                continue;
            }
            if !ownership.surely_owns_key(&key.0) {
                // The lease could not be renewed lately and may lapse: send nothing until it is,
                // so two nodes never send one entry at once.
                waiting.push(Reverse((now + 200, key)));
                continue;
            }
            if per_notifier.get(&key.1).copied().unwrap_or(0) >= MAX_IN_FLIGHT_PER_NOTIFIER {
                blocked.entry(key.1.clone()).or_default().push_back(key);
                continue;
            }
            if head.next_attempt_at > now {
                waiting.push(Reverse((head.next_attempt_at, key)));
                continue;
            }
            let Some(known) = notifiers.read().expect("lock").clone() else {
                waiting.push(Reverse((now + 200, key)));
                continue;
            };
            let notifier = known.get(&key.1).cloned();
            if !buckets.contains_key(&key.1)
                && let Some(b) = notifier.as_deref().and_then(bucket_for)
            {
                buckets.insert(key.1.clone(), b);
            }
            if let Some(bucket) = buckets.get_mut(&key.1)
                && let Err(at) = bucket.take(now)
            {
                waiting.push(Reverse((at, key)));
                continue;
            }
            let batch = batches.entry(key.1.clone()).or_insert_with(|| Batch::new(notifier.clone()));
            batch.items.push((key.clone(), head.clone()));
            sending.insert(key.clone());
            if batch.items.len() >= batch.max {
                let batch = batches.remove(&key.1).expect("present");
                send_batch(batch, &key.1, now, (&client, timeout, &done_tx), &mut in_flight, &mut per_notifier);
            }
        }
        for (name, batch) in batches.drain() {
            send_batch(batch, &name, now, (&client, timeout, &done_tx), &mut in_flight, &mut per_notifier);
        }
        if !open && in_flight == 0 {
            return;
        }
        let mut wait = waiting
            .peek()
            .map(|Reverse((at, _))| Duration::from_millis((*at - clock.now()).clamp(1, 60_000) as u64))
            .unwrap_or(Duration::from_secs(60));
        if unsettled.count.receiver_count() > 0 {
            // Notices already sent to this loop count too: a loop scheduled late would otherwise
            // count before taking them in, and a stopping engine would see nothing left to send.
            let mut took = false;
            while let Ok(e) = rx.try_recv() {
                take_in(e, &mut queues, &mut ready);
                took = true;
            }
            // Read the clock again: what was taken in may have been made after `now` was read.
            let now = clock.now();
            let due = |(key, queue): (&QueueKey, &VecDeque<OutboxEntry>)| {
                sending.contains(key) || queue.front().is_some_and(|h| h.next_attempt_at <= now)
            };
            unsettled.count.send_replace(queues.iter().filter(|kq| due(*kq)).map(|(_, q)| q.len()).sum());
            if took {
                continue;
            }
            wait = wait.min(Duration::from_millis(50));
        }
        tokio::select! {
            n = rx.recv_many(&mut incoming, 4096), if open => {
                if n == 0 {
                    open = false;
                }
                for e in incoming.drain(..) {
                    take_in(e, &mut queues, &mut ready);
                }
            },
            Some(first) = done_rx.recv() => {
                let mut batch = vec![first];
                while let Ok(more) = done_rx.try_recv() {
                    batch.push(more);
                }
                in_flight -= batch.len();
                let now = clock.now();
                for d in &batch {
                    if let Some(n) = per_notifier.get_mut(&d.notifier) {
                        *n = n.saturating_sub(1);
                    }
                    // A freed request slot takes as many waiting keys as one request carries.
                    if let Some(waiting_keys) = blocked.get_mut(&d.notifier) {
                        let take = notifiers_max_batch(&notifiers, &d.notifier).min(waiting_keys.len());
                        ready.extend(waiting_keys.drain(..take));
                    }
                    // Retry-After speaks for the whole endpoint, not just this one alert; a
                    // notifier without a rate limit (webhook, Alertmanager) gets a bucket for it.
                    if let Outcome::Retry { after: Some(after), .. } = &d.outcome {
                        let bucket = buckets.entry(d.notifier.clone()).or_insert_with(Bucket::unlimited);
                        bucket.pause_until(now + after.as_millis() as Millis);
                    }
                    // The endpoint is back: what waits out a backoff for it goes now.
                    if matches!(d.outcome, Outcome::Delivered)
                        && let Some(keys) = backing_off.remove(&d.notifier)
                    {
                        for key in keys {
                            if let Some(head) = queues.get_mut(&key).and_then(|q| q.front_mut()) {
                                head.next_attempt_at = head.next_attempt_at.min(now);
                            }
                            ready.push_back(key);
                        }
                    }
                }
                let in_use = secrets.read().expect("lock").clone();
                if results.send(outcomes(now, batch, in_use.as_ref())).is_err() {
                    return;
                }
            }
            Some(recorded) = recorded_rx.recv() => {
                for Recorded { key, update, .. } in recorded {
                    sending.remove(&key);
                    let Some(queue) = queues.get_mut(&key) else { continue };
                    match update {
                        DeliveryUpdate::Retry { next_attempt_at, error } => {
                            if let Some(head) = queue.front_mut() {
                                head.attempts += 1;
                                head.next_attempt_at = next_attempt_at;
                                head.last_error = Some(error);
                            }
                            backing_off.entry(key.1.clone()).or_default().insert(key.clone());
                        }
                        _ => {
                            queue.pop_front();
                            if let Some(keys) = backing_off.get_mut(&key.1) {
                                keys.remove(&key);
                            }
                        }
                    }
                    if queue.is_empty() {
                        queues.remove(&key);
                    } else {
                        ready.push_back(key);
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = unsettled.wake.notified() => {}
        }
    }
}

/// Queues a notification behind its key's earlier ones; a key with nothing before it is ready.
fn take_in(e: OutboxEntry, queues: &mut HashMap<QueueKey, VecDeque<OutboxEntry>>, ready: &mut VecDeque<QueueKey>) {
    let key = (e.dedup_key.clone(), e.notifier.clone());
    let queue = queues.entry(key.clone()).or_default();
    if queue.iter().any(|q| q.id == e.id) {
        // Loaded again after the partition came back; already queued.
        return;
    }
    queue.push_back(e);
    if queue.len() == 1 {
        ready.push_back(key);
    }
}

/// Notifications for one notifier gathered into one request.
struct Batch {
    notifier: Option<Arc<NotifierConfig>>,
    max: usize,
    items: Vec<(QueueKey, OutboxEntry)>,
}

impl Batch {
    fn new(notifier: Option<Arc<NotifierConfig>>) -> Self {
        let max = notifier.as_deref().map_or(1, NotifierConfig::max_batch);
        Self { notifier, max, items: Vec::new() }
    }
}

/// How many notifications one request to `name` carries.
fn notifiers_max_batch(notifiers: &Notifiers, name: &str) -> usize {
    let known = notifiers.read().expect("lock").clone();
    known.and_then(|k| k.get(name).map(|n| n.max_batch())).unwrap_or(1)
}

/// Spawns the request for `batch`, counting it in flight.
fn send_batch(
    batch: Batch,
    name: &str,
    now: Millis,
    (client, timeout, done_tx): (&reqwest::Client, Duration, &mpsc::UnboundedSender<Done>),
    in_flight: &mut usize,
    per_notifier: &mut HashMap<String, usize>,
) {
    *in_flight += 1;
    *per_notifier.entry(name.to_string()).or_default() += 1;
    let (client, done_tx, notifier) = (client.clone(), done_tx.clone(), name.to_string());
    tokio::spawn(async move {
        let outcome = deliver(&client, batch.notifier.as_deref(), &batch.items, now, timeout).await;
        let _ = done_tx.send(Done { notifier, items: batch.items, outcome });
    });
}

async fn deliver(
    client: &reqwest::Client,
    notifier: Option<&NotifierConfig>,
    items: &[(QueueKey, OutboxEntry)],
    now: Millis,
    timeout: Duration,
) -> Outcome {
    let Some(notifier) = notifier else {
        let name = items.first().map(|(k, _)| k.1.as_str()).unwrap_or_default();
        return Outcome::Permanent { reason: format!("notifier `{name}` is not configured") };
    };
    let mut msgs = Vec::with_capacity(items.len());
    for (_, entry) in items {
        match serde_json::from_str::<AlertMessage>(&entry.message) {
            Ok(m) => msgs.push(m),
            Err(e) => return Outcome::Permanent { reason: format!("stored message does not decode: {e}") },
        }
        if entry.attempts == 0 {
            let waited = (now - entry.created_at).max(0) as f64 / 1000.0;
            metrics::histogram!("vigil_notifications_first_attempt_delay_seconds").record(waited);
        }
    }
    crate::crash_point::reach(crate::crash_point::CrashPoint::BeforeSend);
    let outcome = deliver_batch(client, notifier, &msgs, now, timeout).await;
    if outcome == Outcome::Delivered {
        crate::crash_point::reach(crate::crash_point::CrashPoint::AfterSend);
    }
    outcome
}

/// Turns request outcomes into store updates, one per notification: delivered, retry after
/// backoff (or Retry-After), or failed for good. A reason may quote what the endpoint answered,
/// and an endpoint may echo the request (a URL or header holding a secret): it is masked before
/// it is logged or stored.
fn outcomes(now: Millis, done: Vec<Done>, secrets: &dyn Secrets) -> Vec<Recorded> {
    let mut out = Vec::new();
    for mut d in done {
        if let Outcome::Permanent { reason } | Outcome::Retry { reason, .. } = &mut d.outcome {
            *reason = secrets.scrub_text(std::mem::take(reason));
        }
        let label = match &d.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Permanent { .. } => "failed",
            Outcome::Retry { .. } => "retry",
        };
        metrics::counter!("vigil_notifications_sent_total", "notifier" => d.notifier.clone(), "outcome" => label)
            .increment(d.items.len() as u64);
        for (key, entry) in d.items {
            let update = match &d.outcome {
                Outcome::Delivered => DeliveryUpdate::Delivered { at: now },
                Outcome::Permanent { reason } => {
                    tracing::error!(notifier = %entry.notifier, dedup_key = %entry.dedup_key, error = %reason, "A notification failed for good.");
                    DeliveryUpdate::Failed { at: now, error: reason.clone() }
                }
                Outcome::Retry { reason, after } => {
                    let wait = backoff_ms(entry.attempts).max(after.map(|a| a.as_millis() as Millis).unwrap_or(0));
                    DeliveryUpdate::Retry { next_attempt_at: now + wait, error: reason.clone() }
                }
            };
            out.push(Recorded { id: entry.id, key, update });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_and_refills() {
        let mut b = Bucket::new(120.0, 2.0);
        assert!(b.take(0).is_ok());
        assert!(b.take(0).is_ok());
        assert_eq!(b.take(0), Err(500), "2 per second: the next token comes in 500 ms");
        assert!(b.take(500).is_ok());
    }

    #[test]
    fn an_unlimited_bucket_only_pauses() {
        let mut b = Bucket::unlimited();
        for t in 0..1000 {
            assert_eq!(b.take(t), Ok(()));
        }
        b.pause_until(5_000);
        assert_eq!(b.take(4_999), Err(5_000));
        assert_eq!(b.take(5_001), Ok(()));
        assert_eq!(b.take(5_001), Ok(()));
    }

    #[test]
    fn retry_after_pauses_the_whole_bucket() {
        let mut b = Bucket::new(6000.0, 10.0);
        b.pause_until(5_000);
        assert_eq!(b.take(1_000), Err(5_000));
        assert!(b.take(5_100).is_ok());
    }

    fn entry(id: i64) -> OutboxEntry {
        OutboxEntry {
            id,
            dedup_key: format!("disk/db-{id}"),
            notifier: "hook".into(),
            notice: "trigger".into(),
            message: "{}".into(),
            status: vigil_store::OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: 1_000,
            last_error: None,
            created_at: 1_000,
            finished_at: None,
        }
    }

    /// A stopping engine counts the notices already sent to the loop even when the loop, scheduled
    /// late, has not taken them in yet: it must not see "nothing left" and stop without them (CI
    /// saw this as `vigil run` exiting silently with a notice unsent). The entry and the count
    /// request wake the loop at once and it may take either first; without the rule, a round in
    /// a few shows 0. `None` (the loop did not answer within the grace on a busy machine) is not
    /// the fault looked for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_engine_counts_notices_the_loop_has_not_taken_in() {
        for round in 0..40 {
            let (tx, rx) = mpsc::unbounded_channel();
            let (results_tx, _results_rx) = mpsc::unbounded_channel();
            let (_recorded_tx, recorded_rx) = mpsc::unbounded_channel();
            let unsettled = Arc::new(Unsettled::default());
            let ownership = Arc::new(crate::cluster::ownership::Ownership::owning_all("node"));
            // No notifiers loaded yet: the loop holds the notice instead of sending it.
            let notifiers: Notifiers = Default::default();
            let clock = Arc::new(vigil_core::time::ManualClock::new(1_000));
            let delivery = tokio::spawn(run(
                rx,
                results_tx,
                recorded_rx,
                clock,
                (notifiers, ownership, Default::default(), unsettled.clone()),
            ));
            // Let the loop reach its wait before the entry and the count request arrive.
            tokio::time::sleep(Duration::from_millis(2)).await;
            tx.send(entry(round)).unwrap();
            let left = unsettled.settle(Duration::from_millis(50)).await;
            assert_ne!(left, Some(0), "round {round}: a notice sent before the count was not counted");
            delivery.abort();
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for (attempts, base) in [(0, 1_000), (1, 2_000), (3, 8_000)] {
            let b = backoff_ms(attempts);
            assert!((base * 8 / 10..=base * 12 / 10).contains(&b), "{attempts}: {b}");
        }
        assert!(backoff_ms(30) <= MAX_BACKOFF_MS * 12 / 10);
    }
}
