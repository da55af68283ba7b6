//! UPDATE_TASK (Orkes'): sets the status (and output) of a task that waits to be completed from
//! outside, a WAIT, HUMAN or SIMPLE task, in this or another running instance, as a worker's
//! report or the task update API would. The task is named by `workflowId` (this instance when
//! absent) and `taskRefName`, or by its `taskId` as the API hands it out. Its output is
//! `{workflowId, taskId, taskStatus}`.

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::interpreter::{Action, TaskUpdate, TaskUpdateTarget};
use crate::locate::join_key;

/// Restarting sends the update again. A task the update already reached ended with the status
/// asked for after this execution was scheduled, which the runtime takes as done, so the update
/// is never applied twice; a task that ended otherwise meanwhile makes the restart fail, as the
/// first attempt would have.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

/// The statuses a task can be set to.
const STATUSES: &[&str] = &["COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR"];

impl Builder {
    /// `taskStatus`, and `taskRefName` (with `workflowId`) or `taskId`; `taskOutput` a map and
    /// `mergeOutput` a boolean when written out.
    pub(crate) fn build_update_task(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        let input = &raw.input_parameters;
        let at = |field: &str| join_key(&input_path, field);
        let template = |v: &Value| v.as_str().is_some_and(|s| s.contains("${"));
        match input.get("taskStatus") {
            Some(Value::String(s)) if STATUSES.contains(&s.as_str()) || s.contains("${") => {}
            Some(Value::String(s)) => self.bad_enum(&at("taskStatus"), s, STATUSES),
            Some(other) => self.problems.push(Problem::error(
                at("taskStatus"),
                format!("`taskStatus` is one of {}, not {other}", STATUSES.join(", ")),
            )),
            None => self.problems.push(Problem::error(
                at("taskStatus"),
                "an UPDATE_TASK task needs `taskStatus`: COMPLETED, FAILED or FAILED_WITH_TERMINAL_ERROR",
            )),
        }
        let by_ref = input.contains_key("taskRefName");
        let by_id = input.contains_key("taskId");
        if by_ref == by_id {
            let why = if by_ref {
                "give either `taskRefName` (with `workflowId`) or `taskId`, not both"
            } else {
                "an UPDATE_TASK task needs `taskRefName` (with `workflowId`, this instance when absent) or \
                 `taskId`, the task to update"
            };
            self.problems.push(Problem::error(at("taskRefName"), why));
        }
        if by_id && input.contains_key("workflowId") {
            self.problems.push(Problem::warning(
                at("workflowId"),
                "`workflowId` is read only with `taskRefName`; `taskId` names its instance itself",
            ));
        }
        for (field, fits, what) in [
            ("workflowId", Value::is_string as fn(&Value) -> bool, "a workflow id"),
            ("taskRefName", Value::is_string, "a task reference name"),
            ("taskId", Value::is_string, "a task id"),
            ("taskOutput", Value::is_object, "a map"),
            ("mergeOutput", Value::is_boolean, "true or false"),
        ] {
            if let Some(v) = input.get(field)
                && !fits(v)
                && !template(v)
            {
                self.problems.push(Problem::error(at(field), format!("`{field}` is {what}, not {v}")));
            }
        }
        Some(TaskKind::UpdateTask)
    }
}

impl Run<'_, '_> {
    /// Hands the update to the runtime, which reports it to the task's instance wherever it runs.
    /// It is made from the stored (masked) input, as START_WORKFLOW's is: a secret this task
    /// resolved is not handed on in the clear (the update may cross to another node's inbox).
    pub(crate) fn start_update_task(&mut self, i: usize) {
        let masked = self.masked_input(i);
        match update_of(&masked, &self.inst.workflow_id) {
            Ok(mut update) => {
                update.since = self.inst.tasks[i].scheduled_time;
                let task_id = self.inst.tasks[i].task_id.clone();
                self.actions.push(Action::UpdateTask { task_id, update: Box::new(update) });
            }
            Err(reason) => self.fail(i, reason, TaskStatus::FailedWithTerminalError),
        }
    }
}

/// The update a resolved input asks for; `own` is this instance's id, the default `workflowId`.
fn update_of(input: &Map<String, Value>, own: &str) -> Result<TaskUpdate, String> {
    let text = |field: &str| -> Result<Option<String>, String> {
        match input.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{field}` is not a name: {other}")),
        }
    };
    let status = text("taskStatus")?.unwrap_or_default();
    if !STATUSES.contains(&status.as_str()) {
        return Err(format!("`taskStatus` `{status}` is not one of {}", STATUSES.join(", ")));
    }
    let target = match (text("taskId")?, text("taskRefName")?) {
        (Some(task_id), None) => TaskUpdateTarget::Id(task_id),
        (None, Some(reference)) => {
            let workflow_id = text("workflowId")?.unwrap_or_else(|| own.to_string());
            TaskUpdateTarget::Reference { workflow_id, reference }
        }
        (Some(_), Some(_)) => return Err("give either `taskRefName` or `taskId`, not both".into()),
        (None, None) => return Err("neither `taskRefName` nor `taskId` names a task".into()),
    };
    let output = match input.get("taskOutput") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(format!("`taskOutput` is not a map: {other}")),
    };
    let merge = match input.get("mergeOutput") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => return Err(format!("`mergeOutput` is not true or false: {other}")),
    };
    Ok(TaskUpdate { target, status, output, merge, since: 0, reason: None })
}
