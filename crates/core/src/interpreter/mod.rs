//! The pure workflow interpreter: `step(state, event) -> actions`.
//!
//! The runtime owns I/O. It commits the instance state this module leaves behind, *then* performs
//! the returned [`Action`]s and feeds their results back as [`Event`]s. Because every decision is
//! recorded before its effect, a crash at any point can be resumed from the stored state with
//! [`Event::Recover`], which re-issues exactly the effects that were in flight.
//!
//! Synchronous tasks (INLINE, JSON_JQ_TRANSFORM, SWITCH, SET_VARIABLE, TERMINATE, DO_WHILE control,
//! FORK/JOIN) are evaluated inside the step; HTTP, WAIT and SUB_WORKFLOW end the step with an action,
//! and so does an INLINE or jq task that runs past the step's [`Budget`].

mod control;
mod dynamic;
mod evaluate;
mod http;
pub(crate) mod run;
mod tasks;

use serde_json::{Map, Value};

pub use evaluate::{Budget, Evaluation};
pub use http::{DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_READ_TIMEOUT_MS, HttpRequest};

use crate::def::{WorkflowDef, WorkflowSet};
use crate::instance::{Instance, ParentRef, SecretSource, WorkflowStatus};
use crate::jq::JqCache;
use crate::script::ScriptEngine;
use crate::time::Millis;

/// Something that happened to an instance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// The instance was just created.
    Start,
    /// An HTTP call (or another executor) finished.
    TaskResult {
        /// The execution it belongs to.
        task_id: String,
        /// What happened.
        result: TaskResult,
    },
    /// A worker polled a SIMPLE task offered by [`Action::Enqueue`]: it is IN_PROGRESS from now
    /// (Conductor keeps it SCHEDULED until then).
    Polled {
        /// The execution.
        task_id: String,
        /// The worker that took it.
        worker_id: String,
    },
    /// A timer set by [`Action::Timer`] is due.
    Timer {
        /// The execution it belongs to.
        task_id: String,
    },
    /// The workflow deadline passed.
    WorkflowTimeout,
    /// A child instance ended.
    ChildFinished {
        /// The SUB_WORKFLOW execution.
        task_id: String,
        /// How the child ended.
        status: WorkflowStatus,
        /// Its output.
        output: Value,
        /// Why it failed, if it did.
        reason: Option<String>,
    },
    /// An operator ended the instance.
    Terminate {
        /// Why.
        reason: String,
    },
    /// The process restarted: re-issue whatever was in flight.
    Recover,
    /// An external event: completes the WAIT or HUMAN task waiting for `name`, or is kept until
    /// one does.
    Raise {
        /// Event name.
        name: String,
        /// Payload (the task's output).
        payload: Value,
        /// Who raised it, when known: the payload is their data, so the instance's data acts
        /// with no more than they may from then on ([`crate::principal::Principal::meet`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<crate::principal::Principal>,
    },
    /// An operator suspends the instance: results are still recorded, nothing new starts.
    Pause,
    /// An operator resumes a suspended instance.
    Resume,
    /// An operator retries a failed, timed-out or terminated instance from the tasks that did
    /// not complete.
    Retry,
    /// An operator restarted this (ended) instance from the beginning: it starts as with
    /// [`Event::Start`], and its parent, if it has one, is re-opened.
    Restart,
    /// The child of SUB_WORKFLOW execution `task_id` was retried or restarted and runs again: as
    /// in Conductor, the execution goes back to IN_PROGRESS, and an ended instance runs again
    /// (re-opening its own parent in turn).
    ChildReopened {
        /// The SUB_WORKFLOW execution.
        task_id: String,
    },
    /// Go on after yielding.
    Continue,
    /// Offer at once the worker tasks that wait out a worker's `callbackAfterSeconds`.
    ResetCallbacks,
    /// An operator reruns an ended instance (Conductor's `rerun`) from execution `task_id`,
    /// whose later executions are dropped and which runs again with `task_input` when given, or
    /// from the start when `task_id` is `None`.
    Rerun {
        /// The execution to run again.
        task_id: Option<String>,
        /// Its new input; its recorded input when `None`.
        task_input: Option<Value>,
        /// The workflow's new input, if any.
        workflow_input: Option<Value>,
        /// A new correlation id, if any.
        correlation_id: Option<String>,
    },
    /// Record task `reference` as SKIPPED before it is reached; the workflow passes over it.
    SkipTask {
        /// The task's reference name.
        reference: String,
        /// Input to record.
        input: Value,
        /// Output to record (what later tasks read).
        output: Value,
    },
}

