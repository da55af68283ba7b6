//! Workflow definitions: the checked form the interpreter runs.
//!
//! [`raw`] holds what the user wrote; [`build`] turns it into [`WorkflowDef`] while collecting every
//! problem. Past that boundary a task type is an enum arm, a jq filter has compiled and a retry
//! policy is valid.

pub mod build;
pub mod cycles;
pub mod fields;
pub mod loop_condition;
pub mod raw;
pub mod trigger;
pub(crate) mod typed;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// A checked workflow definition.
#[derive(Debug, Clone)]
pub struct WorkflowDef {
    /// Workflow name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// Free text.
    pub description: Option<String>,
    /// The top-level task list.
    pub tasks: Vec<Task>,
    /// Output template; `None` means "the last task's output".
    pub output_parameters: Option<Map<String, Value>>,
    /// Workflow started when an instance fails.
    pub failure_workflow: Option<String>,
    /// Whole-instance time limit in seconds; 0 means none.
    pub timeout_seconds: u64,
    /// What a timeout does.
    pub timeout_policy: WorkflowTimeoutPolicy,
    /// Initial variables.
    pub variables: Map<String, Value>,
    /// Default input values.
    pub input_template: Map<String, Value>,
    /// Whether a completed instance may be restarted (`restartable`, default true).
    pub restartable: bool,
    /// The HTTP route under `/api/` that starts it, if any.
    pub http: Option<trigger::HttpTrigger>,
    /// How long its ended instances are kept, where it differs from the global default.
    pub retention: Option<crate::retention::Retention>,
    /// Where its instances' status changes are published, when they are
    /// (`workflowStatusListenerEnabled`).
    pub status_listener: Option<StatusListener>,
    /// The definition as written, returned by APIs and kept with instances.
    pub source: Value,
    /// Who wrote it: the config directory, or the API token that stored it. Its instances act
    /// with this authority ([`crate::principal`]).
    pub defined_by: crate::principal::Principal,
}

/// A workflow's status listener (`workflowStatusListenerEnabled`, `workflowStatusListenerSink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListener {
    /// A sink (`amqp_exchange:status`) or an `http(s)://` URL; `None`: the server's default.
    pub sink: Option<String>,
}

impl WorkflowDef {
    /// A stand-in for a definition that is no longer loaded, with no tasks: enough to end an
    /// instance of it (an operator's terminate), not to run one.
    pub fn gone(name: &str, version: u32) -> Self {
        Self {
            name: name.to_string(),
            version,
            description: None,
            tasks: Vec::new(),
            output_parameters: None,
            failure_workflow: None,
            timeout_seconds: 0,
            timeout_policy: WorkflowTimeoutPolicy::AlertOnly,
            variables: Map::new(),
            input_template: Map::new(),
            restartable: true,
            http: None,
            retention: None,
            status_listener: None,
            source: Value::Null,
            defined_by: crate::principal::Principal::System,
        }
    }

    /// Finds a task anywhere in the tree by its reference name.
    pub fn find_task(&self, ref_name: &str) -> Option<&Task> {
        let mut found = None;
        each(&self.tasks, &mut |t| {
            if found.is_none() && t.ref_name == ref_name {
                found = Some(t);
            }
        });
        found
    }

    /// Names of environment variables the definition reads with `${env.NAME}`.
    pub fn env_references(&self) -> Vec<String> {
        let mut out = Vec::new();
        each(&self.tasks, &mut |t| {
            let refs = crate::params::references(&serde_json::Value::Object(t.input.clone()), "");
            out.extend(refs.into_iter().filter_map(|(_, r)| r.strip_prefix("env.").map(str::to_string)));
        });
        out.sort();
        out.dedup();
        out
    }
}

/// Calls `f` for every task in `tasks` and below, depth first. The one walk of the task tree
/// for code that needs no field paths (the interpreter's indexes, reference scans).
pub fn each<'a>(tasks: &'a [Task], f: &mut dyn FnMut(&'a Task)) {
    for t in tasks {
        f(t);
        for list in t.children() {
            each(list, f);
        }
    }
}

