//! TERMINATE: ends the instance with `terminationStatus`, `terminationReason` and
//! `workflowOutput`.

use serde_json::{Map, Value, json};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::{WorkflowStatus, global_task_id};
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// It ends the instance in the step that starts it: found in progress, it never did.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `terminationStatus`: COMPLETED, FAILED or TERMINATED (or a template).
    pub(crate) fn build_terminate(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        match raw.input_parameters.get("terminationStatus").and_then(Value::as_str) {
            Some("COMPLETED" | "FAILED" | "TERMINATED") => {}
            Some(other) if !other.contains("${") => self.bad_enum(
                &join_key(&input_path, "terminationStatus"),
                other,
                &["COMPLETED", "FAILED", "TERMINATED"],
            ),
            Some(_) => {}
            None => self.problems.push(Problem::error(
                join_key(&input_path, "terminationStatus"),
                "a TERMINATE task needs `terminationStatus`",
            )),
        }
        Some(TaskKind::Terminate)
    }
}

impl Run<'_, '_> {
    /// Ends the instance as Conductor's `Terminate` task does: its output (and the instance's) is
    /// `workflowOutput` when that is an object, `{"output": v}` when it is another value, `{}` when
    /// absent; the reason defaults to `Workflow is <STATUS> by TERMINATE task: <task id>`.
    pub(crate) fn start_terminate(&mut self, i: usize, input: &Map<String, Value>) {
        let status = match input.get("terminationStatus").and_then(Value::as_str) {
            Some("COMPLETED") => WorkflowStatus::Completed,
            Some("FAILED") => WorkflowStatus::Failed,
            _ => WorkflowStatus::Terminated,
        };
        let masked = &self.inst.tasks[i].input_data;
        let reason = masked.get("terminationReason").and_then(Value::as_str).filter(|r| !r.trim().is_empty());
        let reason = match reason {
            Some(reason) => reason.to_string(),
            None => format!(
                "Workflow is {} by TERMINATE task: {}",
                status.as_str(),
                global_task_id(&self.inst.workflow_id, &self.inst.tasks[i].task_id)
            ),
        };
        let output = match masked.get("workflowOutput") {
            None | Some(Value::Null) => json!({}),
            Some(object @ Value::Object(_)) => object.clone(),
            Some(other) => json!({ "output": other }),
        };
        self.complete(i, output.clone());
        self.end(status, Some(reason), Some(output));
    }
}
