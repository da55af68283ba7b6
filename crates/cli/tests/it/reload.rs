//! `vigil serve` reloads its config directory on change, without a restart: new workflows and
//! schedules become live, removed schedules stop, and a change that does not validate keeps what
//! runs.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

async fn start(http: &reqwest::Client, base: &str, workflow: &str) -> u16 {
    http.post(format!("{base}/api/v1/workflows/{workflow}/instances"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_take_effect_without_a_restart_and_bad_ones_keep_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["workflows", "schedules"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let flow = |name: &str| {
        format!(
            "name: {name}\ntasks:\n  - {{name: s, taskReferenceName: s, type: SET_VARIABLE, inputParameters: {{x: 1}}}}\n"
        )
    };
    std::fs::write(config.join("workflows/a.yaml"), flow("a")).unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let http = vigil_connectors::http_client();
    assert_eq!(start(&http, &base, "b").await, 404);

    std::fs::write(config.join("workflows/b.yaml"), flow("b")).unwrap();
    eventually("workflow b becoming startable", async || start(&http, &base, "b").await == 202).await;

    std::fs::write(
        config.join("workflows/c.yaml"),
        "name: c\ntasks:\n  - {name: s, taskReferenceName: s, type: NOPE}\n",
    )
    .unwrap();
    stays(Duration::from_millis(2_500), "a bad change is not loaded", async || start(&http, &base, "c").await == 404)
        .await;
    assert_eq!(start(&http, &base, "a").await, 202, "a bad change keeps what runs");
    assert_eq!(start(&http, &base, "b").await, 202);
    assert_eq!(start(&http, &base, "c").await, 404);
    std::fs::remove_file(config.join("workflows/c.yaml")).unwrap();

    let schedule = json!({"name": "tick", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "a"}});
    std::fs::write(config.join("schedules/tick.json"), schedule.to_string()).unwrap();
    eventually("schedule tick appearing", async || {
        http.get(format!("{base}/api/v1/schedules/tick")).send().await.unwrap().status().as_u16() == 200
    })
    .await;
    eventually("schedule tick firing", async || {
        let page: serde_json::Value =
            http.get(format!("{base}/api/v1/instances?name=a&limit=1000")).send().await.unwrap().json().await.unwrap();
        page["instances"].as_array().unwrap().len() >= 3
    })
    .await;
    std::fs::remove_file(config.join("schedules/tick.json")).unwrap();
    eventually("schedule tick stopping", async || {
        http.get(format!("{base}/api/v1/schedules/tick")).send().await.unwrap().status().as_u16() == 404
    })
    .await;
    stop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_a_large_definition_keeps_the_api_answering() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let small = "name: a\ntasks:\n  - {name: s, taskReferenceName: s, type: SET_VARIABLE, inputParameters: {x: 1}}\n";
    std::fs::write(config.join("workflows/a.yaml"), small).unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _child = KillOnDrop(child);
    // About 4 MB: 20,000 tasks, parsed, built and located while the API is polled.
    let tasks: Vec<serde_json::Value> = (0..20_000)
        .map(|i| {
            json!({"name": format!("t{i}"), "taskReferenceName": format!("t{i}"), "type": "SET_VARIABLE",
            "inputParameters": {"x": i, "padding": "p".repeat(120)}})
        })
        .collect();
    let big = json!({"name": "big", "tasks": tasks}).to_string();
    std::fs::write(config.join("workflows/big.json"), big).unwrap();
    let http = vigil_connectors::http_client();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while start(&http, &base, "big").await != 202 {
        let asked = Instant::now();
        let health = tokio::time::timeout(Duration::from_secs(5), http.get(format!("{base}/healthz")).send()).await;
        assert!(health.is_ok_and(|r| r.is_ok()), "/healthz did not answer within 5 s during the reload");
        slowest = slowest.max(asked.elapsed());
        assert!(started.elapsed() < Duration::from_secs(120), "the large workflow never became live");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("reload of 20,000 tasks: live after {:?}; slowest /healthz {slowest:?}", started.elapsed());
}

/// systemd's `ExecReload` sends SIGHUP: it reloads the directory, and the server goes on (the
/// signal's default would end it).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let (mut child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let http = vigil_connectors::http_client();
    std::fs::write(
        config.join("workflows/d.yaml"),
        "name: d\ntasks:\n  - {name: s, taskReferenceName: s, type: SET_VARIABLE, inputParameters: {x: 1}}\n",
    )
    .unwrap();
    let sent = std::process::Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    eventually("workflow d becoming startable", async || start(&http, &base, "d").await == 202).await;
    assert!(child.try_wait().unwrap().is_none(), "vigil serve is still running after SIGHUP");
    assert!(http.get(format!("{base}/healthz")).send().await.unwrap().status().is_success());
    stop(child);
}
