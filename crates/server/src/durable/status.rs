//! Durable Functions' status payload (`StatusResponsePayload`) and history events, built from
//! vigil's instances as the extension's `HttpApiHandler.ConvertFrom` and
//! `DurableClient.GetDurableOrchestrationStatusAsync` build theirs.

use serde_json::{Map, Value, json};
use vigil_core::instance::{Instance, TaskExec, TaskStatus, WorkflowStatus};
use vigil_core::time::format_millis;

use crate::conductor::model::TaskNames;
use crate::views::StatusFields;

/// What a status read shows besides the status itself (`showHistory`, `showHistoryOutput`,
/// `showInput`).
#[derive(Debug, Clone, Copy)]
pub struct Show {
    /// The history events.
    pub history: bool,
    /// Results inside the history events.
    pub history_output: bool,
    /// The input (default true).
    pub input: bool,
}

/// Durable Functions' `OrchestrationRuntimeStatus` name for a status. A timed-out instance is
/// `Failed` there: its enum has no `TimedOut`.
pub fn runtime_status(s: WorkflowStatus) -> &'static str {
    match s {
        WorkflowStatus::Running => "Running",
        WorkflowStatus::Paused => "Suspended",
        WorkflowStatus::Completed => "Completed",
        WorkflowStatus::Failed | WorkflowStatus::TimedOut => "Failed",
        WorkflowStatus::Terminated => "Terminated",
    }
}

/// A time as the extension writes it: `DateTime.ToString("s") + "Z"`, whole seconds.
pub fn seconds(at: i64) -> String {
    format_millis(at - at.rem_euclid(1000))
}

/// The fields every status payload shows.
struct Head<'a> {
    name: &'a str,
    id: &'a str,
    status: WorkflowStatus,
    input: &'a Value,
    custom_status: Value,
    output: &'a Value,
    reason: Option<&'a str>,
    created: i64,
    updated: i64,
}

impl Head<'_> {
    fn render(self, show_input: bool) -> Value {
        let ended = self.status.is_terminal();
        json!({
            "name": self.name,
            "instanceId": self.id,
            "runtimeStatus": runtime_status(self.status),
            "input": if show_input { self.input.clone() } else { Value::Null },
            "customStatus": self.custom_status,
            "output": if ended { ended_output(self.status, self.output, self.reason) } else { Value::Null },
            "createdTime": seconds(self.created),
            "lastUpdatedTime": seconds(self.updated),
        })
    }
}

/// The status payload of `i`.
pub fn payload(i: &Instance, show: Show, names: &TaskNames) -> Value {
    let head = Head {
        name: &i.workflow_name,
        id: &i.workflow_id,
        status: i.status,
        input: &i.input,
        custom_status: i.custom_status(),
        output: &i.output,
        reason: i.reason_for_incompletion.as_deref(),
        created: i.create_time,
        updated: i.update_time,
    };
    let mut out = head.render(show.input);
    if show.history {
        out["historyEvents"] = Value::Array(history(i, show, names));
    }
    out
}

/// The status payload without history, from the few fields a status decodes (the polling path:
/// the task history, the bulk of an instance, is not decoded).
pub fn payload_of(f: StatusFields, show_input: bool) -> (WorkflowStatus, Value) {
    let head = Head {
        name: &f.workflow_name,
        id: &f.workflow_id,
        status: f.status,
        input: &f.input,
        custom_status: f.variables.custom_status.clone(),
        output: &f.output,
        reason: f.reason_for_incompletion.as_deref(),
        created: f.create_time,
        updated: f.update_time,
    };
    (f.status, head.render(show_input))
}

/// The output a client sees: a failed or terminated instance shows its reason, as the extension
/// stores the failure details or termination reason as the output.
fn ended_output(status: WorkflowStatus, output: &Value, reason: Option<&str>) -> Value {
    match (status, reason) {
        (WorkflowStatus::Completed, _) | (_, None) => output.clone(),
        (_, Some(reason)) => Value::String(reason.to_string()),
    }
}

