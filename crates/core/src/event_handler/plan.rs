//! What a message makes a handler do, decided without doing it: the condition, then each
//! action's parameters resolved against the payload, as Conductor's `DefaultEventProcessor` and
//! `SimpleActionProcessor` do.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{ActionType, EventHandler, TaskDetails};
use crate::interpreter::{TaskUpdate, TaskUpdateTarget};
use crate::params::{ParamError, Scope, Secrets};

/// An action to perform.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Start workflow `name` as instance `id`: the same id every time this message reaches this
    /// action, so a redelivered message starts nothing twice.
    Start {
        /// The instance id.
        id: String,
        /// The workflow.
        name: String,
        /// Its version; the latest when `None`.
        version: Option<u32>,
        /// The input, with `conductor.event.messageId` and `conductor.event.name`.
        input: Value,
        /// The correlation id.
        correlation_id: Option<String>,
    },
    /// Set a task's status and output (a task that ended so already is left alone).
    Update(Box<TaskUpdate>),
}

/// Why a message cannot be handled: it will not get better by being delivered again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event handler `{handler}`: {reason}")]
pub struct PlanError {
    /// The handler.
    pub handler: String,
    /// Why.
    pub reason: String,
}

/// What `payload`, message `message_id` on queue `event`, makes `handler` do; `None` when its
/// condition is false. `javascript` evaluates a JavaScript condition with `$` bound to the
/// payload and says whether it is true.
pub fn plan(
    handler: &EventHandler,
    event: &str,
    message_id: &str,
    payload: &Value,
    javascript: &mut dyn FnMut(&str, &Value) -> Result<bool, String>,
) -> Result<Option<Vec<Planned>>, PlanError> {
    let fail = |reason: String| PlanError { handler: handler.name.clone(), reason };
    if let Some(condition) = handler.condition.as_deref().filter(|c| !c.trim().is_empty()) {
        let expanded = expand(payload.clone());
        let holds = match handler.evaluator_type.as_deref() {
            Some("value-param") => truthy(expanded.get(condition.trim()).unwrap_or(&Value::Null)),
            _ => javascript(condition, &expanded).map_err(|e| fail(format!("condition `{condition}`: {e}")))?,
        };
        if !holds {
            return Ok(None);
        }
    }
    let mut planned = Vec::with_capacity(handler.actions.len());
    for (i, action) in handler.actions.iter().enumerate() {
        let payload = if action.expand_inline_json { expand(payload.clone()) } else { payload.clone() };
        let resolve = |v: &Value| resolve(v, &payload).map_err(|e| fail(format!("actions[{i}]: {e}")));
        match action.action {
            ActionType::StartWorkflow => {
                let Some(start) = &action.start_workflow else { continue };
                let mut input = match resolve(&Value::Object(start.input.clone()))? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                input.insert("conductor.event.messageId".into(), json!(message_id));
                input.insert("conductor.event.name".into(), json!(event));
                let correlation_id = match &start.correlation_id {
                    Some(c) => match resolve(&Value::String(c.clone()))? {
                        Value::Null => None,
                        Value::String(s) => Some(s),
                        other => Some(other.to_string()),
                    },
                    None => None,
                };
                planned.push(Planned::Start {
                    id: instance_id(&handler.name, event, message_id, i),
                    name: start.name.clone(),
                    version: start.version,
                    input: Value::Object(input),
                    correlation_id,
                });
            }
            ActionType::CompleteTask | ActionType::FailTask => {
                let completes = action.action == ActionType::CompleteTask;
                let details = if completes { &action.complete_task } else { &action.fail_task };
                let Some(details) = details else { continue };
                let update = task_update(details, completes, &resolve, message_id, event).map_err(|e| match e {
                    Resolved::Param(e) => e,
                    Resolved::Missing(why) => fail(format!("actions[{i}]: {why}")),
                })?;
                planned.push(Planned::Update(Box::new(update)));
            }
        }
    }
    Ok(Some(planned))
}

enum Resolved {
    Param(PlanError),
    Missing(String),
}

