//! The durable state of one workflow instance: its status, input, variables and task history.
//!
//! This struct is what the store persists after every step. Task executions are never rewritten
//! into the past: a retry is a new execution with `retryCount + 1`, and the superseded one stays
//! visible in the history.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::params::Scope;
use crate::principal::Principal;
use crate::time::{Millis, format_millis};

/// Conductor's workflow statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// Still running.
    Running,
    /// Finished normally.
    Completed,
    /// A task failed for good.
    Failed,
    /// The workflow's time limit passed.
    TimedOut,
    /// Ended by a TERMINATE task or an operator.
    Terminated,
    /// Paused by an operator.
    Paused,
}

impl WorkflowStatus {
    /// Whether the instance has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, WorkflowStatus::Running | WorkflowStatus::Paused)
    }

    /// The Conductor name, such as `COMPLETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Running => "RUNNING",
            WorkflowStatus::Completed => "COMPLETED",
            WorkflowStatus::Failed => "FAILED",
            WorkflowStatus::TimedOut => "TIMED_OUT",
            WorkflowStatus::Terminated => "TERMINATED",
            WorkflowStatus::Paused => "PAUSED",
        }
    }

    /// Parses a Conductor name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_ascii_uppercase())).ok()
    }
}

/// Conductor's task statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Created, waiting to start (a start delay or a retry delay).
    Scheduled,
    /// Running: a call in flight, a timer armed, a child instance running.
    InProgress,
    /// Done.
    Completed,
    /// An optional task failed; the instance goes on.
    CompletedWithErrors,
    /// Failed; may be retried.
    Failed,
    /// Failed in a way a retry cannot fix.
    FailedWithTerminalError,
    /// The attempt's time limit passed.
    TimedOut,
    /// Cancelled because the instance ended.
    Canceled,
    /// Not run.
    Skipped,
}

impl TaskStatus {
    /// Whether the execution has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Scheduled | TaskStatus::InProgress)
    }

    /// Whether the execution ended in a way that lets the workflow go on.
    pub fn is_successful(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::CompletedWithErrors | TaskStatus::Skipped)
    }

    /// The Conductor name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Scheduled => "SCHEDULED",
            TaskStatus::InProgress => "IN_PROGRESS",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::CompletedWithErrors => "COMPLETED_WITH_ERRORS",
            TaskStatus::Failed => "FAILED",
            TaskStatus::FailedWithTerminalError => "FAILED_WITH_TERMINAL_ERROR",
            TaskStatus::TimedOut => "TIMED_OUT",
            TaskStatus::Canceled => "CANCELED",
            TaskStatus::Skipped => "SKIPPED",
        }
    }
}

/// One execution (attempt) of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskExec {
    /// Unique within the instance.
    pub task_id: String,
    /// Reference name, with `__N` iteration suffixes inside DO_WHILE loops.
    pub reference_task_name: String,
    /// The reference name as defined (no suffix).
    pub def_ref: String,
    /// Conductor task type.
    pub task_type: String,
    /// Status.
    pub status: TaskStatus,
    /// Resolved input, with secrets masked.
    pub input_data: Value,
    /// Output.
    pub output_data: Value,
    /// Attempt number, 0 for the first.
    pub retry_count: u32,
    /// How many of those attempts were caused by a vigil restart, not by a failure; they do not
    /// count against the retry budget.
    #[serde(default)]
    pub restarts: u32,
    /// DO_WHILE iteration this execution belongs to (0 outside loops).
    #[serde(default)]
    pub iteration: u32,
    /// When it was created.
    pub scheduled_time: Millis,
    /// When it started running.
    #[serde(default)]
    pub start_time: Option<Millis>,
    /// When it ended.
    #[serde(default)]
    pub end_time: Option<Millis>,
    /// When a timer for it is due: a start delay, retry delay or WAIT.
    #[serde(default)]
    pub due_time: Option<Millis>,
    /// When the current attempt times out.
    #[serde(default)]
    pub timeout_time: Option<Millis>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// A newer execution replaced this one.
    #[serde(default)]
    pub retried: bool,
    /// The child instance of a SUB_WORKFLOW task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_workflow_id: Option<String>,
    /// How often a worker polled this SIMPLE execution.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub poll_count: u32,
    /// The worker that polled it last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// The delay a worker asked for with its last IN_PROGRESS update, in seconds.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub callback_after_seconds: u64,
    /// When the worker holding this SIMPLE execution must have reported: its poll plus
    /// `responseTimeoutSeconds`. The instance's owner fails the attempt then, whichever node
    /// handed it out (that node may be gone, and its lease with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Millis>,
}