/// Calls `f` for every task in `tasks` and below with its field path under `path`, such as
/// `tasks[2].decisionCases.big[0]`, for located diagnostics on a fully built definition.
pub fn walk<'a>(tasks: &'a [Task], path: &str, f: &mut dyn FnMut(&'a Task, &str)) {
    for (i, t) in tasks.iter().enumerate() {
        let here = format!("{path}[{i}]");
        f(t, &here);
        for (field, list) in t.child_lists() {
            walk(list, &format!("{here}{field}"), f);
        }
    }
}

/// Why `name` cannot name a workflow or schedule, if it cannot. Names appear in URLs, file names
/// and logs, so they take what instance ids take (without `:`, which Conductor refuses in names):
/// letters, digits, `_`, `-`, `.` and spaces, at most 200, not starting with `.` or a space.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.chars().count() > 200 {
        return Some("is longer than 200 characters");
    }
    if name.starts_with(['.', ' ']) {
        return Some("may not start with `.` or a space");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ');
    (!name.chars().all(allowed)).then_some("may contain only letters, digits, `_`, `-`, `.` and spaces")
}

/// Conductor's workflow `timeoutPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowTimeoutPolicy {
    /// The instance ends as `TIMED_OUT`.
    TimeOutWorkflow,
    /// Only logged; the instance goes on.
    AlertOnly,
}

/// One checked task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Task name.
    pub name: String,
    /// Unique reference name.
    pub ref_name: String,
    /// The task type and its type-specific settings.
    pub kind: TaskKind,
    /// Input template.
    pub input: Map<String, Value>,
    /// A failure completes the task as `COMPLETED_WITH_ERRORS` instead of failing the instance.
    pub optional: bool,
    /// A failure (when not `optional`) lets the instance go on; the JOIN waiting for the task
    /// fails once all it waits for have ended, and the instance fails instead of completing
    /// (Conductor's `permissive`).
    pub permissive: bool,
    /// Delay before the task starts, in seconds.
    pub start_delay: u64,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// Per-attempt time limit.
    pub timeout: Option<TaskTimeout>,
    /// For SIMPLE tasks: how long a worker that polled the task may take to report before the
    /// attempt times out and the task goes to another worker (`responseTimeoutSeconds`).
    pub response_timeout_seconds: Option<u64>,
    /// For SIMPLE tasks: how long the task may wait for a worker to poll it before it times out
    /// (`pollTimeoutSeconds`).
    pub poll_timeout_seconds: Option<u64>,
}

