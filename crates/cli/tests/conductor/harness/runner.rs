//! Performs the steps of one scenario (see `README.md` beside this file) against Conductor's REST
//! API of a running server, the way the Spock specification it was translated from checks them.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// How long an `expect`, a `poll` or a `child` waits for the server to get there unless it says
/// `within: <seconds>` (the specs call internal deciders instead of waiting; vigil decides on its
/// own within milliseconds).
const SETTLE: Duration = Duration::from_secs(5);

/// The keys each step may have: a key the runner does not know would be a check silently skipped.
const STEP_KEYS: &[(&str, &[&str])] = &[
    ("taskdef", &["*"]),
    ("workflowdef", &["file", "name", "set", "def"]),
    ("start", &["name", "version", "correlationId", "input", "as", "workflowDef", "def", "taskToDomain", "priority"]),
    (
        "expect",
        &[
            "workflow",
            "status",
            "tasks",
            "taskCount",
            "size",
            "at",
            "fields",
            "has",
            "lacks",
            "reasonContains",
            "within",
            "some",
            "queues",
            "equals",
            "not",
            "checks",
            "countRefs",
            "equal",
            "differs",
        ],
    ),
    (
        "poll",
        &[
            "type",
            "worker",
            "input",
            "then",
            "output",
            "reason",
            "callbackAfterSeconds",
            "as",
            "task",
            "refEndsWith",
            "within",
            "fields",
            "has",
        ],
    ),
    ("update", &["task", "workflow", "at", "index", "then", "output", "reason", "callbackAfterSeconds"]),
    ("pollEmpty", &["type", "worker"]),
    ("terminate", &["workflow", "reason"]),
    ("retry", &["workflow", "resumeSubworkflowTasks"]),
    ("restart", &["workflow", "useLatestDefinitions"]),
    ("rerun", &["workflow", "reRunFromTaskRef", "taskInput", "workflowInput", "as"]),
    ("pause", &["workflow"]),
    ("resume", &["workflow"]),
    ("child", &["workflow", "task", "as"]),
    ("workflowFrom", &["workflow", "path", "as"]),
    ("fails", &["call", "workflow", "status", "useLatestDefinitions"]),
    ("expectDef", &["name", "version", "fields", "has", "nonBlank"]),
    ("unregister", &["workflowdef", "version", "taskdef"]),
    ("resetCallbacks", &["workflow"]),
    ("skipTask", &["workflow", "task"]),
    ("expectEventHandlers", &["event", "count", "at", "uniqueNames"]),
    ("sleep", &[]),
];

/// The harness's task definitions (`WorkflowTestUtil.taskDefinitions()`), as Conductor's JSON.
pub fn harness_task_defs() -> Vec<Value> {
    let def = |name: &str, retry: u32, timeout: u64, response: u64| {
        json!({"name": name, "description": name, "ownerEmail": "test@harness.com", "retryCount": retry,
               "timeoutSeconds": timeout, "responseTimeoutSeconds": response, "retryDelaySeconds": 60,
               "retryLogic": "FIXED", "timeoutPolicy": "TIME_OUT_WF"})
    };
    let mut defs: Vec<Value> = (0..=20).map(|i| def(&format!("integration_task_{i}"), 1, 120, 120)).collect();
    defs.extend((0..=4).map(|i| def(&format!("integration_task_0_RT_{i}"), 0, 120, 120)));
    defs.push(def("short_time_out", 1, 5, 5));
    let mut with = |base: Value, extra: Value| {
        let mut base = base;
        merge(&mut base, &extra);
        defs.push(base);
    };
    with(def("task_rt", 1, 120, 10), json!({"retryDelaySeconds": 0}));
    with(def("task_optional", 1, 5, 5), json!({"timeoutPolicy": "RETRY", "retryDelaySeconds": 0}));
    with(def("simple_task_in_sub_wf", 0, 0, 3600), json!({}));
    with(def("sub_workflow_task", 1, 0, 5), json!({"retryDelaySeconds": 0}));
    with(def("waitTimeout", 1, 2, 2), json!({"timeoutPolicy": "RETRY", "retryDelaySeconds": 10}));
    with(def("user_task", 1, 20, 20), json!({"timeoutPolicy": "RETRY", "retryDelaySeconds": 10}));
    with(def("eventX", 3, 10, 10), json!({}));
    with(def("test_task_with_concurrency_limit", 3, 0, 3600), json!({"concurrentExecLimit": 1}));
    with(
        def("test_task_with_rateLimits", 3, 0, 3600),
        json!({"rateLimitFrequencyInSeconds": 10, "rateLimitPerFrequency": 1}),
    );
    with(
        def("test_simple_task_with_rateLimits", 3, 0, 3600),
        json!({"rateLimitFrequencyInSeconds": 10, "rateLimitPerFrequency": 1}),
    );
    defs
}

