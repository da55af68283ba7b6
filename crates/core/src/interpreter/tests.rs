//! Interpreter tests: events in, actions out, no I/O.

use serde_json::{Value, json};

use super::*;
use crate::def::build::build_workflow;
use crate::instance::{SecretSource, TaskStatus};
use crate::script::ScriptLimits;

struct TestSecrets;

impl SecretSource for TestSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        (name == "token").then(|| "tok-123".into())
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

impl Secrets for TestSecrets {
    fn scrub(&self, value: &mut Value) {
        if let Value::String(s) = value {
            *s = s.replace("tok-123", "***");
        } else if let Value::Object(m) = value {
            m.values_mut().for_each(|v| self.scrub(v));
        } else if let Value::Array(a) = value {
            a.iter_mut().for_each(|v| self.scrub(v));
        }
    }
}

struct Harness {
    def: WorkflowDef,
    set: WorkflowSet,
    inst: Instance,
    now: i64,
    scripts: ScriptEngine,
    jq: JqCache,
    max_iterations: (u32, u32),
    budget: Option<super::Budget>,
}

impl Harness {
    fn new(yaml: &str, input: Value) -> Self {
        let doc: Value = serde_saphyr::from_str(yaml).unwrap();
        let (def, problems) = build_workflow(&doc);
        let def = def.unwrap_or_else(|| panic!("{problems:?}"));
        let mut set = WorkflowSet::default();
        set.insert(def.clone());
        let inst = new_instance(&def, "wf1".into(), input, 1_000);
        let limits = ScriptLimits { time: std::time::Duration::from_millis(300), memory_bytes: 32 << 20 };
        let (scripts, jq) = (ScriptEngine::new(limits), JqCache::new(limits));
        Self { def, set, inst, now: 1_000, scripts, jq, max_iterations: super::MAX_ITERATIONS, budget: None }
    }

    fn send(&mut self, event: Event) -> Vec<Action> {
        let mut cx = Step {
            now: self.now,
            workflows: &self.set,
            scripts: &mut self.scripts,
            jq: &mut self.jq,
            secrets: &TestSecrets,
            max_iterations: self.max_iterations,
            max_variables_bytes: super::MAX_VARIABLES_BYTES,
            budget: self.budget,
        };
        step(&mut self.inst, &self.def, event, &mut cx)
    }

    fn task(&self, r: &str) -> &crate::instance::TaskExec {
        self.inst.tasks.iter().rev().find(|t| t.reference_task_name == r).unwrap_or_else(|| panic!("no task {r}"))
    }
}

fn http_of(actions: &[Action]) -> Vec<(String, HttpRequest)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Http { task_id, request, .. } => Some((task_id.clone(), request.clone())),
            _ => None,
        })
        .collect()
}

const FIVE_TASKS: &str = r#"
name: five
tasks:
  - {name: a, taskReferenceName: a, type: INLINE, inputParameters: {evaluatorType: javascript, n: "${workflow.input.n}", expression: "$.n * 2"}}
  - name: s
    taskReferenceName: s
    type: SWITCH
    evaluatorType: javascript
    expression: "$.v > 5 ? 'big' : 'small'"
    inputParameters: {v: "${a.output.result}"}
    decisionCases:
      big: [{name: v, taskReferenceName: v, type: SET_VARIABLE, inputParameters: {size: big}}]
    defaultCase: [{name: v2, taskReferenceName: v2, type: SET_VARIABLE, inputParameters: {size: small}}]
  - {name: j, taskReferenceName: j, type: JSON_JQ_TRANSFORM, inputParameters: {x: "${a.output.result}", size: "${workflow.variables.size}", queryExpression: "{doubled: .x, size: .size}"}}
  - {name: z, taskReferenceName: z, type: INLINE, inputParameters: {evaluatorType: javascript, r: "${j.output.result}", expression: "$.r.size + ':' + $.r.doubled"}}
outputParameters: {answer: "${z.output.result}", size: "${workflow.variables.size}"}
"#;

#[test]
fn synchronous_chain_completes_in_one_step() {
    let mut h = Harness::new(FIVE_TASKS, json!({"n": 4}));
    let actions = h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed, "{:?}", h.inst.reason_for_incompletion);
    assert_eq!(h.inst.output, json!({"answer": "big:8", "size": "big"}));
    assert!(matches!(actions.as_slice(), [Action::Finished { status: WorkflowStatus::Completed, .. }]));
    assert_eq!(h.task("s").output_data["evaluationResult"], json!(["big"]));
    assert_eq!(h.inst.tasks.len(), 5);
}

/// Issue 61, item 13: tasks decided in one step get distinct, ordered times, as Conductor's,
/// written one at a time, do; the next step starts after them even when its clock has not
/// caught up, and the instance ends last.
#[test]
fn tasks_decided_in_one_step_get_distinct_ordered_times() {
    let mut h = Harness::new(FIVE_TASKS, json!({"n": 4}));
    h.send(Event::Start);
    let times: Vec<(i64, i64, i64)> =
        h.inst.tasks.iter().map(|t| (t.scheduled_time, t.start_time.unwrap(), t.end_time.unwrap())).collect();
    for (i, (scheduled, start, end)) in times.iter().enumerate() {
        assert!(scheduled <= start && start < end, "task {i}: {times:?}");
        if let Some((_, _, before)) = i.checked_sub(1).map(|j| times[j]) {
            assert!(before <= *start, "task {i} starts before the one before it ended: {times:?}");
        }
    }
    let ends: std::collections::BTreeSet<i64> = times.iter().map(|t| t.2).collect();
    assert_eq!(ends.len(), times.len(), "distinct ends: {times:?}");
    // SWITCH `s` ends after its case `v` (SET_VARIABLE) did, as it is decided with it.
    assert!(h.inst.end_time.unwrap() >= times.iter().map(|t| t.2).max().unwrap());
    assert!(h.inst.update_time >= h.inst.end_time.unwrap());
    // The clock's own start is kept: the first task starts when the step did.
    assert_eq!(times[0].1, 1_000);

    // A later step whose clock lags the stamps (the same millisecond) still orders after them.
    let yaml = r#"
name: two
tasks:
  - {name: a, taskReferenceName: a, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "1"}}
  - {name: b, taskReferenceName: b, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "2"}}
  - {name: get, taskReferenceName: get, type: HTTP, inputParameters: {uri: "http://x/a"}}
  - {name: c, taskReferenceName: c, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "3"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let calls = http_of(&h.send(Event::Start));
    let get_start = h.task("get").start_time.unwrap();
    assert!(get_start > h.task("b").start_time.unwrap() && get_start >= h.task("b").end_time.unwrap());
    h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: TaskResult::Completed(json!({})) });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    let (get, c) = (h.task("get"), h.task("c"));
    assert!(get.end_time.unwrap() > get_start, "{get:?}");
    assert!(c.scheduled_time >= get.end_time.unwrap() && c.end_time.unwrap() > c.start_time.unwrap());
}

const HTTP_RETRY: &str = r#"
name: fetch
tasks:
  - name: get
    taskReferenceName: get
    type: HTTP
    taskDefinition: {retryCount: 2, retryLogic: FIXED, retryDelaySeconds: 5}
    inputParameters:
      http_request: {uri: "http://x/items?id=${workflow.input.id}", method: GET, headers: {Authorization: "Bearer ${workflow.secrets.token}"}}
outputParameters: {first: "${get.output.response.body.items[0]}"}
"#;

#[test]
fn http_retries_after_delay_then_completes() {
    let mut h = Harness::new(HTTP_RETRY, json!({"id": 7}));
    let actions = h.send(Event::Start);
    let calls = http_of(&actions);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.uri, "http://x/items?id=7");
    assert_eq!(calls[0].1.headers, vec![("Authorization".to_string(), "Bearer tok-123".to_string())]);
    assert_eq!(
        h.task("get").input_data["http_request"]["headers"]["Authorization"],
        json!("Bearer ***"),
        "secret is masked in history"
    );

    let failed = TaskResult::Failed { reason: "HTTP 503".into(), output: json!({}), terminal: false };
    let actions = h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: failed });
    assert_eq!(actions, vec![Action::Timer { task_id: "2".into(), due: 6_000 }]);
    assert_eq!(h.inst.tasks[0].status, TaskStatus::Failed);

    h.now = 6_000;
    let calls = http_of(&h.send(Event::Timer { task_id: "2".into() }));
    assert_eq!(calls.len(), 1);
    assert_eq!(h.task("get").retry_count, 1);

    let ok = TaskResult::Completed(json!({"response": {"statusCode": 200, "body": {"items": ["a", "tok-123"]}}}));
    h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: ok });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"first": "a"}));
    assert_eq!(h.task("get").output_data["response"]["body"]["items"][1], json!("***"), "echoed secret is scrubbed");
}