/// The result of an executed task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TaskResult {
    /// Success with output.
    Completed(Value),
    /// Failure.
    Failed {
        /// Why.
        reason: String,
        /// Output to record (e.g. the HTTP response).
        output: Value,
        /// When true, a retry cannot help.
        terminal: bool,
    },
    /// The executor did not answer in time (a worker past its response timeout); the retry
    /// policy applies, as for a failure.
    TimedOut {
        /// Why.
        reason: String,
    },
    /// A worker is still at a SIMPLE task and asks to be called back: as in Conductor, the task
    /// goes back to SCHEDULED with this output and is offered again after the delay.
    InProgress {
        /// Output so far.
        output: Value,
        /// Seconds before the task is offered again.
        callback_after_seconds: u64,
    },
}

/// A message to publish: an EVENT task's output to the queue its sink names.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Publication {
    /// The message id, for consumers (and JetStream) to de-duplicate by: the execution's global
    /// task id, the same when a crash makes it publish again.
    pub id: String,
    /// The queue: `TYPE:NAME` ([`crate::sink`]), Conductor's own named in full
    /// (`conductor:WORKFLOW:NAME`).
    pub sink: String,
    /// The message, as JSON; secrets masked.
    pub payload: Value,
    /// Whether the task stays in progress once published.
    pub async_complete: bool,
}

/// An effect for the runtime to perform after the state is committed.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Make an HTTP call and report a [`TaskResult`].
    Http {
        /// The execution.
        task_id: String,
        /// The request, with secrets revealed: never store it.
        request: HttpRequest,
        /// Where its URL may go, by the authority that wrote it.
        reach: crate::principal::Reach,
    },
    /// Apply an observation to an alert's lifecycle and report the task's result.
    Alert {
        /// The ALERT execution.
        task_id: String,
        /// The observation, with secrets masked.
        request: Box<crate::alert::AlertRequest>,
    },
    /// Offer a SIMPLE task to external workers polling for `task_type`; their result comes back
    /// as a [`TaskResult`].
    Enqueue(Box<WorkerTask>),
    /// Take a SIMPLE task out of the workers' queue: it ended without a worker's report (timed
    /// out, cancelled), so no worker may get it any more.
    Withdraw {
        /// The execution.
        task_id: String,
    },
    /// Send [`Event::Timer`] at `due`.
    Timer {
        /// The execution.
        task_id: String,
        /// Epoch ms.
        due: Millis,
    },
    /// Send [`Event::WorkflowTimeout`] at `due`.
    WorkflowTimer {
        /// Epoch ms.
        due: Millis,
    },
    /// Seal and store secret `name` with `value`, then report a [`TaskResult`]. New executions
    /// and notifier sends use it from then on.
    UpdateSecret {
        /// The UPDATE_SECRET execution.
        task_id: String,
        /// The secret's name.
        name: String,
        /// The new value, revealed: never store it.
        value: String,
    },
    /// Report a result to a task waiting to be completed from outside, in this or another
    /// instance, then report this execution's [`TaskResult`].
    UpdateTask {
        /// The UPDATE_TASK execution.
        task_id: String,
        /// What to set, on which task.
        update: Box<TaskUpdate>,
    },
    /// Publish a message (an EVENT task's) and report a [`TaskResult`]: its output when the
    /// broker accepted it, unless it completes from outside.
    Publish {
        /// The EVENT execution.
        task_id: String,
        /// What to publish, and where.
        publication: Box<Publication>,
    },
    /// Start a child instance. The runtime creates it in the same transaction as this state.
    StartChild(ChildStart),
    /// After a restart: if this child has already ended, report it again (the first notice may
    /// have been lost).
    CheckChild {
        /// The SUB_WORKFLOW execution in the parent.
        task_id: String,
        /// Child id.
        child_id: String,
    },
    /// This instance runs again after it ended (a retry or restart): send the parent
    /// [`Event::ChildReopened`], reading it back from the store if it has ended too.
    ReopenParent(ParentRef),
    /// Terminate a child instance.
    CancelChild {
        /// Child id.
        child_id: String,
        /// Why, as the child records it.
        reason: String,
    },
    /// The instance ended: tell the parent, waiters and schedules.
    Finished {
        /// Final status.
        status: WorkflowStatus,
        /// Output.
        output: Value,
        /// Why it did not complete.
        reason: Option<String>,
        /// The parent to notify.
        parent: Option<ParentRef>,
    },
    /// Start another workflow of its own (the failure workflow, a START_WORKFLOW task), created
    /// with the step's batch so both commit together.
    StartWorkflow(ChildStart),
    /// Ask a monitor source (a query task) and report a [`TaskResult`] whose output holds the
    /// series; or, for Conductor's JDBC, run its statement.
    Query {
        /// The execution.
        task_id: String,
        /// The source (SQL for JDBC).
        source: crate::source_kind::SourceKind,
        /// Conductor's JDBC task: its statement runs as Conductor runs it, not as a source.
        jdbc: bool,
        /// Its settings, with secrets revealed: never store them.
        config: Value,
        /// Where its addresses may go, by the authority that wrote them.
        reach: crate::principal::Reach,
    },
    /// Finish an INLINE or JSON_JQ_TRANSFORM task that ran past the step's [`Budget`], beside
    /// the interpreter, and report its [`TaskResult`] ([`Evaluation::run`] gives it).
    Evaluate {
        /// The execution.
        task_id: String,
        /// What to evaluate.
        evaluation: Box<Evaluation>,
    },
    /// Give other instances a turn, then send [`Event::Continue`].
    Yield,
}