/// Conductor's `completeTask`: the task's output is every resolved parameter (`workflowId`,
/// `taskId`, `taskRefName`, `reasonForIncompletion` and the output's entries) with the message's
/// id and queue.
fn task_update(
    details: &TaskDetails,
    completes: bool,
    resolve: &dyn Fn(&Value) -> Result<Value, PlanError>,
    message_id: &str,
    event: &str,
) -> Result<TaskUpdate, Resolved> {
    let mut params = Map::new();
    params.insert("workflowId".into(), json!(details.workflow_id));
    params.insert("taskId".into(), json!(details.task_id));
    params.insert("taskRefName".into(), json!(details.task_ref_name));
    params.insert("reasonForIncompletion".into(), json!(details.reason_for_incompletion));
    params.extend(details.output.clone());
    let Value::Object(mut output) = resolve(&Value::Object(params)).map_err(Resolved::Param)? else {
        return Err(Resolved::Missing("the parameters did not resolve to a map".into()));
    };
    let text = |key: &str| output.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let target = match (text("taskId"), text("workflowId"), text("taskRefName")) {
        (Some(id), _, _) => TaskUpdateTarget::Id(id),
        (None, Some(workflow_id), Some(reference)) => TaskUpdateTarget::Reference { workflow_id, reference },
        _ => {
            return Err(Resolved::Missing(
                "the message names no task: `taskId`, or `workflowId` and `taskRefName`, resolved empty".into(),
            ));
        }
    };
    let reason = (!completes).then(|| text("reasonForIncompletion")).flatten();
    output.insert("conductor.event.messageId".into(), json!(message_id));
    output.insert("conductor.event.name".into(), json!(event));
    Ok(TaskUpdate {
        target,
        status: if completes { "COMPLETED" } else { "FAILED" }.into(),
        output,
        merge: false,
        since: 0,
        reason,
    })
}

/// The instance id action `index` of `handler` gives message `message_id` of `event`: a
/// UUID-shaped hash, the same for every delivery of the message.
pub fn instance_id(handler: &str, event: &str, message_id: &str, index: usize) -> String {
    let text = format!("{handler}\u{0}{event}\u{0}{message_id}\u{0}{index}");
    let hash = |seed: u64| text.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Conductor's `JsonUtils.expand`: strings of a map that hold a JSON object or array become it,
/// recursively. (Conductor's leaves the strings of a list as they are, and so does this.)
pub fn expand(value: Value) -> Value {
    match value {
        Value::String(s) => parse_json(&s).unwrap_or(Value::String(s)),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, expand_in_map(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(expand_in_list).collect()),
        other => other,
    }
}

fn expand_in_map(value: Value) -> Value {
    match value {
        Value::String(s) => parse_json(&s).unwrap_or(Value::String(s)),
        other => expand(other),
    }
}

fn expand_in_list(value: Value) -> Value {
    match value {
        s @ Value::String(_) => s,
        other => expand(other),
    }
}

fn parse_json(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => s == "true",
        _ => true,
    }
}

/// Resolves `${path}` against `payload`, a JSON path (`${workflowInstanceId}`, `${$.a.b[0]}`).
pub fn resolve(template: &Value, payload: &Value) -> Result<Value, PlanError> {
    crate::params::resolve(template, &PayloadScope(payload), Secrets::Mask)
        .map_err(|e: ParamError| PlanError { handler: String::new(), reason: e.to_string() })
}

/// A message's payload as the scope of `${...}`.
struct PayloadScope<'a>(&'a Value);

impl PayloadScope<'_> {
    fn at(&self, head: &str, field: &str) -> Option<Cow<'_, Value>> {
        let base = if head == "$" { self.0 } else { self.0.get(head)? };
        let v = if field.is_empty() {
            base
        } else {
            base.get(field).or_else(|| field.parse::<usize>().ok().and_then(|i| base.get(i)))?
        };
        Some(Cow::Borrowed(v))
    }
}

