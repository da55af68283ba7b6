//! What the user wrote: Conductor's WorkflowDef / WorkflowTask / TaskDef JSON shapes, before checks.
//!
//! Nested task lists stay as `serde_json::Value` so that each task is checked on its own and every
//! problem in a file is reported, not just the first one serde meets.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Conductor's `WorkflowDef`, as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDefConfig {
    /// Workflow name; instances are started by it.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Version; several versions of one name may be loaded, the highest is the default.
    #[serde(default = "one")]
    pub version: u32,
    /// The task list, run in order.
    #[serde(default)]
    pub tasks: Vec<Value>,
    /// Documented input names (informative, as in Conductor).
    #[serde(default)]
    pub input_parameters: Vec<String>,
    /// Output template; when absent the output is the last task's output.
    #[serde(default)]
    pub output_parameters: Option<Map<String, Value>>,
    /// A workflow started with the failed instance's details when this one fails.
    #[serde(default)]
    pub failure_workflow: Option<String>,
    /// Whole-instance time limit; 0 means none.
    #[serde(default)]
    pub timeout_seconds: u64,
    /// `TIME_OUT_WF` (default) or `ALERT_ONLY`.
    #[serde(default)]
    pub timeout_policy: Option<String>,
    /// Initial workflow variables.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Default input values, merged under the caller's input.
    #[serde(default)]
    pub input_template: Map<String, Value>,
    /// Conductor schema version; only 2 exists.
    #[serde(default)]
    pub schema_version: Option<u32>,
    /// vigil's HTTP starter (checked by [`crate::def::trigger`]).
    #[serde(default)]
    pub http: Option<Value>,
    /// Whether a completed instance may be restarted (Conductor's default: yes).
    #[serde(default)]
    pub restartable: Option<bool>,
    /// How long ended instances are kept (checked by [`crate::retention::build`]).
    #[serde(default)]
    pub retention: Option<Value>,
    /// Publish the instances' status changes (Conductor's status listener).
    #[serde(default)]
    pub workflow_status_listener_enabled: bool,
    /// Where: a sink or an `http(s)://` URL; the server's default when absent.
    #[serde(default)]
    pub workflow_status_listener_sink: Option<String>,
}

fn one() -> u32 {
    1
}