/// A SIMPLE task offered to workers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerTask {
    /// The execution.
    pub task_id: String,
    /// What workers poll for: the task's name.
    pub task_type: String,
    /// The task's reference name.
    pub reference_task_name: String,
    /// Input, with secrets masked (workers are outside vigil).
    pub input: Value,
    /// Retry number of this attempt.
    pub retry_count: u32,
    /// DO_WHILE iteration it belongs to (0 outside loops).
    pub iteration: u32,
    /// When it was scheduled.
    pub scheduled_time: Millis,
    /// Not offered to workers before this time (a worker's `callbackAfterSeconds`).
    pub visible_at: Millis,
    /// How long a worker may hold it without reporting, in seconds.
    pub response_timeout_seconds: u64,
    /// Workflow name.
    pub workflow_type: String,
}

/// Time a worker may hold a SIMPLE task without reporting, when the task definition sets none.
pub const DEFAULT_RESPONSE_TIMEOUT_SECONDS: u64 = 600;

/// What an UPDATE_TASK sets, on which task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUpdate {
    /// The task.
    pub target: TaskUpdateTarget,
    /// `COMPLETED`, `FAILED` or `FAILED_WITH_TERMINAL_ERROR`.
    pub status: String,
    /// The task's new output, from the stored input, with secrets masked.
    pub output: Map<String, Value>,
    /// Merge `output` into the task's output so far instead of replacing it.
    pub merge: bool,
    /// When the UPDATE_TASK execution was scheduled (kept across a restart): a task that ended
    /// with the status asked for since then was reached by this update already.
    pub since: Millis,
    /// The reason a failed task records; by default, who failed it.
    pub reason: Option<String>,
}

/// The task an UPDATE_TASK names.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskUpdateTarget {
    /// The execution waiting under `reference` in instance `workflow_id`.
    Reference {
        /// The instance.
        workflow_id: String,
        /// The task's reference name.
        reference: String,
    },
    /// A task id as the API hands it out (`<workflowId>~<execution>`, see
    /// [`crate::instance::global_task_id`]).
    Id(String),
}

/// A request to start an instance on behalf of another.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildStart {
    /// Deterministic id, so a repeated start is recognised.
    pub id: String,
    /// Workflow name.
    pub name: String,
    /// Version, latest when `None`.
    pub version: Option<u32>,
    /// Input.
    pub input: Value,
    /// Parent link, for sub-workflows.
    pub parent: Option<ParentRef>,
    /// The starting instance's correlation id, which the new one carries on (as in Conductor).
    pub correlation_id: Option<String>,
    /// The new instance's own definition, when it brings one.
    pub definition: Option<Value>,
    /// Who starts it: the authority the starting instance's data carries.
    pub started_by: crate::principal::Principal,
}

/// Everything a step may use besides the state: time, definitions and evaluators.
pub struct Step<'a> {
    /// The current time.
    pub now: Millis,
    /// All workflow definitions (for sub-workflows).
    pub workflows: &'a WorkflowSet,
    /// JavaScript engine of this thread.
    pub scripts: &'a mut ScriptEngine,
    /// jq programs of this thread.
    pub jq: &'a mut JqCache,
    /// Secret values, environment and output scrubbing.
    pub secrets: &'a dyn Secrets,
    /// Most DO_WHILE iterations: without `keepLastN`, and with it.
    pub max_iterations: (u32, u32),
    /// How long evaluations may hold this thread; `None` lets them run to the engines' full
    /// limits inside the step.
    pub budget: Option<Budget>,
    /// Most bytes the workflow variables may take as JSON after a SET_VARIABLE; past it the task
    /// fails for good (Conductor's `max-workflow-variables-payload-size-threshold`).
    pub max_variables_bytes: usize,
}

