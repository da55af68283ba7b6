//! SIMPLE: a task a worker polls for by the task's name (Conductor's worker protocol). It stays
//! SCHEDULED until a worker polls it.

use super::{AfterCrash, Timeout};
use crate::def::Task;
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::interpreter::{Action, DEFAULT_RESPONSE_TIMEOUT_SECONDS, WorkerTask};

/// It is offered to workers again; a worker that still holds it may report, and the first report
/// wins.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Reoffer;
pub(super) const TIMEOUT: Timeout = Timeout::Polled;

impl Builder {
    /// Nothing to check: its input is the worker's.
    pub(crate) fn build_simple(&mut self, _raw: &TaskConfig, _path: &str) -> Option<TaskKind> {
        Some(TaskKind::Simple)
    }
}

impl Run<'_, '_> {
    /// Offers SIMPLE execution `i` to workers. As in Conductor it stays SCHEDULED until a worker
    /// polls it ([`Run::on_polled`]); its `timeoutSeconds` runs from the first poll, and
    /// `pollTimeoutSeconds` from its scheduling until then.
    pub(crate) fn offer(&mut self, i: usize, task: &Task) {
        let now = self.cx.now;
        let exec = &mut self.inst.tasks[i];
        exec.due_time = None;
        if exec.start_time.is_none()
            && exec.timeout_time.is_none()
            && let Some(poll) = task.poll_timeout_seconds
        {
            let due = exec.scheduled_time + (poll + exec.callback_after_seconds) as i64 * 1000;
            exec.timeout_time = Some(due);
            self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due });
        }
        self.enqueue(i, task, now + self.inst.tasks[i].callback_after_seconds as i64 * 1000);
    }

    /// A worker polled SIMPLE execution `i`: it is IN_PROGRESS, and its time limit starts with
    /// the first poll.
    pub(crate) fn on_polled(&mut self, i: usize, worker_id: String) {
        let now = self.cx.now;
        let at = self.at();
        let task = self.task_def(&self.inst.tasks[i].def_ref.clone());
        let timeout = task.and_then(|t| t.timeout);
        let lease = task.and_then(|t| t.response_timeout_seconds).unwrap_or(DEFAULT_RESPONSE_TIMEOUT_SECONDS);
        let exec = &mut self.inst.tasks[i];
        if exec.status != TaskStatus::Scheduled || exec.task_type != "SIMPLE" || exec.due_time.is_some() {
            return;
        }
        exec.status = TaskStatus::InProgress;
        exec.poll_count += 1;
        exec.worker_id = Some(worker_id);
        let lease_until = now + lease as i64 * 1000;
        exec.lease_until = Some(lease_until);
        self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due: lease_until });
        if exec.start_time.is_none() {
            // Never before what the instance stamped last (its scheduled time among them), which
            // a step of several tasks may have put a few milliseconds past the clock.
            exec.start_time = Some(at);
            exec.timeout_time = timeout.map(|t| now + t.seconds as i64 * 1000);
            if let Some(due) = exec.timeout_time {
                self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due });
            }
        }
    }

    /// Offers SIMPLE execution `i` to workers from `visible_at` (also after a restart).
    pub(crate) fn enqueue(&mut self, i: usize, task: &Task, visible_at: crate::time::Millis) {
        let exec = &self.inst.tasks[i];
        self.actions.push(Action::Enqueue(Box::new(WorkerTask {
            task_id: exec.task_id.clone(),
            task_type: task.name.clone(),
            reference_task_name: exec.reference_task_name.clone(),
            input: exec.input_data.clone(),
            retry_count: exec.retry_count,
            iteration: exec.iteration,
            scheduled_time: exec.scheduled_time,
            visible_at,
            response_timeout_seconds: task.response_timeout_seconds.unwrap_or(DEFAULT_RESPONSE_TIMEOUT_SECONDS),
            workflow_type: self.inst.workflow_name.clone(),
        })));
    }
}