impl TaskExec {
    /// The DO_WHILE iteration suffix of its reference name (`__2`), empty outside loops.
    pub fn suffix(&self) -> &str {
        self.reference_task_name.strip_prefix(self.def_ref.as_str()).unwrap_or_default()
    }

    /// Whether a result may be applied to it: it is in progress, or it is a task that something
    /// outside completes (SIMPLE, WAIT, HUMAN) still SCHEDULED (a worker's report may overtake its
    /// poll's event, and Conductor lets a client complete a task it never polled, or a WAIT
    /// still waiting out its retry delay).
    pub fn accepts_result(&self) -> bool {
        self.status == TaskStatus::InProgress
            || (self.status == TaskStatus::Scheduled && matches!(self.task_type.as_str(), "SIMPLE" | "WAIT" | "HUMAN"))
    }

    /// A new SCHEDULED execution of the task defined as `def_ref`, known in the instance as
    /// `reference` (its loop suffix included), created at `now`.
    pub fn new(task_id: String, reference: String, def_ref: String, task_type: &str, now: Millis) -> Self {
        Self {
            task_id,
            reference_task_name: reference,
            def_ref,
            task_type: task_type.to_string(),
            status: TaskStatus::Scheduled,
            input_data: Value::Null,
            output_data: Value::Object(Map::new()),
            retry_count: 0,
            restarts: 0,
            iteration: 0,
            scheduled_time: now,
            start_time: None,
            end_time: None,
            due_time: None,
            timeout_time: None,
            reason_for_incompletion: None,
            retried: false,
            sub_workflow_id: None,
            poll_count: 0,
            worker_id: None,
            callback_after_seconds: 0,
            lease_until: None,
        }
    }

    /// Makes it a fresh SCHEDULED execution as of `now`, keeping its identity and input: what a
    /// retry attempt, a rerun and a re-opened cancelled task start from.
    pub fn reschedule(&mut self, now: Millis) {
        self.status = TaskStatus::Scheduled;
        self.output_data = Value::Object(Map::new());
        self.reason_for_incompletion = None;
        self.scheduled_time = now;
        self.start_time = None;
        self.end_time = None;
        self.due_time = None;
        self.timeout_time = None;
        self.retried = false;
        self.poll_count = 0;
        self.worker_id = None;
        self.callback_after_seconds = 0;
    }

    /// Its iteration as Conductor reports it: a DO_WHILE's own is the loop's current one.
    pub fn conductor_iteration(&self) -> u32 {
        if self.task_type == "DO_WHILE" {
            self.output_data["iteration"].as_u64().unwrap_or(0) as u32
        } else {
            self.iteration
        }
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// The schedule fire that started an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FireRef {
    /// Schedule name.
    pub schedule: String,
    /// The cron slot, epoch ms.
    pub scheduled_time: Millis,
}

/// The parent of a sub-workflow instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    /// Parent instance id.
    pub workflow_id: String,
    /// The SUB_WORKFLOW task's id in the parent.
    pub task_id: String,
    /// How deep this child nests: 1 for a child of a top-level instance (0 in states written
    /// before depths were kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The whole durable state of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// Instance id.
    pub workflow_id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// Workflow version.
    pub workflow_version: u32,
    /// Status.
    pub status: WorkflowStatus,
    /// Input.
    pub input: Value,
    /// Output, set when the instance ends.
    pub output: Value,
    /// Workflow variables (SET_VARIABLE).
    pub variables: Map<String, Value>,
    /// Task executions in creation order.
    pub tasks: Vec<TaskExec>,
    /// Creation time.
    pub create_time: Millis,
    /// Last change.
    pub update_time: Millis,
    /// End time.
    #[serde(default)]
    pub end_time: Option<Millis>,
    /// When the workflow's time limit passes.
    #[serde(default)]
    pub deadline: Option<Millis>,
    /// Why it failed or was terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Correlation id given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Set for sub-workflow instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// Set for instances a schedule started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire: Option<FireRef>,
    /// Next task id number.
    pub next_task_seq: u64,
    /// Events raised before a task waited for them, oldest first (consumed by the first WAIT or
    /// HUMAN task that waits for the name, as Durable Functions buffers them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_events: Vec<RaisedEvent>,
    /// The partition it belongs to: the node that holds the partition's lease runs it. Children
    /// share their parent's.
    #[serde(default)]
    pub partition: u32,
    /// When an operator last retried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_retried_time: Option<Millis>,
    /// The definition it runs when it brought its own (Conductor's inline `workflowDef`, or a
    /// SUB_WORKFLOW's `workflowDefinition`), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
    /// Tasks made while it ran (FORK_JOIN_DYNAMIC branches, the task a DYNAMIC names), in the
    /// order they were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_tasks: Vec<DynamicTask>,
    /// Who defined the workflow it runs: what its definition's text may resolve
    /// ([`crate::principal`]).
    #[serde(default, skip_serializing_if = "Principal::is_system")]
    pub defined_by: Principal,
    /// Who started it: a token, a schedule's definer, or the instance that started it.
    #[serde(default, skip_serializing_if = "Principal::is_system")]
    pub started_by: Principal,
}

