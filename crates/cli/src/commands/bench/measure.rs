//! What every benchmark measures with: the workflows it runs, a receiver that records arrivals,
//! and the process's CPU, RSS and bytes written.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, SystemClock};
use vigil_store::SqliteStore;

/// A workflow set holding the one workflow `doc` defines.
pub(crate) fn workflow(doc: Value) -> Result<WorkflowSet> {
    let (def, problems) = build_workflow(&doc);
    let def = def.with_context(|| format!("benchmark workflow is invalid: {problems:?}"))?;
    let mut set = WorkflowSet::default();
    set.insert(def);
    Ok(set)
}

/// The engine issue's 5-task workflow.
pub(crate) fn five_tasks() -> Value {
    json!({
        "name": "five", "version": 1,
        "tasks": [
            {"name": "a", "taskReferenceName": "a", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "n": "${workflow.input.n}", "expression": "$.n * 2"}},
            {"name": "s", "taskReferenceName": "s", "type": "SWITCH", "evaluatorType": "javascript", "expression": "$.v % 4 == 0 ? 'even' : 'odd'",
             "inputParameters": {"v": "${a.output.result}"},
             "decisionCases": {"even": [{"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE", "inputParameters": {"kind": "even"}}]},
             "defaultCase": [{"name": "v2", "taskReferenceName": "v2", "type": "SET_VARIABLE", "inputParameters": {"kind": "odd"}}]},
            {"name": "j", "taskReferenceName": "j", "type": "JSON_JQ_TRANSFORM", "inputParameters": {"x": "${a.output.result}", "queryExpression": "{doubled: .x}"}},
            {"name": "z", "taskReferenceName": "z", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "d": "${j.output.result.doubled}", "expression": "$.d + 1"}}
        ],
        "outputParameters": {"result": "${z.output.result}", "kind": "${workflow.variables.kind}"}
    })
}

/// CPU seconds this process has used (user + system).
pub(crate) fn cpu_seconds() -> f64 {
    stat_cpu_seconds(std::path::Path::new("/proc/self/stat"))
}

/// CPU seconds process `pid` has used (user + system).
pub(crate) fn cpu_seconds_of(pid: u32) -> f64 {
    stat_cpu_seconds(std::path::Path::new(&format!("/proc/{pid}/stat")))
}

/// CPU seconds used by every process named `name` (a database server's backends, say).
pub(crate) fn processes_cpu_seconds(name: &str) -> f64 {
    let Ok(processes) = std::fs::read_dir("/proc") else { return 0.0 };
    processes
        .filter_map(Result::ok)
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|p| std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .map(|p| stat_cpu_seconds(&p.path().join("stat")))
        .sum()
}

/// CPU seconds used by this process's threads named `name` (a benchmark's peer servers run on
/// threads of their own, so their share can be told apart from vigil's).
pub(crate) fn thread_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .map(|t| stat_cpu_seconds(&t.path().join("stat")))
        .sum()
}

/// User + system CPU seconds from a `/proc/.../stat` file.
pub(crate) fn stat_cpu_seconds(path: &std::path::Path) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes this process has caused to be written to storage (`/proc/self/io`).
pub(crate) fn write_bytes() -> u64 {
    write_bytes_of("self")
}

/// Bytes process `pid` (`self` for this one) has caused to be written to storage.
pub(crate) fn write_bytes_of(pid: &str) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Resident memory of this process, in MB.
pub(crate) fn rss_mb() -> f64 {
    rss_mb_of("self")
}

/// Resident memory of process `pid` (`self` for this one), in MB.
pub(crate) fn rss_mb_of(pid: &str) -> f64 {
    status_mb(pid, "VmRSS:")
}

/// This process' resident memory split: anonymous (the heap, stacks) and file-backed (the
/// binary's pages that have been run or read), in MB.
pub(crate) fn rss_parts_mb() -> (f64, f64) {
    (status_mb("self", "RssAnon:"), status_mb("self", "RssFile:"))
}

