//! The engine's side of the worker protocol: the queue workers poll, and their reports.

use std::sync::Arc;

use vigil_core::interpreter::TaskResult;

use crate::task_result::Undelivered;
use crate::workers::{WorkQueue, WorkerStatus, global_id};

impl super::Engine {
    /// The queue workers poll.
    pub fn work_queue(&self) -> Arc<WorkQueue> {
        self.shared().work.clone()
    }

    /// Applies a worker's report on execution `task_id` of `instance_id` (a SIMPLE, WAIT or HUMAN
    /// task in progress) and returns once it is committed, with the task type of a SIMPLE task
    /// that was in the queue (so the reporter can be handed its next task of that type).
    pub async fn report_task(
        &self,
        instance_id: &str,
        task_id: &str,
        status: WorkerStatus,
        output: serde_json::Value,
        reason: Option<String>,
        callback_after_seconds: Option<u64>,
    ) -> Result<Option<String>, crate::ControlError> {
        use crate::ControlError;
        let instance =
            self.store().instance(instance_id).await?.ok_or_else(|| ControlError::NotFound(instance_id.into()))?;
        if instance.status.is_terminal() {
            return Err(ControlError::Ended { id: instance_id.into(), status: instance.status.as_str() });
        }
        let Some(exec) = instance.tasks.iter().find(|t| t.task_id == task_id) else {
            return Err(ControlError::NotFound(global_id(instance_id, task_id)));
        };
        if !exec.accepts_result() {
            let why = "the task is not in progress (already reported, timed out or cancelled)";
            return Err(ControlError::WrongStatus { id: global_id(instance_id, task_id), status: "task ended", why });
        }
        let result = match status {
            // As Conductor: back to SCHEDULED, offered again after the callback delay.
            WorkerStatus::InProgress if exec.task_type == "SIMPLE" => {
                TaskResult::InProgress { output, callback_after_seconds: callback_after_seconds.unwrap_or(0) }
            }
            // A WAIT or HUMAN task a worker says is in progress stays as it is.
            WorkerStatus::InProgress => return Ok(None),
            WorkerStatus::Completed => TaskResult::Completed(output),
            WorkerStatus::Failed | WorkerStatus::FailedWithTerminalError => TaskResult::Failed {
                reason: reason.unwrap_or_else(|| "the worker reported a failure".into()),
                output,
                terminal: status == WorkerStatus::FailedWithTerminalError,
            },
        };
        crate::task_result::deliver(self.shared(), &instance, task_id, result).await.map_err(|e| match e {
            Undelivered::Store(e) => ControlError::Store(e),
            Undelivered::ShuttingDown => ControlError::ShuttingDown,
        })
    }
}
