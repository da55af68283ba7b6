//! What the native API returns: instance status in Durable Functions' shape, history, lists.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use vigil_core::instance::{Instance, TaskExec, WorkflowStatus};
use vigil_core::time::format_millis;

/// An instance's status, as Durable Functions names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum RuntimeStatus {
    /// Running (or waiting on a timer, an event or a call).
    Running,
    /// Suspended by an operator.
    Suspended,
    /// Finished normally.
    Completed,
    /// A task failed for good.
    Failed,
    /// The workflow's time limit passed (vigil's addition to Durable Functions' set).
    TimedOut,
    /// Ended by an operator or a TERMINATE task.
    Terminated,
}

impl From<WorkflowStatus> for RuntimeStatus {
    fn from(s: WorkflowStatus) -> Self {
        match s {
            WorkflowStatus::Running => RuntimeStatus::Running,
            WorkflowStatus::Paused => RuntimeStatus::Suspended,
            WorkflowStatus::Completed => RuntimeStatus::Completed,
            WorkflowStatus::Failed => RuntimeStatus::Failed,
            WorkflowStatus::TimedOut => RuntimeStatus::TimedOut,
            WorkflowStatus::Terminated => RuntimeStatus::Terminated,
        }
    }
}

impl RuntimeStatus {
    /// Reads a status filter: Durable Functions' names or Conductor's (`RUNNING`, `PAUSED`, ...).
    pub fn parse(text: &str) -> Option<WorkflowStatus> {
        Some(match text {
            "Running" | "Pending" => WorkflowStatus::Running,
            "Suspended" => WorkflowStatus::Paused,
            "Completed" => WorkflowStatus::Completed,
            "Failed" => WorkflowStatus::Failed,
            "TimedOut" => WorkflowStatus::TimedOut,
            "Terminated" | "Canceled" => WorkflowStatus::Terminated,
            other => WorkflowStatus::parse(other)?,
        })
    }
}

/// `GET /api/v1/instances/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    /// Workflow name.
    pub name: String,
    /// Instance id.
    pub instance_id: String,
    /// Workflow version.
    pub version: u32,
    /// Status.
    pub runtime_status: RuntimeStatus,
    /// Input.
    pub input: Value,
    /// The `customStatus` workflow variable (set it with SET_VARIABLE), `null` when unset.
    pub custom_status: Value,
    /// Output, `null` until it ends.
    pub output: Value,
    /// Why it failed or was terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Creation time, RFC 3339.
    pub created_time: String,
    /// Last change, RFC 3339.
    pub last_updated_time: String,
    /// Task history, with `?showHistory=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_events: Option<Vec<HistoryEvent>>,
}

impl InstanceStatus {
    /// The status of `i`, with its history when `history`.
    pub fn of(i: &Instance, history: bool) -> Self {
        Self {
            name: i.workflow_name.clone(),
            instance_id: i.workflow_id.clone(),
            version: i.workflow_version,
            runtime_status: i.status.into(),
            input: i.input.clone(),
            custom_status: i.custom_status(),
            output: if i.status.is_terminal() { i.output.clone() } else { Value::Null },
            reason: i.reason_for_incompletion.clone(),
            created_time: format_millis(i.create_time),
            last_updated_time: format_millis(i.update_time),
            history_events: history.then(|| i.tasks.iter().map(HistoryEvent::of).collect()),
        }
    }
}

/// The fields of a stored instance that a status without history shows: decoding only these
/// skips the task history, the bulk of the state.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusFields {
    pub(crate) workflow_id: String,
    pub(crate) workflow_name: String,
    pub(crate) workflow_version: u32,
    pub(crate) status: WorkflowStatus,
    pub(crate) input: Value,
    pub(crate) output: Value,
    #[serde(default)]
    pub(crate) variables: CustomStatusOnly,
    #[serde(default)]
    pub(crate) reason_for_incompletion: Option<String>,
    pub(crate) create_time: i64,
    pub(crate) update_time: i64,
}

/// The `customStatus` variable, the only one a status shows.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CustomStatusOnly {
    #[serde(rename = "customStatus", default)]
    pub(crate) custom_status: Value,
}

