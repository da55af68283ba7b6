//! START_WORKFLOW (Conductor's): starts the workflow `startWorkflow` names as one of its own;
//! nobody waits for it.

use serde_json::{Value, json};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::interpreter::{Action, ChildStart};
use crate::locate::join_key;

/// It completes in the step that starts its workflow, and the new instance commits with that
/// step: found in progress, it never started one, so starting now is the first.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `startWorkflow` with a `name`, and its other fields of their types.
    pub(crate) fn build_start_workflow(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        self.check_start_workflow(raw, &join_key(path, "inputParameters"));
        Some(TaskKind::StartWorkflow)
    }

    /// Conductor's START_WORKFLOW: `startWorkflow` with the workflow's `name` (a template is
    /// resolved at run time), and `version`, `input` and `correlationId` of their types.
    fn check_start_workflow(&mut self, raw: &TaskConfig, input_path: &str) {
        let start_path = join_key(input_path, "startWorkflow");
        let start = match raw.input_parameters.get("startWorkflow") {
            Some(Value::Object(start)) => start,
            // The whole request from the input (`${workflow.input.startWorkflow}`), checked when
            // the task runs, as Conductor checks it.
            Some(Value::String(s)) if s.contains("${") => return,
            _ => {
                self.problems.push(Problem::error(
                    start_path,
                    "a START_WORKFLOW task needs `startWorkflow: {name: WORKFLOW, input: {...}}`",
                ));
                return;
            }
        };
        match start.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            _ => self.problems.push(Problem::error(
                join_key(&start_path, "name"),
                "a START_WORKFLOW task needs `name`, the workflow to start",
            )),
        }
        let is_template = |v: &Value| v.as_str().is_some_and(|s| s.contains("${"));
        if let Some(doc @ Value::Object(_)) = start.get("workflowDef") {
            let (_, problems) = crate::def::build::build_workflow(doc);
            let at = join_key(&start_path, "workflowDef");
            self.problems.extend(problems.into_iter().map(|problem| problem.within(&at)));
        }
        let fields = [
            ("version", Value::is_u64 as fn(&Value) -> bool, "a version number"),
            ("input", Value::is_object, "a map"),
            ("correlationId", Value::is_string, "a string"),
        ];
        for (field, fits, what) in fields {
            if let Some(v) = start.get(field)
                && !v.is_null()
                && !fits(v)
                && !is_template(v)
            {
                self.problems.push(Problem::error(join_key(&start_path, field), format!("`{field}` is {what}")));
            }
        }
    }
}

impl Run<'_, '_> {
    /// START_WORKFLOW: starts the workflow `startWorkflow` names as one of its own (nobody
    /// waits for it), created with this step so both commit together, with an id made from
    /// this execution's (a repeated step names the same one); output `{workflowId}`. Its input
    /// is the stored (masked) copy: a secret this task resolved is not handed on in the clear.
    pub(crate) fn start_start_workflow(&mut self, i: usize) {
        let start = self.inst.tasks[i].input_data.get("startWorkflow").cloned().unwrap_or(Value::Null);
        if !start.is_object() {
            // Conductor's words (`StartWorkflow.getRequest`).
            return self.fail(i, "Missing 'startWorkflow' in input data.".into(), TaskStatus::Failed);
        }
        let name = match start.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
            other => {
                let reason = format!(
                    "startWorkflow validation failed. 'name' -> Workflow name cannot be null or empty (got {}). ",
                    other.unwrap_or(&Value::Null)
                );
                return self.fail(i, reason, TaskStatus::Failed);
            }
        };
        let version = start.get("version").and_then(Value::as_u64).map(|v| v as u32);
        // A definition brought in the request is run as it is, not registered: checked here, with
        // the authority of the data that carried it, so the task fails rather than a start.
        let definition = match start.get("workflowDef") {
            None | Some(Value::Null) => None,
            Some(doc @ Value::Object(_)) => {
                if let Err(denied) = self.inst.data_authority().check_references(doc) {
                    return self.fail(
                        i,
                        format!("startWorkflow.workflowDef: {denied}"),
                        TaskStatus::FailedWithTerminalError,
                    );
                }
                if let Err(problems) = self.cx.workflows.build_inline(doc) {
                    let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
                    let reason = format!("startWorkflow.workflowDef is invalid: {}", list.join("; "));
                    return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
                }
                Some(doc.clone())
            }
            Some(other) => {
                let reason = format!("startWorkflow.workflowDef is not a workflow definition: {other}");
                return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
            }
        };
        if definition.is_none() && self.cx.workflows.get(&name, version).is_none() {
            let which = version.map_or(String::new(), |v| format!(" version {v}"));
            let reason = format!("Unable to start workflow `{name}`{which}: it is not defined");
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        let id = format!("{}.{}", self.inst.workflow_id, self.inst.tasks[i].task_id);
        // As Conductor: the starter's correlation id unless the request gives one.
        let correlation_id = start
            .get("correlationId")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .map(String::from)
            .or_else(|| self.inst.correlation_id.clone());
        self.actions.push(Action::StartWorkflow(ChildStart {
            id: id.clone(),
            name,
            version,
            input: start.get("input").cloned().unwrap_or_else(|| json!({})),
            parent: None,
            correlation_id,
            definition,
            started_by: self.inst.data_authority(),
        }));
        self.complete(i, json!({"workflowId": id}));
    }
}