/// [`Step::max_variables_bytes`] by default: Conductor's 256 KB.
pub const MAX_VARIABLES_BYTES: usize = 256 * 1024;

/// [`Step::max_iterations`] by default: a loop that keeps every iteration's history grows the
/// state that every commit writes, so it stops at 10,000; one with `keepLastN` at 1,000,000.
pub const MAX_ITERATIONS: (u32, u32) = (10_000, 1_000_000);

/// Most branches one FORK_JOIN_DYNAMIC makes (docs/reliability.md#limits): every branch is a task
/// of its instance, written with it at each step, so a list from a request or a message is
/// bounded before anything is made from it. A longer list fails the instance, naming the fork,
/// the input and the count; split it (a sub-workflow per slice of at most this many).
pub const MAX_FORK_BRANCHES: usize = 1_000;

/// Secret values for resolution, and removal of leaked values from outputs.
pub trait Secrets: SecretSource {
    /// Replaces every occurrence of a secret value in `value` with `***`.
    fn scrub(&self, value: &mut Value);

    /// Replaces every occurrence of `secret`, a value not yet among the known ones (a secret a
    /// task is about to store), in `value` with `***`. The default masks it as written.
    fn scrub_new(&self, secret: &str, value: &mut Value) {
        match value {
            Value::String(s) if s.contains(secret) => *s = s.replace(secret, crate::params::MASK),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_new(secret, v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_new(secret, v)),
            _ => {}
        }
    }

    /// [`Secrets::scrub`] for a message such as an error reason.
    fn scrub_text(&self, text: String) -> String {
        let mut value = Value::String(text);
        self.scrub(&mut value);
        match value {
            Value::String(s) => s,
            _ => String::new(),
        }
    }
}

/// Creates a new instance of `def`: the input template is applied and variables are initialised.
pub fn new_instance(def: &WorkflowDef, id: String, input: Value, now: Millis) -> Instance {
    let input = match input {
        Value::Object(given) if !def.input_template.is_empty() => {
            let mut merged: Map<String, Value> = def.input_template.clone();
            merged.extend(given);
            Value::Object(merged)
        }
        Value::Null if !def.input_template.is_empty() => Value::Object(def.input_template.clone()),
        Value::Null => Value::Object(Map::new()),
        other => other,
    };
    let mut instance = Instance::new(id, def.name.clone(), def.version, input, now);
    instance.variables = def.variables.clone();
    instance.defined_by = def.defined_by.clone();
    if def.timeout_seconds > 0 {
        instance.deadline = Some(now + def.timeout_seconds as i64 * 1000);
    }
    instance
}

/// Applies `event` to `instance` and returns the effects to perform once the new state is stored.
pub fn step(instance: &mut Instance, def: &WorkflowDef, event: Event, cx: &mut Step<'_>) -> Vec<Action> {
    let mut made = dynamic::Made::of(instance);
    let mut run = run::Run::new(instance, def, &made, cx, run::FUEL);
    run.handle(event);
    let (mut remade, mut fuel) = (run.remade, run.fuel);
    let mut actions = run.finish();
    // A pass that made tasks (FORK_JOIN_DYNAMIC, DYNAMIC) ends there; the next one runs them.
    // Each pass spends fuel, so a loop that makes tasks in every iteration yields in time.
    while remade {
        made = dynamic::Made::of(instance);
        let mut run = run::Run::new(instance, def, &made, cx, fuel);
        if run.fuel == 0 {
            run.actions.push(Action::Yield);
        } else if run.inst.status == WorkflowStatus::Running {
            run.fuel -= 1;
            run.advance();
        }
        (remade, fuel) = (run.remade, run.fuel);
        actions.extend(run.finish());
    }
    // Every task left uncreated when the fuel ran out asked for a turn; one is enough (a fork of
    // many branches otherwise queued one continuation per branch, each doing it again).
    let mut yielded = false;
    actions.retain(|a| !matches!(a, Action::Yield) || !std::mem::replace(&mut yielded, true));
    actions
}

#[cfg(test)]
mod tests;