impl Scope for PayloadScope<'_> {
    fn workflow_field(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.at("workflow", name)
    }
    fn task_field(&self, head: &str, field: &str) -> Option<Cow<'_, Value>> {
        self.at(head, field)
    }
    fn secret(&self, _name: &str) -> Option<String> {
        None
    }
    fn env(&self, _name: &str) -> Option<String> {
        None
    }
    fn secret_denied(&self, name: &str) -> Option<String> {
        Some(format!("an event handler does not read secrets (`{name}`): a message is data from outside"))
    }
    fn env_denied(&self, name: &str) -> Option<String> {
        Some(format!("an event handler does not read environment variables (`{name}`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_handler::build_event_handler;

    fn handler(doc: Value) -> EventHandler {
        let (h, problems) = build_event_handler(&doc);
        h.unwrap_or_else(|| panic!("{problems:?}"))
    }

    fn no_js(_: &str, _: &Value) -> Result<bool, String> {
        panic!("no JavaScript expected")
    }

    #[test]
    fn start_workflow_resolves_its_input_from_the_payload_and_names_the_message() {
        let h = handler(json!({"name": "h", "event": "amqp_queue:orders", "actions": [{"action": "start_workflow",
            "start_workflow": {"name": "ship", "input": {"order": "${order.id}", "first": "${$.items[0]}", "text": "order ${order.id}"},
                               "correlationId": "${order.id}"}}]}));
        let payload = json!({"order": {"id": 42}, "items": ["a", "b"]});
        let planned = plan(&h, "amqp_queue:orders", "m-1", &payload, &mut no_js).unwrap().unwrap();
        let Planned::Start { id, name, input, correlation_id, .. } = &planned[0] else { panic!("{planned:?}") };
        assert_eq!(name, "ship");
        assert_eq!(
            input,
            &json!({"order": 42, "first": "a", "text": "order 42",
            "conductor.event.messageId": "m-1", "conductor.event.name": "amqp_queue:orders"})
        );
        assert_eq!(correlation_id.as_deref(), Some("42"));
        let again = plan(&h, "amqp_queue:orders", "m-1", &payload, &mut no_js).unwrap().unwrap();
        assert_eq!(planned, again, "a redelivered message starts the same instance id");
        let other = plan(&h, "amqp_queue:orders", "m-2", &payload, &mut no_js).unwrap().unwrap();
        let Planned::Start { id: other_id, .. } = &other[0] else { panic!() };
        assert_ne!(id, other_id);
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn complete_task_outputs_every_resolved_parameter_as_conductor_does() {
        let h = handler(json!({"name": "h", "event": "conductor:wf:wait0", "actions": [{"action": "complete_task",
            "complete_task": {"workflowId": "${workflowInstanceId}", "taskRefName": "wait0", "output": {"status": "${status}"}}}]}));
        let planned =
            plan(&h, "conductor:wf:wait0", "t-1", &json!({"workflowInstanceId": "wf9", "status": "ok"}), &mut no_js)
                .unwrap()
                .unwrap();
        let Planned::Update(update) = &planned[0] else { panic!() };
        assert_eq!(update.target, TaskUpdateTarget::Reference { workflow_id: "wf9".into(), reference: "wait0".into() });
        assert_eq!(update.status, "COMPLETED");
        assert_eq!(
            Value::Object(update.output.clone()),
            json!({"workflowId": "wf9", "taskId": null, "taskRefName": "wait0",
            "reasonForIncompletion": null, "status": "ok", "conductor.event.messageId": "t-1", "conductor.event.name": "conductor:wf:wait0"})
        );
        // A payload that names no instance cannot be handled, whatever the number of deliveries.
        let e = plan(&h, "conductor:wf:wait0", "t-2", &json!({}), &mut no_js).unwrap_err();
        assert!(e.reason.contains("names no task"), "{e}");
    }

    #[test]
    fn the_condition_decides_and_secrets_are_not_read() {
        let h = handler(json!({"name": "h", "event": "nats:x", "condition": "$.status == 'done'",
            "actions": [{"action": "start_workflow", "start_workflow": {"name": "w", "input": {"k": "${workflow.secrets.token}"}}}]}));
        let mut js = |script: &str, payload: &Value| -> Result<bool, String> {
            assert_eq!(script, "$.status == 'done'");
            Ok(payload["status"] == "done")
        };
        assert_eq!(plan(&h, "nats:x", "1", &json!({"status": "queued"}), &mut js).unwrap(), None);
        let e = plan(&h, "nats:x", "1", &json!({"status": "done"}), &mut js).unwrap_err();
        assert!(e.reason.contains("does not read secrets"), "{e}");
        let by_field =
            handler(json!({"name": "h", "event": "nats:x", "condition": "ready", "evaluatorType": "value-param",
            "actions": [{"action": "start_workflow", "start_workflow": {"name": "w"}}]}));
        assert!(plan(&by_field, "nats:x", "1", &json!({"ready": true}), &mut no_js).unwrap().is_some());
        assert!(plan(&by_field, "nats:x", "1", &json!({"ready": false}), &mut no_js).unwrap().is_none());
    }

    #[test]
    fn expand_inline_json_parses_json_strings_of_maps_only_as_conductor() {
        let v = expand(json!({"a": "{\"b\": 1}", "l": ["[1]", {"c": "[2]"}], "s": "text"}));
        assert_eq!(v, json!({"a": {"b": 1}, "l": ["[1]", {"c": [2]}], "s": "text"}));
    }
}
