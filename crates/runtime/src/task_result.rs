//! Delivering a result to a task that waits for one from outside (a worker's report, the task
//! update API, an UPDATE_TASK), wherever its instance runs: to its shard here, or to the inbox of
//! the node that owns its partition.

use thiserror::Error;
use tokio::sync::oneshot;
use vigil_core::instance::Instance;
use vigil_core::interpreter::{Event, TaskResult};
use vigil_store::StoreError;

use crate::cluster::inbox::{InboxMsg, send};
use crate::shard::messages::ShardMsg;
use crate::shared::Shared;

/// Why a result did not reach its task.
#[derive(Debug, Error)]
pub(crate) enum Undelivered {
    /// Writing to another node's inbox failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine stopped before the result was committed.
    #[error("the engine is shutting down")]
    ShuttingDown,
}

/// Delivers `result` to execution `task_id` of `instance` and returns once it is committed (here)
/// or in the owner's inbox (elsewhere), with the task type of a SIMPLE task that was in the
/// workers' queue, which no worker gets any more.
pub(crate) async fn deliver(
    shared: &Shared,
    instance: &Instance,
    task_id: &str,
    result: TaskResult,
) -> Result<Option<String>, Undelivered> {
    let task_type = shared.work.remove(&instance.workflow_id, task_id);
    let event = Event::TaskResult { task_id: task_id.to_string(), result };
    if !shared.cluster.ownership.owns(instance.partition) {
        // Another node runs the instance (a worker polled its task here, or its partition moved).
        let msg = InboxMsg::Event { instance: instance.workflow_id.clone(), event };
        send(shared, instance.partition, &msg).await?;
        return Ok(task_type);
    }
    let (tx, rx) = oneshot::channel();
    shared.router.place(ShardMsg::EventCommitted(instance.workflow_id.clone(), event, tx));
    rx.await.map_err(|_| Undelivered::ShuttingDown)?;
    Ok(task_type)
}
