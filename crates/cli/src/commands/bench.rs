//! `vigil bench`: the measurements behind docs/benchmarks.md, reproducible on any machine.
//!
//! Each benchmark uses a fresh SQLite file in a temporary directory, so results include the cost of
//! durable commits.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;
use vigil_core::instance::WorkflowStatus;
use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, StartRequest, SystemClock};
use vigil_store::{FireStatus, SqliteStore, Store};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub which: Which,
}

/// The benchmarks.
#[derive(Subcommand)]
pub enum Which {
    /// (a) INLINE → SWITCH → SET_VARIABLE → JSON_JQ_TRANSFORM → INLINE, many instances.
    Throughput {
        /// Instances to run.
        #[arg(long, default_value_t = 100_000)]
        instances: usize,
    },
    /// (b) One chain of N INLINE tasks, end to end, repeated.
    Chain {
        /// Tasks in the chain.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Repetitions.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Alerting: many distinct alerts fire at once across three notifiers (local receivers).
    Alerts {
        /// Distinct alerts.
        #[arg(long, default_value_t = 10_000)]
        alerts: usize,
    },
    /// (c) Many cron schedules loaded; half fire together at the next minute boundary.
    Schedules {
        /// Schedules loaded.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// How many of them fire every minute (the rest fire once a year).
        #[arg(long, default_value_t = 50_000)]
        burst: usize,
    },
}

/// Runs one benchmark and prints its figures.
pub async fn run(args: Args) -> Result<ExitCode> {
    match args.which {
        Which::Throughput { instances } => throughput(instances).await?,
        Which::Chain { steps, runs } => chain(steps, runs).await?,
        Which::Schedules { count, burst } => schedules(count, burst).await?,
        Which::Alerts { alerts: n } => alerts(n).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn workflow(doc: Value) -> Result<WorkflowSet> {
    let (def, problems) = build_workflow(&doc);
    let def = def.with_context(|| format!("benchmark workflow is invalid: {problems:?}"))?;
    let mut set = WorkflowSet::default();
    set.insert(def);
    Ok(set)
}

async fn engine(workflows: WorkflowSet) -> Result<(Engine, Arc<SqliteStore>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let engine = Engine::start(
        store.clone(),
        Arc::new(SystemClock),
        EngineConfig::default(),
        workflows,
        SecretValues::default(),
    )
    .await?;
    Ok((engine, store, dir))
}

fn five_tasks() -> Value {
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

async fn wait_finished(engine: &Engine, target: u64, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    while engine.finished_count() < target {
        if started.elapsed() > limit {
            anyhow::bail!("only {} of {target} instances finished within {limit:?}", engine.finished_count());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(started.elapsed())
}

async fn throughput(n: usize) -> Result<()> {
    let (engine, store, _dir) = engine(workflow(five_tasks())?).await?;
    let started = Instant::now();
    for i in 0..n {
        engine.start_instance(StartRequest {
            name: "five".into(),
            input: json!({"n": i}),
            ..StartRequest::default()
        })?;
    }
    let queued = started.elapsed();
    wait_finished(&engine, n as u64, Duration::from_secs(600)).await?;
    let total = started.elapsed();
    let completed = store
        .list_instances(&vigil_store::InstanceFilter {
            workflow_name: Some("five".into()),
            status: Some(WorkflowStatus::Completed),
            limit: 1,
        })
        .await?;
    anyhow::ensure!(!completed.is_empty(), "no completed instance found in the store");
    engine.shutdown().await;
    println!("throughput: {n} instances of a 5-task workflow, durable on SQLite");
    println!("  queued in {:.2}s, all committed COMPLETED in {:.2}s", queued.as_secs_f64(), total.as_secs_f64());
    println!("  {:.0} workflows/s", n as f64 / total.as_secs_f64());
    Ok(())
}

async fn chain(steps: usize, runs: usize) -> Result<()> {
    let tasks: Vec<Value> = (0..steps)
        .map(|i| {
            let prev =
                if i == 0 { "${workflow.input.start}".to_string() } else { format!("${{t{}.output.result}}", i - 1) };
            json!({"name": format!("t{i}"), "taskReferenceName": format!("t{i}"), "type": "INLINE",
                   "inputParameters": {"evaluatorType": "javascript", "x": prev, "expression": "$.x + 1"}})
        })
        .collect();
    let last = format!("${{t{}.output.result}}", steps - 1);
    let (engine, _store, _dir) =
        engine(workflow(json!({"name": "chain", "tasks": tasks, "outputParameters": {"result": last}}))?).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let id = engine.start_instance(StartRequest {
            name: "chain".into(),
            input: json!({"start": 0}),
            ..StartRequest::default()
        })?;
        let done = engine.wait(&id).await?;
        times.push(started.elapsed());
        anyhow::ensure!(done.output == json!({"result": steps}), "wrong chain output {}", done.output);
    }
    engine.shutdown().await;
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0;
    println!("chain: {steps} INLINE tasks end to end (start → committed COMPLETED), {runs} runs");
    println!("  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(0.50), pct(0.99), pct(1.0));
    Ok(())
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn schedules(count: usize, burst: usize) -> Result<()> {
    let set = workflow(
        json!({"name": "tick", "tasks": [{"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE", "inputParameters": {"slot": "${workflow.input._scheduledTime}"}}]}),
    )?;
    let before = rss_mb();
    let mut defs = Vec::with_capacity(count);
    for i in 0..count {
        let cron = if i < burst { "0 * * * * *".to_string() } else { format!("0 {} {} 1 1 *", i % 60, i % 24) };
        let doc = json!({"name": format!("s{i}"), "cronExpression": cron, "zoneId": "UTC", "startWorkflowRequest": {"name": "tick"}});
        let (def, problems) = ScheduleDef::build(&doc);
        defs.push(def.with_context(|| format!("schedule {i}: {problems:?}"))?);
    }
    let (engine, store, _dir) = engine(set).await?;
    engine.run_schedules(defs).await?;
    let loaded = rss_mb();
    let now = SystemClock.now();
    let boundary = (now / 60_000 + 1) * 60_000;
    println!(
        "schedules: {count} loaded, RSS {loaded:.0} MB (before loading {before:.0} MB); waiting {:.0}s for the minute boundary",
        (boundary - now) as f64 / 1000.0
    );
    tokio::time::sleep(Duration::from_millis((boundary - SystemClock.now()).max(0) as u64)).await;
    let took = wait_finished(&engine, burst as u64, Duration::from_secs(120)).await?;
    let peak = rss_mb();
    let mut started_fires = 0;
    let mut doubled = 0;
    for i in 0..burst {
        let fires = store.fires(&format!("s{i}"), 5).await?;
        let at_boundary: Vec<_> = fires.iter().filter(|f| f.scheduled_at == boundary).collect();
        started_fires += at_boundary.iter().filter(|f| f.status == FireStatus::Started).count();
        doubled += at_boundary.len().saturating_sub(1);
    }
    engine.shutdown().await;
    println!("  burst: {burst} fires at one boundary, all committed {:.2}s after it", took.as_secs_f64());
    println!(
        "  fires recorded as started: {started_fires}, missed: {}, doubled: {doubled}",
        burst - started_fires.min(burst)
    );
    println!("  RSS after the burst: {peak:.0} MB");
    Ok(())
}

type Arrivals = std::sync::Arc<std::sync::Mutex<Vec<(String, String, i64, i64)>>>;

async fn receiver(arrivals: Arrivals) -> Result<String> {
    use axum::extract::{Path, State};
    let app = axum::Router::new()
        .route(
            "/{hook}",
            axum::routing::post(|State(log): State<Arrivals>, Path(hook): Path<String>, axum::Json(body): axum::Json<Value>| async move {
                let at = body["at"].as_i64().unwrap_or_default();
                let key = body["dedup_key"].as_str().unwrap_or_default().to_string();
                log.lock().expect("lock").push((key, hook, at, SystemClock.now()));
                "ok"
            }),
        )
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

async fn alerts(n: usize) -> Result<()> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let arrivals: Arrivals = Default::default();
    let base = receiver(arrivals.clone()).await?;
    let set = workflow(
        json!({"name": "fire", "tasks": [{"name": "alert", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "firing", "dedupKey": "${workflow.input.key}", "summary": "bench alert ${workflow.input.key}",
            "notifiers": ["hook-a", "hook-b", "hook-c"], "repeatInterval": "never"
        }}]}),
    )?;
    let (engine, _store, _dir) = engine(set).await?;
    let notifiers = ["a", "b", "c"]
        .iter()
        .map(|h| {
            serde_json::from_value(
                json!({"type": "webhook", "name": format!("hook-{h}"), "url": format!("{base}/{h}")}),
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    engine.set_notifiers(notifiers);
    let started = Instant::now();
    for i in 0..n {
        engine.start_instance(StartRequest {
            name: "fire".into(),
            input: json!({"key": format!("bench/{i}")}),
            ..StartRequest::default()
        })?;
    }
    let queued = started.elapsed();
    let expected = 3 * n;
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().expect("lock").len() < expected {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {expected} notifications arrived",
            arrivals.lock().expect("lock").len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.shutdown().await;
    let log = arrivals.lock().expect("lock").clone();
    let mut seen = std::collections::HashSet::new();
    let duplicates = log.iter().filter(|(k, h, _, _)| !seen.insert((k.clone(), h.clone()))).count();
    let mut latency: Vec<i64> = log.iter().map(|(_, _, at, got)| got - at).collect();
    latency.sort_unstable();
    let pct = |p: f64| latency[((latency.len() as f64 * p) as usize).min(latency.len() - 1)];
    println!("alerts: {n} distinct alerts fire across 3 notifiers (local webhooks, no rate limit), durable on SQLite");
    println!(
        "  {n} instances queued in {:.2}s; all {expected} notifications received {:.2}s after the first start",
        queued.as_secs_f64(),
        total.as_secs_f64()
    );
    println!("  duplicates: {duplicates}, missing: {}", expected.saturating_sub(seen.len()));
    println!(
        "  state change → received by the provider: p50 {} ms, p99 {} ms, max {} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let rendered = metrics.render();
    let quantile = |q: &str| -> String {
        let prefix = format!("vigil_notifications_first_attempt_delay_seconds{{quantile=\"{q}\"}} ");
        rendered
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| format!("{:.0} ms", v * 1000.0))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "  state change → first send attempt: p50 {}, p99 {}, max {}",
        quantile("0.5"),
        quantile("0.99"),
        quantile("1")
    );
    Ok(())
}
