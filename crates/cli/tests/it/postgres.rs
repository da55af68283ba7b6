//! `vigil serve --db postgres://...` on the local PostgreSQL: an instance started through the API
//! completes and survives a restart of vigil, and both runs show up as stopped nodes.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_runs_instances_that_survive_a_restart() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_serve").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::write(
        config.join("workflows/hello.yaml"),
        "name: hello\ntasks:\n  - {name: s, taskReferenceName: s, type: INLINE, inputParameters: {evaluatorType: javascript, who: '${workflow.input.who}', expression: \"'hello ' + $.who\"}}\n",
    )
    .unwrap();
    let db = std::path::PathBuf::from(&pg.url);
    let http = vigil_connectors::http_client();
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let res = http
        .post(format!("{base}/api/v1/workflows/hello/instances?instanceId=pg-1"))
        .json(&json!({"who": "pg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = http.get(format!("{base}/api/v1/instances/pg-1")).send().await.unwrap();
        if res.status().as_u16() == 200 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["output"], json!({"result": "hello pg"}));
            break;
        }
        assert!(Instant::now() < deadline, "pg-1 did not complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(child);
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let body: Value = http.get(format!("{base}/api/v1/instances/pg-1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["runtimeStatus"], json!("Completed"), "the instance is still there after a restart");
    stop(child);
    let status = String::from_utf8_lossy(&run(&db, &["cluster", "status"]).stdout).to_string();
    assert_eq!(status.matches("stopped").count(), 2, "two nodes ran and stopped: {status}");
    let one_shot = run(&db, &["run", "hello", "--config", config.to_str().unwrap(), "--input", "{}"]);
    assert!(!one_shot.status.success(), "vigil run refuses a cluster's database");
    assert!(String::from_utf8_lossy(&one_shot.stderr).contains("POST /api/v1/workflows/"), "{one_shot:?}");
    pg.drop_now().await;
}
