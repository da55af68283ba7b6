//! Publishes an EVENT task's message ([`Publication`]) and says what became of the task. The
//! instance's committed state is the outbox: the message was recorded with the task before this
//! runs, and a crash before the task's end is committed publishes it again, with the same id.

use std::sync::Arc;

use vigil_core::interpreter::{Publication, TaskResult};

use crate::crash_point::{CrashPoint, reach};
use crate::shared::Shared;

/// Publishes `publication`; the task's result, or `None` while it waits to be completed from
/// outside (`asyncComplete`).
pub(crate) async fn publish(shared: &Arc<Shared>, publication: &Publication) -> Option<TaskResult> {
    reach(CrashPoint::BeforePublish);
    let outcome = if vigil_core::sink::is_own_queue(&publication.sink) {
        // vigil's own queue: its handlers act on the message now. A failure that may pass fails
        // the task (its retries send it again, with the same id); one that will not is parked.
        let payload = serde_json::to_vec(&publication.payload).expect("JSON serializes");
        match crate::events::process::handle(shared, &publication.sink, &publication.id, &payload).await {
            crate::events::process::Settled::Done => Ok(()),
            crate::events::process::Settled::Parked { handler, error } => {
                let parked = vigil_store::ParkedEvent {
                    id: 0,
                    event: publication.sink.clone(),
                    handler,
                    message_id: publication.id.clone(),
                    payload: String::from_utf8_lossy(&payload).into_owned(),
                    error,
                    attempts: 1,
                    parked_at: shared.clock.now(),
                };
                match shared.store.park_events(std::slice::from_ref(&parked)).await {
                    Ok(()) => Ok(()),
                    Err(e) => Err(vigil_connectors::sinks::PublishError::Broker(format!("parking the message: {e}"))),
                }
            }
            crate::events::process::Settled::Again(why) => Err(vigil_connectors::sinks::PublishError::Broker(why)),
        }
    } else {
        let message = vigil_connectors::sinks::Message {
            id: publication.id.clone(),
            payload: serde_json::to_vec(&publication.payload).expect("JSON serializes"),
        };
        shared.events.publisher.publish(&publication.sink, &message).await
    };
    match outcome {
        Ok(()) => {
            reach(CrashPoint::AfterPublish);
            metrics::counter!("vigil_events_published_total").increment(1);
            (!publication.async_complete).then(|| TaskResult::Completed(publication.payload.clone()))
        }
        Err(e) => {
            metrics::counter!("vigil_events_publish_failures_total").increment(1);
            let output = publication.payload.clone();
            Some(TaskResult::Failed { reason: e.to_string(), output, terminal: e.is_permanent() })
        }
    }
}
