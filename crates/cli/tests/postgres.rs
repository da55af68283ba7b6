//! `vigil serve --db postgres://...` on the local PostgreSQL: an instance started through the API
//! completes and survives a restart of vigil, and both runs show up as stopped nodes.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

/// A fresh database on the local PostgreSQL (`VIGIL_TEST_POSTGRES`), or `None` with a visible
/// message when no server answers (a failure under `VIGIL_REQUIRE_SERVICES=1`).
async fn fresh_database() -> Option<(String, String, sqlx::PgPool)> {
    let admin_url =
        std::env::var("VIGIL_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&admin_url)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("PostgreSQL is not reachable at {admin_url}: {e}");
            if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
    };
    let name = format!(
        "vigil_serve_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    Some((format!("{base}/{name}"), name, admin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_runs_instances_that_survive_a_restart() {
    let Some((url, name, admin)) = fresh_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::write(
        config.join("workflows/hello.yaml"),
        "name: hello\ntasks:\n  - {name: s, taskReferenceName: s, type: INLINE, inputParameters: {evaluatorType: javascript, who: '${workflow.input.who}', expression: \"'hello ' + $.who\"}}\n",
    )
    .unwrap();
    let db = std::path::PathBuf::from(&url);
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
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&admin)
        .await;
}
