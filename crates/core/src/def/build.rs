//! Turns a parsed document into a [`WorkflowDef`], collecting every problem with its field path.

use crate::source_kind::SourceKind;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::fields::*;
use super::raw::{TaskConfig, TaskDefConfig, WorkflowDefConfig};
use super::typed::typed;
use super::*;
use crate::diagnostic::{Problem, did_you_mean};
use crate::locate::join_key;
use crate::params::{Found, WORKFLOW_FIELDS, find_all};
use crate::task_types::{TaskType, Timeout};

/// Checks a workflow document. Returns the definition when there is no error, and all problems
/// (errors and warnings) either way.
pub fn build_workflow(doc: &Value) -> (Option<WorkflowDef>, Vec<Problem>) {
    let mut b = Builder::default();
    let def = b.workflow(doc);
    let def = if b.problems.iter().any(|p| p.severity == crate::diagnostic::Severity::Error) { None } else { def };
    (def, b.problems)
}

/// Gives every task of a workflow document without its own `taskDefinition` the registered one
/// of its name (system tasks too: Conductor applies a WAIT task's timeouts from a task
/// definition of its name).
pub fn apply_task_defs(doc: &mut Value, taskdefs: &Map<String, Value>) {
    fn walk(tasks: &mut Value, taskdefs: &Map<String, Value>) {
        let Some(list) = tasks.as_array_mut() else { return };
        for task in list {
            if task.get("taskDefinition").is_none()
                && let Some(def) = task.get("name").and_then(Value::as_str).and_then(|n| taskdefs.get(n)).cloned()
            {
                task["taskDefinition"] = def;
            }
            for key in ["loopOver", "defaultCase"] {
                if let Some(inner) = task.get_mut(key) {
                    walk(inner, taskdefs);
                }
            }
            if let Some(cases) = task.get_mut("decisionCases").and_then(Value::as_object_mut) {
                cases.values_mut().for_each(|c| walk(c, taskdefs));
            }
            if let Some(branches) = task.get_mut("forkTasks").and_then(Value::as_array_mut) {
                branches.iter_mut().for_each(|b| walk(b, taskdefs));
            }
        }
    }
    if !taskdefs.is_empty()
        && let Some(tasks) = doc.get_mut("tasks")
    {
        walk(tasks, taskdefs);
    }
}

/// Checks one task made at run time (a FORK_JOIN_DYNAMIC's branch, the task a DYNAMIC names):
/// the task, or its errors located under `path`. References to other tasks are not checked,
/// since they may point anywhere in the running instance.
pub fn build_task(value: &Value, path: &str) -> Result<Task, Vec<Problem>> {
    let mut b = Builder::default();
    let task = b.task(value, path);
    let errors: Vec<Problem> =
        b.problems.into_iter().filter(|p| p.severity == crate::diagnostic::Severity::Error).collect();
    match task {
        Some(task) if errors.is_empty() => Ok(task),
        _ => Err(errors),
    }
}

/// Checks a definition and builds its tasks, collecting every problem; each task type's module
/// (`crate::task_types`) adds the method that checks that type.
#[derive(Default)]
pub(crate) struct Builder {
    /// Errors and warnings so far, each with its field path.
    pub(crate) problems: Vec<Problem>,
    /// Reference names seen so far, each with the path where it was first used.
    refs: Vec<(String, String)>,
}

/// What a field vigil does not know earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// An error: vigil's own formats (monitors), where a misspelt field would change nothing.
    Refused,
    /// A warning: Conductor's formats (workflows, tasks, schedules), whose server ignores
    /// properties it does not know, so definitions written for it load unchanged. `vigil validate
    /// --strict` counts the warning as an error.
    Ignored,
}

/// Reports keys that vigil doesn't know: a warning for Conductor's ignored fields (and, with
/// [`Unknown::Ignored`], for any other), an error otherwise.
pub(crate) fn check_keys(
    obj: &Map<String, Value>,
    path: &str,
    (supported, ignored): (&[&str], &[&str]),
    what: &str,
    unknown: Unknown,
    problems: &mut Vec<Problem>,
) {
    for (key, value) in obj {
        if supported.contains(&key.as_str()) || METADATA.contains(&key.as_str()) {
            continue;
        }
        let at = join_key(path, key);
        if ignored.contains(&key.as_str()) {
            // Conductor exports write every field; only a value that asks for behaviour matters.
            if asks_for_behaviour(key, value) {
                problems.push(Problem::warning(at, format!("`{key}` is a Conductor field that vigil ignores")));
            }
        } else {
            let hint = did_you_mean(key, supported.iter().chain(ignored).copied());
            let problem = match unknown {
                Unknown::Refused => Problem::error(at, format!("unknown {what} field `{key}`")),
                Unknown::Ignored => {
                    Problem::warning(at, format!("unknown {what} field `{key}` is ignored, as Conductor ignores it"))
                }
            };
            problems.push(problem.with_hint(hint));
        }
    }
}

