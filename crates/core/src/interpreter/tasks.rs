//! Starting each task type, and the DO_WHILE loop.

use serde_json::{Map, Value, json};

use super::evaluate::Stop;
use super::run::{Flow, Pos, Run};
use super::{Action, DEFAULT_RESPONSE_TIMEOUT_SECONDS, Evaluation, HttpRequest, WorkerTask};
use crate::def::cycles::MAX_SUB_WORKFLOW_DEPTH;
use crate::def::{Evaluator, Task, TaskKind};
use crate::instance::{TaskStatus, WorkflowStatus, global_task_id};
use crate::params::Secrets as Reveal;
use crate::time::{parse_duration, parse_until};

impl<'a> Run<'a, '_> {
    /// Starts execution `i`: evaluates synchronous tasks at once, emits actions for the others.
    pub(super) fn start(&mut self, i: usize) {
        let now = self.cx.now;
        let def_ref = self.inst.tasks[i].def_ref.clone();
        let Some(task) = self.task_def(&def_ref) else {
            let reason = format!("task `{def_ref}` is no longer in the workflow definition");
            self.set_status(i, TaskStatus::FailedWithTerminalError, Some(reason));
            return;
        };
        if matches!(task.kind, TaskKind::Simple) {
            return self.offer(i, task);
        }
        {
            let exec = &mut self.inst.tasks[i];
            exec.status = TaskStatus::InProgress;
            exec.start_time = Some(now);
            exec.due_time = None;
        }
        let given = self.rerun_input.take_if(|(id, _)| *id == self.inst.tasks[i].task_id).map(|(_, input)| input);
        let input = match given.map(Ok).unwrap_or_else(|| self.resolve_input(i, task, Reveal::Reveal).map(into_map)) {
            Ok(m) => m,
            Err(e) => return self.fail(i, e, TaskStatus::FailedWithTerminalError),
        };
        if let Some(timeout) = task.timeout
            && matches!(task.kind, TaskKind::Http | TaskKind::Wait | TaskKind::Human | TaskKind::SubWorkflow { .. })
        {
            let due = now + timeout.seconds as i64 * 1000;
            self.inst.tasks[i].timeout_time = Some(due);
            self.actions.push(Action::Timer { task_id: self.inst.tasks[i].task_id.clone(), due });
        }
        match &task.kind {
            TaskKind::Http => match HttpRequest::from_input(&input) {
                Ok(request) => {
                    let task_id = self.inst.tasks[i].task_id.clone();
                    self.actions.push(Action::Http { task_id, request });
                }
                Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
            },
            TaskKind::Inline => self.inline(i, &input),
            TaskKind::Lambda => {
                let body = input.get("scriptExpression").and_then(Value::as_str).unwrap_or_default();
                let code = crate::def::build::lambda_script(body);
                self.evaluate(i, Evaluation::Script { code, input: Value::Object(input.clone()) });
            }
            TaskKind::JsonJq { .. } => self.jq(i, &input),
            TaskKind::Switch(sw) => {
                let case = match sw.evaluator {
                    Evaluator::ValueParam => Ok(input.get(&sw.expression).cloned().unwrap_or(Value::Null)),
                    Evaluator::JavaScript => {
                        let time = self.condition_time();
                        self.cx
                            .scripts
                            .eval_within(&sw.expression, &Value::Object(input), time)
                            .map_err(|e| e.to_string())
                    }
                };
                match case {
                    Ok(v) => {
                        let case = match v {
                            Value::String(s) => s,
                            Value::Null => "null".into(),
                            other => other.to_string(),
                        };
                        // As Conductor's mappers, the chosen case is part of the task's input.
                        if let Value::Object(input) = &mut self.inst.tasks[i].input_data {
                            input.insert("case".into(), Value::String(case.clone()));
                        }
                        let mut output = json!({sw.case_key(): [case]});
                        if !sw.decision {
                            output["selectedCase"] = json!(case);
                        }
                        self.complete(i, output);
                    }
                    Err(e) => self.fail(i, e, TaskStatus::Failed),
                }
            }
            TaskKind::DoWhile(_) => {
                self.inst.tasks[i].output_data = json!({"iteration": 1});
            }
            TaskKind::Wait => self.wait(i, &input),
            TaskKind::Human => {
                self.take_raised(i);
            }
            TaskKind::Simple => {}
            TaskKind::SetVariable => {
                let mut variables = self.inst.variables.clone();
                if let Value::Object(masked) = self.inst.tasks[i].input_data.clone() {
                    variables.extend(masked);
                }
                // As Conductor's SetVariable: the variables are left as they were when too big.
                let size = serde_json::to_vec(&variables).map_or(0, |v| v.len());
                let limit = self.cx.max_variables_bytes;
                if size > limit {
                    let reason = format!(
                        "The variables payload size: {size} of workflow: {} is greater than the permissible limit: {} kilobytes",
                        self.inst.workflow_id,
                        limit / 1024
                    );
                    return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
                }
                self.inst.variables = variables;
                self.complete(i, json!({}));
            }
            TaskKind::Noop => self.complete(i, json!({})),
            TaskKind::StartWorkflow => self.start_workflow(i),
            TaskKind::Terminate => self.terminate(i, &input),
            TaskKind::SubWorkflow { name, .. } if self.child_depth() > MAX_SUB_WORKFLOW_DEPTH => {
                let reason = format!(
                    "SUB_WORKFLOW `{name}` would nest deeper than {MAX_SUB_WORKFLOW_DEPTH} levels; a workflow that \
                     starts itself (directly or through others) is a cycle"
                );
                self.fail(i, reason, TaskStatus::Failed);
            }
            TaskKind::SubWorkflow { .. } => {
                let child = format!("{}.{}", self.inst.workflow_id, self.inst.tasks[i].task_id);
                self.inst.tasks[i].sub_workflow_id = Some(child.clone());
                self.inst.tasks[i].output_data = json!({"subWorkflowId": child});
                if let Some(start) = self.child_start(i) {
                    self.actions.push(Action::StartChild(start));
                }
            }
            TaskKind::ForkJoin { .. } | TaskKind::ForkJoinDynamic(_) => self.complete(i, json!({})),
            // Stands in for the task it made; reached only when that no longer builds.
            TaskKind::Dynamic { .. } => {
                let reason = "the task this DYNAMIC task named could not be made".to_string();
                self.fail(i, reason, TaskStatus::FailedWithTerminalError)
            }
            TaskKind::UpdateSecret => self.update_secret(i, &input),
            TaskKind::Query { source, jdbc } => {
                let (source, jdbc) = (*source, *jdbc);
                let mut config = if jdbc { jdbc_config(&input) } else { input.clone() };
                if source == crate::source_kind::SourceKind::Sql
                    && let Err(reason) = self.authorize_connection(i, &mut config)
                {
                    return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
                }
                let task_id = self.inst.tasks[i].task_id.clone();
                self.actions.push(Action::Query { task_id, source, jdbc, config: Value::Object(config) });
            }
            TaskKind::Alert => {
                // The observation is built from the masked input: it is stored with the alert.
                let masked = match &self.inst.tasks[i].input_data {
                    Value::Object(m) => m.clone(),
                    _ => Map::new(),
                };
                let observation_id = format!("{}/{}", self.inst.workflow_id, self.inst.tasks[i].reference_task_name);
                match crate::alert::AlertRequest::from_input(
                    &masked,
                    &task.name,
                    &self.inst.workflow_name,
                    observation_id,
                ) {
                    Ok(mut request) => {
                        request.observed_at = self.observed_at();
                        let task_id = self.inst.tasks[i].task_id.clone();
                        self.actions.push(Action::Alert { task_id, request: Box::new(request) });
                    }
                    Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
                }
            }
            // Completed by `run_join` once the tasks it joins on have.
            TaskKind::Join { join_on } => {
                self.inst.tasks[i].input_data = json!({"joinOn": join_on});
            }
        }
    }

    /// Offers SIMPLE execution `i` to workers. As in Conductor it stays SCHEDULED until a worker
    /// polls it ([`Run::on_polled`]); its `timeoutSeconds` runs from the first poll, and
    /// `pollTimeoutSeconds` from its scheduling until then.
    pub(super) fn offer(&mut self, i: usize, task: &Task) {
        let now = self.cx.now;
        let exec = &mut self.inst.tasks[i];
        exec.due_time = None;
        if exec.start_time.is_none()
            && exec.timeout_time.is_none()
            && let Some(poll) = task.poll_timeout_seconds
        {
            let due = exec.scheduled_time + (poll + exec.callback_after_seconds) as i64 * 1000;
            exec.timeout_time = Some(due);
            self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due });
        }
        self.enqueue(i, task, now + self.inst.tasks[i].callback_after_seconds as i64 * 1000);
    }

    /// A worker polled SIMPLE execution `i`: it is IN_PROGRESS, and its time limit starts with
    /// the first poll.
    pub(super) fn on_polled(&mut self, i: usize, worker_id: String) {
        let now = self.cx.now;
        let task = self.task_def(&self.inst.tasks[i].def_ref.clone());
        let timeout = task.and_then(|t| t.timeout);
        let lease = task.and_then(|t| t.response_timeout_seconds).unwrap_or(DEFAULT_RESPONSE_TIMEOUT_SECONDS);
        let exec = &mut self.inst.tasks[i];
        if exec.status != TaskStatus::Scheduled || exec.task_type != "SIMPLE" || exec.due_time.is_some() {
            return;
        }
        exec.status = TaskStatus::InProgress;
        exec.poll_count += 1;
        exec.worker_id = Some(worker_id);
        let lease_until = now + lease as i64 * 1000;
        exec.lease_until = Some(lease_until);
        self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due: lease_until });
        if exec.start_time.is_none() {
            exec.start_time = Some(now);
            exec.timeout_time = timeout.map(|t| now + t.seconds as i64 * 1000);
            if let Some(due) = exec.timeout_time {
                self.actions.push(Action::Timer { task_id: exec.task_id.clone(), due });
            }
        }
    }

    /// Offers SIMPLE execution `i` to workers from `visible_at` (also after a restart).
    pub(super) fn enqueue(&mut self, i: usize, task: &Task, visible_at: crate::time::Millis) {
        let exec = &self.inst.tasks[i];
        self.actions.push(Action::Enqueue(Box::new(WorkerTask {
            task_id: exec.task_id.clone(),
            task_type: task.name.clone(),
            reference_task_name: exec.reference_task_name.clone(),
            input: exec.input_data.clone(),
            retry_count: exec.retry_count,
            iteration: exec.iteration,
            scheduled_time: exec.scheduled_time,
            visible_at,
            response_timeout_seconds: task.response_timeout_seconds.unwrap_or(DEFAULT_RESPONSE_TIMEOUT_SECONDS),
            workflow_type: self.inst.workflow_name.clone(),
        })));
    }

    /// Hands `_secrets.secretValue` to the runtime to store as `_secrets.secretKey`, after
    /// masking it everywhere in this instance: the commit that carries the action is the first to
    /// store the state since the value arrived (a token an HTTP task fetched just before), so it
    /// never reaches the store.
    fn update_secret(&mut self, i: usize, input: &Map<String, Value>) {
        let given = input.get("_secrets");
        let name = given.and_then(|s| s.get("secretKey")).and_then(Value::as_str).unwrap_or_default().to_string();
        let value = match given.and_then(|s| s.get("secretValue")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if !crate::params::is_secret_name(&name) {
            let reason = format!("_secrets.secretKey `{name}` is not a secret name: letters, digits, `_` and `-` only");
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if value.is_empty() {
            let reason = "_secrets.secretValue is empty".to_string();
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if value == crate::params::MASK {
            // What vigil stores in place of a secret: resolving from data a secret was masked in
            // (a retry after the value became a secret) must not store the mask as the secret.
            let reason = "_secrets.secretValue is `***`, the mask vigil stores in place of a secret: \
                          the value it came from is no longer kept"
                .to_string();
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if let Err(denied) = self.authority_for(i, "_secrets").may_write_secret(&name) {
            return self.fail(i, denied.0, TaskStatus::FailedWithTerminalError);
        }
        let secrets = self.cx.secrets;
        let inst = &mut *self.inst;
        for exec in &mut inst.tasks {
            secrets.scrub_new(&value, &mut exec.input_data);
            secrets.scrub_new(&value, &mut exec.output_data);
        }
        let mut variables = Value::Object(std::mem::take(&mut inst.variables));
        secrets.scrub_new(&value, &mut variables);
        if let Value::Object(v) = variables {
            inst.variables = v;
        }
        if let Some(secret) = inst.tasks[i].input_data.get_mut("_secrets").and_then(Value::as_object_mut) {
            secret.insert("secretValue".into(), Value::String(crate::params::MASK.into()));
        }
        let task_id = inst.tasks[i].task_id.clone();
        self.actions.push(Action::UpdateSecret { task_id, name, value });
    }

    /// Whose authority the value of input `field` of execution `i` carries: the definer's when
    /// the definition wrote it out, the instance's data authority when it is (or may be) data:
    /// a template, or a task made at run time.
    fn authority_for(&self, i: usize, field: &str) -> crate::principal::Principal {
        let exec = &self.inst.tasks[i];
        let made =
            self.made.maker_of(&exec.def_ref).is_some() || self.made.maker_of(&exec.reference_task_name).is_some();
        let written = self.task_def(&exec.def_ref).and_then(|t| t.input.get(field));
        let templated = written.is_none_or(|v| v.to_string().contains("${"));
        if made || templated { self.inst.data_authority() } else { self.inst.defined_by.clone() }
    }

    /// An SQL task names a connection an admin declared (`connection`, Conductor's
    /// `connectionId`), which its authority must be granted (`connection:NAME`), or gives a
    /// `url`, which only a trusted authority may type in.
    fn authorize_connection(&self, i: usize, config: &mut Map<String, Value>) -> Result<(), String> {
        // The field the definition wrote, whose text carries the authority checked.
        let written = self.task_def(&self.inst.tasks[i].def_ref).map(|t| &t.input);
        let field = ["connection", "connectionId", "integrationName"]
            .into_iter()
            .find(|f| written.is_some_and(|input| input.contains_key(*f)))
            .unwrap_or("connection");
        for alias in ["integrationName", "connectionId"] {
            if let Some(id) = config.remove(alias) {
                config.entry("connection".to_string()).or_insert(id);
            }
        }
        match config.get("connection") {
            Some(Value::String(name)) => {
                let authority = self.authority_for(i, field);
                if authority.allows(&format!("connection:{name}")) {
                    return Ok(());
                }
                Err(format!(
                    "connection `{name}` is not granted to {}; an admin grants it with `vigil token create --grant \
                     connection:{name}`",
                    authority.describe()
                ))
            }
            Some(other) => Err(format!("`connection` must name a connection, not {other}")),
            None => self.authority_for(i, "url").may_use_ad_hoc_url().map_err(|d| d.0),
        }
    }

    fn inline(&mut self, i: usize, input: &Map<String, Value>) {
        let expression = input.get("expression").and_then(Value::as_str).unwrap_or_default().to_string();
        if input.get("evaluatorType").and_then(Value::as_str) == Some("value-param") {
            let mut value = input.get(&expression).cloned().unwrap_or(Value::Null);
            self.cx.secrets.scrub(&mut value);
            return self.complete(i, json!({"result": value}));
        }
        self.evaluate(i, Evaluation::Script { code: expression, input: Value::Object(input.clone()) });
    }

    fn jq(&mut self, i: usize, input: &Map<String, Value>) {
        let query = input.get("queryExpression").and_then(Value::as_str).unwrap_or_default().to_string();
        self.evaluate(i, Evaluation::Jq { query, input: Value::Object(input.clone()) });
    }

    /// Evaluates within the step's budget; past it, hands the evaluation to the runtime.
    fn evaluate(&mut self, i: usize, evaluation: Evaluation) {
        let limit = evaluation.limit(self.cx.scripts, self.cx.jq);
        let time = self.cx.budget.map_or(limit, |b| b.task.min(limit));
        let outcome = if time.is_zero() {
            Err(Stop::OverTime(String::new()))
        } else {
            evaluation.attempt(self.cx.scripts, self.cx.jq, time)
        };
        match outcome {
            Ok(mut output) => {
                self.cx.secrets.scrub(&mut output);
                self.complete(i, output);
            }
            Err(Stop::OverTime(_)) if time < limit => {
                let task_id = self.inst.tasks[i].task_id.clone();
                self.actions.push(Action::Evaluate { task_id, evaluation: Box::new(evaluation) });
            }
            Err(Stop::OverTime(reason) | Stop::Failed(reason)) => {
                let reason = self.cx.secrets.scrub_text(reason);
                self.fail(i, reason, TaskStatus::Failed)
            }
        }
    }

    /// How long a SWITCH or DO_WHILE condition may run.
    fn condition_time(&self) -> std::time::Duration {
        let limit = self.cx.scripts.limits().time;
        self.cx.budget.map_or(limit, |b| b.condition.min(limit))
    }

    fn wait(&mut self, i: usize, input: &Map<String, Value>) {
        let due = match (input.get("duration"), input.get("until")) {
            (Some(Value::String(d)), _) => parse_duration(d).map(|ms| Some(self.cx.now + ms)),
            (Some(Value::Number(n)), _) => Ok(Some(self.cx.now + n.as_i64().unwrap_or(0) * 1000)),
            (_, Some(Value::String(u))) => parse_until(u).map(Some),
            _ => Ok(None),
        };
        match due {
            Ok(Some(due)) => {
                self.inst.tasks[i].due_time = Some(due);
                self.actions.push(Action::Timer { task_id: self.inst.tasks[i].task_id.clone(), due });
            }
            Ok(None) => {
                self.take_raised(i);
            }
            Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
        }
    }

    /// Ends the instance as Conductor's `Terminate` task does: its output (and the instance's) is
    /// `workflowOutput` when that is an object, `{"output": v}` when it is another value, `{}` when
    /// absent; the reason defaults to `Workflow is <STATUS> by TERMINATE task: <task id>`.
    fn terminate(&mut self, i: usize, input: &Map<String, Value>) {
        let status = match input.get("terminationStatus").and_then(Value::as_str) {
            Some("COMPLETED") => WorkflowStatus::Completed,
            Some("FAILED") => WorkflowStatus::Failed,
            _ => WorkflowStatus::Terminated,
        };
        let masked = &self.inst.tasks[i].input_data;
        let reason = masked.get("terminationReason").and_then(Value::as_str).filter(|r| !r.trim().is_empty());
        let reason = match reason {
            Some(reason) => reason.to_string(),
            None => format!(
                "Workflow is {} by TERMINATE task: {}",
                status.as_str(),
                global_task_id(&self.inst.workflow_id, &self.inst.tasks[i].task_id)
            ),
        };
        let output = match masked.get("workflowOutput") {
            None | Some(Value::Null) => json!({}),
            Some(object @ Value::Object(_)) => object.clone(),
            Some(other) => json!({ "output": other }),
        };
        self.complete(i, output.clone());
        self.end(status, Some(reason), Some(output));
    }

    /// Runs a DO_WHILE whose execution is `i`, iterating as long as the body completes synchronously.
    pub(super) fn run_loop(&mut self, task: &'a Task, pos: &Pos, mut i: usize) -> Flow {
        let TaskKind::DoWhile(spec) = &task.kind else { return Flow::Done };
        let items = match task.input.get("items") {
            Some(template) => match self.resolve(template, &pos.suffix, Reveal::Mask) {
                Ok(Value::Array(items)) => Some(items),
                Ok(other) => return self.loop_failed(i, format!("DO_WHILE `items` must be a list, got {other}")),
                Err(e) => return self.loop_failed(i, e),
            },
            None => None,
        };
        loop {
            let iteration = self.inst.tasks[i].output_data["iteration"].as_u64().unwrap_or(1) as u32;
            if let Some(items) = &items {
                if items.is_empty() {
                    self.complete_loop(i, 0);
                    return Flow::Done;
                }
                let item = items.get(iteration as usize - 1).cloned().unwrap_or(Value::Null);
                self.inst.tasks[i].output_data["item"] = item;
                self.inst.tasks[i].output_data["index"] = json!(iteration - 1);
            }
            let inner = Pos { suffix: format!("{}__{iteration}", pos.suffix), iteration };
            match self.run_list(&spec.body, &inner) {
                Flow::Done => {}
                // The instance fails for the inner task; the loop is cancelled with it, as in
                // Conductor.
                other => return other,
            }
            let outputs = self.iteration_outputs(&spec.body, &inner.suffix);
            self.inst.tasks[i].output_data[iteration.to_string()] = Value::Object(outputs.clone());
            let again = match (&items, &spec.condition) {
                (Some(items), _) => (iteration as usize) < items.len(),
                (None, Some(condition)) => match self.loop_condition(task, i, condition, outputs) {
                    Ok(b) => b,
                    Err(e) => return self.loop_failed(i, e),
                },
                (None, None) => false,
            };
            i = self.trim_iterations(spec.keep_last_n, &spec.body, i, iteration, &pos.suffix);
            let (all, kept) = self.cx.max_iterations;
            let cap = if spec.keep_last_n > 0 { kept } else { all };
            if again && iteration >= cap {
                let hint = if spec.keep_last_n > 0 { String::new() } else { format!(" (with `keepLastN`, {kept})") };
                return self.loop_failed(i, format!("DO_WHILE stopped after {cap} iterations, the limit{hint}"));
            }
            if !again {
                self.complete_loop(i, iteration);
                return Flow::Done;
            }
            self.inst.tasks[i].output_data["iteration"] = json!(iteration + 1);
            if self.inst.status != WorkflowStatus::Running {
                return Flow::Ended;
            }
        }
    }

    fn loop_failed(&mut self, i: usize, reason: String) -> Flow {
        self.set_status(i, TaskStatus::Failed, Some(reason));
        Flow::Failed(i)
    }

    fn complete_loop(&mut self, i: usize, iteration: u32) {
        let mut output = self.inst.tasks[i].output_data.clone();
        output["iteration"] = json!(iteration);
        self.complete(i, output);
    }

    /// Outputs of the body tasks in one iteration, by reference name without suffix.
    fn iteration_outputs(&self, body: &[Task], suffix: &str) -> Map<String, Value> {
        let mut out = Map::new();
        fn walk(run: &Run<'_, '_>, tasks: &[Task], suffix: &str, out: &mut Map<String, Value>) {
            for t in tasks {
                if let Some(&j) = run.index.get(&format!("{}{suffix}", t.ref_name)) {
                    out.insert(t.ref_name.clone(), run.inst.tasks[j].output_data.clone());
                }
                if !matches!(t.kind, TaskKind::DoWhile(_)) {
                    for list in t.children() {
                        walk(run, list, suffix, out);
                    }
                }
            }
        }
        walk(self, body, suffix, &mut out);
        out
    }

    /// Evaluates `loopCondition` with Conductor's inputs: the DO_WHILE's own inputs, plus
    /// `$.<loopRef>` holding `iteration` and each body task's output, plus `$.<bodyRef>`.
    fn loop_condition(
        &mut self,
        task: &Task,
        i: usize,
        condition: &str,
        outputs: Map<String, Value>,
    ) -> Result<bool, String> {
        let mut input = match self.resolve_input(i, task, Reveal::Reveal)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mut own = match self.inst.tasks[i].output_data.clone() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for (k, v) in &outputs {
            own.insert(k.clone(), v.clone());
            input.entry(k.clone()).or_insert_with(|| v.clone());
        }
        input.insert(task.ref_name.clone(), Value::Object(own));
        let time = self.condition_time();
        self.cx.scripts.eval_truthy(condition, &Value::Object(input), time).map_err(|e| format!("loopCondition: {e}"))
    }

    /// Drops executions and outputs of iterations older than the last `keep` (0 keeps all).
    fn trim_iterations(&mut self, keep: u32, body: &[Task], i: usize, iteration: u32, outer: &str) -> usize {
        if keep == 0 || iteration <= keep {
            return i;
        }
        let cutoff = iteration - keep;
        let mut refs = Vec::new();
        crate::def::each(body, &mut |t| refs.push(t.ref_name.clone()));
        let loop_id = self.inst.tasks[i].task_id.clone();
        // A body execution's reference is `<ref><outer suffix>__<this loop's iteration>[__<inner>...]`.
        let this_iteration = |t: &crate::instance::TaskExec| -> Option<u32> {
            let rest =
                t.reference_task_name.strip_prefix(t.def_ref.as_str())?.strip_prefix(outer)?.strip_prefix("__")?;
            rest.split("__").next()?.parse().ok()
        };
        self.inst.tasks.retain(|t| {
            t.task_id == loop_id || !refs.contains(&t.def_ref) || this_iteration(t).is_none_or(|n| n > cutoff)
        });
        if let Value::Object(out) =
            &mut self.inst.tasks.iter_mut().find(|t| t.task_id == loop_id).expect("loop exec").output_data
        {
            out.retain(|k, _| k.parse::<u32>().map_or(true, |n| n > cutoff));
        }
        self.index = self.inst.latest_index();
        self.inst.tasks.iter().position(|t| t.task_id == loop_id).expect("loop exec")
    }
}

/// A resolved input as a map; anything else is no input.
fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What Conductor's `JDBC` task reads from its input (`query` is taken for `statement`, and
/// `integrationName`, Orkes' name, for `connectionId`); nothing else reaches the database.
fn jdbc_config(input: &Map<String, Value>) -> Map<String, Value> {
    let mut config = Map::new();
    for field in ["connection", "connectionId", "integrationName", "url", "statement", "parameters", "type", "timeout"]
    {
        if let Some(value) = input.get(field) {
            config.insert(field.to_string(), value.clone());
        }
    }
    if let (None, Some(query)) = (config.get("statement"), input.get("query")) {
        config.insert("statement".into(), query.clone());
    }
    if let Some(count) = input.get("expectedUpdateCount") {
        config.insert("expectedUpdateCount".into(), count.clone());
    }
    config
}

impl Run<'_, '_> {
    /// START_WORKFLOW: starts the workflow `startWorkflow` names as one of its own (nobody
    /// waits for it), created with this step so both commit together, with an id made from
    /// this execution's (a repeated step names the same one); output `{workflowId}`. Its input
    /// is the stored (masked) copy: a secret this task resolved is not handed on in the clear.
    fn start_workflow(&mut self, i: usize) {
        let start = self.inst.tasks[i].input_data.get("startWorkflow").cloned().unwrap_or(Value::Null);
        let name = match start.get("name") {
            Some(Value::String(name)) => name.clone(),
            other => {
                let reason = format!("startWorkflow.name is not a workflow name: {}", other.unwrap_or(&Value::Null));
                return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
            }
        };
        let version = start.get("version").and_then(Value::as_u64).map(|v| v as u32);
        if self.cx.workflows.get(&name, version).is_none() {
            let which = version.map_or(String::new(), |v| format!(" version {v}"));
            let reason = format!("Unable to start workflow `{name}`{which}: it is not defined");
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        let id = format!("{}.{}", self.inst.workflow_id, self.inst.tasks[i].task_id);
        let correlation_id = start
            .get("correlationId")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| self.inst.correlation_id.clone());
        self.actions.push(Action::StartWorkflow(super::ChildStart {
            id: id.clone(),
            name,
            version,
            input: start.get("input").cloned().unwrap_or_else(|| json!({})),
            parent: None,
            correlation_id,
            definition: None,
            started_by: self.inst.data_authority(),
        }));
        self.complete(i, json!({"workflowId": id}));
    }
}
