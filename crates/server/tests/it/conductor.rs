//! The Conductor-compatible subset over HTTP against a real engine: metadata, workflow control and
//! the worker protocol, success and error cases.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;

struct Api(support::TestServer);

async fn api() -> Api {
    Api(support::serve(support::Options::default()).await)
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (code, json, _) = self.0.call(method, path, body).await;
        (code, json)
    }

    async fn register(&self, def: Value) {
        let (code, body) = self.call("POST", "/api/metadata/workflow?overwrite=true", Some(def)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }

    async fn start(&self, name: &str, input: Value) -> String {
        let (code, id) = self.call("POST", "/api/workflow", Some(json!({"name": name, "input": input}))).await;
        assert_eq!(code, StatusCode::OK, "{id}");
        id.as_str().unwrap().to_string()
    }

    async fn until(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, wf) = self.call("GET", &format!("/api/workflow/{id}?includeTasks=true"), None).await;
            if wf["status"] == json!(status) {
                return wf;
            }
            assert!(Instant::now() < deadline, "{id} never became {status}: {wf}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many tasks of `task_type` wait for a worker.
    async fn queued(&self, task_type: &str) -> Value {
        let (_, sizes) = self.call("GET", &format!("/api/tasks/queue/sizes?taskType={task_type}"), None).await;
        sizes[task_type].clone()
    }

    async fn poll(&self, task_type: &str, worker: &str, timeout_ms: u64) -> Option<Value> {
        let (code, task) = self
            .call("GET", &format!("/api/tasks/poll/{task_type}?workerid={worker}&timeout={timeout_ms}"), None)
            .await;
        match code {
            StatusCode::OK => Some(task),
            StatusCode::NO_CONTENT => None,
            other => panic!("poll answered {other}: {task}"),
        }
    }
}

fn echo_workflow(name: &str, taskdef: Option<Value>) -> Value {
    let mut task = json!({"name": "echo_task", "taskReferenceName": "echo", "type": "SIMPLE", "inputParameters": {"who": "${workflow.input.who}"}});
    if let Some(td) = taskdef {
        task["taskDefinition"] = td;
    }
    json!({"name": name, "version": 1, "tasks": [task], "outputParameters": {"said": "${echo.output.said}"}})
}

fn sub(name: &str, target: &str) -> Value {
    json!({"name": name, "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": target}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_definitions_is_stored_all_or_none() {
    let api = api().await;
    let bad = json!({"name": "bad", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "NOPE"}]});
    let (code, body) = api.call("PUT", "/api/metadata/workflow", Some(json!([echo_workflow("good", None), bad]))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("[1].tasks[0].type"), "the list index is named: {body}");
    assert_eq!(
        api.call("GET", "/api/metadata/workflow/good", None).await.0,
        StatusCode::NOT_FOUND,
        "good was not stored"
    );
    let (code, _) = api.call("POST", "/api/workflow", Some(json!({"name": "good"}))).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "good is not live either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_workflow_cycles_are_refused_at_registration() {
    let api = api().await;
    let (code, body) = api.call("POST", "/api/metadata/workflow", Some(sub("self", "self"))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("cycle `self` → `self`"), "{body}");
    // A → B is fine on its own; B → A then closes a cycle with what is live.
    api.register(sub("a", "b")).await;
    let (code, body) = api.call("POST", "/api/metadata/workflow", Some(sub("b", "a"))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("`a` → `b` → `a`") && message.contains("tasks[0].subWorkflowParam.name"), "{body}");
    let (code, body) =
        api.call("PUT", "/api/metadata/workflow", Some(json!([sub("x", "y"), sub("y", "z"), sub("z", "x")]))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`x` → `y` → `z` → `x`"), "{body}");
    assert_eq!(api.call("GET", "/api/metadata/workflow/x", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_registers_validates_reads_and_deletes_definitions() {
    let api = api().await;
    let (code, body) = api
        .call(
            "POST",
            "/api/metadata/workflow",
            Some(json!({"name": "bad", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "NOPE"}]})),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("tasks[0].type"), "the field is named: {body}");
    api.register(echo_workflow("echo", None)).await;
    let (code, body) = api.call("POST", "/api/metadata/workflow", Some(echo_workflow("echo", None))).await;
    assert_eq!((code, body["code"].clone()), (StatusCode::CONFLICT, json!("conflict")), "no silent overwrite");
    let (code, _) = api.call("POST", "/api/metadata/workflow?overwrite=True", Some(echo_workflow("echo", None))).await;
    assert_eq!(code, StatusCode::OK, "the Python SDK writes overwrite=True");
    let (code, _) = api.call("PUT", "/api/metadata/workflow", Some(json!([echo_workflow("echo2", None)]))).await;
    assert_eq!(code, StatusCode::OK);
    let (_, all) = api.call("GET", "/api/metadata/workflow", None).await;
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "echo2"]);
    let (code, one) = api.call("GET", "/api/metadata/workflow/echo?version=1", None).await;
    assert_eq!((code, one["tasks"][0]["name"].clone()), (StatusCode::OK, json!("echo_task")));
    assert_eq!(api.call("GET", "/api/metadata/workflow/none", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", "/api/metadata/workflow/echo2/1", None).await.0, StatusCode::OK);
    assert_eq!(api.call("DELETE", "/api/metadata/workflow/echo2/1", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", "/api/metadata/workflow/echo2/x", None).await.0, StatusCode::BAD_REQUEST);

    let (code, _) = api
        .call(
            "POST",
            "/api/metadata/taskdefs",
            Some(json!([{"name": "echo_task", "retryCount": 0, "responseTimeoutSeconds": 7}])),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, body) = api.call("POST", "/api/metadata/taskdefs", Some(json!([{"retryCount": 1}]))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("[0].name"), "{body}");
    assert_eq!(api.call("GET", "/api/metadata/taskdefs/echo_task", None).await.1["responseTimeoutSeconds"], json!(7));
    assert_eq!(
        api.call("PUT", "/api/metadata/taskdefs", Some(json!({"name": "echo_task", "responseTimeoutSeconds": 9})))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(api.call("GET", "/api/metadata/taskdefs", None).await.1.as_array().unwrap().len(), 1);
    // A SIMPLE task takes its settings from the task definition of its name.
    api.register(echo_workflow("uses_def", None)).await;
    let id = api.start("uses_def", json!({"who": "x"})).await;
    let task = api.poll("echo_task", "w1", 2_000).await.expect("a task");
    assert_eq!((task["workflowInstanceId"].clone(), task["responseTimeoutSeconds"].clone()), (json!(id), json!(9)));
    assert_eq!(api.call("DELETE", "/api/metadata/taskdefs/echo_task", None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", "/api/metadata/taskdefs/echo_task", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_long_poll_report_and_get_their_next_task() {
    let api = api().await;
    api.register(echo_workflow("echo", None)).await;
    assert!(api.poll("echo_task", "w1", 50).await.is_none(), "204 when nothing waits");
    let queued = api.start("echo", json!({"who": "q"})).await;
    assert_eq!(api.call("GET", "/api/tasks/queue/sizes", None).await.1, json!({"echo_task": 1}));
    let task = api.poll("echo_task", "w1", 1_000).await.expect("the queued task");
    assert_eq!(api.call("GET", "/api/tasks/queue/sizes", None).await.1, json!({"echo_task": 0}));
    let report = json!({"workflowInstanceId": queued, "taskId": task["taskId"], "status": "COMPLETED", "outputData": {"said": "q"}});
    assert_eq!(api.call("POST", "/api/tasks", Some(report)).await.0, StatusCode::OK);
    // A long poll receives a task that arrives while it waits.
    let waiting = {
        let (http, url) =
            (api.0.http.clone(), format!("{}/api/tasks/poll/echo_task?workerid=w1&timeout=5000", api.0.base));
        tokio::spawn(async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() })
    };
    // The poll must be waiting before the task arrives, and nothing tells when it is.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let id = api.start("echo", json!({"who": "ana"})).await;
    let task = waiting.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "the poll answered when the task arrived");
    assert_eq!(
        (task["inputData"].clone(), task["workerId"].clone(), task["status"].clone()),
        (json!({"who": "ana"}), json!("w1"), json!("IN_PROGRESS"))
    );
    let task_id = task["taskId"].as_str().unwrap().to_string();

    let (code, body) = api.call("POST", "/api/tasks/nope~1/log", Some(json!("hi"))).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "a log line needs a task: {body}");
    let (code, body) = api.call("GET", "/api/tasks/nope~1/log", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "no task, no log (not an empty list): {body}");
    let (code, body) = api.call("GET", "/api/tasks/nope/log", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    let result = json!({"workflowInstanceId": id, "taskId": task_id, "status": "COMPLETED", "outputData": {"said": "hi ana"}, "logs": [{"log": "greeted", "createdTime": 1_767_225_600}]});
    let (code, body) = api.call("POST", "/api/tasks", Some(result.clone())).await;
    assert_eq!((code, body), (StatusCode::OK, json!(task_id)));
    let done = api.until(&id, "COMPLETED").await;
    assert_eq!(done["output"], json!({"said": "hi ana"}));
    assert_eq!(done["tasks"][0]["status"], json!("COMPLETED"));
    let (_, logs) = api.call("GET", &format!("/api/tasks/{task_id}/log"), None).await;
    assert_eq!(
        (logs[0]["log"].clone(), logs[0]["createdTime"].clone()),
        (json!("greeted"), json!(1_767_225_600_000i64))
    );
    let (code, body) = api.call("POST", "/api/tasks", Some(result)).await;
    assert_eq!((code, body["code"].clone()), (StatusCode::GONE, json!("instance_ended")), "a second report is refused");
    let (code, _) = api.call("GET", &format!("/api/tasks/{task_id}"), None).await;
    assert_eq!(code, StatusCode::OK);

    // update-v2 reports and hands out the next task of the same type in one round trip.
    let a = api.start("echo", json!({"who": "a"})).await;
    let b = api.start("echo", json!({"who": "b"})).await;
    let (code, tasks) = api.call("GET", "/api/tasks/poll/batch/echo_task?workerid=w2&count=1&timeout=1000", None).await;
    assert_eq!((code, tasks.as_array().unwrap().len()), (StatusCode::OK, 1));
    let first = &tasks[0];
    let report = json!({"workflowInstanceId": first["workflowInstanceId"], "taskId": first["taskId"], "status": "COMPLETED", "outputData": {"said": "x"}});
    let (code, next) = api.call("POST", "/api/tasks/update-v2?workerid=w2", Some(report)).await;
    assert_eq!(code, StatusCode::OK, "{next}");
    assert_ne!(next["taskId"], first["taskId"]);
    let report = json!({"workflowInstanceId": next["workflowInstanceId"], "taskId": next["taskId"], "status": "COMPLETED", "outputData": {"said": "y"}});
    assert_eq!(
        api.call("POST", "/api/tasks/update-v2?workerid=w2", Some(report)).await.0,
        StatusCode::NO_CONTENT,
        "nothing else waits"
    );
    api.until(&a, "COMPLETED").await;
    api.until(&b, "COMPLETED").await;

    for (bad, field) in [
        (json!({"taskId": "garbage", "status": "COMPLETED"}), "taskId"),
        (json!({"taskId": "x~1", "status": "DONE"}), "status"),
        (json!({"status": "COMPLETED"}), "taskId"),
    ] {
        let (code, body) = api.call("POST", "/api/tasks", Some(bad)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (code, _) = api.call("POST", "/api/tasks", Some(json!({"taskId": "ghost~1", "status": "COMPLETED"}))).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    for bad in ["timeout=30001", "count=0", "count=101"] {
        let (code, _) = api.call("GET", &format!("/api/tasks/poll/batch/echo_task?{bad}"), None).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_workers_task_goes_to_another_worker_after_the_response_timeout() {
    let api = api().await;
    api.register(echo_workflow("lease", Some(json!({"responseTimeoutSeconds": 1, "retryCount": 1})))).await;
    api.register(echo_workflow("lease_once", Some(json!({"responseTimeoutSeconds": 1, "retryCount": 0})))).await;
    let id = api.start("lease", json!({"who": "z"})).await;
    let held = api.poll("echo_task", "dead-worker", 2_000).await.expect("first worker gets it");
    // The first worker dies; the task times out and the retry is offered to the next worker.
    let taken = api.poll("echo_task", "live-worker", 5_000).await.expect("handed to another worker");
    assert_ne!(taken["taskId"], held["taskId"]);
    assert_eq!(taken["retryCount"], json!(1));
    let report = json!({"workflowInstanceId": id, "taskId": taken["taskId"], "status": "COMPLETED", "outputData": {"said": "late"}});
    assert_eq!(api.call("POST", "/api/tasks", Some(report)).await.0, StatusCode::OK);
    let wf = api.until(&id, "COMPLETED").await;
    assert_eq!(wf["tasks"][0]["status"], json!("TIMED_OUT"), "the quiet worker's attempt");
    assert!(wf["tasks"][0]["reasonForIncompletion"].as_str().unwrap().contains("dead-worker"), "{wf}");
    // A late report from the dead worker is refused: its attempt is over.
    let late = json!({"workflowInstanceId": id, "taskId": held["taskId"], "status": "COMPLETED"});
    assert_ne!(api.call("POST", "/api/tasks", Some(late)).await.0, StatusCode::OK);

    let once = api.start("lease_once", json!({})).await;
    api.poll("echo_task", "dead-worker", 2_000).await.expect("a task");
    // With no retry left, a timed-out task times the workflow out (Conductor's DeciderService.retry).
    let timed_out = api.until(&once, "TIMED_OUT").await;
    let reason = timed_out["reasonForIncompletion"].as_str().unwrap();
    assert!(
        reason.contains("failed with status: TIMED_OUT") && reason.contains("responseTimeoutSeconds"),
        "{timed_out}"
    );
}

/// A terminated workflow's task leaves the work queue: it is not handed to the next poll, queued
/// or already leased, and the worker that held it has its report refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_workflows_tasks_leave_the_work_queue() {
    let api = api().await;
    api.register(echo_workflow("ended", None)).await;
    let queued = api.start("ended", json!({"who": "q"})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.queued("echo_task").await != json!(1) {
        assert!(Instant::now() < deadline, "the task was never queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, body) = api.call("DELETE", &format!("/api/workflow/{queued}?reason=stop"), None).await;
    assert!(code.is_success(), "{code}: {body}");
    api.until(&queued, "TERMINATED").await;
    assert_eq!(api.queued("echo_task").await, json!(0));
    assert!(api.poll("echo_task", "w1", 300).await.is_none(), "a terminated workflow's task was handed out");

    let leased = api.start("ended", json!({"who": "l"})).await;
    let held = api.poll("echo_task", "w1", 5_000).await.expect("the task");
    assert!(api.call("DELETE", &format!("/api/workflow/{leased}?reason=stop"), None).await.0.is_success());
    api.until(&leased, "TERMINATED").await;
    let report = json!({"workflowInstanceId": leased, "taskId": held["taskId"], "status": "COMPLETED"});
    assert_ne!(api.call("POST", "/api/tasks", Some(report)).await.0, StatusCode::OK);
    assert!(api.poll("echo_task", "w2", 300).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_start_read_control_search_and_remove_the_conductor_way() {
    let api = api().await;
    api.register(echo_workflow("echo", None)).await;
    let (code, id) = api.call("POST", "/api/workflow/echo?correlationId=c-1", Some(json!({"who": "bo"}))).await;
    assert_eq!(code, StatusCode::OK);
    let id = id.as_str().unwrap().to_string();
    let wf = api.until(&id, "RUNNING").await;
    assert_eq!(
        (wf["workflowName"].clone(), wf["correlationId"].clone(), wf["input"].clone()),
        (json!("echo"), json!("c-1"), json!({"who": "bo"}))
    );
    // As in Conductor, a SIMPLE task stays SCHEDULED until a worker polls it.
    assert_eq!(wf["tasks"][0]["status"], json!("SCHEDULED"));
    let (_, bare) = api.call("GET", &format!("/api/workflow/{id}?includeTasks=false"), None).await;
    assert_eq!(bare["tasks"], json!([]));
    assert_eq!(api.call("PUT", &format!("/api/workflow/{id}/pause"), None).await.0, StatusCode::OK);
    api.until(&id, "PAUSED").await;
    assert_eq!(api.call("PUT", &format!("/api/workflow/{id}/resume"), None).await.0, StatusCode::OK);
    api.until(&id, "RUNNING").await;
    assert_eq!(
        api.call("DELETE", &format!("/api/workflow/{id}/remove"), None).await.0,
        StatusCode::CONFLICT,
        "running"
    );
    assert_eq!(api.call("DELETE", &format!("/api/workflow/{id}?reason=stop"), None).await.0, StatusCode::OK);
    let ended = api.until(&id, "TERMINATED").await;
    assert_eq!(ended["reasonForIncompletion"], json!("stop"));
    assert_eq!(api.call("POST", &format!("/api/workflow/{id}/retry"), None).await.0, StatusCode::OK);
    api.until(&id, "RUNNING").await;
    api.call("DELETE", &format!("/api/workflow/{id}"), None).await;
    api.until(&id, "TERMINATED").await;
    assert_eq!(api.call("POST", &format!("/api/workflow/{id}/restart"), None).await.0, StatusCode::OK);
    api.until(&id, "RUNNING").await;

    let other = api.start("echo", json!({})).await;
    api.call("DELETE", &format!("/api/workflow/{other}"), None).await;
    api.until(&other, "TERMINATED").await;
    let (code, found) = api
        .call("GET", "/api/workflow/search?query=workflowType%20%3D%20echo%20AND%20status%20%3D%20TERMINATED", None)
        .await;
    assert_eq!(code, StatusCode::OK);
    let ids: Vec<&str> =
        found["results"].as_array().unwrap().iter().map(|r| r["workflowId"].as_str().unwrap()).collect();
    assert_eq!(ids, [other.as_str()]);
    // Beyond type and status: correlation id, free text over the instance, a time range, several
    // statuses.
    let search = |query: &'static str| {
        let api = &api;
        async move {
            let (code, found) = api.call("GET", &format!("/api/workflow/search?{query}"), None).await;
            assert_eq!(code, StatusCode::OK, "{query}: {found}");
            let rows = found["results"].as_array().unwrap().clone();
            rows.iter().map(|r| r["workflowId"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("query=correlationId%20%3D%20%27c-1%27").await, [id.as_str()]);
    assert_eq!(search("query=workflowType%3Decho&freeText=BO").await, [id.as_str()], "the input holds `bo`");
    assert_eq!(search("query=status%20IN%20(RUNNING%2CTERMINATED)&freeText=*").await, [other.clone(), id.clone()]);
    assert_eq!(search("query=startTime%20%3E%204102444800000").await, Vec::<String>::new(), "none after 2100");
    assert_eq!(search("query=startTime%20%3C%204102444800000%20AND%20workflowType%3Decho").await.len(), 2);
    let (code, body) = api.call("GET", "/api/workflow/search?query=startTime%20%3E%20soon", None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`soon`"), "{body}");
    assert_eq!(api.call("GET", "/api/workflow/search?query=owner%3Dme", None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.call("DELETE", &format!("/api/workflow/{other}/remove"), None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", &format!("/api/workflow/{other}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", "/api/workflow", Some(json!({"name": "nope"}))).await.0, StatusCode::NOT_FOUND);
    let (code, body) = api.call("POST", "/api/workflow", Some(json!({"version": 1}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
}

/// The fields Conductor's clients read off tasks and workflows, as Conductor fills them:
/// `taskType`/`taskDefName` from the task's name (`SimpleTaskMapper`), `FORK` for a fork,
/// `retriedTaskId` on a retry (`DeciderService.retry`), `failedReferenceTaskNames` once ended and a
/// TERMINATE's value wrapped as `{"output": v}` (`Terminate.getInputFromParam`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_and_workflows_carry_conductors_fields() {
    let api = api().await;
    let inline = |r: &str| json!({"name": format!("{r}_name"), "taskReferenceName": r, "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "expression": "1"}});
    api.register(json!({"name": "shapes", "version": 1, "tasks": [
        {"name": "echo_task", "taskReferenceName": "echo", "type": "SIMPLE",
         "taskDefinition": {"name": "echo_task", "retryCount": 1, "retryLogic": "FIXED", "retryDelaySeconds": 0}},
        {"name": "fork_name", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [[inline("a")], [inline("b")]]},
        {"name": "join_name", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "b"]},
        {"name": "end_name", "taskReferenceName": "end", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "COMPLETED", "workflowOutput": "${workflow.input.n}"}}
    ]}))
    .await;
    let id = api.start("shapes", json!({"n": 5})).await;
    let first = api.poll("echo_task", "w", 2_000).await.expect("the first attempt");
    assert_eq!((first["taskType"].clone(), first["taskDefName"].clone()), (json!("echo_task"), json!("echo_task")));
    assert_eq!(first["iteration"], json!(0));
    let report = json!({"workflowInstanceId": id, "taskId": first["taskId"], "status": "FAILED", "reasonForIncompletion": "flaky"});
    assert_eq!(api.call("POST", "/api/tasks", Some(report)).await.0, StatusCode::OK);
    let second = api.poll("echo_task", "w", 5_000).await.expect("the retry");
    let report = json!({"workflowInstanceId": id, "taskId": second["taskId"], "status": "COMPLETED", "outputData": {}});
    assert_eq!(api.call("POST", "/api/tasks", Some(report)).await.0, StatusCode::OK);

    let wf = api.until(&id, "COMPLETED").await;
    let tasks = wf["tasks"].as_array().unwrap();
    let by_ref = |r: &str| tasks.iter().filter(|t| t["referenceTaskName"] == json!(r)).cloned().collect::<Vec<_>>();
    let echo = by_ref("echo");
    assert_eq!(echo.len(), 2, "{wf}");
    assert_eq!((echo[0]["taskType"].clone(), echo[0]["taskDefName"].clone()), (json!("echo_task"), json!("echo_task")));
    assert_eq!((echo[0]["retried"].clone(), echo[0]["retriedTaskId"].clone()), (json!(true), Value::Null));
    assert_eq!((echo[1]["retried"].clone(), echo[1]["retriedTaskId"].clone()), (json!(false), first["taskId"].clone()));
    assert_eq!(by_ref("fork")[0]["taskType"], json!("FORK"));
    assert_eq!(by_ref("fork")[0]["taskDefName"], json!("fork_name"));
    assert_eq!(
        (by_ref("a")[0]["taskType"].clone(), by_ref("a")[0]["taskDefName"].clone()),
        (json!("INLINE"), json!("a_name"))
    );
    assert_eq!(by_ref("join")[0]["taskType"], json!("JOIN"));
    assert_eq!(wf["failedReferenceTaskNames"], json!(["echo"]));
    assert_eq!(wf["failedTaskNames"], json!(["echo_task"]));
    assert_eq!(wf["output"], json!({"output": 5}));
    assert_eq!(by_ref("end")[0]["outputData"], json!({"output": 5}));
    let end_id = by_ref("end")[0]["taskId"].as_str().unwrap().to_string();
    assert_eq!(wf["reasonForIncompletion"], json!(format!("Workflow is COMPLETED by TERMINATE task: {end_id}")));
    let (code, one) = api.call("GET", &format!("/api/tasks/{}", first["taskId"].as_str().unwrap()), None).await;
    assert_eq!(
        (code, one["retried"].clone(), one["taskDefName"].clone()),
        (StatusCode::OK, json!(true), json!("echo_task"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_task_runs_the_registered_task_its_input_names() {
    let api = api().await;
    let (code, body) =
        api.call("POST", "/api/metadata/taskdefs", Some(json!([{"name": "resize_image", "retryCount": 0}]))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    api.register(json!({"name": "dyn", "version": 1, "tasks": [{
        "name": "pick", "taskReferenceName": "pick", "type": "DYNAMIC", "dynamicTaskNameParam": "taskToExecute",
        "inputParameters": {"taskToExecute": "${workflow.input.task}", "size": 64}
    }]}))
    .await;
    let id = api.start("dyn", json!({"task": "resize_image"})).await;
    let task = api.poll("resize_image", "w1", 2_000).await.expect("the named task is offered");
    assert_eq!((task["taskType"].as_str(), task["referenceTaskName"].as_str()), (Some("resize_image"), Some("pick")));
    assert_eq!(task["inputData"]["size"], json!(64));
    let update = json!({"workflowInstanceId": id, "taskId": task["taskId"], "status": "COMPLETED", "outputData": {"done": true}});
    let (code, body) = api.call("POST", "/api/tasks", Some(update)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let wf = api.until(&id, "COMPLETED").await;
    assert_eq!(wf["tasks"][0]["taskDefName"], json!("resize_image"));
    assert_eq!(wf["output"], json!({"done": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_delays_follow_the_task_definitions_cap_and_show_as_callback_after_seconds() {
    let api = api().await;
    api.register(json!({"name": "capped", "version": 1, "tasks": [{"name": "flaky", "taskReferenceName": "f", "type": "SIMPLE"}]}))
        .await;
    let taskdef = json!([{"name": "flaky", "retryCount": 5, "retryDelaySeconds": 1, "retryLogic": "LINEAR_BACKOFF",
                          "backoffScaleFactor": 1, "maxRetryDelaySeconds": 1, "responseTimeoutSeconds": 3600}]);
    let (code, body) = api.call("POST", "/api/metadata/taskdefs", Some(taskdef)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let id = api.start("capped", json!({})).await;
    for attempt in 0..3 {
        let task = api.poll("flaky", "w", 5_000).await.unwrap_or_else(|| panic!("attempt {attempt} is offered"));
        assert_eq!(task["retryCount"], json!(attempt));
        let fail = json!({"workflowInstanceId": id, "taskId": task["taskId"], "status": "FAILED", "reasonForIncompletion": "no"});
        let (code, body) = api.call("POST", "/api/tasks", Some(fail)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, wf) = api.call("GET", &format!("/api/workflow/{id}?includeTasks=true"), None).await;
            let tasks = wf["tasks"].as_array().unwrap();
            if tasks.len() == attempt + 2 {
                let last = &tasks[attempt + 1];
                assert_eq!(
                    (last["status"].as_str(), last["callbackAfterSeconds"].as_u64()),
                    (Some("SCHEDULED"), Some(1)),
                    "{wf}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "attempt {attempt}: {wf}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_definition_was_removed_can_still_be_terminated() {
    let api = api().await;
    api.register(echo_workflow("short_lived", None)).await;
    let id = api.start("short_lived", json!({"who": "x"})).await;
    let (code, body) = api.call("DELETE", "/api/metadata/workflow/short_lived/1", None).await;
    assert!(code.is_success(), "{code}: {body}");
    let (code, body) = api.call("DELETE", &format!("/api/workflow/{id}?reason=cleanup"), None).await;
    assert!(code.is_success(), "{code}: {body}");
    let wf = api.until(&id, "TERMINATED").await;
    assert_eq!(wf["tasks"][0]["status"], json!("CANCELED"));
    assert_eq!(api.poll("echo_task", "w", 200).await, None, "its task is no longer offered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_request_may_bring_its_own_definition_which_is_checked_and_kept_with_the_instance() {
    let api = api().await;
    let def = json!({"name": "adhoc", "version": 3, "tasks": [
        {"name": "double", "taskReferenceName": "d", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "n": "${workflow.input.n}", "expression": "$.n * 2"}},
        {"name": "child", "taskReferenceName": "c", "type": "SUB_WORKFLOW",
         "subWorkflowParam": {"name": "adhoc_child", "workflowDefinition": "${workflow.input.childDef}"}}
    ], "outputParameters": {"doubled": "${d.output.result}", "child": "${c.output.echo}"}});
    let child_def = json!({"name": "adhoc_child", "tasks": [{"name": "echo", "taskReferenceName": "e", "type": "INLINE",
        "inputParameters": {"evaluatorType": "value-param", "expression": "v", "v": "from the child"}}],
        "outputParameters": {"echo": "${e.output.result}"}});
    let start = json!({"name": "ignored", "workflowDef": def, "input": {"n": 21, "childDef": child_def}});
    let (code, id) = api.call("POST", "/api/workflow", Some(start)).await;
    assert_eq!(code, StatusCode::OK, "{id}");
    let wf = api.until(id.as_str().unwrap(), "COMPLETED").await;
    assert_eq!((wf["workflowName"].as_str(), wf["workflowVersion"].as_u64()), (Some("adhoc"), Some(3)));
    assert_eq!(wf["output"], json!({"doubled": 42, "child": "from the child"}));
    assert_eq!(
        api.call("GET", "/api/metadata/workflow/adhoc", None).await.0,
        StatusCode::NOT_FOUND,
        "nothing is registered"
    );
    // A definition that does not check is refused, naming the field.
    let bad =
        json!({"workflowDef": {"name": "bad", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "NOPE"}]}});
    let (code, body) = api.call("POST", "/api/workflow", Some(bad)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("workflowDef.tasks[0].type"), "{body}");
}
