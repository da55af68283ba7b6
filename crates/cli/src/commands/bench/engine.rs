//! The engine's benchmarks: throughput, chains, schedules, alerts and a Conductor worker.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::FireStore;
use vigil_store::InstanceStore;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::instance::WorkflowStatus;
use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, StartRequest, SystemClock};
use vigil_store::{FireStatus, SqliteStore};

use super::measure::{Arrivals, five_tasks, receiver, rss_mb, serve_api, workflow};

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

pub(super) async fn throughput(n: usize) -> Result<()> {
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
            statuses: vec![WorkflowStatus::Completed],
            limit: 1,
            ..Default::default()
        })
        .await?;
    anyhow::ensure!(!completed.is_empty(), "no completed instance found in the store");
    engine.shutdown().await;
    crate::output::outln!("throughput: {n} instances of a 5-task workflow, durable on SQLite");
    crate::output::outln!(
        "  queued in {:.2}s, all committed COMPLETED in {:.2}s",
        queued.as_secs_f64(),
        total.as_secs_f64()
    );
    crate::output::outln!("  {:.0} workflows/s", n as f64 / total.as_secs_f64());
    Ok(())
}

pub(super) async fn chain(steps: usize, runs: usize) -> Result<()> {
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
    crate::output::outln!("chain: {steps} INLINE tasks end to end (start → committed COMPLETED), {runs} runs");
    crate::output::outln!("  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(0.50), pct(0.99), pct(1.0));
    Ok(())
}

pub(super) async fn schedules(count: usize, burst: usize) -> Result<()> {
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
    crate::output::outln!(
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
    crate::output::outln!("  burst: {burst} fires at one boundary, all committed {:.2}s after it", took.as_secs_f64());
    crate::output::outln!(
        "  fires recorded as started: {started_fires}, missed: {}, doubled: {doubled}",
        burst - started_fires.min(burst)
    );
    crate::output::outln!("  RSS after the burst: {peak:.0} MB");
    Ok(())
}

pub(super) async fn alerts(n: usize, within_ms: u64, unbatched: bool) -> Result<()> {
    let metrics = crate::setup::install_metrics()?;
    let arrivals: Arrivals = Default::default();
    let base = receiver(arrivals.clone()).await?;
    let set = workflow(
        json!({"name": "fire", "tasks": [{"name": "alert", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "firing", "dedupKey": "${workflow.input.key}", "summary": "bench alert ${workflow.input.key}",
            "notifiers": ["am", "hook-a", "hook-b"], "repeatInterval": "never"
        }}]}),
    )?;
    let (engine, _store, _dir) = engine(set).await?;
    let batch = if unbatched { 1 } else { 64 };
    let notifiers = [
        json!({"type": "alertmanager", "name": "am", "url": format!("{base}/am")}),
        json!({"type": "webhook", "name": "hook-a", "url": format!("{base}/a"), "batch": batch}),
        json!({"type": "webhook", "name": "hook-b", "url": format!("{base}/b"), "batch": batch}),
    ]
    .into_iter()
    .map(serde_json::from_value)
    .collect::<std::result::Result<Vec<_>, _>>()?;
    engine.set_notifiers(notifiers);
    let started = Instant::now();
    // Starts go out in 10 ms slices, so the state changes spread evenly over `within_ms`.
    let slices = (within_ms / 10).max(1) as usize;
    for slice in 0..slices {
        let due = started + Duration::from_millis(slice as u64 * 10);
        tokio::time::sleep_until(due.into()).await;
        for i in (slice * n / slices)..((slice + 1) * n / slices) {
            engine.start_instance(StartRequest {
                name: "fire".into(),
                input: json!({"key": format!("bench/{i}")}),
                ..StartRequest::default()
            })?;
        }
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
    let shape = if unbatched { "one alert per webhook request" } else { "up to 64 alerts per request" };
    crate::output::outln!(
        "alerts: {n} distinct alerts fire within {within_ms} ms across 3 notifiers (Alertmanager + 2 webhooks, local, no rate limit; {shape}), durable on SQLite"
    );
    crate::output::outln!(
        "  {n} instances started in {:.2}s; all {expected} notifications received {:.2}s after the first start",
        queued.as_secs_f64(),
        total.as_secs_f64()
    );
    crate::output::outln!("  duplicates: {duplicates}, missing: {}", expected.saturating_sub(seen.len()));
    crate::output::outln!(
        "  state change → received by the provider: p50 {} ms, p99 {} ms, max {} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let rendered = metrics.render();
    let (bounds, p50, p99) = first_attempt_quantiles(&rendered);
    crate::output::outln!(
        "  state change → first send attempt (vigil's histogram): p50 ≤ {p50}, p99 ≤ {p99}; {bounds}"
    );
    Ok(())
}

/// Reads `vigil_notifications_first_attempt_delay_seconds` buckets: the share within 50 ms, and the
/// bucket bounds that hold the median and the 99th percentile.
fn first_attempt_quantiles(rendered: &str) -> (String, String, String) {
    let prefix = "vigil_notifications_first_attempt_delay_seconds_bucket{le=\"";
    let buckets: Vec<(String, f64)> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            Some((le.to_string(), count.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.iter().find(|(le, _)| le == "+Inf").map_or(0.0, |(_, c)| *c);
    let within = |q: f64| {
        buckets
            .iter()
            .find(|(_, c)| *c >= q * total)
            .map(|(le, _)| le.parse::<f64>().map_or(le.clone(), |s| format!("{:.0} ms", s * 1000.0)))
            .unwrap_or_else(|| "n/a".into())
    };
    let in_50 = buckets.iter().find(|(le, _)| le == "0.05").map_or(0.0, |(_, c)| *c);
    (format!("{in_50} of {total} within 50 ms"), within(0.5), within(0.99))
}

pub(super) async fn worker(steps: usize, runs: usize) -> Result<()> {
    let tasks: Vec<Value> = (0..steps)
        .map(|i| json!({"name": "step", "taskReferenceName": format!("s{i}"), "type": "SIMPLE", "inputParameters": {"i": i}}))
        .collect();
    let set = workflow(json!({"name": "chain", "tasks": tasks}))?;
    let (engine, store, _dir) = engine(set).await?;
    let base = serve_api(&engine, store).await?;
    let http = vigil_connectors::http_client();
    let result = |task: &Value| json!({"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": "COMPLETED", "outputData": {"ok": true}});
    let poll_url = format!("{base}/api/tasks/poll/step?workerid=bench&timeout=1000");
    // (a) POST the result, then long-poll for the next task: two calls per task.
    let mut two_calls = Vec::new();
    // (b) update-v2: the result's answer is the next task: one call per task.
    let mut one_call = Vec::new();
    for run in 0..runs {
        engine.start_instance(StartRequest { name: "chain".into(), ..StartRequest::default() })?;
        let mut task: Value = http.get(&poll_url).send().await?.json().await?;
        for _ in 1..steps {
            let sent = Instant::now();
            if run % 2 == 0 {
                http.post(format!("{base}/api/tasks")).json(&result(&task)).send().await?.error_for_status()?;
                task = http.get(&poll_url).send().await?.json().await?;
                two_calls.push(sent.elapsed());
            } else {
                let res =
                    http.post(format!("{base}/api/tasks/update-v2?workerid=bench")).json(&result(&task)).send().await?;
                anyhow::ensure!(res.status() == 200, "update-v2 answered {} instead of the next task", res.status());
                task = res.json().await?;
                one_call.push(sent.elapsed());
            }
        }
        http.post(format!("{base}/api/tasks")).json(&result(&task)).send().await?.error_for_status()?;
    }
    wait_finished(&engine, runs as u64, Duration::from_secs(60)).await?;
    engine.shutdown().await;
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort_unstable();
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0
    };
    crate::output::outln!(
        "worker: {runs} instances of a {steps}-SIMPLE-task chain, one HTTP worker on loopback, durable on SQLite"
    );
    crate::output::outln!(
        "  result → next task, POST /api/tasks then GET poll ({} round trips): p50 {:.2} ms, p99 {:.2} ms",
        two_calls.len(),
        pct(&mut two_calls, 0.5),
        pct(&mut two_calls, 0.99)
    );
    crate::output::outln!(
        "  result → next task, POST /api/tasks/update-v2 ({} round trips): p50 {:.2} ms, p99 {:.2} ms",
        one_call.len(),
        pct(&mut one_call, 0.5),
        pct(&mut one_call, 0.99)
    );
    Ok(())
}