/// Sets every field of `extra` in `base`, objects recursively.
fn merge(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// Why `actual` does not contain `expected`: objects by subset, everything else by equality
/// (numbers compared as numbers).
pub fn subset_problem(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, v)| match a.get(k) {
            Some(got) => subset_problem(v, got, &format!("{path}.{k}")),
            None if v.is_null() => None,
            None => Some(format!("{path}.{k} is missing (expected {v})")),
        }),
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => None,
        (e, a) if e == a => None,
        (e, a) => Some(format!("{path} is {a}, expected {e}")),
    }
}

/// The value at a dotted path (`output.o3`, `tasks.0.status`).
fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    at_segments(value, path.split('.'))
}

/// The value at a path given as a dotted string or a list of segments (for keys with dots).
fn at_any<'a>(value: &'a Value, path: &Value) -> Option<&'a Value> {
    match path {
        Value::Array(parts) => {
            at_segments(value, parts.iter().map(|p| p.as_str().map(str::to_string).unwrap_or(p.to_string())))
        }
        Value::String(p) => at_path(value, p),
        _ => None,
    }
}

fn at_segments<S: AsRef<str>>(value: &Value, parts: impl Iterator<Item = S>) -> Option<&Value> {
    let mut v = value;
    for part in parts {
        let part = part.as_ref();
        v = match v {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Groovy truth: not null, not false, not an empty string, list or map, not zero.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
    }
}

/// Numbers compare by value (`2` and `2.0` are equal), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// One scenario's run against `base`: instance and task names, and what the server said.
pub struct Scenario<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    defs: &'a Path,
    task_defs: &'a [Value],
    workflows: HashMap<String, String>,
    tasks: HashMap<String, Value>,
    /// Every instance started, for the cleanup.
    pub started: Vec<String>,
    /// How long a step waits for the server unless it says `within`.
    pub settle: Duration,
    /// Why each step marked `differs` did (the scenario went on past them).
    pub differences: Vec<String>,
}

impl<'a> Scenario<'a> {
    /// A scenario against the server at `base`, with definition files in `defs`.
    pub fn new(http: &'a reqwest::Client, base: &'a str, defs: &'a Path, task_defs: &'a [Value]) -> Self {
        Self {
            http,
            base,
            defs,
            task_defs,
            workflows: HashMap::new(),
            tasks: HashMap::new(),
            started: Vec::new(),
            settle: SETTLE,
            differences: Vec::new(),
        }
    }

    fn workflow_id(&self, step: &Value) -> Result<String, String> {
        let name = step.get("workflow").and_then(Value::as_str).unwrap_or("wf");
        self.workflows.get(name).cloned().ok_or_else(|| format!("no instance named `{name}`"))
    }