#[test]
fn stale_and_duplicate_results_are_ignored() {
    let mut h = Harness::new(HTTP_RETRY, json!({"id": 1}));
    let calls = http_of(&h.send(Event::Start));
    let ok = TaskResult::Completed(json!({"response": {"body": {"items": [1]}}}));
    h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: ok.clone() });
    let before = h.inst.clone();
    let actions = h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: ok });
    assert!(actions.is_empty());
    assert_eq!(h.inst.tasks, before.tasks);
}

#[test]
fn optional_failure_completes_with_errors() {
    let yaml = r#"
name: opt
tasks:
  - {name: boom, taskReferenceName: boom, type: INLINE, optional: true, inputParameters: {evaluatorType: javascript, expression: "throw new Error('nope')"}}
  - {name: after, taskReferenceName: after, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "'ran'"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.task("boom").status, TaskStatus::CompletedWithErrors);
    assert_eq!(h.task("boom").reason_for_incompletion.as_deref(), Some("script error: nope"));
    assert_eq!(h.inst.output, json!({"result": "ran"}));
}

#[test]
fn infinite_script_fails_its_task_within_the_limit() {
    let yaml = r#"
name: spin
tasks:
  - {name: loop, taskReferenceName: loop, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "while(true){}"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let started = std::time::Instant::now();
    h.send(Event::Start);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert!(h.inst.reason_for_incompletion.as_deref().unwrap().contains("longer than"));
}

#[test]
fn a_script_past_the_step_budget_continues_beside_the_step_and_again_after_a_restart() {
    let yaml = r#"
name: slow
tasks:
  - {name: spin, taskReferenceName: spin, type: INLINE, inputParameters: {evaluatorType: javascript, n: "${workflow.input.n}", expression: "var t = Date.now(); while (Date.now() - t < 50) {} $.n"}}
  - {name: q, taskReferenceName: q, type: JSON_JQ_TRANSFORM, inputParameters: {v: "${spin.output.result}", queryExpression: ".v + 1"}}
"#;
    let mut h = Harness::new(yaml, json!({"n": 41}));
    h.budget =
        Some(Budget { task: std::time::Duration::from_millis(5), condition: std::time::Duration::from_millis(5) });
    let actions = h.send(Event::Start);
    let [Action::Evaluate { task_id, evaluation }] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(h.task("spin").status, TaskStatus::InProgress);
    assert!(matches!(evaluation.as_ref(), Evaluation::Script { input, .. } if input["n"] == 41));

    // A restart before the result: the evaluation is handed over again.
    let again = h.send(Event::Recover);
    assert!(again.iter().any(|a| matches!(a, Action::Evaluate { .. })), "{again:?}");

    let result = evaluation.run(&mut h.scripts, &mut h.jq);
    h.send(Event::TaskResult { task_id: task_id.clone(), result });
    // The jq task is quick: evaluated inside the step.
    assert_eq!(h.task("q").output_data, json!({"result": 42, "resultList": [42]}));
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn a_condition_past_its_budget_fails_its_task() {
    let yaml = r#"
name: cond
tasks:
  - {name: s, taskReferenceName: s, type: SWITCH, evaluatorType: javascript, expression: "while (true) {}", decisionCases: {a: []}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.budget =
        Some(Budget { task: std::time::Duration::from_millis(5), condition: std::time::Duration::from_millis(20) });
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert!(h.task("s").reason_for_incompletion.as_deref().unwrap().contains("20ms"), "{:?}", h.task("s"));
}

const PAGES: &str = r#"
name: pages
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    inputParameters: {pages: "${workflow.input.pages}"}
    loopCondition: "$.loop['iteration'] < $.pages"
    loopOver:
      - {name: get, taskReferenceName: get, type: HTTP, inputParameters: {uri: "http://x/page/${loop.output.iteration}"}}
      - {name: count, taskReferenceName: count, type: INLINE, inputParameters: {evaluatorType: javascript, body: "${get.output.response.body}", expression: "$.body.length"}}
"#;

#[test]
fn do_while_pages_through_http_with_iteration_suffixes() {
    let mut h = Harness::new(PAGES, json!({"pages": 3}));
    let mut calls = http_of(&h.send(Event::Start));
    let mut uris = Vec::new();
    while let Some((task_id, req)) = calls.pop() {
        uris.push(req.uri.clone());
        let result = TaskResult::Completed(json!({"response": {"body": [1, 2]}}));
        calls = http_of(&h.send(Event::TaskResult { task_id, result }));
    }
    assert_eq!(uris, ["http://x/page/1", "http://x/page/2", "http://x/page/3"]);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    let refs: Vec<&str> = h.inst.tasks.iter().map(|t| t.reference_task_name.as_str()).collect();
    assert_eq!(refs, ["loop", "get__1", "count__1", "get__2", "count__2", "get__3", "count__3"]);
    assert_eq!(h.task("loop").output_data["iteration"], json!(3));
    assert_eq!(h.task("loop").output_data["2"]["count"], json!({"result": 2}));
}

#[test]
fn do_while_keep_last_n_trims_history() {
    let yaml = r#"
name: trim
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    inputParameters: {keepLastN: 2}
    loopCondition: "$.loop['iteration'] < 10"
    loopOver:
      - {name: i, taskReferenceName: i, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "1"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    let refs: Vec<&str> = h.inst.tasks.iter().map(|t| t.reference_task_name.as_str()).collect();
    assert_eq!(refs, ["loop", "i__9", "i__10"]);
}

#[test]
fn wait_fires_at_due_time_and_recover_rearms_it() {
    let yaml = r#"
name: w
tasks:
  - {name: w, taskReferenceName: w, type: WAIT, inputParameters: {duration: "10s"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    assert_eq!(h.send(Event::Start), vec![Action::Timer { task_id: "1".into(), due: 11_000 }]);
    h.now = 5_000;
    assert_eq!(h.send(Event::Recover), vec![Action::Timer { task_id: "1".into(), due: 11_000 }]);
    assert_eq!(
        h.send(Event::Timer { task_id: "1".into() }),
        vec![Action::Timer { task_id: "1".into(), due: 11_000 }],
        "early timer re-arms"
    );
    h.now = 11_500;
    h.send(Event::Timer { task_id: "1".into() });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn recover_resends_in_flight_http_as_a_new_visible_attempt() {
    let mut h = Harness::new(HTTP_RETRY, json!({"id": 1}));
    h.send(Event::Start);
    let calls = http_of(&h.send(Event::Recover));
    assert_eq!(calls.len(), 1);
    assert_eq!(h.inst.tasks.len(), 2);
    assert_eq!(h.inst.tasks[0].status, TaskStatus::Failed);
    assert!(h.inst.tasks[0].reason_for_incompletion.as_deref().unwrap().contains("in flight"));
    assert_eq!(h.inst.tasks[1].retry_count, 1);
    assert_eq!(h.inst.tasks[1].status, TaskStatus::InProgress);
}

#[test]
fn fork_join_runs_branches_in_parallel() {
    let yaml = r#"
name: fj
tasks:
  - name: fork
    taskReferenceName: fork
    type: FORK_JOIN
    forkTasks:
      - [{name: a, taskReferenceName: a, type: HTTP, inputParameters: {uri: "http://x/a"}}]
      - [{name: b, taskReferenceName: b, type: HTTP, inputParameters: {uri: "http://x/b"}}]
  - {name: join, taskReferenceName: join, type: JOIN, joinOn: [a, b]}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let calls = http_of(&h.send(Event::Start));
    assert_eq!(calls.len(), 2);
    h.send(Event::TaskResult { task_id: calls[1].0.clone(), result: TaskResult::Completed(json!({"v": "b"})) });
    assert_eq!(h.inst.status, WorkflowStatus::Running);
    h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: TaskResult::Completed(json!({"v": "a"})) });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"a": {"v": "a"}, "b": {"v": "b"}}));
}

#[test]
fn terminate_ends_with_status_and_output() {
    let yaml = r#"
name: t
tasks:
  - {name: t, taskReferenceName: t, type: TERMINATE, inputParameters: {terminationStatus: FAILED, terminationReason: "no data", workflowOutput: {x: 1}}}
  - {name: never, taskReferenceName: never, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "1"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert_eq!(h.inst.reason_for_incompletion.as_deref(), Some("no data"));
    assert_eq!(h.inst.output, json!({"x": 1}));
    assert_eq!(h.inst.tasks.len(), 1);
}

#[test]
fn terminate_wraps_a_value_that_is_not_an_object_and_gives_conductors_reason() {
    // Conductor's Terminate.getInputFromParam and WorkflowExecutorOps.endExecution.
    let yaml = r#"
name: t
tasks:
  - {name: t, taskReferenceName: t, type: TERMINATE, inputParameters: {terminationStatus: COMPLETED, workflowOutput: "${workflow.input.n}"}}
"#;
    let mut h = Harness::new(yaml, json!({"n": 7}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"output": 7}));
    assert_eq!(h.inst.tasks[0].output_data, json!({"output": 7}));
    let expected =
        format!("Workflow is COMPLETED by TERMINATE task: {}~{}", h.inst.workflow_id, h.inst.tasks[0].task_id);
    assert_eq!(h.inst.reason_for_incompletion.as_deref(), Some(expected.as_str()));
}

#[test]
fn noop_completes_at_once_with_no_output() {
    let yaml = r#"
name: t
tasks:
  - {name: nothing, taskReferenceName: nothing, type: NOOP}
  - {name: after, taskReferenceName: after, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "7"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!((h.inst.tasks[0].task_type.as_str(), h.inst.tasks[0].status), ("NOOP", TaskStatus::Completed));
    assert_eq!(h.inst.tasks[0].output_data, json!({}));
}

#[test]
fn a_failure_names_the_task_in_conductors_form_and_still_computes_the_output() {
    // Conductor's DeciderService.retry: updateWorkflowOutput, then "Task %s failed with status: %s
    // and reason: '%s'".
    let yaml = r#"
name: t
tasks:
  - {name: boom, taskReferenceName: boom, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "throw new Error('no data')"}}
outputParameters: {x: "${workflow.input.x}"}
"#;
    let mut h = Harness::new(yaml, json!({"x": 1}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert_eq!(h.inst.output, json!({"x": 1}));
    let reason = h.inst.reason_for_incompletion.clone().unwrap();
    let head =
        format!("Task {}~{} failed with status: FAILED and reason: '", h.inst.workflow_id, h.inst.tasks[0].task_id);
    assert!(reason.starts_with(&head) && reason.contains("no data"), "{reason}");
}

#[test]
fn sub_workflow_starts_child_and_takes_its_output() {
    let yaml = r#"
name: parent
tasks:
  - {name: c, taskReferenceName: c, type: SUB_WORKFLOW, subWorkflowParam: {name: child}, inputParameters: {x: 1}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let actions = h.send(Event::Start);
    let Some(Action::StartChild(start)) = actions.first() else { panic!("{actions:?}") };
    assert_eq!((start.id.as_str(), start.name.as_str(), &start.input), ("wf1.1", "child", &json!({"x": 1})));
    h.send(Event::ChildFinished {
        task_id: "1".into(),
        status: WorkflowStatus::Completed,
        output: json!({"y": 2}),
        reason: None,
    });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"y": 2, "subWorkflowId": "wf1.1"}));
}

#[test]
fn workflow_timeout_cancels_open_tasks() {
    let yaml = r#"
name: slow
timeoutSeconds: 5
tasks:
  - {name: w, taskReferenceName: w, type: WAIT, inputParameters: {duration: "1 hour"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let actions = h.send(Event::Start);
    assert!(actions.contains(&Action::WorkflowTimer { due: 6_000 }));
    h.now = 6_000;
    h.send(Event::WorkflowTimeout);
    assert_eq!(h.inst.status, WorkflowStatus::TimedOut);
    assert_eq!(h.task("w").status, TaskStatus::Canceled);
}

#[test]
fn terminate_reason_with_a_secret_is_masked_everywhere() {
    let yaml = r#"
name: t
failureWorkflow: t
tasks:
  - {name: t, taskReferenceName: t, type: TERMINATE, inputParameters: {terminationStatus: FAILED, terminationReason: "bad token ${workflow.secrets.token}"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let actions = h.send(Event::Start);
    assert_eq!(h.inst.reason_for_incompletion.as_deref(), Some("bad token ***"));
    let text = format!("{actions:?}");
    assert!(!text.contains("tok-123"), "{text}");
}

#[test]
fn a_failure_workflow_named_by_the_input_is_started_as_conductor_reads_it() {
    // Conductor's own simple_workflow_1_integration_test.json writes it this way.
    let yaml = r#"
name: t
failureWorkflow: $workflow.input.failureWfName
tasks:
  - {name: t, taskReferenceName: t, type: TERMINATE, inputParameters: {terminationStatus: FAILED}}
"#;
    let started = |input: Value| {
        let mut h = Harness::new(yaml, input);
        let starts: Vec<String> = h
            .send(Event::Start)
            .into_iter()
            .filter_map(|a| match a {
                Action::StartWorkflow(c) => Some(c.name.clone()),
                _ => None,
            })
            .collect();
        (starts, h.inst.output.get("conductor.failure_workflow").cloned())
    };
    let (starts, _) = started(json!({"failureWfName": "cleanup"}));
    assert_eq!(starts, ["cleanup"]);
    let (starts, output) = started(json!({}));
    assert!(starts.is_empty() && output.is_none(), "no input, no failure workflow: {starts:?}");
    let (starts, output) = started(json!({"failureWfName": "t"}));
    assert_eq!(starts, ["t"]);
    assert!(output.is_some(), "a defined failure workflow is named in the output");
    let (_, output) = started(json!({"failureWfName": "ghost"}));
    assert!(output.is_none(), "no id of an instance that will not exist");
}

#[test]
fn restart_attempts_do_not_use_up_the_retry_budget() {
    let yaml = r#"
name: r
tasks:
  - {name: get, taskReferenceName: get, type: HTTP, retryCount: 1, inputParameters: {uri: "http://x/"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    let calls = http_of(&h.send(Event::Recover));
    let failed = TaskResult::Failed { reason: "HTTP 503".into(), output: json!({}), terminal: false };
    let retry = h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: failed });
    assert_eq!(http_of(&retry).len(), 1, "the one configured retry still happens after a restart");
    assert_eq!(h.inst.status, WorkflowStatus::Running);
}

#[test]
fn wait_with_alert_only_timeout_still_completes() {
    let yaml = r#"
name: w
tasks:
  - {name: w, taskReferenceName: w, type: WAIT, taskDefinition: {timeoutSeconds: 5, timeoutPolicy: ALERT_ONLY}, inputParameters: {duration: "10s"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    h.now = 6_000;
    h.send(Event::Timer { task_id: "1".into() });
    assert_eq!(h.inst.status, WorkflowStatus::Running);
    h.now = 11_000;
    h.send(Event::Timer { task_id: "1".into() });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn recover_rearms_both_due_and_timeout_timers() {
    let yaml = r#"
name: w
tasks:
  - {name: w, taskReferenceName: w, type: WAIT, taskDefinition: {timeoutSeconds: 5}, inputParameters: {duration: "10s"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    let actions = h.send(Event::Recover);
    assert!(actions.contains(&Action::Timer { task_id: "1".into(), due: 6_000 }), "{actions:?}");
    assert!(actions.contains(&Action::Timer { task_id: "1".into(), due: 11_000 }), "{actions:?}");
}

#[test]
fn nested_loop_keep_last_n_trims_by_the_outer_iteration() {
    let yaml = r#"
name: nest
tasks:
  - name: outer
    taskReferenceName: outer
    type: DO_WHILE
    inputParameters: {keepLastN: 2}
    loopCondition: "$.outer['iteration'] < 5"
    loopOver:
      - name: inner
        taskReferenceName: inner
        type: DO_WHILE
        loopCondition: "$.inner['iteration'] < 4"
        loopOver:
          - {name: x, taskReferenceName: x, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "1"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    let refs: Vec<&str> = h.inst.tasks.iter().map(|t| t.reference_task_name.as_str()).collect();
    assert_eq!(
        refs,
        [
            "outer", "inner__4", "x__4__1", "x__4__2", "x__4__3", "x__4__4", "inner__5", "x__5__1", "x__5__2",
            "x__5__3", "x__5__4"
        ]
    );
}

#[test]
fn do_while_start_delay_is_honoured() {
    let yaml = r#"
name: d
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    startDelay: 3
    loopCondition: "$.loop['iteration'] < 2"
    loopOver:
      - {name: x, taskReferenceName: x, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "1"}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    assert_eq!(h.send(Event::Start), vec![Action::Timer { task_id: "1".into(), due: 4_000 }]);
    assert_eq!(h.inst.tasks.len(), 1, "the body waits for the delay");
    h.now = 4_000;
    h.send(Event::Timer { task_id: "1".into() });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.task("loop").output_data["iteration"], json!(2));
}

#[test]
fn timed_out_sub_workflow_cancels_its_child() {
    let yaml = r#"
name: parent
tasks:
  - {name: c, taskReferenceName: c, type: SUB_WORKFLOW, subWorkflowParam: {name: child}, taskDefinition: {timeoutSeconds: 5, timeoutPolicy: TIME_OUT_WF}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    h.now = 6_000;
    let actions = h.send(Event::Timer { task_id: "1".into() });
    assert!(
        actions.iter().any(|a| matches!(a, Action::CancelChild { child_id, .. } if child_id == "wf1.1")),
        "{actions:?}"
    );
    assert_eq!(h.inst.status, WorkflowStatus::TimedOut);
}

#[test]
fn recover_checks_a_running_child_instead_of_starting_it_again() {
    let yaml = r#"
name: parent
tasks:
  - {name: c, taskReferenceName: c, type: SUB_WORKFLOW, subWorkflowParam: {name: child}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.send(Event::Recover), vec![Action::CheckChild { task_id: "1".into(), child_id: "wf1.1".into() }]);
}

const APPROVAL: &str = r#"
name: approval
tasks:
  - {name: approve, taskReferenceName: approve, type: HUMAN}
  - {name: wait, taskReferenceName: go, type: WAIT, inputParameters: {event: "go-ahead"}}
  - {name: done, taskReferenceName: done, type: SET_VARIABLE, inputParameters: {customStatus: {phase: "done"}}}
"#;

#[test]
fn raised_events_complete_human_and_wait_tasks_and_early_ones_are_kept() {
    let mut h = Harness::new(APPROVAL, json!({}));
    h.send(Event::Start);
    assert_eq!(h.task("approve").status, TaskStatus::InProgress);
    // Raised before anything waits for it: kept, then consumed when the WAIT starts.
    h.send(Event::Raise { name: "go-ahead".into(), payload: json!("yes"), by: None });
    assert_eq!(h.inst.pending_events.len(), 1);
    h.send(Event::Raise { name: "approve".into(), payload: json!({"by": "ana"}), by: None });
    assert_eq!(h.task("approve").output_data, json!({"by": "ana"}));
    assert_eq!(h.task("go").output_data, json!({"payload": "yes"}));
    assert!(h.inst.pending_events.is_empty());
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.custom_status(), json!({"phase": "done"}));
}

#[test]
fn a_paused_instance_records_results_but_starts_nothing_until_resumed() {
    let mut h = Harness::new(APPROVAL, json!({}));
    h.send(Event::Start);
    h.send(Event::Pause);
    assert_eq!(h.inst.status, WorkflowStatus::Paused);
    h.send(Event::Raise { name: "approve".into(), payload: json!({}), by: None });
    assert_eq!(h.task("approve").status, TaskStatus::Completed);
    assert!(h.inst.tasks.iter().all(|t| t.reference_task_name != "go"), "nothing new started while paused");
    h.send(Event::Resume);
    assert_eq!(h.task("go").status, TaskStatus::InProgress);
}

#[test]
fn retry_reruns_the_failed_task_with_a_fresh_budget_and_keeps_what_completed() {
    let yaml = r#"
name: flaky
tasks:
  - {name: one, taskReferenceName: one, type: SET_VARIABLE, inputParameters: {a: 1}}
  - {name: call, taskReferenceName: call, type: HTTP, inputParameters: {http_request: {uri: "http://x/y"}}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let calls = http_of(&h.send(Event::Start));
    let failed = TaskResult::Failed { reason: "HTTP 503".into(), output: json!({}), terminal: false };
    h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: failed });
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    let before = h.inst.tasks.len();

    let again = http_of(&h.send(Event::Retry));
    assert_eq!(h.inst.status, WorkflowStatus::Running);
    assert_eq!(again.len(), 1, "only the failed call is sent again");
    assert_eq!(h.inst.tasks.len(), before + 1, "the completed SET_VARIABLE is not re-run");
    h.send(Event::TaskResult { task_id: again[0].0.clone(), result: TaskResult::Completed(json!({"ok": true})) });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert!(h.inst.end_time.is_some() && h.inst.reason_for_incompletion.is_none());
    assert!(h.send(Event::Retry).is_empty(), "a completed instance has nothing to retry");
}

#[test]
fn retry_reopens_a_terminated_instance_where_it_stopped() {
    let mut h = Harness::new(APPROVAL, json!({}));
    h.send(Event::Start);
    h.send(Event::Terminate { reason: "operator".into() });
    assert_eq!(h.task("approve").status, TaskStatus::Canceled);
    h.send(Event::Retry);
    assert_eq!((h.inst.status, h.task("approve").status), (WorkflowStatus::Running, TaskStatus::InProgress));
}

#[test]
fn simple_tasks_are_offered_to_workers_and_completed_by_their_result_and_reoffered_after_a_restart() {
    let yaml = r#"
name: sdk
tasks:
  - name: vigil_echo
    taskReferenceName: echo
    type: SIMPLE
    inputParameters: {name: "${workflow.input.name}", key: "${workflow.secrets.token}"}
    taskDefinition: {responseTimeoutSeconds: 30, retryCount: 2}
"#;
    let mut h = Harness::new(yaml, json!({"name": "vigil"}));
    let queued: Vec<WorkerTask> = h
        .send(Event::Start)
        .into_iter()
        .filter_map(|a| match a {
            Action::Enqueue(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(queued.len(), 1);
    let t = &queued[0];
    assert_eq!(
        (t.task_type.as_str(), t.reference_task_name.as_str(), t.response_timeout_seconds),
        ("vigil_echo", "echo", 30)
    );
    assert_eq!(t.input, json!({"name": "vigil", "key": "***"}), "workers get masked input");
    let again = h.send(Event::Recover);
    assert!(
        again.iter().any(|a| matches!(a, Action::Enqueue(w) if w.task_id == t.task_id)),
        "re-offered after a restart"
    );
    h.send(Event::TaskResult {
        task_id: t.task_id.clone(),
        result: TaskResult::Completed(json!({"greeting": "hello vigil"})),
    });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"greeting": "hello vigil"}));
}

#[test]
fn the_instance_times_out_a_polled_task_whose_worker_goes_quiet_whoever_handed_it_out() {
    let yaml = r#"
name: leased
tasks:
  - name: crunch
    taskReferenceName: crunch
    type: SIMPLE
    taskDefinition: {responseTimeoutSeconds: 2, retryCount: 1, retryDelaySeconds: 0}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    let first = h.task("crunch").task_id.clone();
    let polled = h.send(Event::Polled { task_id: first.clone(), worker_id: "w1".into() });
    assert!(
        polled.iter().any(|a| matches!(a, Action::Timer { task_id, due } if *task_id == first && *due == 3_000)),
        "the lease is the instance's own timer: {polled:?}"
    );
    assert_eq!(h.inst.tasks[0].lease_until, Some(3_000));
    h.now = 2_999;
    h.send(Event::Timer { task_id: first.clone() });
    assert_eq!(h.inst.tasks[0].status, TaskStatus::InProgress, "not before the lease ends");
    h.now = 3_000;
    let lapsed = h.send(Event::Timer { task_id: first.clone() });
    assert_eq!(h.inst.tasks[0].status, TaskStatus::TimedOut);
    assert!(
        h.inst.tasks[0].reason_for_incompletion.as_deref().unwrap().contains("worker `w1` did not report within 2 s")
    );
    assert!(lapsed.iter().any(|a| matches!(a, Action::Withdraw { task_id } if *task_id == first)));
    let retry = h.task("crunch").task_id.clone();
    assert_ne!(retry, first, "retried for another worker");
    h.send(Event::Polled { task_id: retry.clone(), worker_id: "w2".into() });
    // A late report of the lapsed attempt changes nothing.
    h.send(Event::TaskResult { task_id: first, result: TaskResult::Completed(json!({"late": true})) });
    h.send(Event::TaskResult { task_id: retry.clone(), result: TaskResult::Completed(json!({"by": "w2"})) });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    assert_eq!(h.inst.output, json!({"by": "w2"}));
}

#[test]
fn an_endless_do_while_stops_at_the_iteration_limit() {
    let yaml = r#"
name: forever
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    loopCondition: "true"
    loopOver:
      - {name: v, taskReferenceName: v, type: SET_VARIABLE, inputParameters: {x: 1}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.max_iterations = (50, 1_000);
    let mut event = Event::Start;
    // One step runs a bounded number of executions, then yields; the runtime continues it.
    for _ in 0..10 {
        let actions = h.send(event);
        if h.inst.status.is_terminal() {
            break;
        }
        assert!(actions.iter().any(|a| matches!(a, Action::Yield)), "{actions:?}");
        event = Event::Continue;
    }
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    let why = h.task("loop").reason_for_incompletion.clone().unwrap();
    assert!(why.contains("after 50 iterations") && why.contains("with `keepLastN`, 1000"), "{why}");
}

use crate::instance::global_task_id as vigil_core_global;

/// Conductor's `${CPEWF_TASK_ID}` (common in its definitions) is the id of the task whose input
/// holds it, as workers see it; the definition loads without a problem.
#[test]
fn cpewf_task_id_is_the_id_of_the_task_that_reads_it() {
    let yaml = r#"
name: ids
tasks:
  - name: first
    taskReferenceName: first
    type: INLINE
    inputParameters: {evaluatorType: javascript, expression: "$.me", me: "${CPEWF_TASK_ID}", tagged: "task ${CPEWF_TASK_ID}"}
  - name: second
    taskReferenceName: second
    type: INLINE
    inputParameters: {evaluatorType: javascript, expression: "$.me", me: "${CPEWF_TASK_ID}"}
"#;
    let (_, problems) = build_workflow(&serde_saphyr::from_str(yaml).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Completed, "{:?}", h.inst.reason_for_incompletion);
    let (first, second) = (h.task("first").clone(), h.task("second").clone());
    let id = |t: &crate::instance::TaskExec| vigil_core_global(&h.inst.workflow_id, &t.task_id);
    assert_eq!(first.output_data["result"], json!(id(&first)));
    assert_eq!(first.input_data["tagged"], json!(format!("task {}", id(&first))));
    assert_eq!(second.output_data["result"], json!(id(&second)));
    assert_ne!(first.task_id, second.task_id);
}

const ROTATE: &str = r#"
name: rotate
tasks:
  - {name: fetch, taskReferenceName: fetch, type: HTTP, inputParameters: {http_request: {uri: "http://auth/token", method: POST}}}
  - {name: keep, taskReferenceName: keep, type: SET_VARIABLE, inputParameters: {last: "${fetch.output.response.body.access_token}"}}
  - name: store
    taskReferenceName: store
    type: UPDATE_SECRET
    inputParameters: {_secrets: {secretKey: "${workflow.input.name}", secretValue: "${fetch.output.response.body.access_token}"}}
"#;

#[test]
fn update_secret_masks_the_new_value_before_the_state_is_stored() {
    let mut h = Harness::new(ROTATE, json!({"name": "api_token"}));
    let started = h.send(Event::Start);
    let (task_id, _) = http_of(&started).pop().unwrap();
    let body = json!({"access_token": "fresh-token-42", "expires_in": 3600});
    let result = TaskResult::Completed(json!({"response": {"statusCode": 200, "body": body}}));
    let actions = h.send(Event::TaskResult { task_id, result });
    let update = actions.iter().find_map(|a| match a {
        Action::UpdateSecret { name, value, .. } => Some((name.clone(), value.clone())),
        _ => None,
    });
    assert_eq!(update, Some(("api_token".into(), "fresh-token-42".into())), "{actions:?}");
    let stored = serde_json::to_string(&h.inst).unwrap();
    assert!(!stored.contains("fresh-token-42"), "the token is masked in every stored field: {stored}");
    assert_eq!(h.task("fetch").output_data["response"]["body"]["access_token"], json!("***"));
    assert_eq!(h.task("store").input_data["_secrets"], json!({"secretKey": "api_token", "secretValue": "***"}));
    assert_eq!(h.inst.variables["last"], json!("***"));
    let store_id = h.task("store").task_id.clone();
    let done = h.send(Event::TaskResult {
        task_id: store_id,
        result: TaskResult::Completed(json!({"secretKey": "api_token"})),
    });
    assert!(matches!(done.as_slice(), [Action::Finished { status: WorkflowStatus::Completed, .. }]), "{done:?}");
}

/// UPDATE_SECRET declares what a crash leaves it (`TaskKind::after_crash`): it was not in the
/// list of types restarted after a crash, so it stayed in progress until the workflow timed out.
/// Starting it again would resolve its value from data already masked (`***`) and store that as
/// the secret, so it fails, with the reason, and its retry policy decides what follows; a value
/// that is only the mask is refused outright.
#[test]
fn update_secret_left_in_progress_by_a_crash_fails_with_why_and_never_stores_the_mask() {
    let mut h = Harness::new(ROTATE, json!({"name": "api_token"}));
    let started = h.send(Event::Start);
    let (task_id, _) = http_of(&started).pop().unwrap();
    let body = json!({"access_token": "fresh-token-42"});
    let result = TaskResult::Completed(json!({"response": {"statusCode": 200, "body": body}}));
    h.send(Event::TaskResult { task_id, result });
    assert_eq!(h.task("store").status, TaskStatus::InProgress);
    let after = h.send(Event::Recover);
    assert!(!after.iter().any(|a| matches!(a, Action::UpdateSecret { .. })), "nothing is stored again: {after:?}");
    let store = h.task("store");
    assert_eq!(store.status, TaskStatus::Failed);
    assert!(
        store.reason_for_incompletion.as_deref().is_some_and(|r| r.contains("cannot be stored again")),
        "{store:?}"
    );

    let mut masked = Harness::new(
        "name: m\ntasks:\n  - {name: s, taskReferenceName: s, type: UPDATE_SECRET, inputParameters: {_secrets: {secretKey: k, secretValue: '***'}}}\n",
        json!({}),
    );
    let actions = masked.send(Event::Start);
    assert!(!actions.iter().any(|a| matches!(a, Action::UpdateSecret { .. })), "{actions:?}");
    assert_eq!(masked.task("s").status, TaskStatus::FailedWithTerminalError);
}

#[test]
fn update_secret_refuses_a_bad_name_at_load_and_at_run_time() {
    let doc: Value = serde_saphyr::from_str(
        "name: bad\ntasks:\n  - {name: s, taskReferenceName: s, type: UPDATE_SECRET, inputParameters: {_secrets: {secretKey: 'a b'}}}\n",
    )
    .unwrap();
    let (_, problems) = build_workflow(&doc);
    let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
    assert!(
        text.iter().any(|p| p.contains("_secrets.secretKey") && p.contains("`a b` is not a secret name")),
        "{text:?}"
    );
    assert!(text.iter().any(|p| p.contains("_secrets.secretValue")), "{text:?}");

    let mut h = Harness::new(
        "name: r\ntasks:\n  - {name: s, taskReferenceName: s, type: UPDATE_SECRET, inputParameters: {_secrets: {secretKey: '${workflow.input.k}', secretValue: v}}}\n",
        json!({"k": "no/slash"}),
    );
    h.send(Event::Start);
    assert_eq!(h.task("s").status, TaskStatus::FailedWithTerminalError);
    assert!(h.task("s").reason_for_incompletion.as_deref().unwrap().contains("not a secret name"));
}

fn enqueued(actions: Vec<Action>) -> Vec<WorkerTask> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Enqueue(t) => Some(*t),
            _ => None,
        })
        .collect()
}

#[test]
fn dynamic_runs_the_worker_task_its_input_names_with_that_tasks_definition() {
    let yaml = r#"
name: dyn
tasks:
  - name: pick
    taskReferenceName: d
    type: DYNAMIC
    dynamicTaskNameParam: taskToRun
    inputParameters: {taskToRun: "${workflow.input.which}", n: 1}
"#;
    let mut h = Harness::new(yaml, json!({"which": "resize"}));
    let mut defs = serde_json::Map::new();
    defs.insert("resize".into(), json!({"name": "resize", "retryCount": 1, "responseTimeoutSeconds": 9}));
    h.set.set_task_defs(defs);
    let queued = enqueued(h.send(Event::Start));
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].task_type.as_str(), queued[0].response_timeout_seconds), ("resize", 9));
    assert_eq!(queued[0].input, json!({"taskToRun": "resize", "n": 1}));
    // The made task is part of the stored state: a reloaded instance runs the same one, and its
    // retry policy comes from the task definition.
    h.inst = serde_json::from_value(serde_json::to_value(&h.inst).unwrap()).unwrap();
    let failed = TaskResult::Failed { reason: "boom".into(), output: json!({}), terminal: false };
    let retry = enqueued(h.send(Event::TaskResult { task_id: queued[0].task_id.clone(), result: failed }));
    assert_eq!(retry.len(), 1, "retried once, as the task definition says");
    assert_eq!(retry[0].task_type, "resize");
    h.send(Event::TaskResult { task_id: retry[0].task_id.clone(), result: TaskResult::Completed(json!({"ok": 1})) });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn dynamic_without_a_name_fails_the_instance_with_conductors_reason() {
    let yaml = r#"
name: dyn
tasks:
  - {name: pick, taskReferenceName: d, type: DYNAMIC, dynamicTaskNameParam: taskToRun, inputParameters: {}}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    let reason = h.inst.reason_for_incompletion.clone().unwrap_or_default();
    assert!(reason.starts_with("Cannot map a dynamic task based on the parameter and input"), "{reason}");
}

#[test]
fn a_dynamic_fork_in_a_loop_forks_what_each_iteration_asks_for_and_joins_on_it() {
    let yaml = r#"
name: fanout
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    loopCondition: "$.loop.iteration < 2"
    inputParameters: {loop: "${loop.output}"}
    loopOver:
      - name: fan
        taskReferenceName: fan
        type: FORK_JOIN_DYNAMIC
        dynamicForkTasksParam: tasks
        dynamicForkTasksInputParamName: inputs
        inputParameters:
          tasks:
            - {name: double, taskReferenceName: d1, type: INLINE, inputParameters: {evaluatorType: javascript, expression: "$.n * 2"}}
            - {name: call, taskReferenceName: c1, type: HTTP, inputParameters: {uri: "http://x/c"}}
          inputs: {d1: {n: "${workflow.input.n}"}}
      - {name: join, taskReferenceName: join, type: JOIN}
"#;
    let mut h = Harness::new(yaml, json!({"n": 21}));
    let mut calls = http_of(&h.send(Event::Start));
    for iteration in 1..=2 {
        assert_eq!(calls.len(), 1, "iteration {iteration}: {:?}", h.inst.reason_for_incompletion);
        assert_eq!(h.task(&format!("d1__{iteration}")).output_data, json!({"result": 42}));
        assert_eq!(h.task(&format!("join__{iteration}")).input_data, json!({"joinOn": ["d1", "c1"]}));
        let done = TaskResult::Completed(json!({}));
        calls = http_of(&h.send(Event::TaskResult { task_id: calls[0].0.clone(), result: done }));
        let join = h.task(&format!("join__{iteration}"));
        assert_eq!(join.output_data, json!({"d1": {"result": 42}}), "an empty output is left out");
    }
    assert_eq!(h.inst.status, WorkflowStatus::Completed, "{:?}", h.inst.reason_for_incompletion);
    let fork = h.task("fan__1");
    assert_eq!(fork.input_data["forkedTasks"], json!(["d1", "c1"]));
}

#[test]
fn a_dynamic_fork_with_invalid_inputs_fails_before_forking() {
    let yaml = r#"
name: fanout
tasks:
  - name: fan
    taskReferenceName: fan
    type: FORK_JOIN_DYNAMIC
    dynamicForkTasksParam: tasks
    dynamicForkTasksInputParamName: inputs
    inputParameters: {tasks: [{name: a, taskReferenceName: fan}], inputs: {}}
  - {name: join, taskReferenceName: join, type: JOIN}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert!(h.inst.tasks.is_empty());
    assert!(h.inst.reason_for_incompletion.clone().unwrap_or_default().contains("duplicate task reference name `fan`"));
}

#[test]
fn a_retried_child_reopens_its_ended_parent_which_then_waits_for_it_again() {
    let yaml = r#"
name: parent
tasks:
  - {name: c, taskReferenceName: c, type: SUB_WORKFLOW, subWorkflowParam: {name: child}}
  - {name: after, taskReferenceName: after, type: NOOP}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.inst.parent = Some(crate::instance::ParentRef { workflow_id: "root".into(), task_id: "7".into(), depth: 1 });
    h.send(Event::Start);
    let failed = |reason: &str| Event::ChildFinished {
        task_id: "1".into(),
        status: WorkflowStatus::Failed,
        output: json!({}),
        reason: Some(reason.into()),
    };
    h.send(failed("boom"));
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    let actions = h.send(Event::ChildReopened { task_id: "1".into() });
    assert_eq!(h.inst.status, WorkflowStatus::Running);
    assert_eq!((h.task("c").status, h.inst.tasks.len()), (TaskStatus::InProgress, 1), "the same execution waits");
    assert!(actions.iter().any(|a| matches!(a, Action::CheckChild { child_id, .. } if child_id == "wf1.1")));
    assert!(
        actions.iter().any(|a| matches!(a, Action::ReopenParent(p) if p.workflow_id == "root")),
        "its own parent is re-opened in turn: {actions:?}"
    );
    h.send(Event::ChildFinished {
        task_id: "1".into(),
        status: WorkflowStatus::Completed,
        output: json!({}),
        reason: None,
    });
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    // A child of a superseded attempt re-opens nothing.
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    h.inst.tasks[0].retried = true;
    h.send(failed("boom"));
    h.inst.status = WorkflowStatus::Failed;
    assert!(h.send(Event::ChildReopened { task_id: "1".into() }).is_empty());
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
}

const TWO_WORKER_TASKS: &str = r#"
name: two
tasks:
  - {name: first, taskReferenceName: t1, type: SIMPLE, inputParameters: {p: "${workflow.input.p}"}}
  - {name: second, taskReferenceName: t2, type: SIMPLE, inputParameters: {from: "${t1.output.v}"}}
  - {name: third, taskReferenceName: t3, type: SIMPLE}
"#;

fn complete(h: &mut Harness, task_id: &str, output: Value) -> Vec<WorkerTask> {
    enqueued(h.send(Event::TaskResult { task_id: task_id.into(), result: TaskResult::Completed(output) }))
}

#[test]
fn a_skipped_task_is_passed_over_with_the_output_it_was_given() {
    let mut h = Harness::new(TWO_WORKER_TASKS, json!({"p": 1}));
    let first = enqueued(h.send(Event::Start));
    h.send(Event::SkipTask { reference: "t2".into(), input: Value::Null, output: json!({"skipped": true}) });
    assert_eq!(h.inst.tasks[0].status, TaskStatus::Skipped, "listed first, as Conductor lists it");
    let next = complete(&mut h, &first[0].task_id, json!({"v": 2}));
    assert_eq!(next[0].reference_task_name, "t3", "t2 is passed over");
    assert_eq!(h.task("t2").output_data, json!({"skipped": true}));
    // A task already reached is not skipped.
    h.send(Event::SkipTask { reference: "t3".into(), input: Value::Null, output: Value::Null });
    assert_eq!(h.task("t3").status, TaskStatus::Scheduled);
}

#[test]
fn reset_callbacks_offers_a_task_that_waits_out_its_callback_at_once() {
    let mut h = Harness::new(TWO_WORKER_TASKS, json!({}));
    let first = enqueued(h.send(Event::Start));
    let later = TaskResult::InProgress { output: json!({}), callback_after_seconds: 3600 };
    let again = enqueued(h.send(Event::TaskResult { task_id: first[0].task_id.clone(), result: later }));
    assert_eq!(again[0].visible_at, h.now + 3_600_000);
    let reset = enqueued(h.send(Event::ResetCallbacks));
    assert_eq!((reset.len(), reset[0].visible_at), (1, h.now));
    assert_eq!(h.task("t1").callback_after_seconds, 0);
}

#[test]
fn rerun_from_a_task_drops_what_came_after_it_and_runs_it_again_with_the_new_input() {
    let mut h = Harness::new(TWO_WORKER_TASKS, json!({"p": 1}));
    let first = enqueued(h.send(Event::Start));
    let second = complete(&mut h, &first[0].task_id, json!({"v": 2}));
    let third = complete(&mut h, &second[0].task_id, json!({}));
    complete(&mut h, &third[0].task_id, json!({}));
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    let rerun = Event::Rerun {
        task_id: Some(second[0].task_id.clone()),
        task_input: Some(json!({"from": "given"})),
        workflow_input: None,
        correlation_id: Some("again".into()),
    };
    let offered = enqueued(h.send(rerun));
    assert_eq!(h.inst.status, WorkflowStatus::Running);
    assert_eq!(h.inst.tasks.len(), 2, "t3 is dropped");
    assert_eq!(h.inst.correlation_id.as_deref(), Some("again"));
    assert_eq!((offered[0].reference_task_name.as_str(), &offered[0].input), ("t2", &json!({"from": "given"})));
    let third = complete(&mut h, &offered[0].task_id, json!({}));
    complete(&mut h, &third[0].task_id, json!({}));
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
    // From the start, with new input.
    let rerun =
        Event::Rerun { task_id: None, task_input: None, workflow_input: Some(json!({"p": 9})), correlation_id: None };
    let offered = enqueued(h.send(rerun));
    assert_eq!((h.inst.tasks.len(), &offered[0].input), (1, &json!({"p": 9})));
    assert!(offered[0].task_id.parse::<u64>().unwrap() > 4, "task ids go on");
}

#[test]
fn a_permissive_failure_lets_the_workflow_go_on_and_fails_it_at_the_join_or_the_end() {
    let yaml = r#"
name: permissive
tasks:
  - name: fork
    taskReferenceName: fork
    type: FORK_JOIN
    forkTasks:
      - [{name: a, taskReferenceName: a, type: SIMPLE, permissive: true}]
      - [{name: b, taskReferenceName: b, type: SIMPLE}]
  - {name: join, taskReferenceName: join, type: JOIN, joinOn: [a, b]}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let offered = enqueued(h.send(Event::Start));
    let failed = TaskResult::Failed { reason: "no disk".into(), output: json!({}), terminal: false };
    h.send(Event::TaskResult { task_id: offered[0].task_id.clone(), result: failed.clone() });
    assert_eq!((h.inst.status, h.task("join").status), (WorkflowStatus::Running, TaskStatus::InProgress));
    complete(&mut h, &offered[1].task_id, json!({}));
    assert_eq!(h.inst.status, WorkflowStatus::Failed, "the JOIN fails once all it waits for have ended");
    assert_eq!(h.task("join").status, TaskStatus::Failed);
    assert_eq!(h.task("join").reason_for_incompletion.as_deref(), Some("no disk"));

    let yaml = r#"
name: permissive
tasks:
  - {name: a, taskReferenceName: a, type: SIMPLE, permissive: true}
  - {name: b, taskReferenceName: b, type: SIMPLE}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let offered = enqueued(h.send(Event::Start));
    let next = enqueued(h.send(Event::TaskResult { task_id: offered[0].task_id.clone(), result: failed }));
    assert_eq!(next[0].reference_task_name, "b", "the workflow goes on");
    complete(&mut h, &next[0].task_id, json!({}));
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    let reason = h.inst.reason_for_incompletion.clone().unwrap_or_default();
    assert_eq!(reason, "Task wf1~1 failed with status: FAILED and reason: 'no disk'");
}

#[test]
fn a_dynamic_fork_without_a_join_fails_the_instance_when_reached_as_in_conductor() {
    let yaml = r#"
name: unjoined
tasks:
  - name: fan
    taskReferenceName: fan
    type: FORK_JOIN_DYNAMIC
    inputParameters: {forkTaskName: t, forkTaskInputs: [{}]}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert!(h.inst.tasks.is_empty());
    assert!(
        h.inst
            .reason_for_incompletion
            .clone()
            .unwrap_or_default()
            .starts_with("Dynamic join definition is not followed")
    );
}

#[test]
fn set_variable_past_the_variables_limit_fails_for_good_and_leaves_the_variables_as_they_were() {
    let yaml = r#"
name: vars
variables: {kept: 1}
tasks:
  - {name: v, taskReferenceName: v, type: SET_VARIABLE, inputParameters: {big: "${workflow.input.big}"}}
"#;
    let mut h = Harness::new(yaml, json!({"big": "x".repeat(300 * 1024)}));
    h.send(Event::Start);
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
    assert_eq!(h.task("v").status, TaskStatus::FailedWithTerminalError);
    let reason = h.task("v").reason_for_incompletion.clone().unwrap_or_default();
    assert!(reason.ends_with("is greater than the permissible limit: 256 kilobytes"), "{reason}");
    assert_eq!(h.inst.variables, serde_json::Map::from_iter([("kept".to_string(), json!(1))]));
}

#[test]
fn start_workflow_starts_one_of_its_own_in_the_same_step_and_completes() {
    let yaml = r#"
name: t
tasks:
  - name: s
    taskReferenceName: s
    type: START_WORKFLOW
    inputParameters:
      startWorkflow: {name: t, input: {n: "${workflow.input.n}", key: "${workflow.secrets.token}"}, correlationId: "c-${workflow.input.n}"}
outputParameters: {started: "${s.output.workflowId}"}
"#;
    let mut h = Harness::new(yaml, json!({"n": 7}));
    let actions = h.send(Event::Start);
    let starts: Vec<&super::ChildStart> = actions
        .iter()
        .filter_map(|a| match a {
            Action::StartWorkflow(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 1, "{actions:?}");
    let start = starts[0];
    let id = format!("wf1.{}", h.task("s").task_id);
    assert_eq!((start.id.as_str(), start.name.as_str(), start.parent.is_none()), (id.as_str(), "t", true));
    assert_eq!(start.correlation_id.as_deref(), Some("c-7"));
    // The input handed on is the stored copy: the secret stays masked.
    assert_eq!(start.input, json!({"n": 7, "key": "***"}));
    assert_eq!(h.task("s").status, TaskStatus::Completed);
    assert_eq!(h.inst.status, WorkflowStatus::Completed, "it does not wait for what it started");
    assert_eq!(h.inst.output, json!({"started": id}));
}

#[test]
fn start_workflow_of_an_undefined_workflow_fails_with_its_name() {
    let yaml = r#"
name: t
tasks:
  - {name: s, taskReferenceName: s, type: START_WORKFLOW, inputParameters: {startWorkflow: {name: "${workflow.input.which}", version: 3}}}
"#;
    let mut h = Harness::new(yaml, json!({"which": "nightly"}));
    let actions = h.send(Event::Start);
    assert!(!actions.iter().any(|a| matches!(a, Action::StartWorkflow(_))), "{actions:?}");
    assert_eq!(h.task("s").status, TaskStatus::FailedWithTerminalError);
    assert_eq!(
        h.task("s").reason_for_incompletion.as_deref(),
        Some("Unable to start workflow `nightly` version 3: it is not defined")
    );
}

#[test]
fn start_workflow_reads_the_whole_request_from_the_input_as_conductor() {
    let yaml = r#"
name: t
tasks:
  - {name: s, taskReferenceName: s, type: START_WORKFLOW, inputParameters: {startWorkflow: "${workflow.input.req}"}}
"#;
    // Not a StartWorkflowRequest: failed with Conductor's words.
    let mut h = Harness::new(yaml, json!({"start_workflow": {"param1": "v"}}));
    let actions = h.send(Event::Start);
    assert!(!actions.iter().any(|a| matches!(a, Action::StartWorkflow(_))), "{actions:?}");
    assert_eq!(h.task("s").status, TaskStatus::Failed);
    assert_eq!(h.task("s").reason_for_incompletion.as_deref(), Some("Missing 'startWorkflow' in input data."));
    assert_eq!(h.inst.status, WorkflowStatus::Failed);

    // A definition brought in the request is started as it is.
    let def = json!({"name": "adhoc", "tasks": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]});
    let mut h = Harness::new(yaml, json!({"req": {"name": "adhoc", "workflowDef": def}}));
    let actions = h.send(Event::Start);
    let start = actions.iter().find_map(|a| if let Action::StartWorkflow(c) = a { Some(c) } else { None });
    assert_eq!(start.and_then(|c| c.definition.clone()), Some(def), "{actions:?}");
    assert_eq!(h.task("s").status, TaskStatus::Completed);

    // One that does not build fails the task, naming the field.
    let bad = json!({"name": "adhoc", "tasks": [{"name": "n", "taskReferenceName": "n", "type": "NOPE"}]});
    let mut h = Harness::new(yaml, json!({"req": {"name": "adhoc", "workflowDef": bad}}));
    h.send(Event::Start);
    let reason = h.task("s").reason_for_incompletion.clone().unwrap_or_default();
    assert!(reason.starts_with("startWorkflow.workflowDef is invalid"), "{reason}");
}

#[test]
fn update_task_hands_its_update_to_the_runtime_and_completes_with_its_result() {
    let yaml = r#"
name: t
tasks:
  - name: u
    taskReferenceName: u
    type: UPDATE_TASK
    inputParameters: {taskRefName: approve, taskStatus: "${workflow.input.status}", taskOutput: {by: "${workflow.input.by}", key: "${workflow.secrets.token}"}, mergeOutput: true}
"#;
    let mut h = Harness::new(yaml, json!({"status": "COMPLETED", "by": "ops"}));
    let actions = h.send(Event::Start);
    let updates: Vec<(&String, &super::TaskUpdate)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::UpdateTask { task_id, update } => Some((task_id, &**update)),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 1, "{actions:?}");
    let (task_id, update) = updates[0];
    // Without `workflowId`, the task is in this instance.
    let target = super::TaskUpdateTarget::Reference { workflow_id: "wf1".into(), reference: "approve".into() };
    assert_eq!(update.target, target);
    assert_eq!((update.status.as_str(), update.merge), ("COMPLETED", true));
    // Made from the stored input: the secret stays masked, also on its way to another node.
    assert_eq!(Value::Object(update.output.clone()), json!({"by": "ops", "key": "***"}));
    assert_eq!(h.task("u").status, TaskStatus::InProgress, "it waits for the runtime");
    let done = json!({"workflowId": "wf2", "taskId": "wf2~1", "taskStatus": "COMPLETED"});
    h.send(Event::TaskResult { task_id: task_id.clone(), result: TaskResult::Completed(done.clone()) });
    assert_eq!(h.task("u").output_data, done);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn update_task_with_a_status_resolved_at_run_time_that_is_not_one_fails_with_it() {
    let yaml = r#"
name: t
tasks:
  - {name: u, taskReferenceName: u, type: UPDATE_TASK, inputParameters: {taskId: "${workflow.input.task}", taskStatus: "${workflow.input.status}"}}
"#;
    let mut h = Harness::new(yaml, json!({"task": "wf9~3", "status": "DONE"}));
    let actions = h.send(Event::Start);
    assert!(!actions.iter().any(|a| matches!(a, Action::UpdateTask { .. })), "{actions:?}");
    assert_eq!(h.task("u").status, TaskStatus::FailedWithTerminalError);
    assert_eq!(
        h.task("u").reason_for_incompletion.as_deref(),
        Some("`taskStatus` `DONE` is not one of COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR")
    );
}

#[test]
fn exclusive_join_fails_with_the_reason_of_the_branch_task_that_failed() {
    let yaml = r#"
name: t
tasks:
  - name: pick
    taskReferenceName: pick
    type: SWITCH
    expression: which
    inputParameters: {which: a}
    decisionCases:
      a: [{name: worker_a, taskReferenceName: a, type: SIMPLE, permissive: true}]
      b: [{name: worker_b, taskReferenceName: b, type: SIMPLE}]
  - {name: take, taskReferenceName: take, type: EXCLUSIVE_JOIN, joinOn: [b, a], defaultExclusiveJoinTask: [pick]}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    let a = h.task("a").task_id.clone();
    let failed = TaskResult::Failed { reason: "disk full".into(), output: json!({}), terminal: true };
    h.send(Event::TaskResult { task_id: a, result: failed });
    // `b` never ran; `a` is the task found, and with every task of joinOn ended its failure counts.
    assert_eq!(h.task("take").status, TaskStatus::Failed);
    assert_eq!(h.task("take").reason_for_incompletion.as_deref(), Some("disk full"));
    assert_eq!(h.task("take").input_data, json!({"joinOn": ["b", "a"], "defaultExclusiveJoinTask": ["pick"]}));
    assert_eq!(h.inst.status, WorkflowStatus::Failed);
}

#[test]
fn exclusive_join_in_a_loop_takes_only_this_iterations_branch() {
    let yaml = r#"
name: t
tasks:
  - name: loop
    taskReferenceName: loop
    type: DO_WHILE
    loopCondition: "$.loop.iteration < 2"
    loopOver:
      - name: pick
        taskReferenceName: pick
        type: SWITCH
        evaluatorType: javascript
        expression: "$.i == 1 ? 'a' : 'b'"
        inputParameters: {i: "${loop.output.iteration}"}
        decisionCases:
          a: [{name: worker_a, taskReferenceName: a, type: SIMPLE}]
          b: [{name: worker_b, taskReferenceName: b, type: SIMPLE}]
      - {name: take, taskReferenceName: take, type: EXCLUSIVE_JOIN, joinOn: [a, b]}
"#;
    let mut h = Harness::new(yaml, json!({}));
    h.send(Event::Start);
    let a = h.task("a__1").task_id.clone();
    h.send(Event::TaskResult { task_id: a, result: TaskResult::Completed(json!({"from": "a"})) });
    assert_eq!(h.task("take__1").output_data, json!({"from": "a"}));
    // Iteration 2 took case `b`: the join takes `b__2`, not the earlier iteration's `a__1`, which
    // comes first in `joinOn`.
    let b = h.task("b__2").task_id.clone();
    h.send(Event::TaskResult { task_id: b, result: TaskResult::Completed(json!({"from": "b"})) });
    assert_eq!(h.task("take__2").output_data, json!({"from": "b"}));
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

/// The one publication `actions` hold.
fn publication(actions: &[Action]) -> (String, super::Publication) {
    let found: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish { task_id, publication } => Some((task_id.clone(), (**publication).clone())),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "{actions:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn event_publishes_its_output_as_conductors_event_task_builds_it() {
    let yaml = r#"
name: orders
tasks:
  - name: announce
    taskReferenceName: ev
    type: EVENT
    sink: "amqp_queue:${workflow.input.queue}"
    inputParameters: {order: "${workflow.input.order}", key: "${workflow.secrets.token}"}
  - {name: after, taskReferenceName: after, type: NOOP}
"#;
    let mut h = Harness::new(yaml, json!({"queue": "orders", "order": 42}));
    let (task_id, p) = publication(&h.send(Event::Start));
    assert_eq!(p.sink, "amqp_queue:orders", "the sink's template is resolved");
    assert_eq!(p.id, format!("wf1~{task_id}"), "the message id is the task's id as clients see it");
    assert!(!p.async_complete);
    let expected = json!({
        "order": 42, "key": "***", "sink": "amqp_queue:orders", "asyncComplete": false,
        "workflowInstanceId": "wf1", "workflowType": "orders", "workflowVersion": 1,
        "correlationId": null, "taskToDomain": {}, "event_produced": "amqp_queue:orders",
    });
    assert_eq!(p.payload, expected, "a secret is not published in the clear");
    assert_eq!(h.task("ev").status, TaskStatus::InProgress, "it waits for the broker");
    assert_eq!(h.task("ev").output_data, expected, "the output shows the message meanwhile");
    assert_eq!(h.task("ev").input_data["sink"], json!("amqp_queue:orders"));
    h.send(Event::TaskResult { task_id, result: TaskResult::Completed(p.payload.clone()) });
    assert_eq!(h.task("ev").status, TaskStatus::Completed);
    assert_eq!(h.inst.status, WorkflowStatus::Completed);
}

#[test]
fn event_to_conductors_queue_is_named_after_the_workflow_and_async_complete_waits() {
    let yaml = r#"
name: test_event_workflow
tasks:
  - {name: eventX, taskReferenceName: wait0, type: EVENT, sink: conductor, asyncComplete: true}
  - {name: e2, taskReferenceName: e2, type: EVENT, sink: "conductor:done"}
"#;
    let mut h = Harness::new(yaml, json!({}));
    let (task_id, p) = publication(&h.send(Event::Start));
    assert_eq!(p.sink, "conductor:test_event_workflow:wait0");
    assert_eq!(p.payload["event_produced"], json!("conductor:test_event_workflow:wait0"));
    assert!(p.async_complete);
    // Completed from outside (a task update): the next EVENT publishes to the named queue.
    let actions = h.send(Event::TaskResult { task_id, result: TaskResult::Completed(json!({"by": "handler"})) });
    assert_eq!(h.task("wait0").status, TaskStatus::Completed);
    let (_, second) = publication(&actions);
    assert_eq!(second.sink, "conductor:test_event_workflow:done");
}

#[test]
fn event_with_an_unknown_sink_is_refused_or_fails_with_the_types_it_knows() {
    let bad =
        json!({"name": "t", "tasks": [{"name": "e", "taskReferenceName": "e", "type": "EVENT", "sink": "kafka:t"}]});
    let (def, problems) = build_workflow(&bad);
    assert!(def.is_none());
    assert_eq!(problems[0].path, "tasks[0].sink");
    assert!(problems[0].message.contains("names no known type") && problems[0].message.contains("amqp_queue"));
    let missing = json!({"name": "t", "tasks": [{"name": "e", "taskReferenceName": "e", "type": "EVENT"}]});
    let (_, problems) = build_workflow(&missing);
    assert!(problems.iter().any(|p| p.path == "tasks[0].sink" && p.message.contains("needs `sink`")), "{problems:?}");
    let yaml = r#"
name: t
tasks:
  - {name: e, taskReferenceName: e, type: EVENT, sink: "${workflow.input.sink}"}
"#;
    let mut h = Harness::new(yaml, json!({"sink": "sqs:orders"}));
    let actions = h.send(Event::Start);
    assert!(!actions.iter().any(|a| matches!(a, Action::Publish { .. })), "{actions:?}");
    assert_eq!(h.task("e").status, TaskStatus::Failed);
    assert!(h.task("e").reason_for_incompletion.as_deref().unwrap().contains("`sqs:orders` names no known type"));
}
