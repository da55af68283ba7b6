//! Status listeners: publishes the status changes that commits wrote to the status outbox
//! (`vigil_core::status_event`), each partition's by its owner, in order, deleting each once its
//! sink accepted it. A sink is a broker's (`amqp_exchange:status`, `jsm:status`, ...), vigil's
//! own queue (its event handlers act on it), or an `http(s)://` URL, which gets the CloudEvent
//! POSTed as `application/cloudevents+json`. A failure is tried again later, with backoff; the
//! instance's later events wait for it.

pub mod config;

use std::sync::Arc;
use std::time::Duration;

use vigil_connectors::sinks::Message;
use vigil_store::StatusEventRow;

use crate::shared::Shared;

/// Rows read per round.
const ROUND: u32 = 1_000;
/// Rounds happen at least this often (a failed event's retry, a gained partition).
const POLL: Duration = Duration::from_secs(1);

/// Publishes until the engine stops.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            _ = shared.events.status_wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        loop {
            let parts = shared.cluster.ownership.parts();
            let rows = match shared.store.pending_status_events(&parts, shared.clock.now(), ROUND).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "Could not read the status events to publish; will retry.");
                    break;
                }
            };
            let full = rows.len() == ROUND as usize;
            let published = publish_round(&shared, rows).await;
            if !full || published == 0 {
                break;
            }
        }
    }
}

/// Publishes `rows`: each instance's in order, stopping at its first failure; different
/// instances' side by side. How many went.
async fn publish_round(shared: &Arc<Shared>, rows: Vec<StatusEventRow>) -> usize {
    let mut by_instance: Vec<Vec<StatusEventRow>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for row in rows.into_iter().filter(|r| shared.cluster.ownership.surely_owns(r.event.part)) {
        let at = *index.entry(row.event.instance_id.clone()).or_insert_with(|| {
            by_instance.push(Vec::new());
            by_instance.len() - 1
        });
        by_instance[at].push(row);
    }
    let mut done = Vec::new();
    let mut groups = by_instance.into_iter();
    loop {
        let wave: Vec<Vec<StatusEventRow>> = groups.by_ref().take(PARALLEL).collect();
        if wave.is_empty() {
            break;
        }
        let published = futures_util::future::join_all(wave.into_iter().map(|g| publish_in_order(shared, g))).await;
        done.extend(published.into_iter().flatten());
    }
    let n = done.len();
    if n > 0 {
        metrics::counter!("vigil_status_events_published_total").increment(n as u64);
        if let Err(e) = shared.store.delete_status_events(&done).await {
            // Published again later, with the same CloudEvent id.
            tracing::warn!(error = %e, "Could not forget published status events; they will be published again.");
        }
    }
    n
}

/// Instances whose events are published at once.
const PARALLEL: usize = 256;

/// Publishes one instance's events in order; the ids of those that went.
async fn publish_in_order(shared: &Arc<Shared>, rows: Vec<StatusEventRow>) -> Vec<i64> {
    let mut done = Vec::new();
    for row in rows {
        match publish(shared, &row).await {
            Ok(()) => done.push(row.id),
            Err(e) => {
                let delay = Duration::from_secs(2u64.saturating_pow(row.attempts.min(8))).min(Duration::from_secs(300));
                let next = shared.clock.now() + delay.as_millis() as i64;
                tracing::warn!(sink = %row.event.sink, instance = %row.event.instance_id, error = %e, "A status event was not published; will retry.");
                metrics::counter!("vigil_status_events_failures_total").increment(1);
                if let Err(e) = shared.store.defer_status_event(row.id, next, &e).await {
                    tracing::warn!(error = %e, "Could not record a status event's failed attempt.");
                }
                break;
            }
        }
    }
    done
}

/// Publishes one event to its sink.
async fn publish(shared: &Arc<Shared>, row: &StatusEventRow) -> Result<(), String> {
    let sink = row.event.sink.trim();
    let id = serde_json::from_str::<serde_json::Value>(&row.event.body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("status-{}", row.id));
    if sink.starts_with("http://") || sink.starts_with("https://") {
        let response = shared
            .http
            .client
            .post(sink)
            .header("content-type", "application/cloudevents+json; charset=utf-8")
            .body(row.event.body.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("POST to the status listener failed: {}", e.without_url()))?;
        return if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the status listener answered {}", response.status()))
        };
    }
    if vigil_core::sink::is_own_queue(sink) {
        // The queue is the sink as written: handlers of `conductor:status` get these events.
        return match crate::events::process::handle(shared, sink, &id, row.event.body.as_bytes()).await {
            crate::events::process::Settled::Again(why) => Err(why),
            _ => Ok(()),
        };
    }
    let message = Message { id, payload: row.event.body.clone().into_bytes() };
    shared.events.publisher.publish(sink, &message).await.map_err(|e| e.to_string())
}