impl Task {
    /// Conductor's name for this task's type.
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// Nested task lists with the field that holds each, as written in the definition:
    /// `.decisionCases.<case>`, `.defaultCase`, `.loopOver`, `.forkTasks[<n>]`.
    pub fn child_lists(&self) -> Vec<(String, &Vec<Task>)> {
        match &self.kind {
            TaskKind::Switch(s) => s
                .cases
                .iter()
                .map(|(case, l)| (format!(".decisionCases.{case}"), l))
                .chain(std::iter::once((".defaultCase".to_string(), &s.default_case)))
                .collect(),
            TaskKind::DoWhile(d) => vec![(".loopOver".to_string(), &d.body)],
            TaskKind::ForkJoin { branches } => {
                branches.iter().enumerate().map(|(b, l)| (format!(".forkTasks[{b}]"), l)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Nested task lists (branches, loop bodies), in order; [`Task::child_lists`] without the
    /// field names, and without allocating.
    pub fn children(&self) -> Box<dyn Iterator<Item = &Vec<Task>> + '_> {
        match &self.kind {
            TaskKind::Switch(s) => Box::new(s.cases.iter().map(|(_, l)| l).chain(std::iter::once(&s.default_case))),
            TaskKind::DoWhile(d) => Box::new(std::iter::once(&d.body)),
            TaskKind::ForkJoin { branches } => Box::new(branches.iter()),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// The closed set of task types; a new type is one arm here plus its module in the interpreter.
#[derive(Debug, Clone)]
pub enum TaskKind {
    /// An HTTP call (`http_request` input).
    Http,
    /// A JavaScript or value-param evaluation.
    Inline,
    /// Conductor's older LAMBDA: the body of a JavaScript function (`scriptExpression`) over
    /// `$`, the task's input; its return value is `result`.
    Lambda,
    /// A jq program over the inputs.
    JsonJq {
        /// The query when it is a literal, compiled at load time to catch syntax errors.
        query: Option<Arc<str>>,
    },
    /// Chooses a branch.
    Switch(Switch),
    /// Runs a body until a condition is false.
    DoWhile(DoWhile),
    /// Waits for a duration, until a time, or for a signal.
    Wait,
    /// Waits for a person (or any system) to complete it: a raised event or a task update.
    Human,
    /// Runs in an external worker that polls for it by the task's name (Conductor's worker
    /// protocol).
    Simple,
    /// Sets workflow variables.
    SetVariable,
    /// Conductor's START_WORKFLOW: starts `inputParameters.startWorkflow` (`name`, `version`,
    /// `input`, `correlationId`) as a workflow of its own, committed with this step; output
    /// `{workflowId}`.
    StartWorkflow,
    /// Conductor's EVENT: publishes its output as a message to `sink`.
    Event {
        /// The queue, as written (`${...}` resolved when it starts): `TYPE:NAME` ([`crate::sink`]).
        sink: String,
        /// Stays in progress after publishing, until completed from outside.
        async_complete: bool,
    },
    /// Does nothing and completes (Conductor's `NOOP`, a placeholder, e.g. an empty SWITCH case).
    Noop,
    /// Ends the instance.
    Terminate,
    /// Starts a child instance and waits for it.
    SubWorkflow {
        /// Child workflow name.
        name: String,
        /// Child version; latest when `None`.
        version: Option<u32>,
        /// The child's own definition, when it brings one (an object, or a `${...}` reference
        /// resolved when the child starts) instead of naming a loaded workflow.
        definition: Option<Value>,
    },
    /// Runs branches in parallel.
    ForkJoin {
        /// The branches.
        branches: Vec<Vec<Task>>,
    },
    /// Reports an observation to the alert lifecycle of a dedup key (vigil's own task type).
    Alert,
    /// Asks a monitor source (`INFLUXDB_QUERY`, `PROMETHEUS_QUERY`, `SQL_QUERY`, `HTTP_CHECK`, or
    /// Conductor's `JDBC` with a `url`): the inputs are the source's settings, the output its
    /// series.
    Query {
        /// The source; its own declaration names the task type.
        source: crate::source_kind::SourceKind,
        /// Written as Conductor's `JDBC` (shown as such).
        jdbc: bool,
    },
    /// Stores a secret (Orkes' `UPDATE_SECRET`): `_secrets.secretKey` names it,
    /// `_secrets.secretValue` is the new value, which is masked everywhere the instance is stored.
    UpdateSecret,
    /// Sets the status and output of a task waiting to be completed from outside (Orkes'
    /// `UPDATE_TASK`), in this or another instance.
    UpdateTask,
    /// Runs branches chosen at run time (Conductor's `FORK_JOIN_DYNAMIC`): each task of a list
    /// in its input becomes a branch, joined by the JOIN that follows it.
    ForkJoinDynamic(DynamicFork),
    /// Runs the worker task whose name is in its input (Conductor's `DYNAMIC`).
    Dynamic {
        /// The input parameter holding the task's name (`dynamicTaskNameParam`).
        name_param: String,
    },
    /// Takes the output of whichever branch ran (Conductor's `EXCLUSIVE_JOIN`).
    ExclusiveJoin {
        /// The references looked at first, in order.
        join_on: Vec<String>,
        /// The references looked at when none of `join_on` ran (`defaultExclusiveJoinTask`).
        defaults: Vec<String>,
    },
    /// Waits for forked tasks.
    Join {
        /// The references waited for.
        join_on: Vec<String>,
    },
}

impl TaskKind {
    /// Conductor's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::Http => "HTTP",
            TaskKind::Inline => "INLINE",
            TaskKind::Lambda => "LAMBDA",
            TaskKind::JsonJq { .. } => "JSON_JQ_TRANSFORM",
            TaskKind::Switch(s) if s.decision => "DECISION",
            TaskKind::Switch(_) => "SWITCH",
            TaskKind::DoWhile(_) => "DO_WHILE",
            TaskKind::Wait => "WAIT",
            TaskKind::Human => "HUMAN",
            TaskKind::Simple => "SIMPLE",
            TaskKind::SetVariable => "SET_VARIABLE",
            TaskKind::StartWorkflow => "START_WORKFLOW",
            TaskKind::Event { .. } => "EVENT",
            TaskKind::Noop => "NOOP",
            TaskKind::Terminate => "TERMINATE",
            TaskKind::SubWorkflow { .. } => "SUB_WORKFLOW",
            TaskKind::ForkJoin { .. } => "FORK_JOIN",
            TaskKind::Join { .. } => "JOIN",
            TaskKind::ExclusiveJoin { .. } => "EXCLUSIVE_JOIN",
            TaskKind::ForkJoinDynamic(_) => "FORK_JOIN_DYNAMIC",
            TaskKind::Dynamic { .. } => "DYNAMIC",
            TaskKind::Alert => "ALERT",
            TaskKind::UpdateSecret => "UPDATE_SECRET",
            TaskKind::UpdateTask => "UPDATE_TASK",
            TaskKind::Query { jdbc: true, .. } => "JDBC",
            // Built only from a source's own task type (`SourceKind::from_task_type`).
            TaskKind::Query { source, .. } => source.task_type().unwrap_or_default(),
        }
    }
}

/// SWITCH settings.
#[derive(Debug, Clone)]
pub struct Switch {
    /// How the case value is computed.
    pub evaluator: Evaluator,
    /// Parameter name (value-param) or script (javascript).
    pub expression: String,
    /// Case value → branch, in definition order.
    pub cases: Vec<(String, Vec<Task>)>,
    /// Branch when no case matches.
    pub default_case: Vec<Task>,
    /// Written as Conductor's older DECISION: reported as such, with `caseOutput`.
    pub decision: bool,
}

impl Switch {
    /// The output key holding the chosen case as a one-element list: DECISION's `caseOutput`,
    /// SWITCH's `evaluationResult`.
    pub fn case_key(&self) -> &'static str {
        if self.decision { "caseOutput" } else { "evaluationResult" }
    }
}

/// An evaluator type, as INLINE and SWITCH name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluator {
    /// `value-param`: the value of the named input parameter.
    ValueParam,
    /// `javascript` / `graaljs`: an embedded JavaScript engine.
    JavaScript,
}

/// Where a FORK_JOIN_DYNAMIC finds its tasks in its resolved input. As in Conductor's
/// `ForkJoinDynamicTaskMapper`, a `forkTaskInputs` list in the input comes first (one task of
/// `forkTaskName`/`forkTaskType`, or a `forkTaskWorkflow` sub-workflow, per item); then the
/// list named by `dynamicForkTasksParam` with the inputs named by
/// `dynamicForkTasksInputParamName`; then the older `dynamicForkJoinTasksParam`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicFork {
    /// `dynamicForkTasksParam`: the input parameter holding a list of Conductor task definitions.
    pub tasks_param: Option<String>,
    /// `dynamicForkTasksInputParamName`: the input parameter holding each task's input, keyed by
    /// reference name.
    pub input_param: Option<String>,
    /// `dynamicForkJoinTasksParam`: the input parameter holding
    /// `{"dynamicTasks": [{"taskName", "referenceName", "type", "input"}]}`.
    pub legacy_param: Option<String>,
}

/// DO_WHILE settings.
#[derive(Debug, Clone)]
pub struct DoWhile {
    /// JavaScript; the loop repeats while it is true. `None` with `items` iterates over the list.
    pub condition: Option<String>,
    /// The body.
    pub body: Vec<Task>,
    /// Keep only the last N iterations' task executions and outputs (0 keeps all).
    pub keep_last_n: u32,
}

/// Conductor's retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub count: u32,
    /// How the delay grows.
    pub logic: RetryLogic,
    /// Base delay in seconds.
    pub delay_seconds: u64,
    /// Multiplier for linear backoff.
    pub backoff_scale_factor: u32,
    /// Most seconds a computed delay may be (`maxRetryDelaySeconds`); 0 for no cap.
    pub max_delay_seconds: u64,
    /// Up to this many milliseconds are added to each delay (`backoffJitterMs`), so that tasks
    /// that failed together do not retry together.
    pub jitter_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            count: 0,
            logic: RetryLogic::Fixed,
            delay_seconds: 0,
            backoff_scale_factor: 1,
            max_delay_seconds: 0,
            jitter_ms: 0,
        }
    }
}

