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
    let outcome = if publication.sink.starts_with("conductor:") {
        // vigil's own queue: nobody reads it until event handlers are registered.
        tracing::debug!(queue = %publication.sink, id = %publication.id, "Published to vigil's own queue.");
        Ok(())
    } else {
        let message = vigil_connectors::sinks::Message {
            id: publication.id.clone(),
            payload: serde_json::to_vec(&publication.payload).expect("JSON serializes"),
        };
        shared.publisher.publish(&publication.sink, &message).await
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
