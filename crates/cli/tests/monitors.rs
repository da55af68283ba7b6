//! Monitors from the command line: `vigil check` against local servers that speak the sources'
//! APIs (the real-server integration tests live with the services).

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

fn config(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::write(config.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {base}/hook\n"))
        .unwrap();
    std::fs::write(config.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {base}/pager\n"))
        .unwrap();
    std::fs::write(
        config.join("monitors/errors.yaml"),
        format!(
            "name: errors\nevery: 30s\nsource:\n  prometheus:\n    url: {base}\n    query: sum by (job) (rate(errors_total[5m]))\nwarning: \"> 1\"\ncritical: \"> 5\"\nnotify:\n  warning: [hook]\n  critical: [hook, pager]\nsummary: \"${{labels.job}} errors at ${{value}}/s\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        config.join("monitors/health.yaml"),
        format!(
            "name: health\nevery: 10s\nsource:\n  http:\n    url: {base}/health\n    conditions: [\"[STATUS] == 200\", \"[BODY].status == UP\"]\nnotify: [pager]\n"
        ),
    )
    .unwrap();
    config
}

fn check(db: &std::path::Path, config: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["--config", config.to_str().unwrap()]);
    let out = run(db, &all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_check_prints_tiers_exits_like_a_nagios_plugin_and_pages_only_when_asked() {
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/v1/query" => Reply::json(json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1763888390.1, "7.5"]},
            {"metric": {"job": "web"}, "value": [1763888390.1, "2"]},
            {"metric": {"job": "batch"}, "value": [1763888390.1, "0"]}
        ]}})),
        "/health" => Reply::json(json!({"status": "DOWN"})),
        "/hook" | "/pager" => Reply::json(json!({"ok": true})),
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &server.url);

    let (code, out) = tokio::task::spawn_blocking({
        let (db, config) = (db.clone(), config.clone());
        move || check(&db, &config, &["errors"])
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "critical: {out}");
    assert!(out.contains("monitor/errors{job=api}  value 7.5  critical"), "{out}");
    assert!(out.contains("monitor/errors{job=web}  value 2  warning"), "{out}");
    assert!(out.contains("monitor/errors{job=batch}  value 0  ok"), "{out}");
    assert!(out.contains("would send a trigger (critical) to hook, pager: api errors at 7.5/s"), "{out}");
    assert!(out.contains("nothing sent"), "{out}");
    assert!(server.to("/hook").is_empty() && server.to("/pager").is_empty(), "nothing is sent without --notify");
    let query = &server.to("/api/v1/query")[0].query;
    // Form-encoded, as Prometheus' HTTP API reads it.
    assert_eq!(query.get("query").map(String::as_str), Some("sum+by+%28job%29+%28rate%28errors_total%5B5m%5D%29%29"));

    let (code, out) = tokio::task::spawn_blocking({
        let (db, config) = (db.clone(), config.clone());
        move || check(&db, &config, &["health", "--notify"])
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("failed: [BODY].status == UP (found DOWN)"), "{out}");
    assert!(out.contains("sent to pager"), "{out}");
    let paged = server.to("/pager");
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0].body["dedup_key"], json!("monitor/health"));

    let (code, out) = tokio::task::spawn_blocking({
        let (db, config) = (db.clone(), config.clone());
        move || check(&db, &config, &["helth"])
    })
    .await
    .unwrap();
    assert_eq!(code, 3, "unknown monitor is 'unknown', not 'critical': {out}");
    assert!(out.contains("did you mean `health`?"), "{out}");
}

/// `vigil serve` runs the monitors: the API lists them with their tier and series, runs one now
/// (a write call), and `vigil monitors` prints them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_vigil_monitors_show_series_tiers_and_run_a_check_now() {
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/v1/query" => Reply::json(json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1763888390.1, "7.5"]},
            {"metric": {"job": "web"}, "value": [1763888390.1, "2"]}
        ]}})),
        "/health" => Reply::json(json!({"status": "UP"})),
        _ => Reply::json(json!({"ok": true})),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &server.url);
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();

    let checked: serde_json::Value =
        http.post(format!("{base}/api/v1/monitors/errors/check")).send().await.unwrap().json().await.unwrap();
    assert_eq!(checked["tier"], json!("critical"), "{checked}");
    let series = checked["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert!(series.iter().any(|s| s["key"] == json!("monitor/errors{job=web}") && s["tier"] == json!("warning")));

    let missing = http.post(format!("{base}/api/v1/monitors/nope/check")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    let list: serde_json::Value =
        http.get(format!("{base}/api/v1/monitors")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["errors", "health"]);

    let out = run_async(db.clone(), vec!["monitors".into(), "--server".into(), base.clone()]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("errors") && l.contains("prometheus") && l.contains("critical")),
        "{text}"
    );
    let out = run_async(db.clone(), vec!["monitors".into(), "errors".into(), "--server".into(), base.clone()]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("monitor/errors{job=api}") && text.contains("critical") && text.contains("7.5"), "{text}");

    // The critical series paged through the route of its tier (hook and pager).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.to("/pager").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the critical series was never paged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sources as workflow task types: PROMETHEUS_QUERY and a Conductor-shaped JDBC task (with a
/// `url`) feed their series to the next task; a bad query fails its task with the server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_task_types_put_the_series_in_the_task_output() {
    let server = Recorder::start(|r| match r.query.get("query").map(String::as_str) {
        Some("up") => Reply::json(json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1763888390.1, "1"]},
            {"metric": {"job": "db"}, "value": [1763888390.1, "0"]}
        ]}})),
        _ => Reply {
            status: 400,
            body: json!({"status": "error", "errorType": "bad_data", "error": "parse error"}),
            delay: Duration::ZERO,
        },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let sqlite = dir.path().join("jobs.db");
    let made = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect('{}'); c.execute('create table jobs (name text, late integer)'); c.execute(\"insert into jobs values ('etl', 3), ('report', 0)\"); c.commit()",
            sqlite.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let workflow = dir.path().join("w.json");
    std::fs::write(
        &workflow,
        json!({"name": "queries", "tasks": [
            {"name": "up", "taskReferenceName": "up", "type": "PROMETHEUS_QUERY", "inputParameters": {"url": server.url, "query": "up"}},
            {"name": "late", "taskReferenceName": "late", "type": "JDBC", "inputParameters": {
                "url": format!("sqlite://{}", sqlite.display()), "statement": "SELECT name, late FROM jobs WHERE late > 0", "type": "SELECT"}},
            {"name": "sum", "taskReferenceName": "sum", "type": "INLINE", "inputParameters": {
                "evaluatorType": "javascript", "up": "${up.output.series}", "late": "${late.output.series}",
                "expression": "$.up.filter(s => s.fields.value == 0).map(s => s.labels.job).concat($.late.map(s => s.labels.name))"}}
        ], "outputParameters": {"down_or_late": "${sum.output.result}", "count": "${up.output.count}"}})
        .to_string(),
    )
    .unwrap();
    let out = run_async(db.clone(), vec!["run".into(), workflow.display().to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout_json(&out), json!({"down_or_late": ["db", "etl"], "count": 2}));

    std::fs::write(
        &workflow,
        json!({"name": "bad", "tasks": [
            {"name": "q", "taskReferenceName": "q", "type": "PROMETHEUS_QUERY", "inputParameters": {"url": server.url, "query": "up{"}}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = run_async(db, vec!["run".into(), workflow.display().to_string()]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("prometheus (bad_data): parse error"), "{stderr}");
}