impl RetryPolicy {
    /// Delay in seconds before retry number `retry` (1 for the first retry), as Conductor's
    /// DeciderService computes it: by `retryLogic`, then capped by `maxRetryDelaySeconds`.
    pub fn delay_seconds(&self, retry: u32) -> u64 {
        let base = self.delay_seconds;
        let n = retry.max(1) as u64;
        let delay = match self.logic {
            RetryLogic::Fixed => base,
            RetryLogic::ExponentialBackoff => base.saturating_mul(1u64 << (n - 1).min(30)),
            RetryLogic::LinearBackoff => base.saturating_mul(self.backoff_scale_factor as u64 * n),
        };
        if self.max_delay_seconds > 0 { delay.min(self.max_delay_seconds) } else { delay }
    }

    /// [`RetryPolicy::delay_seconds`] in milliseconds plus the jitter, a share of `jitter_ms`
    /// that `seed` picks (the same seed, the same jitter: the interpreter stays deterministic).
    pub fn delay_millis(&self, retry: u32, seed: &str) -> i64 {
        let jitter = if self.jitter_ms == 0 { 0 } else { fnv1a(seed) % (self.jitter_ms + 1) };
        (self.delay_seconds(retry).saturating_mul(1000).saturating_add(jitter)).min(i64::MAX as u64) as i64
    }
}

