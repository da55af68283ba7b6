//! The native instance API against a real engine on SQLite, over HTTP: every route's success and
//! error cases.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;

/// `approval`: waits for a person, records who in customStatus, waits for `go`.
fn workflows() -> WorkflowSet {
    let mut set = WorkflowSet::default();
    for doc in [
        json!({"name": "approval", "tasks": [
            {"name": "approve", "taskReferenceName": "approve", "type": "HUMAN"},
            {"name": "progress", "taskReferenceName": "progress", "type": "SET_VARIABLE", "inputParameters": {"customStatus": {"approved_by": "${approve.output.by}"}}},
            {"name": "go", "taskReferenceName": "go", "type": "WAIT", "inputParameters": {"event": "go"}}
        ], "outputParameters": {"by": "${approve.output.by}"}}),
        json!({"name": "quick", "tasks": [
            {"name": "one", "taskReferenceName": "one", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}}
        ]}),
    ] {
        let (def, problems) = build_workflow(&doc);
        set.insert(def.unwrap_or_else(|| panic!("{problems:?}")));
    }
    set
}

use crate::support;

struct Api {
    base: String,
    http: reqwest::Client,
    store: std::sync::Arc<vigil_store::SqliteStore>,
    server: support::TestServer,
}

async fn api() -> Api {
    let server = support::serve(support::Options { workflows: workflows(), ..Default::default() }).await;
    Api { base: server.base.clone(), http: server.http.clone(), store: server.store.clone(), server }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (code, json, _) = self.server.call(method, path, body).await;
        (code, json)
    }

    async fn start(&self, workflow: &str, id: &str) -> Value {
        let (code, body) = self
            .call("POST", &format!("/api/v1/workflows/{workflow}/instances?instanceId={id}"), Some(json!({"n": 1})))
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
        body
    }

    /// Polls until the instance's runtimeStatus is `want`.
    async fn until(&self, id: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, body) = self.call("GET", &format!("/api/v1/instances/{id}"), None).await;
            if body["runtimeStatus"] == json!(want) {
                return body;
            }
            assert!(Instant::now() < deadline, "{id} never became {want}: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn code_of(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("?")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_answers_management_uris_and_is_idempotent_by_id() {
    let api = api().await;
    let res = api
        .http
        .post(format!("{}/api/v1/workflows/approval/instances?instanceId=s1", api.base))
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], json!("s1"));
    assert_eq!(location, format!("{}/api/v1/instances/s1", api.base));
    assert_eq!(body["statusQueryGetUri"], json!(location));
    assert_eq!(body["sendEventPostUri"], json!(format!("{location}/events/{{eventName}}")));
    assert_eq!(body["terminatePostUri"], json!(format!("{location}/terminate?reason={{text}}")));
    assert_eq!(body["purgeHistoryDeleteUri"], json!(location));
    // The same id again starts nothing new: same answer, still one instance.
    let again = api.start("approval", "s1").await;
    assert_eq!(again["id"], json!("s1"));
    let (_, page) = api.call("GET", "/api/v1/instances?name=approval", None).await;
    assert_eq!(page["instances"].as_array().unwrap().len(), 1);
    // Without an id one is generated.
    let (code, body) = api.call("POST", "/api/v1/workflows/quick/instances", None).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert!(!body["id"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_refuses_bad_requests_naming_what_is_wrong() {
    let api = api().await;
    let (code, body) = api.call("POST", "/api/v1/workflows/nope/instances", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::NOT_FOUND, "not_found"));
    assert!(body["message"].as_str().unwrap().contains("`nope`"), "{body}");
    let (code, body) = api.call("POST", "/api/v1/workflows/quick/instances?instanceId=a%20b", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"));
    assert!(body["message"].as_str().unwrap().contains("instanceId"), "{body}");
    let (code, body) = api.call("POST", "/api/v1/workflows/quick/instances?version=x", None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("version"), "{body}");
    let res = api
        .http
        .post(format!("{}/api/v1/workflows/quick/instances", api.base))
        .header("content-type", "application/json")
        .body("{\"a\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = api
        .http
        .post(format!("{}/api/v1/workflows/quick/instances", api.base))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(vigil_server::MAX_BODY_BYTES));
    let res = api
        .http
        .post(format!("{}/api/v1/workflows/quick/instances", api.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(code_of(&body), "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_202_while_running_and_200_with_output_once_ended() {
    let api = api().await;
    api.start("approval", "st1").await;
    let (code, body) = api.call("GET", "/api/v1/instances/st1", None).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(
        (body["name"].clone(), body["input"].clone(), body["output"].clone()),
        (json!("approval"), json!({"n": 1}), Value::Null)
    );
    assert!(body.get("historyEvents").is_none());
    let (code, _) = api.call("POST", "/api/v1/instances/st1/events/approve", Some(json!({"by": "ana"}))).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let running = api.until("st1", "Running").await;
    let _ = running;
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.call("GET", "/api/v1/instances/st1", None).await.1["customStatus"] != json!({"approved_by": "ana"}) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.call("POST", "/api/v1/instances/st1/events/go", None).await;
    let done = api.until("st1", "Completed").await;
    assert_eq!(done["output"], json!({"by": "ana"}));
    let (code, full) = api.call("GET", "/api/v1/instances/st1?showHistory=true", None).await;
    assert_eq!(code, StatusCode::OK);
    let refs: Vec<&str> =
        full["historyEvents"].as_array().unwrap().iter().map(|e| e["referenceTaskName"].as_str().unwrap()).collect();
    assert_eq!(refs, ["approve", "progress", "go"]);
    assert_eq!(full["historyEvents"][0]["output"], json!({"by": "ana"}));
    let (code, body) = api.call("GET", "/api/v1/instances/none", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (code, _) = api.call("GET", "/api/v1/instances/st1?showHistory=maybe", None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_waiting_tasks_are_kept_when_early_and_refused_when_ended_or_unknown() {
    let api = api().await;
    api.start("approval", "e1").await;
    // `go` is raised before its WAIT starts: kept until then.
    assert_eq!(api.call("POST", "/api/v1/instances/e1/events/go", Some(json!("early"))).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        api.call("POST", "/api/v1/instances/e1/events/approve", Some(json!({"by": "bo"}))).await.0,
        StatusCode::ACCEPTED
    );
    api.until("e1", "Completed").await;
    let (code, body) = api.call("POST", "/api/v1/instances/e1/events/go", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::GONE, "instance_ended"));
    let (code, body) = api.call("POST", "/api/v1/instances/ghost/events/go", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_suspend_and_resume_change_the_status_and_refuse_what_does_not_apply() {
    let api = api().await;
    api.start("approval", "c1").await;
    assert_eq!(api.call("POST", "/api/v1/instances/c1/suspend", None).await.0, StatusCode::ACCEPTED);
    api.until("c1", "Suspended").await;
    assert_eq!(api.call("POST", "/api/v1/instances/c1/resume", None).await.0, StatusCode::ACCEPTED);
    api.until("c1", "Running").await;
    let (code, body) = api.call("POST", "/api/v1/instances/c1/resume", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(api.call("POST", "/api/v1/instances/c1/terminate?reason=cleanup", None).await.0, StatusCode::ACCEPTED);
    let ended = api.until("c1", "Terminated").await;
    assert_eq!(ended["reason"], json!("cleanup"));
    for action in ["terminate", "suspend", "resume"] {
        let (code, body) = api.call("POST", &format!("/api/v1/instances/c1/{action}"), None).await;
        assert_eq!((code, code_of(&body)), (StatusCode::GONE, "instance_ended"), "{action}");
        let (code, _) = api.call("POST", &format!("/api/v1/instances/ghost/{action}"), None).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_reopens_a_terminated_instance_and_restart_runs_an_ended_one_again() {
    let api = api().await;
    api.start("approval", "r1").await;
    let (code, body) = api.call("POST", "/api/v1/instances/r1/retry", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::CONFLICT, "conflict"), "a running instance is not retried");
    let (code, _) = api.call("POST", "/api/v1/instances/r1/restart", None).await;
    assert_eq!(code, StatusCode::CONFLICT, "a running instance is not restarted");
    api.call("POST", "/api/v1/instances/r1/terminate", None).await;
    api.until("r1", "Terminated").await;
    assert_eq!(api.call("POST", "/api/v1/instances/r1/retry", None).await.0, StatusCode::ACCEPTED);
    api.until("r1", "Running").await;
    api.call("POST", "/api/v1/instances/r1/events/approve", Some(json!({"by": "cy"}))).await;
    api.call("POST", "/api/v1/instances/r1/events/go", None).await;
    api.until("r1", "Completed").await;
    let (code, body) = api.call("POST", "/api/v1/instances/r1/retry", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::CONFLICT, "conflict"), "nothing to retry");

    assert_eq!(api.call("POST", "/api/v1/instances/r1/restart", None).await.0, StatusCode::ACCEPTED);
    let again = api.until("r1", "Running").await;
    assert_eq!(
        (again["customStatus"].clone(), again["input"].clone()),
        (Value::Null, json!({"n": 1})),
        "a fresh run, same input"
    );
    for action in ["retry", "restart"] {
        assert_eq!(api.call("POST", &format!("/api/v1/instances/ghost/{action}"), None).await.0, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_everything_and_purge_removes_only_ended_instances() {
    let api = api().await;
    for i in 0..5 {
        api.start("quick", &format!("q{i}")).await;
    }
    for i in 0..5 {
        api.until(&format!("q{i}"), "Completed").await;
    }
    api.start("approval", "live").await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/instances?limit=2".to_string();
    loop {
        let (code, page) = api.call("GET", &path, None).await;
        assert_eq!(code, StatusCode::OK);
        seen.extend(
            page["instances"].as_array().unwrap().iter().map(|i| i["instanceId"].as_str().unwrap().to_string()),
        );
        match page["continuationToken"].as_str() {
            Some(token) => path = format!("/api/v1/instances?limit=2&continuationToken={token}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["live", "q0", "q1", "q2", "q3", "q4"]);
    let (_, completed) = api.call("GET", "/api/v1/instances?status=Completed&name=quick", None).await;
    assert_eq!(completed["instances"].as_array().unwrap().len(), 5);
    let (code, body) = api
        .call(
            "POST",
            "/api/v1/workflows/quick/instances?instanceId=tagged&correlationId=batch-7",
            Some(json!({"n": 2})),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let ids = |page: Value| -> Vec<String> {
        page["instances"].as_array().unwrap().iter().map(|i| i["instanceId"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(api.call("GET", "/api/v1/instances?correlationId=batch-7", None).await.1), ["tagged"]);
    assert_eq!(ids(api.call("GET", "/api/v1/instances?text=TAGGED", None).await.1), ["tagged"]);
    assert_eq!(ids(api.call("GET", "/api/v1/instances?text=zz-none", None).await.1), Vec::<String>::new());
    api.until("tagged", "Completed").await;
    assert_eq!(api.call("DELETE", "/api/v1/instances/tagged", None).await.0, StatusCode::OK);
    for bad in ["text=", "status=Sleeping", "limit=0", "limit=5000", "continuationToken=zzz", "createdFrom=yesterday"] {
        let (code, body) = api.call("GET", &format!("/api/v1/instances?{bad}"), None).await;
        assert_eq!((code, code_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "{bad}: {body}");
    }

    let (code, body) = api.call("DELETE", "/api/v1/instances/live", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::CONFLICT, "conflict"), "a running instance is never purged");
    assert_eq!(api.call("DELETE", "/api/v1/instances/q0", None).await.0, StatusCode::OK);
    assert_eq!(api.call("DELETE", "/api/v1/instances/q0", None).await.0, StatusCode::NOT_FOUND);
    let (code, body) = api.call("DELETE", "/api/v1/instances", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "a bulk purge needs createdTo");
    let (code, body) = api.call("DELETE", "/api/v1/instances?createdTo=2999-01-01T00:00:00Z", None).await;
    assert_eq!((code, body["instancesDeleted"].clone()), (StatusCode::OK, json!(4)));
    let (_, left) = api.call("GET", "/api/v1/instances", None).await;
    assert_eq!(left["instances"][0]["instanceId"], json!("live"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_openapi_and_unknown_routes() {
    let api = api().await;
    assert_eq!(api.call("GET", "/healthz", None).await, (StatusCode::OK, json!("ok\n")));
    assert_eq!(api.call("GET", "/readyz", None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", "/metrics", None).await.1, json!("vigil_up 1\n"));
    let (code, doc) = api.call("GET", "/api/v1/openapi.json", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(doc["openapi"], json!("3.1.0"));
    for path in [
        "/api/v1/workflows/{name}/instances",
        "/api/v1/instances/{id}",
        "/api/v1/instances/{id}/events/{event}",
        "/api/v1/instances",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let (code, body) = api.call("GET", "/api/v1/nothing-here", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (code, body) = api.call("PUT", "/healthz", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    // With the store gone, the process is alive but not ready, and a read fails without details.
    api.store.close().await;
    assert_eq!(api.call("GET", "/healthz", None).await.0, StatusCode::OK);
    let (code, body) = api.call("GET", "/readyz", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"));
    let (code, body) = api.call("GET", "/api/v1/instances/x", None).await;
    assert_eq!((code, code_of(&body)), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
    assert_eq!(body["message"], json!("internal error; see vigil's log"), "no internals leak");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_inputs_are_refused_or_accepted_as_documented() {
    let api = api().await;
    // The input is an object (or empty): `${workflow.input.x}` needs one.
    for body in [json!([1, 2]), json!("text"), json!(3), Value::Null] {
        let (code, err) = api.call("POST", "/api/v1/workflows/quick/instances", Some(body.clone())).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert!(err["message"].as_str().unwrap().contains("the input is a JSON object"), "{err}");
    }
    // No body at all is an empty input.
    let (code, err) = api.call("POST", "/api/v1/workflows/quick/instances", None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{err}");
    // An instance id names one instance of one workflow.
    api.start("quick", "only-quick").await;
    let (code, err) = api.call("POST", "/api/v1/workflows/approval/instances?instanceId=only-quick", None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{err}");
    assert!(err["message"].as_str().unwrap().contains("runs another workflow than `approval`"), "{err}");
    // A UTF-8 byte order mark before the JSON is accepted.
    let res = api
        .http
        .post(format!("{}/api/v1/workflows/quick/instances", api.base))
        .header("content-type", "application/json")
        .body(b"\xEF\xBB\xBF{\"n\": 2}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // A workflow name is a name, not a path; a log line needs a task.
    let doc = json!({"name": "../../x", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"a": 1}}]});
    let (code, err) = api.call("POST", "/api/metadata/workflow", Some(doc)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{err}");
    assert!(err["message"].as_str().unwrap().contains("may not start with `.`"), "{err}");
    let (code, _) = api.call("POST", "/api/tasks/nope/log", Some(json!("a line"))).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
