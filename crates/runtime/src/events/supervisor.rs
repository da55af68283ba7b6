//! Runs one consumer per queue that an active handler or a heartbeat listens to, on the node that owns the
//! queue's partition (`event:<queue>`, among the partition leases): taken over by another node
//! when that one dies, and stopped here as soon as this node's lease may have lapsed, so two
//! nodes never act on one queue at once. Messages a stopped consumer did not acknowledge come
//! again to the next.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use vigil_connectors::sinks::consume::{Consumer, durable_name};

use crate::crash_point::{CrashPoint, reach};
use crate::shared::Shared;

/// Messages taken at once.
const BATCH: usize = 2048;
/// How long a consumer waits for a message before it looks at its lease again.
const WAIT: Duration = Duration::from_millis(500);
/// The first wait before messages that failed for a passing reason come again; it doubles up to
/// [`RETRY_MOST`] while they keep failing (five deliveries then take about 15 s).
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MOST: Duration = Duration::from_secs(8);
/// How often the consumers are matched to the handlers and the leases.
const TICK: Duration = Duration::from_secs(1);

/// The key whose partition decides which node consumes queue `event`.
pub(crate) fn lease_key(event: &str) -> String {
    format!("event:{event}")
}

/// Starts and stops consumers until the engine stops.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut running: BTreeMap<String, tokio::task::JoinHandle<()>> = BTreeMap::new();
    let mut reloaded = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = shared.events.wake.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        // Another node may have changed the handlers stored through the API.
        if !shared.cluster.ownership.solo() && reloaded.elapsed() >= Duration::from_secs(5) {
            reloaded = tokio::time::Instant::now();
            if let Err(e) = super::load::reload(&shared).await {
                tracing::warn!(error = %e, "Could not read the event handlers; will retry.");
            }
        }
        let handlers = shared.events.handlers.read().expect("lock").clone();
        let mut queues = shared.events.pings.queues();
        queues.extend(handlers.events().map(str::to_string));
        let wanted: Vec<String> = queues
            .into_iter()
            .filter(|e| !vigil_core::sink::is_own_queue(e))
            .filter(|e| shared.cluster.ownership.surely_owns_key(&lease_key(e)))
            .collect();
        running.retain(|event, task| {
            let keep = wanted.contains(event) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for event in wanted {
            running.entry(event.clone()).or_insert_with(|| tokio::spawn(consume(shared.clone(), event)));
        }
    }
    for task in running.values() {
        task.abort();
    }
}

/// Consumes `event` while this node surely owns it, reconnecting after failures.
async fn consume(shared: Arc<Shared>, event: String) {
    let key = lease_key(&event);
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut backoff = Duration::from_millis(200);
    let mut retry = RETRY_FIRST;
    let node = shared.cluster.ownership.node().to_string();
    let brokers = shared.events.publisher.brokers().clone();
    loop {
        let mut consumer = match Consumer::open(&brokers, &event, &durable_name(&event), &node).await {
            Ok(c) => {
                backoff = Duration::from_millis(200);
                tracing::info!(event = %event, "Consuming.");
                c
            }
            Err(e) => {
                tracing::warn!(event = %event, error = %e, "Cannot consume; will retry.");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        loop {
            if !shared.cluster.ownership.surely_owns_key(&key)
                || shared.stopping.load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            let batch = match consumer.next(BATCH, WAIT).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(event = %event, error = %e, "Consuming failed; reconnecting.");
                    break;
                }
            };
            if batch.is_empty() {
                if !consumer.is_open() {
                    break;
                }
                continue;
            }
            reach(CrashPoint::BeforeEventCommit);
            if let Err(e) = super::heartbeats::record(&shared, &event, &batch).await {
                // Not recorded: every message comes again (and is a ping once).
                tracing::warn!(event = %event, error = %e, "Could not record the pings of messages; they will be delivered again.");
                let again: Vec<_> = batch.into_iter().map(|m| m.ack).collect();
                if consumer.settle(&[], &again).await.is_err() {
                    break;
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MOST);
                continue;
            }
            let (done, again) = super::process::handle_batch(&shared, &event, batch, &mut attempts).await;
            reach(CrashPoint::BeforeEventAck);
            if let Err(e) = consumer.settle(&done, &again).await {
                // Not acknowledged: they come again, and cause nothing twice.
                tracing::warn!(event = %event, error = %e, "Acknowledging failed; reconnecting.");
                break;
            }
            // What failed for a passing reason comes again: not at once, so a short outage of
            // the store is waited out rather than counted up to parking in milliseconds.
            if again.is_empty() {
                retry = RETRY_FIRST;
            } else {
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MOST);
            }
        }
        tokio::time::sleep(backoff).await;
    }
}
