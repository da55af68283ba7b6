//! What operators and other systems do to a running instance from outside: raise an event,
//! retry after a failure. (Pause and resume only flip the status: `advance` runs only while
//! `Running`, and results that arrive while paused are recorded and acted on at resume.)

use serde_json::{Map, Value};

use super::Action;
use super::run::Run;
use crate::def::TaskKind;
use crate::instance::{RaisedEvent, TaskExec, TaskStatus, WorkflowStatus};

/// Events kept per instance while nothing waits for them; the oldest go first beyond this.
const MAX_PENDING_EVENTS: usize = 100;

impl Run<'_, '_> {
    /// Completes the oldest WAIT or HUMAN task waiting for `name`, or keeps the event until one
    /// starts waiting.
    pub(super) fn raise(&mut self, name: String, payload: Value) {
        let waiting = (0..self.inst.tasks.len()).find(|&i| {
            let t = &self.inst.tasks[i];
            t.status == TaskStatus::InProgress
                && matches!(t.task_type.as_str(), "WAIT" | "HUMAN")
                && self.event_of(i) == name
        });
        match waiting {
            Some(i) => self.complete(i, event_output(payload)),
            None => {
                if self.inst.pending_events.len() >= MAX_PENDING_EVENTS {
                    self.inst.pending_events.remove(0);
                }
                self.inst.pending_events.push(RaisedEvent { name, payload, at: self.cx.now });
            }
        }
    }