/// Whether an ignored field's value asks for behaviour vigil lacks. `restartable` defaults to true.
fn asks_for_behaviour(key: &str, value: &Value) -> bool {
    if key == "restartable" { value == &Value::Bool(false) } else { !is_unset(value) }
}

/// Whether a value is what Conductor writes for "not set": null, false, 0, "" or empty.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

impl Builder {
    fn workflow(&mut self, doc: &Value) -> Option<WorkflowDef> {
        let Some(obj) = doc.as_object() else {
            self.problems.push(Problem::error("", "a workflow definition must be an object"));
            return None;
        };
        let fields = (WORKFLOW_SUPPORTED, WORKFLOW_IGNORED);
        check_keys(obj, "", fields, "workflow", Unknown::Ignored, &mut self.problems);
        let raw: WorkflowDefConfig = typed(doc, "", &mut self.problems)?;
        if raw.name.trim().is_empty() {
            self.problems.push(Problem::error("name", "the workflow name is empty"));
        } else if let Some(why) = crate::def::name_problem(&raw.name) {
            self.problems.push(Problem::error("name", format!("workflow name `{}` {why}", raw.name)));
        }
        if let Some(v) = raw.schema_version.filter(|v| *v != 2) {
            self.problems.push(Problem::warning("schemaVersion", format!("schemaVersion {v} is treated as 2")));
        }
        let timeout_policy = match raw.timeout_policy.as_deref() {
            None | Some("TIME_OUT_WF") => WorkflowTimeoutPolicy::TimeOutWorkflow,
            Some("ALERT_ONLY") => WorkflowTimeoutPolicy::AlertOnly,
            Some(other) => {
                self.bad_enum("timeoutPolicy", other, &["TIME_OUT_WF", "ALERT_ONLY"]);
                WorkflowTimeoutPolicy::TimeOutWorkflow
            }
        };
        if raw.tasks.is_empty() {
            self.problems.push(Problem::error("tasks", "a workflow needs at least one task"));
        }
        let tasks = self.task_list(&raw.tasks, "tasks");
        self.check_references(&raw, &tasks);
        let http = raw.http.as_ref().and_then(|h| crate::def::trigger::build(h, "http", &mut self.problems));
        let retention = raw.retention.as_ref().and_then(|r| {
            crate::retention::build(r, "retention", crate::retention::Owner::Workflow, &mut self.problems)
        });
        if let Some(sink) = raw.workflow_status_listener_sink.as_deref().map(str::trim).filter(|s| !s.is_empty())
            && !sink.starts_with("http://")
            && !sink.starts_with("https://")
            && let Err(e) = crate::sink::split(sink)
        {
            self.problems.push(Problem::error(
                "workflowStatusListenerSink",
                format!("{e}, or an http(s):// URL to post CloudEvents to"),
            ));
        }
        Some(WorkflowDef {
            name: raw.name,
            version: raw.version,
            description: raw.description,
            tasks,
            // As Conductor's DeciderService, an empty template means "the last task's output".
            output_parameters: raw.output_parameters.filter(|m| !m.is_empty()),
            failure_workflow: raw.failure_workflow.filter(|s| !s.is_empty()),
            timeout_seconds: raw.timeout_seconds,
            timeout_policy,
            variables: raw.variables,
            input_template: raw.input_template,
            http,
            retention,
            restartable: raw.restartable.unwrap_or(true),
            status_listener: raw
                .workflow_status_listener_enabled
                .then(|| StatusListener { sink: raw.workflow_status_listener_sink.filter(|s| !s.trim().is_empty()) }),
            source: doc.clone(),
            defined_by: crate::principal::Principal::System,
        })
    }

    /// Reports a JavaScript syntax error in a literal script.
    pub(crate) fn check_script(&mut self, script: &str, path: &str) {
        if script.contains("${") {
            return;
        }
        thread_local! {
            static CHECKER: std::cell::RefCell<crate::script::ScriptEngine> =
                std::cell::RefCell::new(crate::script::ScriptEngine::new(crate::script::ScriptLimits::default()));
        }
        if let Err(e) = CHECKER.with(|js| js.borrow_mut().check_syntax(script)) {
            self.problems.push(Problem::error(path, format!("JavaScript syntax error: {e}")));
        }
    }