/// Conductor's `WorkflowTask`, as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskConfig {
    /// Task name (the task definition name for SIMPLE tasks).
    pub name: String,
    /// Unique reference used by `${ref.output...}`.
    pub task_reference_name: String,
    /// Task type, such as `HTTP` or `INLINE`; Conductor's default is `SIMPLE`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The task's inputs, with `${...}` references.
    #[serde(default)]
    pub input_parameters: Map<String, Value>,
    /// When true, a failure completes the task as `COMPLETED_WITH_ERRORS`.
    #[serde(default)]
    pub optional: bool,
    /// When true, a failure lets the workflow go on and fails it later: at the JOIN that waits
    /// for the task, or when the workflow would complete.
    #[serde(default)]
    pub permissive: bool,
    /// Seconds to wait before the task starts.
    #[serde(default)]
    pub start_delay: u64,
    /// Overrides the task definition's retry count.
    #[serde(default)]
    pub retry_count: Option<u32>,
    /// An inline task definition with retry and timeout settings.
    #[serde(default)]
    pub task_definition: Option<TaskDefConfig>,
    /// SWITCH: `value-param` or `javascript`.
    #[serde(default)]
    pub evaluator_type: Option<String>,
    /// SWITCH: the parameter name or script.
    #[serde(default)]
    pub expression: Option<String>,
    /// SWITCH / DECISION: case value → task list.
    #[serde(default)]
    pub decision_cases: Map<String, Value>,
    /// SWITCH / DECISION: tasks when no case matches.
    #[serde(default)]
    pub default_case: Vec<Value>,
    /// DECISION (legacy): the input parameter holding the case value.
    #[serde(default)]
    pub case_value_param: Option<String>,
    /// DECISION (legacy): a script computing the case value.
    #[serde(default)]
    pub case_expression: Option<String>,
    /// DO_WHILE: JavaScript evaluated after each iteration; the loop goes on while it is true.
    #[serde(default)]
    pub loop_condition: Option<String>,
    /// DO_WHILE: the loop body.
    #[serde(default)]
    pub loop_over: Vec<Value>,
    /// FORK_JOIN: parallel branches.
    #[serde(default)]
    pub fork_tasks: Vec<Vec<Value>>,
    /// JOIN: the references to wait for.
    #[serde(default)]
    pub join_on: Vec<String>,
    /// EVENT: the queue it publishes to.
    #[serde(default)]
    pub sink: Option<String>,
    /// EVENT: stays in progress after publishing, until completed from outside.
    #[serde(default)]
    pub async_complete: bool,
    /// EXCLUSIVE_JOIN: the references whose output it takes when none of `joinOn` ran.
    #[serde(default)]
    pub default_exclusive_join_task: Vec<String>,
    /// SUB_WORKFLOW: which workflow to start.
    #[serde(default)]
    pub sub_workflow_param: Option<SubWorkflowParamConfig>,
    /// DYNAMIC: the input parameter naming the task to run.
    #[serde(default)]
    pub dynamic_task_name_param: Option<String>,
    /// FORK_JOIN_DYNAMIC: the input parameter holding the list of tasks to fork.
    #[serde(default)]
    pub dynamic_fork_tasks_param: Option<String>,
    /// FORK_JOIN_DYNAMIC: the input parameter holding each forked task's input, by reference name.
    #[serde(default)]
    pub dynamic_fork_tasks_input_param_name: Option<String>,
    /// FORK_JOIN_DYNAMIC (Conductor's older form): the input parameter holding
    /// `{"dynamicTasks": [{"taskName", "referenceName", "type", "input"}]}`.
    #[serde(default)]
    pub dynamic_fork_join_tasks_param: Option<String>,
}

/// Conductor's `SubWorkflowParams`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubWorkflowParamConfig {
    /// The child workflow's name.
    pub name: String,
    /// Its version; the latest when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// The child's own definition (Conductor's inline `workflowDefinition`): a WorkflowDef, or a
    /// `${...}` reference to one made at run time.
    #[serde(default)]
    pub workflow_definition: Option<Value>,
}

/// Conductor's `TaskDef`: retry and timeout settings.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefConfig {
    /// Task name.
    #[serde(default)]
    pub name: Option<String>,
    /// Retries after the first attempt.
    #[serde(default)]
    pub retry_count: Option<u32>,
    /// `FIXED`, `EXPONENTIAL_BACKOFF` or `LINEAR_BACKOFF`.
    #[serde(default)]
    pub retry_logic: Option<String>,
    /// Base delay between attempts.
    #[serde(default)]
    pub retry_delay_seconds: Option<u64>,
    /// Multiplier for `LINEAR_BACKOFF`.
    #[serde(default)]
    pub backoff_scale_factor: Option<u32>,
    /// Cap on a computed retry delay; 0 for none.
    #[serde(default)]
    pub max_retry_delay_seconds: Option<u64>,
    /// Up to this many milliseconds of jitter added to each retry delay.
    #[serde(default)]
    pub backoff_jitter_ms: Option<u64>,
    /// Time limit for one attempt; 0 means none.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// `RETRY` (default), `TIME_OUT_WF` or `ALERT_ONLY`.
    #[serde(default)]
    pub timeout_policy: Option<String>,
    /// Time limit for a response from the executor of the task.
    #[serde(default)]
    pub response_timeout_seconds: Option<u64>,
    /// Time a SIMPLE task may wait for a worker's first poll.
    #[serde(default)]
    pub poll_timeout_seconds: Option<u64>,
}
