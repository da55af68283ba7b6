//! Turns a parsed document into a [`WorkflowDef`], collecting every problem with its field path.

use crate::source_kind::SourceKind;
use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::fields::*;
use super::raw::{TaskConfig, TaskDefConfig, WorkflowDefConfig};
use super::task_type::TaskType;
use super::typed::typed;
use super::*;
use crate::diagnostic::{Problem, did_you_mean};
use crate::locate::join_key;
use crate::params::{Found, WORKFLOW_FIELDS, find_all};

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

#[derive(Default)]
struct Builder {
    problems: Vec<Problem>,
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
            source: doc.clone(),
            defined_by: crate::principal::Principal::System,
        })
    }

    /// Reports a JavaScript syntax error in a literal script.
    fn check_script(&mut self, script: &str, path: &str) {
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

    /// `_secrets.secretKey` (a secret name, or a template) and `_secrets.secretValue` are required.
    fn check_update_secret(&mut self, raw: &TaskConfig, input_path: &str) {
        let secrets_path = join_key(input_path, "_secrets");
        let Some(Value::Object(secrets)) = raw.input_parameters.get("_secrets") else {
            self.problems.push(Problem::error(
                secrets_path,
                "an UPDATE_SECRET task needs `_secrets: {secretKey: NAME, secretValue: VALUE}`",
            ));
            return;
        };
        match secrets.get("secretKey") {
            Some(Value::String(key)) if key.contains("${") || crate::params::is_secret_name(key) => {}
            Some(Value::String(key)) => self.problems.push(Problem::error(
                join_key(&secrets_path, "secretKey"),
                format!("`{key}` is not a secret name: letters, digits, `_` and `-` only"),
            )),
            _ => self.problems.push(Problem::error(
                join_key(&secrets_path, "secretKey"),
                "an UPDATE_SECRET task needs `secretKey`, the name of the secret to set",
            )),
        }
        if secrets.get("secretValue").is_none_or(Value::is_null) {
            self.problems.push(Problem::error(
                join_key(&secrets_path, "secretValue"),
                "an UPDATE_SECRET task needs `secretValue`, the new value",
            ));
        }
    }

    /// Conductor's START_WORKFLOW: `startWorkflow` with the workflow's `name` (a template is
    /// resolved at run time), and `version`, `input` and `correlationId` of their types.
    fn check_start_workflow(&mut self, raw: &TaskConfig, input_path: &str) {
        let start_path = join_key(input_path, "startWorkflow");
        let Some(Value::Object(start)) = raw.input_parameters.get("startWorkflow") else {
            self.problems.push(Problem::error(
                start_path,
                "a START_WORKFLOW task needs `startWorkflow: {name: WORKFLOW, input: {...}}`",
            ));
            return;
        };
        match start.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            _ => self.problems.push(Problem::error(
                join_key(&start_path, "name"),
                "a START_WORKFLOW task needs `name`, the workflow to start",
            )),
        }
        let is_template = |v: &Value| v.as_str().is_some_and(|s| s.contains("${"));
        let fields = [
            ("version", Value::is_u64 as fn(&Value) -> bool, "a version number"),
            ("input", Value::is_object, "a map"),
            ("correlationId", Value::is_string, "a string"),
        ];
        for (field, fits, what) in fields {
            if let Some(v) = start.get(field)
                && !v.is_null()
                && !fits(v)
                && !is_template(v)
            {
                self.problems.push(Problem::error(join_key(&start_path, field), format!("`{field}` is {what}")));
            }
        }
    }

    /// Conductor's JDBC task: a connection, a statement, its `type`, and the fields that go
    /// with them; any other input is named, since the task would not read it.
    fn check_jdbc(&mut self, raw: &TaskConfig, input_path: &str) {
        const READ: &[&str] = &[
            "connectionId",
            "connection",
            "integrationName",
            "url",
            "statement",
            "query",
            "parameters",
            "type",
            "expectedUpdateCount",
            "timeout",
            "schemaName",
        ];
        let input = &raw.input_parameters;
        let at = |field: &str| join_key(input_path, field);
        let names = ["connectionId", "connection", "integrationName"];
        let named = names.iter().any(|k| input.contains_key(*k));
        if !named && !input.contains_key("url") {
            self.problems.push(Problem::error(
                at("connectionId"),
                "a JDBC task needs `connectionId`, a connection an admin declared (`vigil secret set NAME`, its URL \
                 as the value)",
            ));
        }
        if !input.contains_key("statement") && !input.contains_key("query") {
            self.problems.push(Problem::error(at("statement"), "a JDBC task needs `statement`, its SQL"));
        }
        let literal = |v: Option<&Value>| v.and_then(Value::as_str).filter(|t| !t.contains("${")).map(str::to_string);
        let kind = literal(input.get("type"));
        match (input.get("type"), kind.as_deref()) {
            (None, _) => self.problems.push(Problem::error(at("type"), "a JDBC task needs `type`: SELECT or UPDATE")),
            (_, Some(t)) if !["SELECT", "UPDATE", "INSERT", "DELETE"].contains(&t) => {
                self.bad_enum(&at("type"), t, &["SELECT", "UPDATE"])
            }
            _ => {}
        }
        let writes = kind.as_deref().is_some_and(|t| t != "SELECT");
        if writes && !named {
            self.problems.push(Problem::error(
                at("type"),
                "UPDATE runs only on a connection an admin declared writable (`connectionId`), never on a `url`",
            ));
        }
        match input.get("expectedUpdateCount") {
            Some(v) if kind.as_deref() == Some("SELECT") => self.problems.push(Problem::warning(
                at("expectedUpdateCount"),
                format!("`expectedUpdateCount` ({v}) is read only by an UPDATE"),
            )),
            Some(Value::Number(n)) if n.as_i64().is_some_and(|c| c >= 0) => {}
            Some(Value::String(t)) if t.contains("${") => {}
            Some(v) => self.problems.push(Problem::error(
                at("expectedUpdateCount"),
                format!("`expectedUpdateCount` is a count of rows (0: any), not {v}"),
            )),
            None => {}
        }
        match input.get("parameters") {
            None | Some(Value::Array(_)) => {}
            Some(Value::String(t)) if t.contains("${") => {}
            Some(v) => self.problems.push(Problem::error(
                at("parameters"),
                format!("`parameters` is a list of values for the statement's `?`s, not {v}"),
            )),
        }
        for key in input.keys().filter(|k| !READ.contains(&k.as_str())) {
            let hint = did_you_mean(key, READ.iter().copied());
            self.problems.push(
                Problem::warning(at(key), format!("a JDBC task does not read `{key}`; it is ignored")).with_hint(hint),
            );
        }
    }

    /// A `loopCondition` reads the loop's inputs, the loop (`$.<ref>.iteration`) and its body's
    /// tasks by reference; another name is undefined when it runs, and reading into it throws.
    fn check_loop_names(&mut self, raw: &TaskConfig, condition: &str, body: &[Task], at: &str) {
        let mut names: Vec<&str> = raw.input_parameters.keys().map(String::as_str).collect();
        names.push(&raw.task_reference_name);
        super::each(body, &mut |t| names.push(&t.ref_name));
        for read in super::loop_condition::reads(condition) {
            if names.contains(&read.name) {
                continue;
            }
            let hint = did_you_mean(read.name, names.iter().copied());
            let message = format!(
                "`$.{}` is neither an input of this DO_WHILE, the loop itself nor a task in its body",
                read.name
            );
            let problem = if read.deeper {
                Problem::error(at, format!("{message}: reading into it fails every run"))
            } else {
                Problem::warning(at, format!("{message}: it is undefined"))
            };
            self.problems.push(problem.with_hint(hint));
        }
    }

    fn bad_enum(&mut self, path: &str, given: &str, allowed: &[&str]) {
        let hint = did_you_mean(given, allowed.iter().copied())
            .or_else(|| Some(format!("expected one of {}", allowed.join(", "))));
        self.problems.push(Problem::error(path, format!("unknown value `{given}`")).with_hint(hint));
    }

    fn task_list(&mut self, items: &[Value], path: &str) -> Vec<Task> {
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
        // A worker's responseTimeoutSeconds is its lease; tasks that wait for something else to
        // complete them (Conductor's async-complete tasks) have no response to time out.
        let timeout_only =
            matches!(kind, TaskKind::Simple | TaskKind::SubWorkflow { .. } | TaskKind::Wait | TaskKind::Human);
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

    fn kind(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        let Some(own) = TaskType::from_name(type_name) else {
            return self.source_or_unknown_kind(raw, type_name, path);
        };
        let kind = match own {
            TaskType::Http => {
                let req = raw.input_parameters.get("http_request").and_then(Value::as_object);
                let uri = req.and_then(|r| r.get("uri")).or_else(|| raw.input_parameters.get("uri"));
                if uri.is_none() {
                    self.problems
                        .push(Problem::error(join_key(&input_path, "http_request.uri"), "an HTTP task needs a `uri`"));
                }
                if let Some(Value::String(u)) = uri
                    && !u.contains("${")
                    && let Some(why) = bad_http_uri(u)
                {
                    let at = if req.is_some() { "http_request.uri" } else { "uri" };
                    self.problems.push(Problem::error(join_key(&input_path, at), format!("`{u}` {why}")));
                }
                let method = req.and_then(|r| r.get("method")).or_else(|| raw.input_parameters.get("method"));
                if let Some(Value::String(m)) = method {
                    const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
                    if !m.contains("${") && !METHODS.contains(&m.to_ascii_uppercase().as_str()) {
                        self.bad_enum(&join_key(&input_path, "http_request.method"), m, METHODS);
                    }
                }
                TaskKind::Http
            }
            TaskType::Inline => {
                match raw.input_parameters.get("evaluatorType").and_then(Value::as_str) {
                    None | Some("javascript" | "graaljs" | "value-param") => {}
                    Some(other) => self.bad_enum(
                        &join_key(&input_path, "evaluatorType"),
                        other,
                        &["javascript", "graaljs", "value-param"],
                    ),
                }
                let evaluator = raw.input_parameters.get("evaluatorType").and_then(Value::as_str);
                match raw.input_parameters.get("expression") {
                    Some(Value::String(script)) if evaluator != Some("value-param") => {
                        self.check_script(script, &join_key(&input_path, "expression"))
                    }
                    Some(Value::String(_)) => {}
                    _ => self.problems.push(Problem::error(
                        join_key(&input_path, "expression"),
                        "an INLINE task needs an `expression` string",
                    )),
                }
                TaskKind::Inline
            }
            TaskType::Lambda => {
                let at = join_key(&input_path, "scriptExpression");
                match raw.input_parameters.get("scriptExpression") {
                    Some(Value::String(body)) => self.check_script(&lambda_script(body), &at),
                    _ => self.problems.push(Problem::error(at, "a LAMBDA task needs a `scriptExpression` string")),
                }
                TaskKind::Lambda
            }
            TaskType::JsonJqTransform => {
                let at = join_key(&input_path, "queryExpression");
                let query = match raw.input_parameters.get("queryExpression") {
                    Some(Value::String(q)) if !q.contains("${") => {
                        if let Err(e) = crate::jq::compile(q) {
                            self.problems.push(Problem::error(at, format!("jq query does not compile: {e}")));
                        }
                        Some(Arc::from(q.as_str()))
                    }
                    Some(Value::String(_)) => None,
                    _ => {
                        self.problems
                            .push(Problem::error(at, "a JSON_JQ_TRANSFORM task needs a `queryExpression` string"));
                        None
                    }
                };
                TaskKind::JsonJq { query }
            }
            TaskType::Switch | TaskType::Decision => TaskKind::Switch(self.switch(raw, type_name, path)?),
            TaskType::DoWhile => {
                let has_items = raw.input_parameters.contains_key("items");
                if raw.loop_condition.as_deref().is_none_or(|c| c.trim().is_empty()) && !has_items {
                    self.problems.push(Problem::error(
                        join_key(path, "loopCondition"),
                        "a DO_WHILE task needs a `loopCondition` (or `items` to iterate over)",
                    ));
                }
                if raw.loop_over.is_empty() {
                    self.problems.push(Problem::error(
                        join_key(path, "loopOver"),
                        "a DO_WHILE task needs at least one task in `loopOver`",
                    ));
                }
                let keep_last_n = match raw.input_parameters.get("keepLastN") {
                    None => 0,
                    Some(v) => match v.as_u64() {
                        Some(n) => n as u32,
                        None => {
                            self.problems.push(Problem::error(
                                join_key(&input_path, "keepLastN"),
                                "keepLastN must be a whole number",
                            ));
                            0
                        }
                    },
                };
                if let Some(condition) = raw.loop_condition.as_deref().filter(|c| !c.trim().is_empty()) {
                    self.check_script(condition, &join_key(path, "loopCondition"));
                }
                let body = self.task_list(&raw.loop_over, &join_key(path, "loopOver"));
                if let Some(condition) = raw.loop_condition.as_deref() {
                    self.check_loop_names(raw, condition, &body, &join_key(path, "loopCondition"));
                }
                TaskKind::DoWhile(DoWhile { condition: raw.loop_condition.clone(), body, keep_last_n })
            }
            TaskType::Wait => {
                self.check_wait(raw, &input_path);
                TaskKind::Wait
            }
            TaskType::Human => TaskKind::Human,
            TaskType::Simple => TaskKind::Simple,
            TaskType::SetVariable => TaskKind::SetVariable,
            TaskType::Noop => TaskKind::Noop,
            TaskType::Terminate => {
                match raw.input_parameters.get("terminationStatus").and_then(Value::as_str) {
                    Some("COMPLETED" | "FAILED" | "TERMINATED") => {}
                    Some(other) if !other.contains("${") => self.bad_enum(
                        &join_key(&input_path, "terminationStatus"),
                        other,
                        &["COMPLETED", "FAILED", "TERMINATED"],
                    ),
                    Some(_) => {}
                    None => self.problems.push(Problem::error(
                        join_key(&input_path, "terminationStatus"),
                        "a TERMINATE task needs `terminationStatus`",
                    )),
                }
                TaskKind::Terminate
            }
            TaskType::SubWorkflow => match &raw.sub_workflow_param {
                Some(p) => {
                    let at = join_key(path, "subWorkflowParam.workflowDefinition");
                    match &p.workflow_definition {
                        Some(doc @ Value::Object(_)) => {
                            let (_, problems) = build_workflow(doc);
                            self.problems.extend(problems.into_iter().map(|problem| problem.within(&at)));
                        }
                        Some(Value::String(s)) if s.contains("${") => {}
                        Some(Value::Null) | None => {}
                        Some(other) => self.problems.push(Problem::error(
                            at,
                            format!("`workflowDefinition` must be a workflow definition or a `${{...}}` reference, not {other}"),
                        )),
                    }
                    let definition = p.workflow_definition.clone().filter(|d| !d.is_null());
                    TaskKind::SubWorkflow { name: p.name.clone(), version: p.version, definition }
                }
                None => {
                    self.problems.push(Problem::error(
                        join_key(path, "subWorkflowParam"),
                        "a SUB_WORKFLOW task needs `subWorkflowParam.name`",
                    ));
                    return None;
                }
            },
            TaskType::ForkJoin => {
                if raw.fork_tasks.is_empty() {
                    self.problems.push(Problem::error(
                        join_key(path, "forkTasks"),
                        "a FORK_JOIN task needs at least one branch in `forkTasks`",
                    ));
                }
                let branches = raw
                    .fork_tasks
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.task_list(b, &format!("{}[{i}]", join_key(path, "forkTasks"))))
                    .collect();
                TaskKind::ForkJoin { branches }
            }
            TaskType::Join => TaskKind::Join { join_on: raw.join_on.clone() },
            TaskType::ForkJoinDynamic => TaskKind::ForkJoinDynamic(self.dynamic_fork(raw, path)),
            TaskType::Dynamic => match &raw.dynamic_task_name_param {
                Some(param) if !param.trim().is_empty() => TaskKind::Dynamic { name_param: param.clone() },
                _ => {
                    self.problems.push(Problem::error(
                        join_key(path, "dynamicTaskNameParam"),
                        "a DYNAMIC task needs `dynamicTaskNameParam`, the input parameter that names the task to run",
                    ));
                    return None;
                }
            },
            TaskType::Alert => {
                if !raw.input_parameters.contains_key("status") {
                    self.problems.push(Problem::error(
                        join_key(&input_path, "status"),
                        "an ALERT task needs `status` (`firing` or `resolved`)",
                    ));
                }
                match raw.input_parameters.get("notifiers") {
                    Some(Value::Array(items)) if !items.is_empty() => {}
                    Some(Value::String(_)) => {}
                    _ => self.problems.push(Problem::error(
                        join_key(&input_path, "notifiers"),
                        "an ALERT task needs `notifiers`, a list of notifier names",
                    )),
                }
                for (field, message) in crate::alert::rule_problems(&raw.input_parameters) {
                    self.problems.push(Problem::error(join_key(&input_path, field), message));
                }
                if let Some(Value::String(sev)) = raw.input_parameters.get("severity")
                    && !sev.contains("${")
                    && !["critical", "error", "warning", "info"].contains(&sev.as_str())
                {
                    self.bad_enum(&join_key(&input_path, "severity"), sev, &["critical", "error", "warning", "info"]);
                }
                TaskKind::Alert
            }
            TaskType::StartWorkflow => {
                self.check_start_workflow(raw, &input_path);
                TaskKind::StartWorkflow
            }
            TaskType::UpdateSecret => {
                self.check_update_secret(raw, &input_path);
                TaskKind::UpdateSecret
            }
            TaskType::Jdbc => {
                self.check_jdbc(raw, &input_path);
                TaskKind::Query { source: SourceKind::Sql, jdbc: true }
            }
        };
        Some(kind)
    }

    /// A task type that is not vigil's own: a monitor source's (declared with the source), or
    /// one vigil does not run, named as such.
    fn source_or_unknown_kind(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        if let Some(source) = SourceKind::from_task_type(type_name) {
            let has = |k: &str| raw.input_parameters.contains_key(k);
            let named = source == SourceKind::Sql && (has("connection") || has("connectionId"));
            if !has("url") && !named {
                let why = if source == SourceKind::Sql {
                    "an SQL task needs `connection` (a connection an admin declared, Conductor's `connectionId`) \
                         or `url`"
                } else {
                    "a query task needs `url`, the server's address"
                };
                self.problems.push(Problem::error(join_key(&input_path, "url"), why));
            }
            if source.asks_query() && !has("query") && !has("statement") {
                self.problems.push(Problem::error(join_key(&input_path, "query"), "a query task needs `query`"));
            }
            return Some(TaskKind::Query { source, jdbc: false });
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

    /// FORK_JOIN_DYNAMIC's settings, checked as Conductor's `WorkflowTaskTypeConstraint` does.
    fn dynamic_fork(&mut self, raw: &TaskConfig, path: &str) -> DynamicFork {
        let fork = DynamicFork {
            tasks_param: raw.dynamic_fork_tasks_param.clone(),
            input_param: raw.dynamic_fork_tasks_input_param_name.clone(),
            legacy_param: raw.dynamic_fork_join_tasks_param.clone(),
        };
        if raw.input_parameters.contains_key("forkTaskInputs") {
            return fork;
        }
        let modern = fork.tasks_param.is_some() || fork.input_param.is_some();
        if fork.legacy_param.is_some() && modern {
            self.problems.push(Problem::error(
                join_key(path, "dynamicForkJoinTasksParam"),
                "use either `dynamicForkJoinTasksParam` or `dynamicForkTasksParam` with \
                 `dynamicForkTasksInputParamName`, not both",
            ));
        } else if fork.legacy_param.is_none() {
            for (field, set) in [
                ("dynamicForkTasksParam", fork.tasks_param.is_some()),
                ("dynamicForkTasksInputParamName", fork.input_param.is_some()),
            ] {
                if !set {
                    self.problems.push(Problem::error(
                        join_key(path, field),
                        format!(
                            "a FORK_JOIN_DYNAMIC task needs `{field}` (or `forkTaskInputs` in its \
                             `inputParameters`, or `dynamicForkJoinTasksParam`)"
                        ),
                    ));
                }
            }
        }
        fork
    }

    fn check_wait(&mut self, raw: &TaskConfig, input_path: &str) {
        if let Some(Value::String(d)) = raw.input_parameters.get("duration")
            && !d.contains("${")
            && let Err(e) = crate::time::parse_duration(d)
        {
            self.problems.push(Problem::error(join_key(input_path, "duration"), e));
        }
        if let Some(Value::String(u)) = raw.input_parameters.get("until")
            && !u.contains("${")
            && let Err(e) = crate::time::parse_until(u)
        {
            self.problems.push(Problem::error(join_key(input_path, "until"), e));
        }
    }

    fn switch(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<Switch> {
        let (evaluator, expression) = if type_name == "DECISION" {
            match (&raw.case_value_param, &raw.case_expression) {
                (Some(p), _) => (Evaluator::ValueParam, p.clone()),
                (None, Some(e)) => (Evaluator::JavaScript, e.clone()),
                (None, None) => {
                    self.problems.push(Problem::error(
                        join_key(path, "caseValueParam"),
                        "a DECISION task needs `caseValueParam` or `caseExpression`",
                    ));
                    return None;
                }
            }
        } else {
            let evaluator = match raw.evaluator_type.as_deref() {
                Some("value-param") | None => Evaluator::ValueParam,
                Some("javascript" | "graaljs") => Evaluator::JavaScript,
                Some(other) => {
                    self.bad_enum(&join_key(path, "evaluatorType"), other, &["value-param", "javascript", "graaljs"]);
                    Evaluator::ValueParam
                }
            };
            let Some(expression) = raw.expression.clone().filter(|e| !e.trim().is_empty()) else {
                self.problems.push(Problem::error(join_key(path, "expression"), "a SWITCH task needs an `expression`"));
                return None;
            };
            (evaluator, expression)
        };
        if evaluator == Evaluator::JavaScript {
            let field = if type_name == "DECISION" { "caseExpression" } else { "expression" };
            self.check_script(&expression, &join_key(path, field));
        }
        let cases_path = join_key(path, "decisionCases");
        let mut cases = Vec::new();
        for (case, list) in &raw.decision_cases {
            let at = join_key(&cases_path, case);
            match list.as_array() {
                Some(items) => cases.push((case.clone(), self.task_list(items, &at))),
                None => self.problems.push(Problem::error(at, "a case must be a list of tasks")),
            }
        }
        let default_case = self.task_list(&raw.default_case, &join_key(path, "defaultCase"));
        if raw.decision_cases.is_empty() {
            self.problems.push(Problem::warning(
                cases_path,
                format!("this {type_name} has no `decisionCases`: every run takes `defaultCase`"),
            ));
        }
        Some(Switch { evaluator, expression, cases, default_case, decision: type_name == "DECISION" })
    }

    /// A SIMPLE task's `responseTimeoutSeconds` is a worker lease, renewed while the worker
    /// reports progress, and SUB_WORKFLOW, WAIT and HUMAN tasks wait for something else, so only
    /// `timeoutSeconds` limits their attempt (`timeout_only`); for other tasks the shorter of the
    /// two does.
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
            if let TaskKind::Join { join_on } = &t.kind {
                joins.push((t.ref_name.clone(), join_on.clone()));
            }
        });
        if let Some(out) = &raw.output_parameters {
            check(&Value::Object(out.clone()), "outputParameters", None);
        }
        for join in joins {
            for (i, on) in join.1.iter().enumerate() {
                if !known.contains(on.as_str()) {
                    let at = format!("{}[{i}]", join_key(&path_of(&join.0), "joinOn"));
                    let hint = did_you_mean(on, known.iter().copied());
                    problems.push(
                        Problem::error(at, format!("JOIN waits for task `{on}`, which does not exist")).with_hint(hint),
                    );
                }
            }
        }
        self.problems.extend(problems);
    }
}

/// Why a literal HTTP task URI cannot be called, if it cannot.
fn bad_http_uri(uri: &str) -> Option<String> {
    match url::Url::parse(uri) {
        Err(e) => Some(format!("is not a URL ({e})")),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            Some(format!("has scheme `{}`; an HTTP task calls `http` or `https` URLs", u.scheme()))
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("has no host".to_string()),
        Ok(_) => None,
    }
}

fn effective_timeout(td: &TaskDefConfig) -> u64 {
    match (td.timeout_seconds.unwrap_or(0), td.response_timeout_seconds.unwrap_or(0)) {
        (0, r) => r,
        (t, 0) => t,
        (t, r) => t.min(r),
    }
}

/// The script Conductor's LAMBDA runs for `body` (`Lambda.java`): the body of a function that is
/// called at once.
pub fn lambda_script(body: &str) -> String {
    format!("function scriptFun(){{{body}\n}} scriptFun();")
}