    /// Performs one step.
    pub async fn step(&mut self, step: &Value) -> Result<(), String> {
        let Value::Object(map) = step else { return Err(format!("a step is a one-key map, not {step}")) };
        let (verb, arg) = map.iter().next().ok_or("an empty step")?;
        let allowed =
            STEP_KEYS.iter().find(|(v, _)| v == verb).map(|(_, k)| *k).ok_or(format!("unknown step `{verb}`"))?;
        if let (Some(keys), false) = (arg.as_object(), allowed == ["*"])
            && let Some(k) = keys.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(format!("`{verb}` has no `{k}`"));
        }
        match verb.as_str() {
            "taskdef" => self.taskdef(arg).await,
            "workflowdef" => self.workflowdef(arg).await,
            "start" => self.start(arg).await,
            "expect" if arg.get("differs").is_some() => self.expect_differs(arg).await,
            "expect" => self.expect(arg).await,
            "poll" => self.poll(arg).await,
            "update" => {
                let task = match arg.get("task").and_then(Value::as_str) {
                    Some(name) => self.tasks.get(name).cloned().ok_or_else(|| format!("no task named `{name}`"))?,
                    None => {
                        let index = arg
                            .get("at")
                            .or(arg.get("index"))
                            .and_then(Value::as_i64)
                            .ok_or("update needs `task` or `at`")?;
                        let wf = self.workflow(&self.workflow_id(arg)?).await?;
                        let tasks = wf["tasks"].as_array().cloned().unwrap_or_default();
                        let i = if index < 0 { tasks.len() as i64 + index } else { index };
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| tasks.get(i).cloned())
                            .ok_or_else(|| format!("there is no task {index}\n  observed: {}", summary(&wf)))?
                    }
                };
                let mut arg = arg.clone();
                if arg.get("output").is_none() {
                    arg["output"] = task["outputData"].clone();
                }
                self.report(&task, &arg).await
            }
            "workflowFrom" => {
                let id = self.workflow_id(arg)?;
                let deadline = Instant::now() + self.settle;
                loop {
                    let wf = self.workflow(&id).await?;
                    if let Some(found) = at_any(&wf, &arg["path"]).and_then(Value::as_str) {
                        let name = arg.get("as").and_then(Value::as_str).unwrap_or("other");
                        self.workflows.insert(name.into(), found.to_string());
                        self.started.push(found.to_string());
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("the workflow has no {}\n  observed: {}", arg["path"], summary(&wf)));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            "pollEmpty" => self.poll_empty(arg).await,
            "terminate" => {
                let id = self.workflow_id(arg)?;
                let reason = arg.get("reason").and_then(Value::as_str).unwrap_or("");
                self.call(reqwest::Method::DELETE, &format!("/api/workflow/{id}?reason={reason}"), None).await?;
                Ok(())
            }
            "retry" => {
                let id = self.workflow_id(arg)?;
                let resume = arg.get("resumeSubworkflowTasks").and_then(Value::as_bool).unwrap_or(false);
                let path = format!("/api/workflow/{id}/retry?resumeSubworkflowTasks={resume}");
                self.call(reqwest::Method::POST, &path, None).await.map(drop)
            }
            "restart" => {
                let id = self.workflow_id(arg)?;
                let latest = arg.get("useLatestDefinitions").and_then(Value::as_bool).unwrap_or(false);
                let path = format!("/api/workflow/{id}/restart?useLatestDefinitions={latest}");
                self.call(reqwest::Method::POST, &path, None).await.map(drop)
            }
            "rerun" => self.rerun(arg).await,
            "expectDef" => self.expect_def(arg).await,
            "unregister" => {
                let path = match (
                    arg.get("workflowdef").and_then(Value::as_str),
                    arg.get("taskdef").and_then(Value::as_str),
                ) {
                    (Some(name), _) => format!(
                        "/api/metadata/workflow/{name}/{}",
                        arg.get("version").and_then(Value::as_u64).unwrap_or(1)
                    ),
                    (None, Some(name)) => format!("/api/metadata/taskdefs/{name}"),
                    _ => return Err("unregister needs `workflowdef` or `taskdef`".into()),
                };
                self.call(reqwest::Method::DELETE, &path, None).await.map(drop)
            }
            "resetCallbacks" => {
                let id = self.workflow_id(arg)?;
                self.call(reqwest::Method::POST, &format!("/api/workflow/{id}/resetcallbacks"), None).await.map(drop)
            }
            "skipTask" => {
                let id = self.workflow_id(arg)?;
                let task = arg["task"].as_str().ok_or("skipTask needs `task`")?;
                self.call(reqwest::Method::PUT, &format!("/api/workflow/{id}/skiptask/{task}"), None).await.map(drop)
            }
            "pause" | "resume" => {
                let id = self.workflow_id(arg)?;
                self.call(reqwest::Method::PUT, &format!("/api/workflow/{id}/{verb}"), None).await.map(drop)
            }
            "child" => self.child(arg).await,
            "sleep" => {
                // A scenario's own `sleep` step (Conductor's scenarios wait on time there).
                tokio::time::sleep(Duration::from_secs_f64(arg.as_f64().ok_or("sleep takes seconds")?)).await;
                Ok(())
            }
            "fails" => self.fails(arg).await,
            "expectEventHandlers" => self.expect_event_handlers(arg).await,
            other => Err(format!("unknown step `{other}`")),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<String, String> {
        let (status, text) = self.send(method.clone(), path, body).await?;
        if !status.is_success() {
            return Err(format!("{method} {path} answered {status}: {text}"));
        }
        Ok(text)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::StatusCode, String), String> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    async fn taskdef(&self, arg: &Value) -> Result<(), String> {
        let name = arg["name"].as_str().ok_or("taskdef needs `name`")?;
        if arg.get("register").is_some_and(truthy) {
            let mut def = arg.clone();
            def.as_object_mut().map(|m| m.remove("register"));
            return self.call(reqwest::Method::POST, "/api/metadata/taskdefs", Some(&json!([def]))).await.map(drop);
        }
        let mut def = self
            .task_defs
            .iter()
            .find(|d| d["name"] == name)
            .cloned()
            .unwrap_or_else(|| json!({"name": name, "ownerEmail": "test@harness.com"}));
        merge(&mut def, arg);
        self.call(reqwest::Method::PUT, "/api/metadata/taskdefs", Some(&def)).await.map(drop)
    }

    async fn workflowdef(&self, arg: &Value) -> Result<(), String> {
        if let Some(def) = arg.get("def") {
            return self.call(reqwest::Method::PUT, "/api/metadata/workflow", Some(&json!([def]))).await.map(drop);
        }
        let file = arg["file"].as_str().ok_or("workflowdef needs `file` or `def`")?;
        let mut def = read_definition(&self.defs.join(file))?;
        if let Value::Array(list) = def {
            let name = arg.get("name").and_then(Value::as_str);
            def = list.into_iter().find(|d| name.is_none_or(|n| d["name"] == n)).ok_or("no such definition")?;
        }
        if let Some(set) = arg.get("set").and_then(Value::as_object) {
            for (k, v) in set {
                def[k] = v.clone();
            }
        }
        self.call(reqwest::Method::PUT, "/api/metadata/workflow", Some(&json!([def]))).await.map(drop)
    }

    async fn start(&mut self, arg: &Value) -> Result<(), String> {
        let mut body = Map::new();
        for key in ["name", "version", "correlationId", "input", "taskToDomain", "priority", "workflowDef"] {
            if let Some(v) = arg.get(key) {
                body.insert(key.into(), self.substitute(v, &Value::Null));
            }
        }
        if let Some(def) = arg.get("def") {
            body.insert("workflowDef".into(), def.clone());
            body.entry("name").or_insert(def["name"].clone());
            body.entry("version").or_insert(def["version"].clone());
        }
        let id = self.call(reqwest::Method::POST, "/api/workflow", Some(&Value::Object(body))).await?;
        let id = id.trim().trim_matches('"').to_string();
        self.started.push(id.clone());
        self.workflows.insert(arg.get("as").and_then(Value::as_str).unwrap_or("wf").into(), id);
        Ok(())
    }

    /// The instance with its tasks.
    pub async fn workflow(&self, id: &str) -> Result<Value, String> {
        let text = self.call(reqwest::Method::GET, &format!("/api/workflow/{id}?includeTasks=true"), None).await?;
        serde_json::from_str(&text).map_err(|e| format!("workflow {id}: {e}"))
    }

    /// Replaces `{{id:<name>}}` by that instance's (or polled task's) id, `{{uuid}}` by a fresh
    /// one, and `{{<path>}}` by the value at that path of `json`, in every string of `value`.
    fn substitute(&self, value: &Value, json: &Value) -> Value {
        match value {
            Value::String(text) if text.contains("{{") => {
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(open) = rest.find("{{") {
                    out.push_str(&rest[..open]);
                    let Some(close) = rest[open..].find("}}") else { break };
                    let key = &rest[open + 2..open + close];
                    let replaced = if let Some(name) = key.strip_prefix("id:") {
                        self.workflows
                            .get(name)
                            .cloned()
                            .or_else(|| self.tasks.get(name).and_then(|t| t["taskId"].as_str().map(str::to_string)))
                    } else if key == "uuid" {
                        Some(format!(
                            "{:x}",
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap_or_default()
                                .as_nanos()
                        ))
                    } else {
                        at_path(json, key).map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                    };
                    out.push_str(&replaced.unwrap_or_else(|| format!("<no {key}>")));
                    rest = &rest[open + close + 2..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.substitute(v, json)).collect()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), self.substitute(v, json))).collect()),
            other => other.clone(),
        }
    }