/// The instance's history as Durable Functions lists it: `ExecutionStarted`, one event per ended
/// step (`TaskCompleted`, `TaskFailed`, `TimerFired`, `EventRaised`,
/// `SubOrchestrationInstanceCompleted`/`Failed`), `TaskScheduled` for a step still running, and
/// `ExecutionCompleted` once it has ended.
pub fn history(i: &Instance, show: Show, names: &TaskNames) -> Vec<Value> {
    let mut events = Vec::with_capacity(i.tasks.len() + 2);
    let mut started = Map::new();
    started.insert("EventType".into(), json!("ExecutionStarted"));
    started.insert("Timestamp".into(), json!(format_millis(i.create_time)));
    started.insert("FunctionName".into(), json!(i.workflow_name));
    if show.input {
        started.insert("Input".into(), i.input.clone());
    }
    events.push(Value::Object(started));
    for t in &i.tasks {
        if let Some(event) = task_event(t, show, names) {
            events.push(event);
        }
    }
    if i.status.is_terminal() {
        let mut done = Map::new();
        done.insert("EventType".into(), json!("ExecutionCompleted"));
        done.insert("OrchestrationStatus".into(), json!(runtime_status(i.status)));
        done.insert("Timestamp".into(), json!(format_millis(i.end_time.unwrap_or(i.update_time))));
        if show.history_output {
            let result = ended_output(i.status, &i.output, i.reason_for_incompletion.as_deref());
            done.insert("Result".into(), result);
        }
        if let Some(reason) = &i.reason_for_incompletion {
            done.insert("FailureDetails".into(), json!({"ErrorMessage": reason}));
        }
        events.push(Value::Object(done));
    }
    events
}

fn task_event(t: &TaskExec, show: Show, names: &TaskNames) -> Option<Value> {
    let name = names.name_of(t);
    let mut e = Map::new();
    let ended = t.end_time.map(format_millis);
    let is_timer =
        t.task_type == "WAIT" && (t.input_data.get("duration").is_some() || t.input_data.get("until").is_some());
    let event_name = t.input_data.get("event").and_then(Value::as_str).unwrap_or(&t.reference_task_name);
    let kind = match (t.status, t.task_type.as_str()) {
        (TaskStatus::Canceled | TaskStatus::Skipped, _) => return None,
        (TaskStatus::Scheduled | TaskStatus::InProgress, _) => "TaskScheduled",
        (_, "WAIT") if is_timer => "TimerFired",
        (_, "WAIT" | "HUMAN") => "EventRaised",
        (s, "SUB_WORKFLOW") if s.is_successful() => "SubOrchestrationInstanceCompleted",
        (_, "SUB_WORKFLOW") => "SubOrchestrationInstanceFailed",
        (s, _) if s.is_successful() => "TaskCompleted",
        _ => "TaskFailed",
    };
    e.insert("EventType".into(), json!(kind));
    match kind {
        "TaskScheduled" => {
            e.insert("Name".into(), json!(name));
            e.insert("Timestamp".into(), json!(format_millis(t.scheduled_time)));
        }
        "TimerFired" => {
            e.insert("Timestamp".into(), json!(ended));
            e.insert("FireAt".into(), json!(ended));
        }
        "EventRaised" => {
            e.insert("Name".into(), json!(event_name));
            e.insert("Timestamp".into(), json!(ended));
            if show.input {
                e.insert("Input".into(), t.output_data.clone());
            }
        }
        _ => {
            e.insert("FunctionName".into(), json!(name));
            e.insert("Timestamp".into(), json!(ended));
            e.insert("ScheduledTime".into(), json!(format_millis(t.scheduled_time)));
            if show.input {
                e.insert("Input".into(), t.input_data.clone());
            }
            if kind.ends_with("Completed") && show.history_output {
                e.insert("Result".into(), t.output_data.clone());
            }
            if let Some(reason) = &t.reason_for_incompletion {
                e.insert("Reason".into(), json!(reason));
            }
        }
    }
    Some(Value::Object(e))
}