impl Instance {
    /// What data handed to this instance may do: the authority its definer and its starter share.
    pub fn data_authority(&self) -> Principal {
        self.defined_by.meet(&self.started_by)
    }
}

/// A task made at run time, kept with the instance so that every later step (and a restart)
/// runs the same definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicTask {
    /// The execution key (reference name with its loop suffix) of the task that made it.
    pub made_by: String,
    /// The task as Conductor's `WorkflowTask` JSON, its inputs merged in and its task definition
    /// applied; secrets masked.
    pub task: Value,
}

/// An external event raised on an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RaisedEvent {
    /// Event name.
    pub name: String,
    /// Payload, which becomes the waiting task's output.
    pub payload: Value,
    /// When it was raised.
    pub at: Millis,
}

/// The workflow variable whose value the status API shows as `customStatus` (set it with
/// SET_VARIABLE, as Durable Functions' `set_custom_status`).
pub const CUSTOM_STATUS_VARIABLE: &str = "customStatus";

impl Instance {
    /// A new, not yet started instance.
    pub fn new(id: String, name: String, version: u32, input: Value, now: Millis) -> Self {
        Self {
            workflow_id: id,
            workflow_name: name,
            workflow_version: version,
            status: WorkflowStatus::Running,
            input,
            output: Value::Object(Map::new()),
            variables: Map::new(),
            tasks: Vec::new(),
            create_time: now,
            update_time: now,
            end_time: None,
            deadline: None,
            reason_for_incompletion: None,
            correlation_id: None,
            parent: None,
            fire: None,
            next_task_seq: 0,
            pending_events: Vec::new(),
            last_retried_time: None,
            partition: 0,
            definition: None,
            dynamic_tasks: Vec::new(),
            defined_by: Principal::System,
            started_by: Principal::System,
        }
    }

    /// The custom status: the `customStatus` workflow variable, `null` when unset.
    pub fn custom_status(&self) -> Value {
        self.variables.get(CUSTOM_STATUS_VARIABLE).cloned().unwrap_or(Value::Null)
    }

    /// The latest execution of every reference name (suffixed) and of every defined reference.
    pub fn latest_index(&self) -> HashMap<String, usize> {
        self.tasks.iter().enumerate().map(|(i, t)| (t.reference_task_name.clone(), i)).collect()
    }

    /// The latest execution of a defined reference in any iteration.
    pub fn latest_of_def(&self, def_ref: &str) -> Option<&TaskExec> {
        self.tasks.iter().rev().find(|t| t.def_ref == def_ref || t.reference_task_name == def_ref)
    }
}

/// Resolves references against an instance; secrets and environment come from `secrets`.
pub struct InstanceScope<'a> {
    /// The instance.
    pub instance: &'a Instance,
    /// Latest execution per reference name.
    pub index: &'a HashMap<String, usize>,
    /// Iteration suffix of the current position (`__2` inside a loop), tried first.
    pub suffix: &'a str,
    /// Secret and environment values.
    pub secrets: &'a dyn SecretSource,
    /// The task whose input is resolved, if any (`${CPEWF_TASK_ID}`).
    pub current_task: Option<&'a str>,
    /// Whose authority the text being resolved carries.
    pub authority: &'a Principal,
}

/// Provides secret values and allowed environment variables.
pub trait SecretSource {
    /// The value of secret `name`.
    fn secret(&self, name: &str) -> Option<String>;
    /// The value of environment variable `name`.
    fn env(&self, name: &str) -> Option<String>;
    /// Why workflow `workflow` may not read secret `name` whoever defined it: the secret belongs
    /// to a team that does not own the workflow ([`crate::team`]). `None` when it may.
    fn owner_denied(&self, _workflow: &str, _name: &str) -> Option<String> {
        None
    }
    /// The team owning secret `name`, if one does: its members' definitions read it ungranted.
    fn secret_team(&self, _name: &str) -> Option<String> {
        None
    }
    /// The teams in force, when there are any: who owns the notifiers and alerts an ALERT task
    /// names ([`crate::alert::scope`]).
    fn teams(&self) -> Option<&crate::team::Teams> {
        None
    }
}

