//! Checking an event handler as written (Conductor's JSON, or the same in YAML): each problem
//! at its field's path.

use serde_json::Value;

use super::{ActionType, EventHandler};
use crate::def::build::{Unknown, check_keys};
use crate::def::typed::typed;
use crate::diagnostic::Problem;
use crate::locate::join_key;

/// The handler fields vigil reads.
const SUPPORTED: &[&str] = &["name", "event", "condition", "evaluatorType", "actions", "active", "description"];
/// The action fields vigil reads.
const ACTION_SUPPORTED: &[&str] = &["action", "start_workflow", "complete_task", "fail_task", "expandInlineJSON"];
/// Conductor's actions vigil does not run, each given as the field that holds its parameters.
const ACTIONS_NOT_RUN: &[&str] = &["terminate_workflow", "update_workflow_variables", "start_agent"];
/// The condition evaluators.
const EVALUATORS: &[&str] = &["javascript", "graaljs", "value-param"];

/// Checks `doc`; the handler when it has no error, and every problem found.
pub fn build_event_handler(doc: &Value) -> (Option<EventHandler>, Vec<Problem>) {
    let mut problems = Vec::new();
    let Some(obj) = doc.as_object() else {
        return (None, vec![Problem::error("", "an event handler must be an object")]);
    };
    check_keys(obj, "", (SUPPORTED, &[]), "event handler", Unknown::Ignored, &mut problems);
    if let Some(Value::Array(actions)) = obj.get("actions") {
        for (i, action) in actions.iter().enumerate() {
            let at = format!("actions[{i}]");
            match action {
                Value::Object(a) => {
                    let kind = a.get("action").and_then(Value::as_str).unwrap_or_default();
                    if ACTIONS_NOT_RUN.contains(&kind) {
                        problems.push(Problem::error(
                            join_key(&at, "action"),
                            format!("`{kind}` is a Conductor action that vigil does not run yet: use start_workflow, complete_task or fail_task"),
                        ));
                        continue;
                    }
                    // Conductor's exports write every action's field, null when unused.
                    let written: serde_json::Map<String, Value> = a
                        .iter()
                        .filter(|(k, v)| !(v.is_null() && ACTIONS_NOT_RUN.contains(&k.as_str())))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    check_keys(
                        &written,
                        &at,
                        (ACTION_SUPPORTED, ACTIONS_NOT_RUN),
                        "action",
                        Unknown::Ignored,
                        &mut problems,
                    );
                }
                _ => problems.push(Problem::error(at, "an action must be an object")),
            }
        }
        if problems.iter().any(Problem::is_error) {
            return (None, problems);
        }
    }
    let Some(handler) = typed::<EventHandler>(doc, "", &mut problems) else { return (None, problems) };
    if handler.name.trim().is_empty() {
        problems.push(Problem::error("name", "an event handler needs a `name`"));
    }
    if handler.event.trim().is_empty() {
        problems.push(Problem::error("event", "an event handler needs `event`, the queue it listens to (TYPE:NAME)"));
    } else if let Err(e) = crate::sink::split(&handler.event) {
        problems.push(Problem::error("event", e.to_string()));
    }
    if let Some(kind) = handler.evaluator_type.as_deref()
        && !EVALUATORS.contains(&kind)
    {
        problems.push(Problem::error("evaluatorType", format!("`{kind}` is not one of {}", EVALUATORS.join(", "))));
    }
    if handler.actions.is_empty() {
        problems.push(Problem::error("actions", "an event handler needs at least one action"));
    }
    for (i, action) in handler.actions.iter().enumerate() {
        let at = format!("actions[{i}]");
        match action.action {
            ActionType::StartWorkflow => match &action.start_workflow {
                Some(s) if !s.name.trim().is_empty() => {}
                Some(_) => problems
                    .push(Problem::error(join_key(&at, "start_workflow.name"), "the workflow to start is not named")),
                None => problems.push(Problem::error(
                    join_key(&at, "start_workflow"),
                    "a start_workflow action needs `start_workflow: {name, input}`",
                )),
            },
            ActionType::CompleteTask | ActionType::FailTask => {
                let field = if action.action == ActionType::CompleteTask { "complete_task" } else { "fail_task" };
                let details =
                    if action.action == ActionType::CompleteTask { &action.complete_task } else { &action.fail_task };
                match details {
                    Some(d) if d.task_id.is_some() || (d.workflow_id.is_some() && d.task_ref_name.is_some()) => {}
                    Some(_) => problems.push(Problem::error(
                        join_key(&at, field),
                        "name the task by `taskId`, or by `workflowId` and `taskRefName`",
                    )),
                    None => problems.push(Problem::error(
                        join_key(&at, field),
                        format!("a {field} action needs `{field}: {{workflowId, taskRefName, output}}`"),
                    )),
                }
            }
        }
    }
    if problems.iter().any(Problem::is_error) { (None, problems) } else { (Some(handler), problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conductors_handler_json_builds() {
        let doc = json!({
            "name": "complete_on_done", "event": "conductor:test_workflow:complete_task_with_event", "active": true,
            "condition": "$.status == 'done'", "evaluatorType": null,
            "actions": [{"action": "complete_task", "complete_task": {"workflowId": "${workflowInstanceId}", "taskRefName": "wait0", "output": {"by": "${from}"}},
                         "fail_task": null, "start_workflow": null, "terminate_workflow": null, "update_workflow_variables": null, "expandInlineJSON": false}]
        });
        let (handler, problems) = build_event_handler(&doc);
        assert!(problems.is_empty(), "{problems:?}");
        let handler = handler.unwrap();
        assert_eq!(handler.actions[0].action, ActionType::CompleteTask);
        assert!(handler.active);
    }

    #[test]
    fn a_bad_handler_names_each_field() {
        let doc = json!({"name": "", "event": "kafka:t", "actions": [
            {"action": "start_workflow", "start_workflow": {"name": ""}},
            {"action": "fail_task", "fail_task": {"taskRefName": "x"}}
        ]});
        let (handler, problems) = build_event_handler(&doc);
        assert!(handler.is_none());
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["name", "event", "actions[0].start_workflow.name", "actions[1].fail_task"]);
        let (_, problems) = build_event_handler(
            &json!({"name": "h", "event": "nats:x", "actions": [{"action": "terminate_workflow"}]}),
        );
        assert_eq!(problems[0].path, "actions[0].action");
        assert!(problems[0].message.contains("does not run yet"));
        let (_, problems) =
            build_event_handler(&json!({"name": "h", "event": "nats:x", "actions": [{"action": "sart_workflow"}]}));
        assert!(problems[0].path.starts_with("actions[0]"), "{problems:?}");
    }
}
