//! Definitions and alerting state over the native API: workflows, secrets (never returned),
//! notifiers (name and type only), alerts and silences.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vigil_runtime::StartRequest;
use vigil_store::SecretBox;

use crate::support;

async fn api() -> support::TestServer {
    let opts = support::Options { secret_box: Some(SecretBox::new([7; 32])), scheduler: true, ..Default::default() };
    support::serve(opts).await
}

fn uses_secret(name: &str) -> Value {
    json!({"name": name, "version": 1, "tasks": [
        {"name": "k", "taskReferenceName": "k", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "key": "${workflow.secrets.api_key}", "expression": "$.key.length"}}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_are_defined_validated_listed_and_deleted() {
    let api = api().await;
    let (code, body, _) = api.call("PUT", "/api/v1/workflows/w", Some(json!({"name": "w", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "HTTP", "inputParameters": {}}, {"name": "y", "taskReferenceName": "y", "type": "WAITT"}]}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("tasks[1].type"), "{body}");
    let (code, body, _) = api.call("PUT", "/api/v1/workflows/w", Some(json!({"name": "other", "tasks": []}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("does not match"), "{body}");
    for name in ["b", "a", "c"] {
        let (code, body, _) = api.call("PUT", &format!("/api/v1/workflows/{name}"), Some(uses_secret(name))).await;
        assert_eq!((code, body), (StatusCode::OK, json!({"name": name, "version": 1, "warnings": []})));
    }
    // Stored with what `vigil validate` would warn about, and the warnings in the answer.
    let mut odd = uses_secret("odd");
    odd["colour"] = json!("blue");
    let (code, body, _) = api.call("PUT", "/api/v1/workflows/odd", Some(odd)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let warnings = body["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("colour")), "{body}");
    assert_eq!(api.call("DELETE", "/api/v1/workflows/odd", None).await.0, StatusCode::OK);
    let (_, page, _) = api.call("GET", "/api/v1/workflows?limit=2", None).await;
    assert_eq!(
        page["items"].as_array().unwrap().iter().map(|i| i["name"].clone()).collect::<Vec<_>>(),
        [json!("a"), json!("b")]
    );
    let token = page["continuationToken"].as_str().unwrap();
    let (_, rest, _) = api.call("GET", &format!("/api/v1/workflows?limit=2&continuationToken={token}"), None).await;
    assert_eq!(rest["items"][0]["name"], json!("c"));
    assert!(rest.get("continuationToken").is_none());
    let (code, def, _) = api.call("GET", "/api/v1/workflows/a", None).await;
    assert_eq!((code, def["tasks"][0]["name"].clone()), (StatusCode::OK, json!("k")));
    assert_eq!(api.call("GET", "/api/v1/workflows/zz", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", "/api/v1/workflows/c", None).await.1, json!({"deleted": 1}));
    assert_eq!(api.call("DELETE", "/api/v1/workflows/c", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("GET", "/api/v1/workflows?limit=0", None).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_go_in_reach_instances_and_never_come_out() {
    let api = api().await;
    api.call("PUT", "/api/v1/workflows/k", Some(uses_secret("k"))).await;
    let (code, _, _) = api.call("PUT", "/api/v1/secrets/api_key", Some(json!({"value": "s3cr3t-value"}))).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, list, text) = api.call("GET", "/api/v1/secrets", None).await;
    assert_eq!(list["items"], json!([{"name": "api_key"}]));
    assert!(!text.contains("s3cr3t"), "{text}");
    let id = api.engine.start_instance(StartRequest { name: "k".into(), ..StartRequest::default() }).unwrap();
    let done = api.engine.wait(&id).await.unwrap();
    assert_eq!(done.output, json!({"result": 12}), "the instance saw the value set through the API");
    let (_, _, status) = api.call("GET", &format!("/api/v1/instances/{id}?showHistory=true"), None).await;
    assert!(!status.contains("s3cr3t") && status.contains("***"), "{status}");
    for (path, body) in [
        ("/api/v1/secrets/bad%20name", json!({"value": "x"})),
        ("/api/v1/secrets/ok", json!({"value": ""})),
        ("/api/v1/secrets/ok", json!({"val": "x"})),
    ] {
        assert_eq!(api.call("PUT", path, Some(body)).await.0, StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(api.call("DELETE", "/api/v1/secrets/api_key", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", "/api/v1/secrets/api_key", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifiers_alerts_and_silences() {
    let api = api().await;
    let hook: vigil_connectors::notifiers::NotifierConfig = serde_json::from_value(json!({
        "type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/secret-path", "headers": {"X-Token": "tok-xyz"}
    }))
    .unwrap();
    api.engine.set_notifiers(vec![hook]);
    let (_, list, text) = api.call("GET", "/api/v1/notifiers", None).await;
    assert_eq!(list["items"], json!([{"name": "hook", "type": "webhook"}]));
    assert!(!text.contains("tok-xyz") && !text.contains("secret-path"), "no settings, no credentials: {text}");

    // A notifier written through the API: its credential comes from a secret and never shows.
    api.call("PUT", "/api/v1/secrets/pd_key", Some(json!({"value": "routing-key-0123456789abcdef0123"}))).await;
    let pd =
        json!({"type": "pagerduty", "routing_key": "${workflow.secrets.pd_key}", "url": "http://127.0.0.1:9/enqueue"});
    assert_eq!(api.call("PUT", "/api/v1/notifiers/oncall", Some(pd)).await.0, StatusCode::NO_CONTENT);
    let (_, one, text) = api.call("GET", "/api/v1/notifiers/oncall", None).await;
    assert_eq!(one, json!({"name": "oncall", "type": "pagerduty"}));
    assert!(!text.contains("routing-key"));
    let (code, body, _) = api
        .call(
            "PUT",
            "/api/v1/notifiers/x",
            Some(json!({"type": "pagerduty", "routing_key": "${workflow.secrets.missing}"})),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("routing_key"), "{body}");
    let (code, body, _) =
        api.call("PUT", "/api/v1/notifiers/x", Some(json!({"type": "pagerduty", "routing_kee": "k"}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(api.call("DELETE", "/api/v1/notifiers/oncall", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", "/api/v1/notifiers/oncall", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("GET", "/api/v1/notifiers/oncall", None).await.0, StatusCode::NOT_FOUND);

    assert_eq!(api.call("GET", "/api/v1/alerts", None).await.1, json!({"items": []}));
    let (code, body, _) = api.call("POST", "/api/v1/alerts/ack", Some(json!({"dedupKey": "nothing/here"}))).await;
    assert_eq!((code, body["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    api.call("PUT", "/api/v1/workflows/fire", Some(json!({"name": "fire", "tasks": [
        {"name": "disk", "taskReferenceName": "a", "type": "ALERT", "inputParameters": {"status": "firing", "dedupKey": "disk/1", "summary": "disk full", "notifiers": ["hook"]}}
    ]}))).await;
    let id = api.engine.start_instance(StartRequest { name: "fire".into(), ..StartRequest::default() }).unwrap();
    api.engine.wait(&id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, page, _) = api.call("GET", "/api/v1/alerts", None).await;
        let alerts = &page["items"];
        if alerts[0]["condition"] == json!("firing") {
            assert_eq!(alerts[0]["dedupKey"], json!("disk/1"));
            break;
        }
        assert!(Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.call("POST", "/api/v1/alerts/ack", Some(json!({"dedupKey": "disk/1"}))).await.0,
        StatusCode::ACCEPTED
    );

    let (code, made, _) = api
        .call(
            "POST",
            "/api/v1/silences",
            Some(json!({"matchers": {"team": "db"}, "duration": "2h", "comment": "upgrade"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let sid = made["id"].as_str().unwrap().to_string();
    api.call("POST", "/api/v1/silences", Some(json!({"matchers": {"team": "web"}, "duration": "1h"}))).await;
    let (_, first, _) = api.call("GET", "/api/v1/silences?limit=1", None).await;
    let token = first["continuationToken"].as_str().expect("a second page").to_string();
    let (_, second, _) = api.call("GET", &format!("/api/v1/silences?limit=1&continuationToken={token}"), None).await;
    let silences: Vec<Value> = [first["items"][0].clone(), second["items"][0].clone()].into();
    let ours = silences.iter().find(|s| s["id"] == json!(sid)).expect("listed");
    assert_eq!(ours["matchers"], json!({"team": "db"}));
    for bad in [
        json!({"matchers": {}, "duration": "1h"}),
        json!({"matchers": {"a": "b"}}),
        json!({"matchers": {"a": "b"}, "duration": "soon"}),
        json!({"matchers": {"a": "b"}, "endsAt": "2000-01-01T00:00:00Z"}),
    ] {
        assert_eq!(api.call("POST", "/api/v1/silences", Some(bad.clone())).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(api.call("DELETE", &format!("/api/v1/silences/{sid}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", &format!("/api/v1/silences/{sid}"), None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_defined_listed_paused_resumed_run_now_and_deleted() {
    let api = api().await;
    let sched = |wf: &str| json!({"name": "tick", "cronExpression": "0 0 9 * * MON-FRI", "zoneId": "Europe/Berlin", "startWorkflowRequest": {"name": wf, "input": {"k": 1}}});
    let (code, body, _) = api.call("PUT", "/api/v1/schedules/tick", Some(sched("nope"))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("startWorkflowRequest.name"), "{body}");
    api.call("PUT", "/api/v1/workflows/k", Some(uses_secret("k"))).await;
    let mut bad = sched("k");
    bad["cronExpression"] = json!("61 * * * * *");
    let (code, body, _) = api.call("PUT", "/api/v1/schedules/tick", Some(bad)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("cronExpression"), "{body}");
    let (code, made, _) = api.call("PUT", "/api/v1/schedules/tick", Some(sched("k"))).await;
    assert_eq!(code, StatusCode::OK, "{made}");
    assert_eq!(made["nextFireTimes"].as_array().unwrap().len(), 5);
    let (_, list, _) = api.call("GET", "/api/v1/schedules", None).await;
    assert_eq!(list["items"][0]["name"], json!("tick"));
    let (_, paused, _) = api.call("POST", "/api/v1/schedules/tick/pause", None).await;
    assert_eq!((paused["paused"].clone(), paused["nextFireTimes"].clone()), (json!(true), json!([])));
    let (_, resumed, _) = api.call("POST", "/api/v1/schedules/tick/resume", None).await;
    assert_eq!((resumed["paused"].clone(), resumed["nextFireTimes"].as_array().unwrap().len()), (json!(false), 5));
    let (code, started, _) = api.call("POST", "/api/v1/schedules/tick/run", None).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let done = api.engine.wait(started["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(done.input["k"], json!(1), "run-now uses the schedule's input");
    assert_eq!(api.call("DELETE", "/api/v1/schedules/tick", None).await.0, StatusCode::NO_CONTENT);
    for (method, path) in [
        ("GET", "/api/v1/schedules/tick"),
        ("DELETE", "/api/v1/schedules/tick"),
        ("POST", "/api/v1/schedules/tick/pause"),
        ("POST", "/api/v1/schedules/tick/run"),
    ] {
        assert_eq!(api.call(method, path, None).await.0, StatusCode::NOT_FOUND, "{method} {path}");
    }
}