/// FNV-1a, to spread jitter without a random source.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Conductor's `retryLogic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryLogic {
    /// The same delay each time.
    Fixed,
    /// `delay * 2^(retry-1)`.
    ExponentialBackoff,
    /// `delay * backoffScaleFactor * retry`.
    LinearBackoff,
}

/// A per-attempt time limit and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskTimeout {
    /// Seconds.
    pub seconds: u64,
    /// What happens when it passes.
    pub policy: TaskTimeoutPolicy,
}

/// Conductor's task `timeoutPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTimeoutPolicy {
    /// The attempt is `TIMED_OUT` and retried while retries remain.
    Retry,
    /// The instance ends as `TIMED_OUT`.
    TimeOutWorkflow,
    /// Only logged.
    AlertOnly,
}

/// All loaded workflow definitions, by name and version, and the registered task definitions
/// (which tasks made at run time, by FORK_JOIN_DYNAMIC and DYNAMIC, take their settings from).
#[derive(Debug, Clone, Default)]
pub struct WorkflowSet {
    by_name: HashMap<String, Vec<Arc<WorkflowDef>>>,
    task_defs: Arc<Map<String, Value>>,
}

/// For a `failureWorkflow` taken from the input (`$workflow.input.KEY`, as Conductor writes it,
/// or `${workflow.input.KEY}`): `Some(Some(KEY))`; `Some(None)` for another `$` reference, which
/// cannot name one; `None` for a plain name.
pub fn failure_workflow_input_key(spec: &str) -> Option<Option<&str>> {
    let path = spec.strip_prefix("${").and_then(|s| s.strip_suffix('}')).or_else(|| spec.strip_prefix('$'))?;
    Some(path.strip_prefix("workflow.input.").filter(|k| !k.is_empty() && !k.contains('.')))
}