/// A `kB` field of `/proc/{pid}/status`, in MB (0 where it is missing).
fn status_mb(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// What the receiver saw: (dedup key, notifier, state change at, received at).
pub(crate) type Arrivals = std::sync::Arc<std::sync::Mutex<Vec<(String, String, i64, i64)>>>;

/// A local receiver: `/am/api/v2/alerts` speaks Alertmanager's API (a list, the state change is
/// `startsAt`), `/{hook}` takes webhooks (one message, or `{"alerts": [...]}` when batched).
pub(crate) async fn receiver(arrivals: Arrivals) -> Result<String> {
    use axum::extract::{Path, State};
    fn record(log: &Arrivals, hook: &str, alerts: Vec<(String, i64)>) {
        let now = SystemClock.now();
        let mut log = log.lock().expect("lock");
        log.extend(alerts.into_iter().map(|(key, at)| (key, hook.to_string(), at, now)));
    }
    let app = axum::Router::new()
        .route(
            "/am/api/v2/alerts",
            axum::routing::post(|State(log): State<Arrivals>, axum::Json(body): axum::Json<Vec<Value>>| async move {
                let alerts = body.iter().map(|a| {
                    let key = a["labels"]["vigil_dedup_key"].as_str().unwrap_or_default().to_string();
                    let at = a["startsAt"].as_str().and_then(|t| vigil_core::time::parse_until(t).ok()).unwrap_or_default();
                    (key, at)
                });
                record(&log, "am", alerts.collect());
                "ok"
            }),
        )
        .route(
            "/{hook}",
            axum::routing::post(|State(log): State<Arrivals>, Path(hook): Path<String>, axum::Json(body): axum::Json<Value>| async move {
                let one = |m: &Value| (m["dedup_key"].as_str().unwrap_or_default().to_string(), m["at"].as_i64().unwrap_or_default());
                let alerts = match body["alerts"].as_array() {
                    Some(list) => list.iter().map(one).collect(),
                    None => vec![one(&body)],
                };
                record(&log, &hook, alerts);
                "ok"
            }),
        )
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Serves the API for `engine` on a loopback port; returns its base URL.
pub(crate) async fn serve_api(engine: &Engine, store: Arc<SqliteStore>) -> Result<String> {
    serve_api_with(engine, vigil_server::auth::Auth::new(store, false)).await
}

/// Serves the API for `engine` with `auth` on a loopback port; returns its base URL.
pub(crate) async fn serve_api_with(engine: &Engine, auth: vigil_server::auth::Auth) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let listen = listener.local_addr()?;
    let app = vigil_server::app(vigil_server::AppState {
        status_pages: Default::default(),
        engine: engine.clone(),
        listen,
        public_url: None,
        metrics: Arc::new(String::new),
        auth: Arc::new(auth),
        secret_box: None,
        allowed_hosts: Default::default(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{listen}"))
}

/// A rollup of monitor `m{m}`'s one series from `bucket`: `checks` checks of a value about 10,
/// `failing` of them failing (at 99).
pub(crate) fn rollup_row(m: usize, bucket: i64, checks: u32, failing: u32) -> vigil_store::MonitorHistoryRow {
    let bad = failing > 0;
    vigil_store::MonitorHistoryRow {
        monitor: format!("m{m}"),
        series: String::new(),
        bucket,
        checks,
        failing,
        errors: 0,
        worst: if bad { 2 } else { 0 },
        min: Some(8.0),
        max: Some(if bad { 99.0 } else { 12.0 }),
        sum: Some(f64::from(checks) * 10.5),
        last: Some(10.0),
    }
}

/// An engine on `store` with the default settings and one notifier, `hook`: a webhook to
/// `{hooks}/hook` (taking up to `batch` alerts a request, when given).
pub(crate) async fn engine_with_hook(store: Arc<SqliteStore>, hooks: &str, batch: Option<usize>) -> Result<Engine> {
    let engine = Engine::start(
        store,
        Arc::new(vigil_runtime::SystemClock),
        vigil_runtime::EngineConfig::default(),
        Default::default(),
        vigil_runtime::SecretValues::default(),
    )
    .await?;
    let mut hook = serde_json::json!({"type": "webhook", "name": "hook", "url": format!("{hooks}/hook")});
    if let Some(batch) = batch {
        hook["batch"] = batch.into();
    }
    engine.set_notifiers(vec![serde_json::from_value(hook)?]);
    Ok(engine)
}
