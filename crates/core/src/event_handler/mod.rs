//! Event handlers, as Conductor's `EventHandler`: when a message arrives on the queue `event`
//! names (`amqp_queue:orders`, `jsm:jobs.done`, `conductor:WORKFLOW:NAME`, ...), and its
//! `condition` holds, each action runs: `start_workflow`, `complete_task` or `fail_task`, their
//! parameters resolved against the message (`${path}` is a JSON path into the payload, as
//! Conductor's `ParametersUtils.replace` reads it).
//!
//! [`build`] checks a definition; [`plan`] decides what a message makes happen, without doing it.

pub mod build;
pub mod plan;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use build::build_event_handler;
pub use plan::{Planned, plan};

/// A checked event handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHandler {
    /// Its unique name.
    pub name: String,
    /// The queue it listens to: `TYPE:NAME` ([`crate::sink`]).
    pub event: String,
    /// A JavaScript expression over the payload (`$`); the actions run when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `javascript` (the default) or `value-param` (the condition names a payload field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// What a matching message does, in order.
    pub actions: Vec<HandlerAction>,
    /// Whether it listens.
    #[serde(default)]
    pub active: bool,
}

/// One action of a handler, in Conductor's shape: `action` names which of the other fields
/// holds its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandlerAction {
    /// `start_workflow`, `complete_task` or `fail_task`.
    pub action: ActionType,
    /// For `start_workflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_workflow: Option<StartWorkflowAction>,
    /// For `complete_task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_task: Option<TaskDetails>,
    /// For `fail_task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_task: Option<TaskDetails>,
    /// Parse payload strings that hold JSON objects or arrays before resolving.
    #[serde(default, rename = "expandInlineJSON")]
    pub expand_inline_json: bool,
}

/// The actions vigil runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    /// Start a workflow.
    StartWorkflow,
    /// Complete a task that waits to be completed from outside.
    CompleteTask,
    /// Fail such a task.
    FailTask,
}

/// `start_workflow`'s parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowAction {
    /// The workflow.
    pub name: String,
    /// Its version; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// A correlation id (templates resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The input (templates resolved).
    #[serde(default)]
    pub input: Map<String, Value>,
}

/// `complete_task`'s and `fail_task`'s parameters: the task, by `taskId` or by `workflowId` and
/// `taskRefName` (templates resolved), and what to set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDetails {
    /// The instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// The task's reference name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ref_name: Option<String>,
    /// The task's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The output to set (templates resolved).
    #[serde(default)]
    pub output: Map<String, Value>,
    /// Why it failed (`fail_task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
}
