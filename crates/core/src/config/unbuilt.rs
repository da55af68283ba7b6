//! What a definition that did not build still says about the others, read from its document, so
//! that one `vigil validate` run reports the problems across files with each file's own.

use serde_json::{Map, Value};

/// A workflow document's references to other definitions.
#[derive(Debug, Default)]
pub(super) struct Refers {
    /// Its name, when it has one (so that others naming it are not told it is undefined).
    pub name: Option<String>,
    /// `(path, workflow)` of each SUB_WORKFLOW with a literal name and no inline definition.
    pub sub_workflows: Vec<(String, String)>,
    /// `(path, notifier)` of each literal notifier name of an ALERT task.
    pub alert_notifiers: Vec<(String, String)>,
    /// Its `failureWorkflow`, when a string.
    pub failure_workflow: Option<String>,
}

/// Reads a workflow document as written.
pub(super) fn workflow(doc: &Value) -> Refers {
    let mut out = Refers {
        name: doc.get("name").and_then(Value::as_str).map(str::to_string),
        failure_workflow: doc.get("failureWorkflow").and_then(Value::as_str).map(str::to_string),
        ..Refers::default()
    };
    walk(doc.get("tasks"), "tasks", &mut |task, here| match task.get("type").and_then(Value::as_str) {
        Some("SUB_WORKFLOW") => {
            let param = task.get("subWorkflowParam");
            let inline = param.and_then(|p| p.get("workflowDefinition")).is_some_and(|d| !d.is_null());
            if let Some(name) = param.and_then(|p| p.get("name")).and_then(Value::as_str)
                && !inline
                && !name.contains("${")
            {
                out.sub_workflows.push((here.to_string(), name.to_string()));
            }
        }
        Some("ALERT") => {
            let listed = task.get("inputParameters").and_then(|i| i.get("notifiers"));
            let named: Vec<(String, &Value)> = match listed {
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (format!("{here}.inputParameters.notifiers[{j}]"), v))
                    .collect(),
                Some(v) => vec![(format!("{here}.inputParameters.notifiers"), v)],
                None => Vec::new(),
            };
            for (path, value) in named {
                if let Some(name) = value.as_str().filter(|n| !n.contains("${")) {
                    out.alert_notifiers.push((path, name.to_string()));
                }
            }
        }
        _ => {}
    });
    out
}

/// The workflow a schedule document starts, when named.
pub(super) fn schedule_target(doc: &Value) -> Option<String> {
    doc.get("startWorkflowRequest")?.get("name")?.as_str().map(str::to_string)
}

/// Visits every task object of a task list and its nested lists (SWITCH cases, DO_WHILE bodies,
/// fork branches), with paths as [`crate::def::walk`] writes them.
fn walk(list: Option<&Value>, path: &str, visit: &mut dyn FnMut(&Map<String, Value>, &str)) {
    let Some(Value::Array(tasks)) = list else { return };
    for (i, task) in tasks.iter().enumerate() {
        let Value::Object(task) = task else { continue };
        let here = format!("{path}[{i}]");
        visit(task, &here);
        if let Some(Value::Object(cases)) = task.get("decisionCases") {
            for (case, list) in cases {
                walk(Some(list), &format!("{here}.decisionCases.{case}"), visit);
            }
        }
        walk(task.get("defaultCase"), &format!("{here}.defaultCase"), visit);
        walk(task.get("loopOver"), &format!("{here}.loopOver"), visit);
        if let Some(Value::Array(branches)) = task.get("forkTasks") {
            for (b, branch) in branches.iter().enumerate() {
                walk(Some(branch), &format!("{here}.forkTasks[{b}]"), visit);
            }
        }
    }
}