/// No secrets at all; for tests and validation.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn secret(&self, _: &str) -> Option<String> {
        None
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

impl Scope for InstanceScope<'_> {
    fn workflow_field(&self, name: &str) -> Option<Cow<'_, Value>> {
        let i = self.instance;
        Some(match name {
            "input" => Cow::Borrowed(&i.input),
            "output" => Cow::Borrowed(&i.output),
            "variables" => Cow::Owned(Value::Object(i.variables.clone())),
            "workflowId" | "instanceId" => Cow::Owned(Value::String(i.workflow_id.clone())),
            "workflowType" | "name" => Cow::Owned(Value::String(i.workflow_name.clone())),
            "version" => Cow::Owned(Value::from(i.workflow_version)),
            "status" => Cow::Owned(Value::String(i.status.as_str().into())),
            "correlationId" => Cow::Owned(i.correlation_id.clone().map(Value::String).unwrap_or(Value::Null)),
            "createTime" => Cow::Owned(Value::from(i.create_time)),
            "startTime" => Cow::Owned(Value::String(format_millis(i.create_time))),
            "parentWorkflowId" => {
                Cow::Owned(i.parent.as_ref().map(|p| Value::String(p.workflow_id.clone())).unwrap_or(Value::Null))
            }
            "scheduledTime" => {
                Cow::Owned(i.fire.as_ref().map(|f| Value::from(f.scheduled_time)).unwrap_or(Value::Null))
            }
            _ => return None,
        })
    }

    fn task_field(&self, ref_name: &str, field: &str) -> Option<Cow<'_, Value>> {
        let exec = if self.suffix.is_empty() {
            self.index.get(ref_name).map(|&i| &self.instance.tasks[i])
        } else {
            self.index.get(&format!("{ref_name}{}", self.suffix)).map(|&i| &self.instance.tasks[i])
        }
        .or_else(|| self.instance.latest_of_def(ref_name))?;
        Some(match field {
            "output" => Cow::Borrowed(&exec.output_data),
            "input" => Cow::Borrowed(&exec.input_data),
            "status" => Cow::Owned(Value::String(exec.status.as_str().into())),
            "taskId" => Cow::Owned(Value::String(global_task_id(&self.instance.workflow_id, &exec.task_id))),
            "retryCount" => Cow::Owned(Value::from(exec.retry_count)),
            "referenceTaskName" => Cow::Owned(Value::String(exec.reference_task_name.clone())),
            "taskType" => Cow::Owned(Value::String(exec.task_type.clone())),
            "scheduledTime" => Cow::Owned(Value::from(exec.scheduled_time)),
            "startTime" => Cow::Owned(Value::from(exec.start_time.unwrap_or(0))),
            "endTime" => Cow::Owned(Value::from(exec.end_time.unwrap_or(0))),
            "pollCount" => Cow::Owned(Value::from(exec.poll_count)),
            "workerId" => Cow::Owned(exec.worker_id.clone().map(Value::String).unwrap_or(Value::Null)),
            "iteration" => Cow::Owned(Value::from(exec.conductor_iteration())),
            "reasonForIncompletion" => {
                Cow::Owned(exec.reason_for_incompletion.clone().map(Value::String).unwrap_or(Value::Null))
            }
            _ => return None,
        })
    }

    fn current_task_id(&self) -> Option<&str> {
        self.current_task
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.secret(name)
    }

    fn env(&self, name: &str) -> Option<String> {
        self.secrets.env(name)
    }

    fn secret_denied(&self, name: &str) -> Option<String> {
        let team = self.secrets.secret_team(name);
        self.secrets
            .owner_denied(&self.instance.workflow_name, name)
            .or_else(|| self.authority.may_read_secret_of(name, team.as_deref()).err().map(|d| d.0))
    }

    fn env_denied(&self, name: &str) -> Option<String> {
        self.authority.may_read_env(name).err().map(|d| d.0)
    }
}

/// The id a task execution has outside its instance (in the Conductor API, for workers):
/// `<instance>~<execution>`.
pub fn global_task_id(instance: &str, task_id: &str) -> String {
    format!("{instance}~{task_id}")
}