    /// The event a WAIT or HUMAN execution waits for: its `event` input, else its reference name.
    pub(super) fn event_of(&self, i: usize) -> String {
        let exec = &self.inst.tasks[i];
        match exec.input_data.get("event").and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None => exec.def_ref.clone(),
        }
    }

    /// A WAIT or HUMAN execution `i` starts waiting: an event raised earlier completes it at once.
    pub(crate) fn take_raised(&mut self, i: usize) -> bool {
        let name = self.event_of(i);
        let Some(at) = self.inst.pending_events.iter().position(|e| e.name == name) else { return false };
        let event = self.inst.pending_events.remove(at);
        self.complete(i, event_output(event.payload));
        true
    }

    /// Reopens a failed, timed-out or terminated instance: every latest execution that did not
    /// complete gets a fresh attempt (with a fresh retry budget), loops are reopened where they
    /// stopped, and the workflow runs again. Returns false when there is nothing to retry.
    pub(super) fn retry(&mut self) -> bool {
        if !matches!(self.inst.status, WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated) {
            return false;
        }
        let stopped: Vec<usize> = (0..self.inst.tasks.len())
            .filter(|&i| {
                let t = &self.inst.tasks[i];
                self.index.get(&t.reference_task_name) == Some(&i)
                    && matches!(
                        t.status,
                        TaskStatus::Failed
                            | TaskStatus::FailedWithTerminalError
                            | TaskStatus::TimedOut
                            | TaskStatus::Canceled
                    )
            })
            .collect();
        self.run_again();
        let (loops, leaves): (Vec<usize>, Vec<usize>) = stopped
            .into_iter()
            .partition(|&i| matches!(self.kind_of(i), Some(TaskKind::DoWhile(_) | TaskKind::Join { .. })));
        // Loops and joins reopen where they stopped, as in Conductor.
        for i in loops {
            let exec = &mut self.inst.tasks[i];
            exec.status = TaskStatus::InProgress;
            exec.end_time = None;
            exec.reason_for_incompletion = None;
        }
        for i in leaves {
            self.inst.tasks[i].retried = true;
            let j = self.push_attempt(i, 0);
            self.inst.tasks[j].restarts = self.inst.tasks[j].retry_count;
            self.start(j);
        }
        true
    }

    /// An ended instance runs again: no end, no reason, no output, a fresh deadline.
    fn run_again(&mut self) {
        let now = self.cx.now;
        self.inst.last_retried_time = Some(now);
        self.inst.status = WorkflowStatus::Running;
        self.inst.end_time = None;
        self.inst.reason_for_incompletion = None;
        self.inst.output = Value::Object(Map::new());
        if let Some(seconds) = Some(self.def.timeout_seconds).filter(|s| *s > 0) {
            let due = now + seconds as i64 * 1000;
            self.inst.deadline = Some(due);
            self.actions.push(Action::WorkflowTimer { due });
        }
    }

    /// The child of SUB_WORKFLOW execution `task_id` runs again (Conductor's
    /// `updateAndPushParents`): the execution is IN_PROGRESS again, and an ended instance runs
    /// again with its cancelled tasks rescheduled in place (JOINs and loops re-opened). An
    /// optional execution, or one a retry superseded, stays as it is. Returns whether the
    /// instance was re-opened.
    pub(super) fn child_reopened(&mut self, task_id: &str) -> bool {
        let Some(i) = self.inst.tasks.iter().rposition(|t| t.task_id == task_id) else { return false };
        let optional = self.task_def(&self.inst.tasks[i].def_ref).is_some_and(|t| t.optional);
        let exec = &self.inst.tasks[i];
        let reopenable = exec.status.is_terminal() && !exec.status.is_successful() && !exec.retried;
        if optional || !reopenable || exec.task_type != "SUB_WORKFLOW" {
            return false;
        }
        let ended = self.inst.status.is_terminal();
        let exec = &mut self.inst.tasks[i];
        exec.status = TaskStatus::InProgress;
        exec.end_time = None;
        exec.reason_for_incompletion = None;
        // The child may have ended again before this arrived.
        if let Some(child_id) = exec.sub_workflow_id.clone() {
            self.actions.push(Action::CheckChild { task_id: task_id.to_string(), child_id });
        }
        if !ended {
            return false;
        }
        self.run_again();
        self.reopen_in_place(i, |t| t.status == TaskStatus::Canceled, true);
        true
    }

    /// Runs again, in place, the latest executions other than `except` that `stopped` picks (and
    /// no retry superseded), as Conductor's retry and rerun repair a workflow: JOINs and loops
    /// re-open, the others are rescheduled and start (a SUB_WORKFLOW under a new execution id, so
    /// it starts a new child). With `as_attempt` each counts as one more attempt that is not a
    /// failure.
    fn reopen_in_place(&mut self, except: usize, stopped: impl Fn(&TaskExec) -> bool, as_attempt: bool) {
        let picked: Vec<usize> = (0..self.inst.tasks.len())
            .filter(|&j| {
                let t = &self.inst.tasks[j];
                j != except && stopped(t) && !t.retried && self.index.get(&t.reference_task_name) == Some(&j)
            })
            .collect();
        for j in picked {
            if matches!(self.kind_of(j), Some(TaskKind::DoWhile(_) | TaskKind::Join { .. })) {
                let exec = &mut self.inst.tasks[j];
                exec.status = TaskStatus::InProgress;
                exec.end_time = None;
                exec.reason_for_incompletion = None;
                continue;
            }
            self.reschedule_in_place(j);
            if as_attempt {
                let exec = &mut self.inst.tasks[j];
                exec.retry_count += 1;
                exec.restarts += 1;
            }
            self.start(j);
        }
    }

    /// Makes execution `i` fresh as of now ([`TaskExec::reschedule`]); one that started a child
    /// gets a new id, since a child's id is made from its execution's.
    fn reschedule_in_place(&mut self, i: usize) {
        let at = self.at();
        self.inst.tasks[i].reschedule(at);
        if self.inst.tasks[i].sub_workflow_id.take().is_some() {
            self.inst.next_task_seq += 1;
            self.inst.tasks[i].task_id = self.inst.next_task_seq.to_string();
        }
    }

    /// Terminates the children of the executions `which` picks: the instance is rerun.
    fn cancel_children_for_rerun(&mut self, which: impl Fn(&TaskExec) -> bool) {
        let reason = format!("parent {} is rerun", self.inst.workflow_id);
        for exec in self.inst.tasks.iter().filter(|t| which(t)) {
            if let Some(child_id) = exec.sub_workflow_id.clone() {
                self.actions.push(Action::CancelChild { child_id, reason: reason.clone() });
            }
        }
    }

    /// Reruns an ended instance from execution `task_id`, as Conductor's `rerunWF`: executions
    /// created after it are dropped, it runs again (with `task_input` when given, else with its
    /// recorded input), and the other unsuccessful ones left run again too (JOINs and loops
    /// re-opened). Without `task_id` every execution is dropped and the instance runs from the
    /// start. Returns false when there is no such execution.
    pub(super) fn rerun(
        &mut self,
        task_id: Option<&str>,
        task_input: Option<Value>,
        workflow_input: Option<Value>,
        correlation_id: Option<String>,
    ) -> bool {
        if let Some(input) = workflow_input {
            self.inst.input = input;
        }
        if correlation_id.is_some() {
            self.inst.correlation_id = correlation_id;
        }
        let Some(task_id) = task_id else {
            self.cancel_children_for_rerun(|_| true);
            self.inst.tasks.clear();
            self.inst.dynamic_tasks.clear();
            self.inst.pending_events.clear();
            self.inst.variables = self.def.variables.clone();
            self.index.clear();
            self.run_again();
            return true;
        };
        let seq = |t: &TaskExec| t.task_id.parse::<u64>().unwrap_or(0);
        let Some(from) = self.inst.tasks.iter().find(|t| t.task_id == task_id).map(seq) else { return false };
        self.cancel_children_for_rerun(|t| seq(t) > from);
        self.inst.tasks.retain(|t| seq(t) <= from);
        self.index = self.inst.latest_index();
        let kept: Vec<&String> = self.index.keys().collect();
        self.inst.dynamic_tasks.retain(|d| kept.contains(&&d.made_by));
        self.run_again();
        let i = self.inst.tasks.iter().position(|t| t.task_id == task_id).expect("kept");
        self.reschedule_in_place(i);
        if let Some(mut input) = task_input {
            self.cx.secrets.scrub(&mut input);
            let map = match &input {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            self.inst.tasks[i].input_data = input;
            self.rerun_input = Some((self.inst.tasks[i].task_id.clone(), map));
        }
        self.reopen_in_place(i, |t| t.status.is_terminal() && !t.status.is_successful(), false);
        self.start(i);
        true
    }

    /// Worker tasks waiting out a worker's `callbackAfterSeconds` are offered at once.
    pub(super) fn reset_callbacks(&mut self) {
        let waiting: Vec<usize> = (0..self.inst.tasks.len())
            .filter(|&i| {
                let t = &self.inst.tasks[i];
                t.task_type == "SIMPLE"
                    && t.status == TaskStatus::Scheduled
                    && t.due_time.is_none()
                    && t.callback_after_seconds > 0
                    && !t.retried
            })
            .collect();
        for i in waiting {
            self.inst.tasks[i].callback_after_seconds = 0;
            if let Some(task) = self.task_def(&self.inst.tasks[i].def_ref.clone()) {
                self.offer(i, task);
            }
        }
    }

    /// Records task `reference` as SKIPPED (Conductor's `skipTaskFromWorkflow`), unless it was
    /// reached already. As in Conductor, where it has no sequence number, it is listed first.
    pub(super) fn skip(&mut self, reference: String, input: Value, output: Value) {
        let Some(task) = self.task_def(&reference) else { return };
        if self.index.contains_key(&reference) {
            return;
        }
        self.inst.next_task_seq += 1;
        let mut input = if input.is_null() { Value::Object(Map::new()) } else { input };
        let mut output = if output.is_null() { Value::Object(Map::new()) } else { output };
        self.cx.secrets.scrub(&mut input);
        self.cx.secrets.scrub(&mut output);
        let now = self.at();
        let id = self.inst.next_task_seq.to_string();
        let mut exec = TaskExec::new(id, reference.clone(), reference, task.type_name(), now);
        exec.status = TaskStatus::Skipped;
        exec.input_data = input;
        exec.output_data = output;
        exec.end_time = Some(now);
        self.inst.tasks.insert(0, exec);
        self.index = self.inst.latest_index();
    }

    fn kind_of(&self, i: usize) -> Option<&TaskKind> {
        self.task_def(&self.inst.tasks[i].def_ref).map(|t| &t.kind)
    }
}

/// An event's payload as a task output: objects as they are, anything else under `payload`.
fn event_output(payload: Value) -> Value {
    match payload {
        Value::Object(m) => Value::Object(m),
        Value::Null => Value::Object(Map::new()),
        other => Value::Object(Map::from_iter([("payload".to_string(), other)])),
    }
}