impl WorkflowSet {
    /// Replaces the registered task definitions (Conductor's `TaskDef` JSON, by name).
    pub fn set_task_defs(&mut self, task_defs: Map<String, Value>) {
        self.task_defs = Arc::new(task_defs);
    }

    /// The registered task definition of `name`.
    pub fn task_def(&self, name: &str) -> Option<&Value> {
        self.task_defs.get(name)
    }

    /// Checks a definition an instance brings with it (Conductor's inline `workflowDef`), with
    /// the registered task definitions applied as for a registered one.
    pub fn build_inline(&self, doc: &Value) -> Result<WorkflowDef, Vec<crate::diagnostic::Problem>> {
        let mut doc = doc.clone();
        build::apply_task_defs(&mut doc, &self.task_defs);
        match build::build_workflow(&doc) {
            (Some(def), _) => Ok(def),
            (None, problems) => {
                Err(problems.into_iter().filter(|p| p.severity == crate::diagnostic::Severity::Error).collect())
            }
        }
    }

    /// Whether `instance` has a definition to run: its own, or a loaded one (no building).
    pub fn knows(&self, instance: &crate::instance::Instance) -> bool {
        instance.definition.is_some() || self.get(&instance.workflow_name, Some(instance.workflow_version)).is_some()
    }

    /// The definition `instance` runs: its own, or the loaded one of its name and version.
    pub fn for_instance(&self, instance: &crate::instance::Instance) -> Option<Arc<WorkflowDef>> {
        match &instance.definition {
            Some(doc) => self.build_inline(doc).ok().map(Arc::new),
            None => self.get(&instance.workflow_name, Some(instance.workflow_version)),
        }
    }

    /// Adds or replaces a definition.
    pub fn insert(&mut self, def: WorkflowDef) {
        let versions = self.by_name.entry(def.name.clone()).or_default();
        versions.retain(|d| d.version != def.version);
        versions.push(Arc::new(def));
        versions.sort_by_key(|d| d.version);
    }

    /// A definition by name; the highest version when `version` is `None`.
    pub fn get(&self, name: &str, version: Option<u32>) -> Option<Arc<WorkflowDef>> {
        let versions = self.by_name.get(name)?;
        match version {
            Some(v) => versions.iter().find(|d| d.version == v).cloned(),
            None => versions.last().cloned(),
        }
    }

    /// Whether a workflow of that name is loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// All names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The highest version of each name.
    pub fn latest(&self) -> impl Iterator<Item = &Arc<WorkflowDef>> {
        self.by_name.values().filter_map(|versions| versions.last())
    }

    /// Every definition, all versions.
    pub fn all(&self) -> impl Iterator<Item = &Arc<WorkflowDef>> {
        self.by_name.values().flatten()
    }