impl StatusFields {
    /// Whether the instance has ended.
    pub fn ended(&self) -> bool {
        self.status.is_terminal()
    }
}

impl From<StatusFields> for InstanceStatus {
    fn from(f: StatusFields) -> Self {
        let ended = f.status.is_terminal();
        Self {
            name: f.workflow_name,
            instance_id: f.workflow_id,
            version: f.workflow_version,
            runtime_status: f.status.into(),
            input: f.input,
            custom_status: f.variables.custom_status,
            output: if ended { f.output } else { Value::Null },
            reason: f.reason_for_incompletion,
            created_time: format_millis(f.create_time),
            last_updated_time: format_millis(f.update_time),
            history_events: None,
        }
    }
}

/// One task execution.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// Execution id.
    pub task_id: String,
    /// Reference name (with the iteration suffix inside loops).
    pub reference_task_name: String,
    /// Task type.
    pub task_type: String,
    /// Conductor's task status (`COMPLETED`, `FAILED`, `IN_PROGRESS`, ...).
    pub status: String,
    /// Retry number.
    pub retry_count: u32,
    /// When it was scheduled, RFC 3339.
    pub scheduled_time: String,
    /// When it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Input (secrets masked).
    pub input: Value,
    /// Output.
    pub output: Value,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HistoryEvent {
    fn of(t: &TaskExec) -> Self {
        Self {
            task_id: t.task_id.clone(),
            reference_task_name: t.reference_task_name.clone(),
            task_type: t.task_type.clone(),
            status: serde_json::to_value(t.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            retry_count: t.retry_count,
            scheduled_time: format_millis(t.scheduled_time),
            start_time: t.start_time.map(format_millis),
            end_time: t.end_time.map(format_millis),
            input: t.input_data.clone(),
            output: t.output_data.clone(),
            reason: t.reason_for_incompletion.clone(),
        }
    }
}

/// The answer to a start: the instance id and where to manage it, as Durable Functions answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementUris {
    /// Instance id.
    pub id: String,
    /// GET: status.
    pub status_query_get_uri: String,
    /// POST: raise an event (replace `{eventName}`).
    pub send_event_post_uri: String,
    /// POST: terminate (replace `{text}`).
    pub terminate_post_uri: String,
    /// POST: suspend.
    pub suspend_post_uri: String,
    /// POST: resume.
    pub resume_post_uri: String,
    /// DELETE: purge the instance and its history.
    pub purge_history_delete_uri: String,
}

impl ManagementUris {
    /// The URIs of instance `id` under `base` (scheme and host).
    pub fn new(base: &str, id: &str) -> Self {
        let at = format!("{base}/api/v1/instances/{id}");
        Self {
            id: id.to_string(),
            status_query_get_uri: at.clone(),
            send_event_post_uri: format!("{at}/events/{{eventName}}"),
            terminate_post_uri: format!("{at}/terminate?reason={{text}}"),
            suspend_post_uri: format!("{at}/suspend"),
            resume_post_uri: format!("{at}/resume"),
            purge_history_delete_uri: at,
        }
    }
}

/// One instance in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSummary {
    /// Instance id.
    pub instance_id: String,
    /// Workflow name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// Status.
    pub runtime_status: RuntimeStatus,
    /// Creation time, RFC 3339.
    pub created_time: String,
    /// Last change, RFC 3339.
    pub last_updated_time: String,
}

impl From<&vigil_store::InstanceSummary> for InstanceSummary {
    fn from(s: &vigil_store::InstanceSummary) -> Self {
        Self {
            instance_id: s.id.clone(),
            name: s.workflow_name.clone(),
            version: s.workflow_version,
            runtime_status: s.status.into(),
            created_time: format_millis(s.created_at),
            last_updated_time: format_millis(s.updated_at),
        }
    }
}

/// A page of instances.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstancePage {
    /// The instances, newest first.
    pub instances: Vec<InstanceSummary>,
    /// Pass as `continuationToken` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// The answer to a bulk purge.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurgeResult {
    /// How many instances were deleted.
    pub instances_deleted: usize,
}