    fn settle(&self, arg: &Value) -> Duration {
        arg.get("within").and_then(Value::as_f64).map_or(self.settle, Duration::from_secs_f64)
    }

    async fn expect(&self, arg: &Value) -> Result<(), String> {
        let id = self.workflow_id(arg)?;
        let deadline = Instant::now() + self.settle(arg);
        loop {
            let wf = self.workflow(&id).await?;
            let arg = &self.substitute(arg, &wf);
            let mut problem = expectation_problem(arg, &wf);
            if problem.is_none() {
                problem = self.cross_checks(arg, &wf).await?;
            }
            if problem.is_none() {
                problem = self.queue_problem(arg).await?;
            }
            match problem {
                None => return Ok(()),
                Some(p) if Instant::now() >= deadline => return Err(format!("{p}\n  observed: {}", summary(&wf))),
                Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// An expectation marked `differs: <why>`: a state of Conductor's that vigil does not show
    /// (one its harness holds by running a system task by hand). It must not hold within a
    /// second (else the mark is stale and the step fails); the scenario goes on and the
    /// difference is recorded.
    async fn expect_differs(&mut self, arg: &Value) -> Result<(), String> {
        let why = arg["differs"].as_str().unwrap_or_default().to_string();
        let mut check = arg.clone();
        check.as_object_mut().expect("a map").remove("differs");
        check["within"] = json!(arg.get("within").and_then(Value::as_f64).unwrap_or(1.0));
        match self.expect(&check).await {
            Ok(()) => Err(format!("this expectation holds now; remove its `differs` note ({why})")),
            Err(_) => {
                self.differences.push(why);
                Ok(())
            }
        }
    }

    /// The `checks` that compare with other instances (`sameAs`, `notSameAs`, `format`).
    async fn cross_checks(&self, arg: &Value, wf: &Value) -> Result<Option<String>, String> {
        for check in arg.get("checks").and_then(Value::as_array).into_iter().flatten() {
            let path = &check["path"];
            let here = at_any(wf, path).cloned().unwrap_or(Value::Null);
            for (op, negate) in [("sameAs", false), ("notSameAs", true)] {
                let Some(other) = check.get(op) else { continue };
                let id = self.workflow_id(other)?;
                let theirs = self.workflow(&id).await?;
                let there = at_any(&theirs, &other["path"]).cloned().unwrap_or(Value::Null);
                if same(&here, &there) == negate {
                    return Ok(Some(format!(
                        "{path} is {here}, {op} {} {} which is {there}",
                        other["workflow"], other["path"]
                    )));
                }
            }
            if let Some(pattern) = check.get("format").and_then(Value::as_str) {
                let mut want = pattern.to_string();
                for (name, id) in &self.workflows {
                    want = want.replace(&format!("{{{{{name}}}}}"), id);
                }
                if here.as_str() != Some(want.as_str()) {
                    return Ok(Some(format!("{path} is {here}, expected {want:?}")));
                }
            }
        }
        Ok(None)
    }

    /// `queues: {type: n}`: how many tasks of each type wait for a worker. Conductor's internal
    /// `_deciderQueue` (its sweeper's queue of running workflows) has no counterpart and is not
    /// checked.
    async fn queue_problem(&self, arg: &Value) -> Result<Option<String>, String> {
        let Some(queues) = arg.get("queues").and_then(Value::as_object) else { return Ok(None) };
        let text = self.call(reqwest::Method::GET, "/api/tasks/queue/sizes", None).await?;
        let sizes: Value = serde_json::from_str(&text).map_err(|e| format!("queue sizes: {e}"))?;
        for (kind, want) in queues.iter().filter(|(k, _)| k.as_str() != "_deciderQueue") {
            let got = sizes.get(kind).and_then(Value::as_u64).unwrap_or(0);
            if Some(got) != want.as_u64() {
                return Ok(Some(format!("{got} `{kind}` tasks wait for a worker, expected {want}")));
            }
        }
        Ok(None)
    }

    async fn expect_def(&self, arg: &Value) -> Result<(), String> {
        let name = arg["name"].as_str().ok_or("expectDef needs `name`")?;
        let version = arg.get("version").and_then(Value::as_u64).map(|v| format!("?version={v}")).unwrap_or_default();
        let text = self.call(reqwest::Method::GET, &format!("/api/metadata/workflow/{name}{version}"), None).await?;
        let def: Value = serde_json::from_str(&text).map_err(|e| format!("definition {name}: {e}"))?;
        if let Some(p) = arg.get("fields").and_then(|f| subset_problem(f, &def, "definition")) {
            return Err(p);
        }
        for path in arg.get("has").and_then(Value::as_array).into_iter().flatten() {
            if at_any(&def, path).is_none() {
                return Err(format!("the definition has no {path}"));
            }
        }
        for path in arg.get("nonBlank").and_then(Value::as_array).into_iter().flatten() {
            if at_any(&def, path).and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
                return Err(format!("the definition's {path} is blank"));
            }
        }
        Ok(())
    }

    async fn poll(&mut self, arg: &Value) -> Result<(), String> {
        let kind = arg["type"].as_str().ok_or("poll needs `type`")?;
        let worker = arg.get("worker").and_then(Value::as_str).unwrap_or("harness.worker");
        let deadline = Instant::now() + self.settle(arg);
        let task = loop {
            let path = format!("/api/tasks/poll/{kind}?workerid={worker}&timeout=500");
            let (status, text) = self.send(reqwest::Method::GET, &path, None).await?;
            if status == reqwest::StatusCode::OK {
                break serde_json::from_str::<Value>(&text).map_err(|e| format!("poll {kind}: {e}"))?;
            }
            if status != reqwest::StatusCode::NO_CONTENT {
                return Err(format!("poll {kind} answered {status}: {text}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("no `{kind}` task was offered within {:?}", self.settle(arg)));
            }
        };
        if let Some(input) = arg.get("input")
            && let Some(p) = subset_problem(input, &task["inputData"], "inputData")
        {
            return Err(format!("polled `{kind}`: {p}"));
        }
        let arg = &self.substitute(arg, &task);
        for key in ["task", "fields"] {
            if let Some(want) = arg.get(key)
                && let Some(p) = subset_problem(want, &task, "task")
            {
                return Err(format!("polled `{kind}`: {p}"));
            }
        }
        for path in arg.get("has").and_then(Value::as_array).into_iter().flatten() {
            if at_any(&task, path).is_none() {
                return Err(format!("polled `{kind}` has no {path}"));
            }
        }
        if let Some(suffix) = arg.get("refEndsWith").and_then(Value::as_str)
            && !task["referenceTaskName"].as_str().unwrap_or("").ends_with(suffix)
        {
            return Err(format!(
                "polled `{kind}`: referenceTaskName {} does not end with {suffix}",
                task["referenceTaskName"]
            ));
        }
        if let Some(name) = arg.get("as").and_then(Value::as_str) {
            self.tasks.insert(name.into(), task.clone());
        }
        self.report(&task, arg).await
    }

    async fn report(&self, task: &Value, arg: &Value) -> Result<(), String> {
        let status = match arg.get("then").and_then(Value::as_str).unwrap_or("complete") {
            "nothing" => return Ok(()),
            "complete" => "COMPLETED",
            "fail" => "FAILED",
            "fail_terminal" => "FAILED_WITH_TERMINAL_ERROR",
            "in_progress" => "IN_PROGRESS",
            other => return Err(format!("unknown `then: {other}`")),
        };
        let mut body = json!({
            "workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": status,
            "outputData": arg.get("output").cloned().unwrap_or(json!({})),
        });
        if let Some(r) = arg.get("reason") {
            body["reasonForIncompletion"] = r.clone();
        }
        if let Some(c) = arg.get("callbackAfterSeconds") {
            body["callbackAfterSeconds"] = c.clone();
        }
        self.call(reqwest::Method::POST, "/api/tasks", Some(&body)).await.map(drop)
    }

    async fn poll_empty(&self, arg: &Value) -> Result<(), String> {
        let kind = arg["type"].as_str().ok_or("pollEmpty needs `type`")?;
        let path = format!("/api/tasks/poll/{kind}?workerid=harness.worker&timeout=300");
        let (status, text) = self.send(reqwest::Method::GET, &path, None).await?;
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(());
        }
        Err(format!("a `{kind}` task was offered where none should be ({status}): {text}"))
    }

    /// `GET /api/event`: the handlers of `event`: how many, each one's fields by index
    /// (subsets), and whether every handler's name is unique.
    async fn expect_event_handlers(&self, arg: &Value) -> Result<(), String> {
        let text = self.call(reqwest::Method::GET, "/api/event", None).await?;
        let all: Vec<Value> = serde_json::from_str(&text).map_err(|e| format!("GET /api/event: {e}: {text}"))?;
        if arg.get("uniqueNames").and_then(Value::as_bool) == Some(true) {
            let mut names: Vec<&str> = all.iter().filter_map(|h| h["name"].as_str()).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            if names.len() != n {
                return Err(format!("two handlers share a name: {text}"));
            }
        }
        let event = arg.get("event").and_then(Value::as_str);
        let mine: Vec<&Value> = all.iter().filter(|h| event.is_none_or(|e| h["event"] == e)).collect();
        if let Some(n) = arg.get("count").and_then(Value::as_u64)
            && mine.len() as u64 != n
        {
            return Err(format!("{} handlers of {event:?}, expected {n}: {text}", mine.len()));
        }
        for (index, want) in arg.get("at").and_then(Value::as_object).into_iter().flatten() {
            let i: usize = index.parse().map_err(|_| format!("`at` index {index}"))?;
            let got = mine.get(i).ok_or_else(|| format!("no handler {i} of {event:?}: {text}"))?;
            if let Some(p) = subset_problem(want, got, &format!("handler {i}")) {
                return Err(p);
            }
        }
        Ok(())
    }

    async fn child(&mut self, arg: &Value) -> Result<(), String> {
        let id = self.workflow_id(arg)?;
        let task_ref = arg["task"].as_str().ok_or("child needs `task`")?;
        let deadline = Instant::now() + self.settle;
        loop {
            let wf = self.workflow(&id).await?;
            let tasks = wf["tasks"].as_array().cloned().unwrap_or_default();
            let child = tasks
                .iter()
                .rev()
                .find(|t| t["referenceTaskName"] == task_ref)
                .and_then(|t| t["subWorkflowId"].as_str());
            if let Some(child) = child {
                let name = arg.get("as").and_then(Value::as_str).unwrap_or("sub");
                self.workflows.insert(name.into(), child.to_string());
                self.started.push(child.to_string());
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("task `{task_ref}` started no sub-workflow\n  observed: {}", summary(&wf)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn rerun(&mut self, arg: &Value) -> Result<(), String> {
        let id = self.workflow_id(arg)?;
        let mut body = json!({"reRunFromWorkflowId": id});
        if let Some(task_ref) = arg.get("reRunFromTaskRef").and_then(Value::as_str) {
            let wf = self.workflow(&id).await?;
            let task =
                wf["tasks"].as_array().and_then(|ts| ts.iter().rev().find(|t| t["referenceTaskName"] == task_ref));
            body["reRunFromTaskId"] = task.map(|t| t["taskId"].clone()).ok_or("no such task to rerun from")?;
        }
        if let Some(input) = arg.get("taskInput") {
            body["taskInput"] = input.clone();
        }
        if let Some(input) = arg.get("workflowInput") {
            body["workflowInput"] = input.clone();
        }
        let new_id = self.call(reqwest::Method::POST, &format!("/api/workflow/{id}/rerun"), Some(&body)).await?;
        if let Some(name) = arg.get("as").and_then(Value::as_str) {
            self.workflows.insert(name.into(), new_id.trim().trim_matches('"').to_string());
        }
        Ok(())
    }

    async fn fails(&self, arg: &Value) -> Result<(), String> {
        let id = self.workflow_id(arg)?;
        let latest = arg.get("useLatestDefinitions").and_then(Value::as_bool).unwrap_or(false);
        let (method, path) = match arg["call"].as_str().unwrap_or("") {
            "restart" => (reqwest::Method::POST, format!("/api/workflow/{id}/restart?useLatestDefinitions={latest}")),
            "retry" => (reqwest::Method::POST, format!("/api/workflow/{id}/retry")),
            "pause" => (reqwest::Method::PUT, format!("/api/workflow/{id}/pause")),
            "resume" => (reqwest::Method::PUT, format!("/api/workflow/{id}/resume")),
            "terminate" => (reqwest::Method::DELETE, format!("/api/workflow/{id}")),
            "rerun" => (reqwest::Method::POST, format!("/api/workflow/{id}/rerun")),
            other => return Err(format!("unknown call `{other}`")),
        };
        let body = (arg["call"] == "rerun").then(|| json!({"reRunFromWorkflowId": id}));
        let (status, text) = self.send(method, &path, body.as_ref()).await?;
        let want = arg.get("status").and_then(Value::as_u64);
        match want {
            Some(w) if u64::from(status.as_u16()) == w => Ok(()),
            None if !status.is_success() => Ok(()),
            _ => Err(format!("{path} answered {status} ({text}), expected {want:?}")),
        }
    }
}

/// Reads a definition file (Conductor's JSON).
pub fn read_definition(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `status [type STATUS, ...]` for failure messages.
pub fn summary(wf: &Value) -> String {
    let tasks: Vec<String> = wf["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| format!("{} {}", t["taskType"].as_str().unwrap_or("?"), t["status"].as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let reason = wf["reasonForIncompletion"].as_str().map(|r| format!(" ({r})")).unwrap_or_default();
    format!("{}{reason} [{}]", wf["status"].as_str().unwrap_or("?"), tasks.join(", "))
}

/// Why the workflow JSON `wf` does not meet the `expect` step `arg`, if it does not.
pub fn expectation_problem(arg: &Value, wf: &Value) -> Option<String> {
    if let Some(status) = arg.get("status")
        && &wf["status"] != status
    {
        return Some(format!("status is {}, expected {status}", wf["status"]));
    }
    let tasks = wf["tasks"].as_array().cloned().unwrap_or_default();
    if let Some(want) = arg.get("tasks").and_then(Value::as_array) {
        let got: Vec<String> = tasks
            .iter()
            .map(|t| format!("{} {}", t["taskType"].as_str().unwrap_or("?"), t["status"].as_str().unwrap_or("?")))
            .collect();
        let want: Vec<String> =
            want.iter().map(|w| w.as_str().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        if got != want {
            return Some(format!("tasks are {got:?}, expected {want:?}"));
        }
    }
    if let Some(n) = arg.get("taskCount").or(arg.get("size")).and_then(Value::as_u64)
        && tasks.len() as u64 != n
    {
        return Some(format!("there are {} tasks, expected {n}", tasks.len()));
    }
    for count in arg.get("countRefs").and_then(Value::as_array).into_iter().flatten() {
        let refs = count["in"].as_array().cloned().unwrap_or_default();
        let n = tasks.iter().filter(|t| refs.contains(&t["referenceTaskName"])).count() as u64;
        if Some(n) != count["n"].as_u64() {
            return Some(format!("{n} tasks have a referenceTaskName in {refs:?}, expected {}", count["n"]));
        }
    }
    for pair in arg.get("equal").and_then(Value::as_array).into_iter().flatten() {
        let (a, b) = (&pair[0], &pair[1]);
        let (x, y) = (at_any(wf, a).cloned().unwrap_or(Value::Null), at_any(wf, b).cloned().unwrap_or(Value::Null));
        if !same(&x, &y) {
            return Some(format!("{a} is {x} but {b} is {y}; expected them equal"));
        }
    }
    for check in arg.get("checks").and_then(Value::as_array).into_iter().flatten() {
        if let Some(p) = check_problem(check, wf) {
            return Some(p);
        }
    }
    for want in arg.get("some").and_then(Value::as_array).into_iter().flatten() {
        if !tasks.iter().any(|t| subset_problem(want, t, "").is_none()) {
            return Some(format!("no task matches {want}"));
        }
    }
    for (path, want) in arg.get("equals").and_then(Value::as_object).into_iter().flatten() {
        let got = at_path(wf, path).cloned().unwrap_or(Value::Null);
        if !same(&got, want) {
            return Some(format!("{path} is {got}, expected exactly {want}"));
        }
    }
    for (path, other) in arg.get("not").and_then(Value::as_object).into_iter().flatten() {
        match at_path(wf, path) {
            Some(got) if !got.is_null() && !same(got, other) => {}
            got => return Some(format!("{path} is {got:?}, expected a value other than {other}")),
        }
    }
    if let Some(at) = arg.get("at").and_then(Value::as_object) {
        for (index, want) in at {
            let i: i64 = index.parse().ok()?;
            let i = if i < 0 { tasks.len() as i64 + i } else { i };
            let Some(task) = usize::try_from(i).ok().and_then(|i| tasks.get(i)) else {
                return Some(format!("there is no task {index} (of {})", tasks.len()));
            };
            if let Some(p) = subset_problem(want, task, &format!("tasks[{index}]")) {
                return Some(p);
            }
        }
    }
    if let Some(fields) = arg.get("fields")
        && let Some(p) = subset_problem(fields, wf, "workflow")
    {
        return Some(p);
    }
    for path in arg.get("has").and_then(Value::as_array).into_iter().flatten() {
        let path = path.as_str().unwrap_or("");
        if at_path(wf, path).is_none() {
            return Some(format!("workflow has no `{path}`"));
        }
    }
    for path in arg.get("lacks").and_then(Value::as_array).into_iter().flatten() {
        let path = path.as_str().unwrap_or("");
        if at_path(wf, path).is_some() {
            return Some(format!("workflow has `{path}`, expected none"));
        }
    }
    if let Some(text) = arg.get("reasonContains").and_then(Value::as_str) {
        let reason = wf["reasonForIncompletion"].as_str().unwrap_or("");
        if !reason.contains(text) {
            return Some(format!("reasonForIncompletion is {reason:?}, expected it to contain {text:?}"));
        }
    }
    None
}

/// Why one `checks` entry (`size`, `equals`, `contains`, `notNull`, `nonEmpty`, `anyMatches`)
/// fails on `wf`, if it does. `sameAs`, `notSameAs` and `format` need other instances and are
/// checked by the scenario.
fn check_problem(check: &Value, wf: &Value) -> Option<String> {
    let path = &check["path"];
    let found = at_any(wf, path);
    let value = found.cloned().unwrap_or(Value::Null);
    if let Some(n) = check.get("size").and_then(Value::as_u64) {
        let len = match &value {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.chars().count(),
            _ => return Some(format!("{path} is {value}, which has no size (expected {n})")),
        };
        if len as u64 != n {
            return Some(format!("{path} has {len} items, expected {n}: {value}"));
        }
    }
    if let Some(want) = check.get("equals")
        && !same(want, &value)
    {
        return Some(format!("{path} is {value}, expected exactly {want}"));
    }
    if let Some(item) = check.get("contains") {
        let ok = match &value {
            Value::Array(a) => a.iter().any(|v| same(v, item)),
            Value::String(s) => item.as_str().is_some_and(|i| s.contains(i)),
            Value::Object(m) => item.as_str().is_some_and(|k| m.contains_key(k)),
            _ => false,
        };
        if !ok {
            return Some(format!("{path} is {value}, expected it to contain {item}"));
        }
    }
    if check.get("notNull").is_some_and(truthy) && value.is_null() {
        return Some(format!("{path} is null or missing"));
    }
    if check.get("nonEmpty").is_some_and(truthy) && !truthy(&value) {
        return Some(format!("{path} is {value}, expected a non-empty value"));
    }
    if let Some(pattern) = check.get("anyMatches") {
        let any = value.as_array().is_some_and(|a| a.iter().any(|v| subset_problem(pattern, v, "").is_none()));
        if !any {
            return Some(format!("no item of {path} matches {pattern}"));
        }
    }
    None
}