    pub(crate) fn bad_enum(&mut self, path: &str, given: &str, allowed: &[&str]) {
        let hint = did_you_mean(given, allowed.iter().copied())
            .or_else(|| Some(format!("expected one of {}", allowed.join(", "))));
        self.problems.push(Problem::error(path, format!("unknown value `{given}`")).with_hint(hint));
    }

    pub(crate) fn task_list(&mut self, items: &[Value], path: &str) -> Vec<Task> {
        let tasks: Vec<(usize, Task)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((i, self.task(item, &format!("{path}[{i}]"))?)))
            .collect();
        for (n, (i, task)) in tasks.iter().enumerate() {
            let joined = tasks.get(n + 1).is_some_and(|(_, next)| matches!(next.kind, TaskKind::Join { .. }));
            if matches!(task.kind, TaskKind::ForkJoinDynamic(_)) && !joined {
                // Conductor loads it, and fails an instance that reaches the fork.
                self.problems.push(Problem::warning(
                    format!("{path}[{i}]"),
                    "a FORK_JOIN_DYNAMIC must be followed by a JOIN, which waits for the forked tasks; without one, \
                     an instance fails when it reaches the fork",
                ));
            }
            if matches!(task.kind, TaskKind::ForkJoin { .. }) && !joined {
                self.problems.push(Problem::warning(
                    format!("{path}[{i}]"),
                    "a FORK_JOIN is followed by a JOIN in Conductor; without one, the next task starts without \
                     waiting for the branches",
                ));
            }
        }
        tasks.into_iter().map(|(_, t)| t).collect()
    }

    fn task(&mut self, value: &Value, path: &str) -> Option<Task> {
        let Some(obj) = value.as_object() else {
            self.problems.push(Problem::error(path, "a task must be an object"));
            return None;
        };
        check_keys(obj, path, (TASK_SUPPORTED, TASK_IGNORED), "task", Unknown::Ignored, &mut self.problems);
        if let Some(Value::Object(td)) = obj.get("taskDefinition") {
            let at = join_key(path, "taskDefinition");
            let fields = (TASKDEF_SUPPORTED, TASKDEF_IGNORED);
            check_keys(td, &at, fields, "taskDefinition", Unknown::Ignored, &mut self.problems);
        }
        let raw: TaskConfig = typed(value, path, &mut self.problems)?;
        self.note_ref(&raw.task_reference_name, path);
        let type_name = raw.kind.clone().unwrap_or_else(|| "SIMPLE".into());
        let kind = self.kind(&raw, &type_name, path)?;
        if raw.async_complete && !matches!(kind, TaskKind::Event { .. }) {
            self.problems.push(Problem::warning(
                join_key(path, "asyncComplete"),
                "`asyncComplete` is a Conductor field that vigil ignores on this task type (it honours it on EVENT)",
            ));
        }
        // A worker's responseTimeoutSeconds is its lease; tasks that wait for something else to
        // complete them (Conductor's async-complete tasks) have no response to time out.
        let timeout_only = matches!(kind.timeout(), Timeout::Polled | Timeout::Waiting);
        let (retry, timeout) = self.retry_and_timeout(&raw, path, timeout_only);
        let response_timeout_seconds =
            raw.task_definition.as_ref().and_then(|td| td.response_timeout_seconds).filter(|s| *s > 0);
        let poll_timeout_seconds =
            raw.task_definition.as_ref().and_then(|td| td.poll_timeout_seconds).filter(|s| *s > 0);
        Some(Task {
            name: raw.name,
            ref_name: raw.task_reference_name,
            kind,
            input: raw.input_parameters,
            optional: raw.optional,
            permissive: raw.permissive,
            start_delay: raw.start_delay,
            retry,
            timeout,
            response_timeout_seconds,
            poll_timeout_seconds,
        })
    }

    fn note_ref(&mut self, name: &str, path: &str) {
        let at = join_key(path, "taskReferenceName");
        if name.trim().is_empty() {
            self.problems.push(Problem::error(at, "taskReferenceName is empty"));
        } else if name == "workflow" || name == "env" {
            self.problems.push(Problem::error(at, format!("`{name}` is reserved and can't be a taskReferenceName")));
        } else if let Some((_, first)) = self.refs.iter().find(|(r, _)| r == name) {
            let msg = format!("duplicate taskReferenceName `{name}` (first used at {first})");
            self.problems.push(Problem::error(at, msg));
        } else {
            self.refs.push((name.to_string(), path.to_string()));
        }
    }

    /// The task's type and its settings, checked by the type's own module (`crate::task_types`).
    fn kind(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<TaskKind> {
        let Some(own) = TaskType::from_name(type_name) else {
            return self.source_or_unknown_kind(raw, type_name, path);
        };
        match own {
            TaskType::Alert => self.build_alert(raw, path),
            TaskType::Http => self.build_http(raw, path),
            TaskType::Inline => self.build_inline(raw, path),
            TaskType::JsonJqTransform => self.build_json_jq(raw, path),
            TaskType::Switch | TaskType::Decision => self.build_switch(raw, type_name, path),
            TaskType::DoWhile => self.build_do_while(raw, path),
            TaskType::Wait => self.build_wait(raw, path),
            TaskType::Human => self.build_human(raw, path),
            TaskType::Simple => self.build_simple(raw, path),
            TaskType::SetVariable => self.build_set_variable(raw, path),
            TaskType::Noop => self.build_noop(raw, path),
            TaskType::Terminate => self.build_terminate(raw, path),
            TaskType::SubWorkflow => self.build_sub_workflow(raw, path),
            TaskType::ForkJoin => self.build_fork_join(raw, path),
            TaskType::Join => self.build_join(raw, path),
            TaskType::ExclusiveJoin => self.build_exclusive_join(raw, path),
            TaskType::Jdbc => self.build_jdbc(raw, path),
            TaskType::Lambda => self.build_lambda(raw, path),
            TaskType::UpdateSecret => self.build_update_secret(raw, path),
            TaskType::UpdateTask => self.build_update_task(raw, path),
            TaskType::Dynamic => self.build_dynamic(raw, path),
            TaskType::ForkJoinDynamic => self.build_fork_join_dynamic(raw, path),
            TaskType::StartWorkflow => self.build_start_workflow(raw, path),
            TaskType::Event => self.build_event(raw, path),
        }
    }

    /// A task type that is not vigil's own: a monitor source's (declared with the source), or
    /// one vigil does not run, named as such.
    fn source_or_unknown_kind(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<TaskKind> {
        if let Some(source) = SourceKind::from_task_type(type_name) {
            return Some(self.build_source_query(raw, source, path));
        }
        let other = type_name;
        let at = join_key(path, "type");
        if TASK_TYPES_UNSUPPORTED.contains(&other) {
            self.problems.push(Problem::error(
                at,
                format!("task type `{other}` is a Conductor type that vigil does not run yet"),
            ));
        } else {
            let hint = did_you_mean(other, task_types());
            self.problems.push(Problem::error(at, format!("unknown task type `{other}`")).with_hint(hint));
        }
        None
    }

    /// A SIMPLE task's `responseTimeoutSeconds` is a worker lease, renewed while the worker
    /// reports progress, and SUB_WORKFLOW, WAIT and HUMAN tasks wait for something else
    /// ([`Timeout::Polled`], [`Timeout::Waiting`]), so only `timeoutSeconds` limits their attempt
    /// (`timeout_only`); for other tasks the shorter of the two does.
    fn retry_and_timeout(
        &mut self,
        raw: &TaskConfig,
        path: &str,
        timeout_only: bool,
    ) -> (RetryPolicy, Option<TaskTimeout>) {
        let def_path = join_key(path, "taskDefinition");
        let td = raw.task_definition.clone().unwrap_or_default();
        let logic = match td.retry_logic.as_deref() {
            None | Some("FIXED") => RetryLogic::Fixed,
            Some("EXPONENTIAL_BACKOFF") => RetryLogic::ExponentialBackoff,
            Some("LINEAR_BACKOFF") => RetryLogic::LinearBackoff,
            Some(other) => {
                self.bad_enum(
                    &join_key(&def_path, "retryLogic"),
                    other,
                    &["FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"],
                );
                RetryLogic::Fixed
            }
        };
        let retry = RetryPolicy {
            count: raw.retry_count.or(td.retry_count).unwrap_or(0),
            logic,
            delay_seconds: td.retry_delay_seconds.unwrap_or(0),
            backoff_scale_factor: td.backoff_scale_factor.unwrap_or(1).max(1),
            max_delay_seconds: td.max_retry_delay_seconds.unwrap_or(0),
            jitter_ms: td.backoff_jitter_ms.unwrap_or(0),
        };
        let policy = match td.timeout_policy.as_deref() {
            None | Some("RETRY") => TaskTimeoutPolicy::Retry,
            Some("TIME_OUT_WF") => TaskTimeoutPolicy::TimeOutWorkflow,
            Some("ALERT_ONLY") => TaskTimeoutPolicy::AlertOnly,
            Some(other) => {
                self.bad_enum(&join_key(&def_path, "timeoutPolicy"), other, &["RETRY", "TIME_OUT_WF", "ALERT_ONLY"]);
                TaskTimeoutPolicy::Retry
            }
        };
        let seconds = if timeout_only { td.timeout_seconds.unwrap_or(0) } else { effective_timeout(&td) };
        (retry, (seconds > 0).then_some(TaskTimeout { seconds, policy }))
    }

    fn check_references(&mut self, raw: &WorkflowDefConfig, tasks: &[Task]) {
        let known: HashSet<&str> = self.refs.iter().map(|(r, _)| r.as_str()).collect();
        // The top-level step each task belongs to: a reference from step `a` to a task of a later
        // step `b` reads null (that task has not run), as a reference to no task does.
        let mut step_of: HashMap<String, usize> = HashMap::new();
        for (i, top) in tasks.iter().enumerate() {
            super::each(std::slice::from_ref(top), &mut |t| {
                step_of.insert(t.ref_name.clone(), i);
            });
        }
        let mut problems = Vec::new();
        let mut check = |value: &Value, path: &str, from_step: Option<usize>| {
            for (at, found) in find_all(value, path) {
                let reference = match found {
                    Found::Reference(r) => r,
                    Found::Unclosed(text) => {
                        problems
                            .push(Problem::error(at, format!("`{text}` opens `${{` but never closes it with `}}`")));
                        continue;
                    }
                };
                let mut parts = reference.split(['.', '[']);
                let head = parts.next().unwrap_or_default();
                if head == "workflow" {
                    let field = parts.next().unwrap_or_default();
                    if !WORKFLOW_FIELDS.contains(&field) {
                        let hint = did_you_mean(field, WORKFLOW_FIELDS);
                        let msg = format!("`${{{reference}}}` reads `workflow.{field}`, which is not a workflow field");
                        problems.push(Problem::warning(at, msg).with_hint(hint));
                    }
                    continue;
                }
                if let (Some(from), Some(&to)) = (from_step, step_of.get(head))
                    && to > from
                {
                    let msg = format!(
                        "`${{{reference}}}` refers to task `{head}`, which runs later in the workflow (it reads null here)"
                    );
                    problems.push(Problem::warning(at, msg));
                    continue;
                }
                if head == "env"
                    || known.contains(head)
                    || crate::params::SYSTEM_PARAMETERS.contains(&reference.as_str())
                {
                    continue;
                }
                // Conductor resolves it to null; so does vigil, with a word here.
                let hint = did_you_mean(head, known.iter().copied());
                let msg = format!("`${{{reference}}}` refers to task `{head}`, which does not exist (it reads null)");
                problems.push(Problem::warning(at, msg).with_hint(hint));
            }
        };
        // Tasks that failed to build are missing from `tasks`, so paths come from where each
        // reference was read, not from positions in the built tree.
        let paths: Vec<(String, String)> = self.refs.clone();
        let path_of = |r: &str| paths.iter().find(|(n, _)| n == r).map(|(_, p)| p.clone()).unwrap_or_default();
        let mut joins = Vec::new();
        super::each(tasks, &mut |t| {
            let from = step_of.get(&t.ref_name).copied();
            check(&Value::Object(t.input.clone()), &join_key(&path_of(&t.ref_name), "inputParameters"), from);
            match &t.kind {
                TaskKind::Join { join_on } => {
                    joins.push((t.ref_name.clone(), "joinOn", "JOIN waits for", join_on.clone()))
                }
                TaskKind::ExclusiveJoin { join_on, defaults } => {
                    joins.push((t.ref_name.clone(), "joinOn", "EXCLUSIVE_JOIN takes the output of", join_on.clone()));
                    let field = "defaultExclusiveJoinTask";
                    joins.push((t.ref_name.clone(), field, "EXCLUSIVE_JOIN takes the output of", defaults.clone()));
                }
                _ => {}
            }
        });
        if let Some(out) = &raw.output_parameters {
            check(&Value::Object(out.clone()), "outputParameters", None);
        }
        for (join, field, what, refs) in joins {
            for (i, on) in refs.iter().enumerate() {
                if !known.contains(on.as_str()) {
                    let at = format!("{}[{i}]", join_key(&path_of(&join), field));
                    let hint = did_you_mean(on, known.iter().copied());
                    problems
                        .push(Problem::error(at, format!("{what} task `{on}`, which does not exist")).with_hint(hint));
                }
            }
        }
        self.problems.extend(problems);
    }
}

fn effective_timeout(td: &TaskDefConfig) -> u64 {
    match (td.timeout_seconds.unwrap_or(0), td.response_timeout_seconds.unwrap_or(0)) {
        (0, r) => r,
        (t, 0) => t,
        (t, r) => t.min(r),
    }
}