    /// Removes one version, or every version when `version` is `None`; returns how many.
    pub fn remove(&mut self, name: &str, version: Option<u32>) -> usize {
        let Some(versions) = self.by_name.get_mut(name) else { return 0 };
        let before = versions.len();
        versions.retain(|d| version.is_some_and(|v| d.version != v));
        let removed = before - versions.len();
        if versions.is_empty() {
            self.by_name.remove(name);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::build::build_workflow;
    use super::*;

    #[test]
    fn a_reference_to_a_task_that_runs_later_is_warned_about() {
        let warnings = |doc: serde_json::Value| -> Vec<String> {
            build_workflow(&doc)
                .1
                .into_iter()
                .filter(|p| p.severity == crate::diagnostic::Severity::Warning)
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect()
        };
        let set = |r: &str, x: &str| json!({"name": r, "taskReferenceName": r, "type": "SET_VARIABLE", "inputParameters": {"x": x}});
        let later = warnings(json!({"name": "w", "tasks": [set("a", "${b.output.x}"), set("b", "1")]}));
        assert!(
            later.iter().any(|w| w.starts_with("tasks[0].inputParameters.x") && w.contains("runs later")),
            "{later:?}"
        );
        assert!(warnings(json!({"name": "w", "tasks": [set("a", "1"), set("b", "${a.output.x}")]})).is_empty());
        // Inside one loop, a task may read what a later one wrote in the previous iteration.
        let looped = json!({"name": "w", "tasks": [{"name": "l", "taskReferenceName": "l", "type": "DO_WHILE",
            "loopCondition": "false", "loopOver": [set("a", "${b.output.x}"), set("b", "1")]}]});
        assert!(warnings(looped).iter().all(|w| !w.contains("runs later")));
    }

    #[test]
    fn retry_delays_follow_conductor_formulas() {
        let policy = |logic, scale| RetryPolicy {
            count: 5,
            logic,
            delay_seconds: 2,
            backoff_scale_factor: scale,
            ..RetryPolicy::default()
        };
        let delays = |p: RetryPolicy| (1..=4).map(|n| p.delay_millis(n, "seed")).collect::<Vec<_>>();
        assert_eq!(delays(policy(RetryLogic::Fixed, 1)), [2_000, 2_000, 2_000, 2_000]);
        assert_eq!(delays(policy(RetryLogic::ExponentialBackoff, 1)), [2_000, 4_000, 8_000, 16_000]);
        assert_eq!(delays(policy(RetryLogic::LinearBackoff, 3)), [6_000, 12_000, 18_000, 24_000]);
        // maxRetryDelaySeconds caps the computed delay; the jitter comes on top, within its bound.
        let capped = RetryPolicy { max_delay_seconds: 3, ..policy(RetryLogic::ExponentialBackoff, 1) };
        assert_eq!((1..=3).map(|n| capped.delay_seconds(n)).collect::<Vec<_>>(), [2, 3, 3]);
        let jittery = RetryPolicy { jitter_ms: 2_000, ..capped };
        let spread: std::collections::HashSet<i64> =
            (0..50).map(|i| jittery.delay_millis(2, &format!("wf{i}~1"))).collect();
        assert!(spread.iter().all(|d| (3_000..=5_000).contains(d)), "{spread:?}");
        assert!(spread.len() > 10, "different tasks get different jitter: {spread:?}");
        assert_eq!(jittery.delay_millis(2, "wf1~1"), jittery.delay_millis(2, "wf1~1"));
    }

    fn errors(tasks: serde_json::Value) -> Vec<String> {
        let (_, problems) = build_workflow(&json!({"name": "w", "tasks": tasks}));
        problems
            .into_iter()
            .filter(|p| p.severity == crate::diagnostic::Severity::Error)
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn dynamic_tasks_are_checked_as_conductor_checks_them() {
        let join = json!({"name": "j", "taskReferenceName": "j", "type": "JOIN"});
        let fork = |extra: serde_json::Value| {
            let mut f = json!({"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN_DYNAMIC"});
            f.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            f
        };
        let both = json!({"dynamicForkTasksParam": "t", "dynamicForkTasksInputParamName": "i"});
        assert!(errors(json!([fork(both.clone()), join])).is_empty());
        assert!(errors(json!([fork(json!({"inputParameters": {"forkTaskInputs": []}})), join])).is_empty());
        assert!(errors(json!([fork(json!({"dynamicForkJoinTasksParam": "d"})), join])).is_empty());
        let half = errors(json!([fork(json!({"dynamicForkTasksParam": "t"})), join]));
        assert_eq!(half.len(), 1, "{half:?}");
        assert!(half[0].starts_with("tasks[0].dynamicForkTasksInputParamName: "), "{half:?}");
        assert!(errors(json!([fork(both)])).is_empty(), "a warning, as Conductor loads it");
        let dynamic = errors(json!([{"name": "d", "taskReferenceName": "d", "type": "DYNAMIC"}]));
        assert!(dynamic[0].starts_with("tasks[0].dynamicTaskNameParam: "), "{dynamic:?}");
    }
}
