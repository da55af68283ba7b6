//! Seed 002 (the Durable Functions monitoring sample) through `vigil serve examples/job-monitor`,
//! with the requests of the seed README's curl flow unchanged but for host and port, and vigil on
//! the seed's port (7071) so the example's own job status endpoint is where the defaults point:
//!
//! 1. `POST /api/start_monitoring_job` with no body (the defaults: every 5 s, 30 s timeout);
//! 2. `POST /api/start_monitoring_job` with `{job_id, polling_interval_seconds: 10, timeout_seconds: 60}`;
//! 3. `GET /runtime/webhooks/durabletask/instances/{instanceId}?taskHub=default`;
//! 4. `GET /api/job_status/{jobId}`.
//!
//! The completed job reproduces the seed's "Completed Job Monitoring Result" (4 checks, ~15 s as a
//! decimal) and a job that never completes, with the seed's inputs, its "Timed Out" result
//! (6 checks, 30.0 s).

use crate::support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// The port of the seed's `func start`.
const SEED_PORT: u16 = 7071;

async fn until_ended(http: &reqwest::Client, status_uri: &str, seen: &mut Vec<Value>) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let res = http.get(status_uri).send().await.unwrap();
        let code = res.status();
        let text = res.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        if code == StatusCode::OK {
            return (text, body);
        }
        assert_eq!((code, body["runtimeStatus"].clone()), (StatusCode::ACCEPTED, json!("Running")), "{body}");
        if !body["customStatus"].is_null() && seen.last() != Some(&body["customStatus"]) {
            seen.push(body["customStatus"].clone());
        }
        assert!(Instant::now() < deadline, "still running: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_curl_flow_runs_unchanged_against_the_durable_functions_routes() {
    let never_done = Recorder::start(|r| {
        let job = r.path.rsplit('/').next().unwrap_or_default().to_string();
        Reply::json(json!({"job_id": job, "status": "Running"}))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &root().join("examples/job-monitor"), SEED_PORT, &[]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();

    // 1. curl -X POST http://localhost:7071/api/start_monitoring_job -H "Content-Type: application/json"
    let res = http
        .post(format!("{base}/api/start_monitoring_job"))
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let started: Value = res.json().await.unwrap();
    let id = started["id"].as_str().unwrap().to_string();
    let at = format!("{base}/runtime/webhooks/durabletask/instances/{id}");
    assert_eq!(started["statusQueryGetUri"], json!(format!("{at}?taskHub=default")));
    assert_eq!(location, format!("{at}?taskHub=default"));
    assert_eq!(started["sendEventPostUri"], json!(format!("{at}/raiseEvent/{{eventName}}?taskHub=default")));
    assert_eq!(started["terminatePostUri"], json!(format!("{at}/terminate?reason={{text}}&taskHub=default")));
    assert_eq!(started["purgeHistoryDeleteUri"], json!(format!("{at}?taskHub=default")));

    // The seed's timed-out sample: its inputs (5 s, 30 s) against a job that never completes.
    let slow = json!({"job_id": "job-uuid-67890", "polling_interval_seconds": 5, "timeout_seconds": 30,
                      "status_url": format!("{}/api/job_status", never_done.url)});
    let res = http.post(format!("{base}/api/start_monitoring_job")).json(&slow).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let slow_uri = res.json::<Value>().await.unwrap()["statusQueryGetUri"].as_str().unwrap().to_string();

    // 2. the custom parameters; then its management URIs: terminate and purge.
    let custom = json!({"job_id": "my-custom-job-123", "polling_interval_seconds": 10, "timeout_seconds": 60});
    let res = http
        .post(format!("{base}/api/start_monitoring_job"))
        .header("Content-Type", "application/json")
        .body(custom.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let uris: Value = res.json().await.unwrap();
    let status_uri = uris["statusQueryGetUri"].as_str().unwrap();
    let body: Value = http.get(status_uri).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["name"], json!("monitor_job"));
    assert_eq!(
        (body["input"]["job_id"].clone(), body["input"]["polling_interval_seconds"].clone()),
        (json!("my-custom-job-123"), json!(10))
    );
    let terminate = uris["terminatePostUri"].as_str().unwrap().replace("{text}", "enough");
    assert_eq!(http.post(&terminate).send().await.unwrap().status(), StatusCode::ACCEPTED);
    let (_, ended) = until_ended(&http, status_uri, &mut Vec::new()).await;
    assert_eq!((ended["runtimeStatus"].clone(), ended["output"].clone()), (json!("Terminated"), json!("enough")));
    assert_eq!(http.post(&terminate).send().await.unwrap().status(), StatusCode::GONE);
    let purge = uris["purgeHistoryDeleteUri"].as_str().unwrap();
    let res = http.delete(purge).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"instancesDeleted": 1}));
    assert_eq!(http.get(status_uri).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // 4. curl -X GET "http://localhost:7071/api/job_status/{jobId}"
    let res = http.get(format!("{base}/api/job_status/job-uuid-12345")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let job: Value = res.json().await.unwrap();
    assert_eq!((job["job_id"].clone(), job["status"].clone()), (json!("job-uuid-12345"), json!("Running")));
    for field in ["progress_percent", "estimated_completion", "last_updated", "details"] {
        assert!(!job[field].is_null(), "{field}: {job}");
    }
    // The starter's route with a method it does not take: 405 naming the ones it does.
    let res = http.delete(format!("{base}/api/job_status/job-uuid-12345")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET");

    // 3. curl -X GET ".../runtime/webhooks/durabletask/instances/{instanceId}?taskHub=default"
    let mut seen = Vec::new();
    let (text, done) = until_ended(&http, &format!("{at}?taskHub=default"), &mut seen).await;
    assert_eq!(done["runtimeStatus"], json!("Completed"), "{done}");
    assert_eq!(done["instanceId"], json!(id));
    let out = &done["output"];
    assert_eq!(
        (out["job_id"].clone(), out["final_status"].clone(), out["checks_performed"].clone()),
        (json!("job-uuid-12345"), json!("Completed"), json!(4))
    );
    let secs = out["monitoring_duration_seconds"].as_f64().unwrap();
    assert!((15.0..20.0).contains(&secs), "three 5 s waits: {secs}");
    assert!(
        text.contains("\"monitoring_duration_seconds\":1") && !out["monitoring_duration_seconds"].is_i64(),
        "{text}"
    );
    assert!(!seen.is_empty(), "customStatus was visible while the job ran");
    for status in &seen {
        assert_eq!(status["job_id"], json!("job-uuid-12345"));
        assert!(status["last_check_time"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(), "{status}");
    }
    for field in ["createdTime", "lastUpdatedTime"] {
        let t = done[field].as_str().unwrap();
        assert!(t.len() == 20 && t.ends_with('Z'), "whole seconds, as the extension writes them: {t}");
    }

    let (text, timed_out) = until_ended(&http, &slow_uri, &mut Vec::new()).await;
    let out = &timed_out["output"];
    assert_eq!(
        (out["job_id"].clone(), out["final_status"].clone(), out["checks_performed"].clone()),
        (json!("job-uuid-67890"), json!("Timeout"), json!(6)),
        "{text}"
    );
    let secs = out["monitoring_duration_seconds"].as_f64().unwrap();
    assert!((30.0..32.0).contains(&secs) && !out["monitoring_duration_seconds"].is_i64(), "{text}");
    assert_eq!(never_done.received().len(), 6, "one status call per check");
}
