//! Durable Functions' HTTP API (`/runtime/webhooks/durabletask`) against a real engine: each
//! route's success and error codes as the extension's `HttpApiHandler` answers them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;

use crate::support;

const DF: &str = "/runtime/webhooks/durabletask";

/// `approval` waits for the `go` event; `quick` ends at once; `broken` fails.
fn workflows() -> WorkflowSet {
    let mut set = WorkflowSet::default();
    for doc in [
        json!({"name": "approval", "tasks": [
            {"name": "go", "taskReferenceName": "go", "type": "WAIT", "inputParameters": {"event": "go"}},
            {"name": "pause", "taskReferenceName": "pause", "type": "WAIT", "inputParameters": {"duration": "1 seconds"}}
        ], "outputParameters": {"by": "${go.output.by}"}}),
        json!({"name": "quick", "tasks": [
            {"name": "add", "taskReferenceName": "one", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}}
        ]}),
        json!({"name": "broken", "tasks": [
            {"name": "boom", "taskReferenceName": "boom", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "expression": "throw new Error('boom')"}}
        ]}),
    ] {
        let (def, problems) = build_workflow(&doc);
        set.insert(def.unwrap_or_else(|| panic!("{problems:?}")));
    }
    set
}

async fn until(api: &support::TestServer, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body, _) = api.call("GET", &format!("{DF}/instances/{id}"), None).await;
        if body["runtimeStatus"] == json!(status) {
            return body;
        }
        assert!(Instant::now() < deadline, "{id} never became {status}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrations_start_report_take_events_and_are_controlled_the_durable_functions_way() {
    let api = support::serve(support::Options { workflows: workflows(), ..Default::default() }).await;

    // Start with an id; a second start with it starts nothing; another workflow's id is a 409.
    let (code, started, _) = api
        .call(
            "POST",
            &format!("{DF}/orchestrators/approval/a1?taskHub=hub1&connection=Storage"),
            Some(json!({"who": "ana"})),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let at = format!("{}{DF}/instances/a1", api.base);
    assert_eq!(started["statusQueryGetUri"], json!(format!("{at}?taskHub=hub1&connection=Storage")));
    assert_eq!(started["rewindPostUri"], json!(format!("{at}/rewind?reason={{text}}&taskHub=hub1&connection=Storage")));
    assert_eq!(api.call("POST", &format!("{DF}/orchestrators/approval/a1"), None).await.0, StatusCode::ACCEPTED);
    assert_eq!(api.call("POST", &format!("{DF}/orchestrators/quick/a1"), None).await.0, StatusCode::CONFLICT);
    assert_eq!(api.call("POST", &format!("{DF}/orchestrators/nope"), None).await.0, StatusCode::NOT_FOUND);
    let (code, body, _) = api.call("POST", &format!("{DF}/orchestrators/quick"), Some(json!([1]))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");

    // Running: 202 with Location and Retry-After; showInput=false hides the input.
    let res = api.http.get(format!("{at}?showInput=false")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(res.headers()["location"].to_str().unwrap().ends_with("/instances/a1?showInput=false"));
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["runtimeStatus"].clone(), body["input"].clone()), (json!("Running"), Value::Null));

    // Suspend, resume, raise the event; it completes; then events and control are 410.
    assert_eq!(api.call("POST", &format!("{DF}/instances/a1/suspend?reason=look"), None).await.0, StatusCode::ACCEPTED);
    until(&api, "a1", "Suspended").await;
    assert_eq!(api.call("POST", &format!("{DF}/instances/a1/resume?reason=ok"), None).await.0, StatusCode::ACCEPTED);
    until(&api, "a1", "Running").await;
    let raised =
        api.call("POST", &format!("{DF}/instances/a1/raiseEvent/go?taskHub=hub1"), Some(json!({"by": "ana"}))).await;
    assert_eq!(raised.0, StatusCode::ACCEPTED);
    let done = until(&api, "a1", "Completed").await;
    assert_eq!(done["output"], json!({"by": "ana"}));
    for op in ["raiseEvent/go", "terminate", "suspend", "resume", "rewind"] {
        let (code, body, _) = api.call("POST", &format!("{DF}/instances/a1/{op}"), Some(json!({}))).await;
        assert_eq!(code, StatusCode::GONE, "{op}: {body}");
    }
    assert_eq!(api.call("POST", &format!("{DF}/instances/ghost/terminate"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("GET", &format!("{DF}/instances/ghost"), None).await.0, StatusCode::NOT_FOUND);

    // History: events as the extension names them; results only with showHistoryOutput.
    let (code, h, _) = api.call("GET", &format!("{DF}/instances/a1?showHistory=true"), None).await;
    assert_eq!(code, StatusCode::OK);
    let kinds: Vec<&str> =
        h["historyEvents"].as_array().unwrap().iter().map(|e| e["EventType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ExecutionStarted", "EventRaised", "TimerFired", "ExecutionCompleted"], "{h}");
    assert_eq!(h["historyEvents"][1]["Name"], json!("go"));
    assert!(h["historyEvents"][3].get("Result").is_none());
    let (_, h, _) = api.call("GET", &format!("{DF}/instances/a1?showHistory=true&showHistoryOutput=true"), None).await;
    assert_eq!(h["historyEvents"][3]["Result"], json!({"by": "ana"}));
    assert_eq!(h["historyEvents"][3]["OrchestrationStatus"], json!("Completed"));

    // A failure: 200, or 500 when asked; rewind runs it again (it fails again).
    let (_, b, _) = api.call("POST", &format!("{DF}/orchestrators/broken/b1"), None).await;
    assert_eq!(b["id"], json!("b1"));
    let failed = until(&api, "b1", "Failed").await;
    assert!(failed["output"].as_str().unwrap().contains("boom"), "{failed}");
    let (code, _, _) =
        api.call("GET", &format!("{DF}/instances/b1?returnInternalServerErrorOnFailure=true"), None).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, h, _) = api.call("GET", &format!("{DF}/instances/b1?showHistory=true"), None).await;
    assert_eq!(h["historyEvents"][1]["EventType"], json!("TaskFailed"), "{h}");
    assert_eq!(h["historyEvents"][1]["FunctionName"], json!("boom"));
    assert_eq!(api.call("POST", &format!("{DF}/instances/b1/rewind?reason=again"), None).await.0, StatusCode::ACCEPTED);

    // Start and wait: 200 with the output when it ends within `timeout`.
    let (code, out, _) =
        api.call("POST", &format!("{DF}/orchestrators/quick?timeout=10&pollingInterval=1"), None).await;
    assert_eq!((code, out), (StatusCode::OK, json!({"result": 2})));

    // Restart: a new instance with the same input by default, the same id when asked.
    let (code, r, _) = api.call("POST", &format!("{DF}/instances/a1/restart"), None).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let new_id = r["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, "a1");
    let (_, again, _) = api.call("GET", &format!("{DF}/instances/{new_id}"), None).await;
    assert_eq!(again["input"], json!({"who": "ana"}));
    let (code, same, _) =
        api.call("POST", &format!("{DF}/instances/a1/restart?restartWithNewInstanceId=false"), None).await;
    assert_eq!((code, same["id"].clone()), (StatusCode::ACCEPTED, json!("a1")));
    assert_eq!(
        api.call("POST", &format!("{DF}/instances/{new_id}/terminate?reason=done"), None).await.0,
        StatusCode::ACCEPTED
    );
    until(&api, &new_id, "Terminated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_list_by_status_and_prefix_page_by_header_and_purge_by_time() {
    let api = support::serve(support::Options { workflows: workflows(), ..Default::default() }).await;
    for i in 0..5 {
        api.call("POST", &format!("{DF}/orchestrators/quick/q{i}"), None).await;
        api.call("POST", &format!("{DF}/orchestrators/approval/w{i}"), None).await;
    }
    for i in 0..5 {
        until(&api, &format!("q{i}"), "Completed").await;
    }
    let bogus = api.http.get(format!("{}{DF}/instances?runtimeStatus=Bogus", api.base)).send().await.unwrap();
    assert_eq!(bogus.status(), StatusCode::BAD_REQUEST, "an unknown status is refused, as the native API does");
    let res =
        api.http.get(format!("{}{DF}/instances?runtimeStatus=Completed,Failed&top=3", api.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.headers()["x-ms-continuation-token"].to_str().unwrap().to_string();
    let first: Vec<Value> = res.json().await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|s| s["runtimeStatus"] == json!("Completed") && s["input"].is_null()), "{first:?}");
    assert!(!token.is_empty());
    let res = api
        .http
        .get(format!("{}{DF}/instances?runtimeStatus=Completed,Failed&top=3", api.base))
        .header("x-ms-continuation-token", &token)
        .send()
        .await
        .unwrap();
    let second: Vec<Value> = res.json().await.unwrap();
    assert_eq!(second.len(), 2);
    let mut ids: Vec<Value> = first.iter().chain(&second).map(|s| s["instanceId"].clone()).collect();
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(ids, ["q0", "q1", "q2", "q3", "q4"].map(|s| json!(s)));

    let (_, running, _) = api.call("GET", &format!("{DF}/instances?instanceIdPrefix=w&showInput=true"), None).await;
    assert_eq!(running.as_array().unwrap().len(), 5);
    let (code, _, _) = api.call("GET", &format!("{DF}/instances?top=0"), None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // Bulk purge needs createdTimeFrom; it purges ended instances only; none matched is a 404.
    let (code, body, _) = api.call("DELETE", &format!("{DF}/instances"), None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, body, _) =
        api.call("DELETE", &format!("{DF}/instances?createdTimeFrom=2000-01-01T00:00:00Z"), None).await;
    assert_eq!((code, body), (StatusCode::OK, json!({"instancesDeleted": 5})));
    let (code, _, _) = api.call("DELETE", &format!("{DF}/instances?createdTimeFrom=2000-01-01T00:00:00Z"), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, body, _) = api.call("DELETE", &format!("{DF}/instances/w0"), None).await;
    assert_eq!(code, StatusCode::CONFLICT, "a running instance is not purged: {body}");
}
