//! SUB_WORKFLOW: runs another workflow (named, or brought inline in `workflowDefinition`) as a
//! child and waits for it; its output is the child's.

use serde_json::{Value, json};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::build::build_workflow;
use crate::def::cycles::MAX_SUB_WORKFLOW_DEPTH;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::Action;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// Its child is asked whether it ended: the child was created with the parent's commit, so only
/// the notice of its end can have been lost.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::CheckChild;
pub(super) const TIMEOUT: Timeout = Timeout::Waiting;

impl Builder {
    /// `subWorkflowParam.name`, and a `workflowDefinition` (when given) that builds.
    pub(crate) fn build_sub_workflow(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let Some(p) = &raw.sub_workflow_param else {
            self.problems.push(Problem::error(
                join_key(path, "subWorkflowParam"),
                "a SUB_WORKFLOW task needs `subWorkflowParam.name`",
            ));
            return None;
        };
        let at = join_key(path, "subWorkflowParam.workflowDefinition");
        match &p.workflow_definition {
            Some(doc @ Value::Object(_)) => {
                let (_, problems) = build_workflow(doc);
                self.problems.extend(problems.into_iter().map(|problem| problem.within(&at)));
            }
            Some(Value::String(s)) if s.contains("${") => {}
            Some(Value::Null) | None => {}
            Some(other) => self.problems.push(Problem::error(
                at,
                format!("`workflowDefinition` must be a workflow definition or a `${{...}}` reference, not {other}"),
            )),
        }
        let definition = p.workflow_definition.clone().filter(|d| !d.is_null());
        Some(TaskKind::SubWorkflow { name: p.name.clone(), version: p.version, definition })
    }
}

impl Run<'_, '_> {
    /// Starts the child, with an id made from this execution's, unless it would nest too deep.
    pub(crate) fn start_sub_workflow(&mut self, i: usize, name: &str) {
        if self.child_depth() > MAX_SUB_WORKFLOW_DEPTH {
            let reason = format!(
                "SUB_WORKFLOW `{name}` would nest deeper than {MAX_SUB_WORKFLOW_DEPTH} levels; a workflow that \
                 starts itself (directly or through others) is a cycle"
            );
            return self.fail(i, reason, TaskStatus::Failed);
        }
        let child = format!("{}.{}", self.inst.workflow_id, self.inst.tasks[i].task_id);
        self.inst.tasks[i].sub_workflow_id = Some(child.clone());
        self.inst.tasks[i].output_data = json!({"subWorkflowId": child});
        if let Some(start) = self.child_start(i) {
            self.actions.push(Action::StartChild(start));
        }
    }
}
