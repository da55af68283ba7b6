//! Messages as heartbeat pings: each message on a queue that a heartbeat listens to (and its
//! condition lets through) is a ping of that heartbeat, read by
//! [`vigil_core::monitor::message::read`] and recorded as an HTTP ping is, before the message
//! is acknowledged. A message delivered again is not a second ping: the store keeps one ping
//! per monitor and message id.

use std::sync::Arc;

use serde_json::Value;
use vigil_connectors::sinks::consume::Received;

use super::condition::javascript;
use crate::pings::MessagePingRow;
use crate::shared::Shared;

/// Records the pings the messages of `batch` (from `queue`) make; an error means none may be
/// taken as recorded (the batch is to be delivered again).
pub(crate) async fn record(shared: &Arc<Shared>, queue: &str, batch: &[Received]) -> Result<(), String> {
    let feeds = shared.events.pings.feeds_of(queue);
    if feeds.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::new();
    for m in batch {
        let payload: Value = serde_json::from_slice(&m.payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&m.payload).into_owned()));
        for feed in &feeds {
            if let Some(condition) = &feed.condition {
                match javascript(condition, &payload) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(monitor = %feed.monitor, queue, message = %m.id, error = %e,
                            "A heartbeat's condition failed on a message; it is not a ping.");
                        continue;
                    }
                }
            }
            rows.push(MessagePingRow {
                monitor: feed.monitor.clone(),
                ping: vigil_core::monitor::message::read(&payload),
                message_id: m.id.clone(),
                body: m.payload.clone(),
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    shared.events.pings.record_messages(queue, rows).await.map_err(|e| e.to_string())?;
    metrics::counter!("vigil_event_pings_total").increment(n as u64);
    Ok(())
}
