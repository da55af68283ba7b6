//! `vigil bench overload`: more scheduled HTTP checks than the machine can run (issue 10 item
//! 14). Each schedule runs a workflow that calls a local endpoint and feeds its answer to an ALERT;
//! some endpoints report a problem, so their alerts must reach a local webhook once each however
//! late their checks run. After the overload phase most schedules are paused (load drops) and the
//! benchmark measures how long vigil takes to catch up, then how long it takes to stop.
//!
//! Reported beside throughput: peak RSS, CPU per check, bytes written, fires skipped by the
//! misfire policy, alerts missed or doubled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::schedule::ScheduleDef;
use vigil_runtime::scheduler::SchedulerCmd;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_store::SqliteStore;

use super::measure::{Arrivals, cpu_seconds, receiver, rss_mb, workflow, write_bytes};

/// What to run.
pub struct Plan {
    /// Schedules, one check each.
    pub schedules: usize,
    /// Seconds between a schedule's fires (a divisor of 60).
    pub every: u64,
    /// Seconds of overload before load drops.
    pub seconds: u64,
    /// Schedules whose endpoint reports a problem (an alert each).
    pub failing: usize,
    /// `max_running_fires`.
    pub limit: usize,
    /// How long each endpoint takes to answer, in milliseconds.
    pub latency_ms: u64,
}

/// The sum of a metric's samples over all its labels.
fn metric(rendered: &str, name: &str) -> f64 {
    rendered
        .lines()
        .filter(|l| l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b' ' | b'{')))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .fold(0.0, |sum, v| sum + v)
}

/// The check endpoints: `/check/{n}` answers after `latency`, `{"status": "firing"}` for
/// `n < failing`, else `{"status": "resolved"}`.
async fn endpoints(failing: usize, latency: Duration) -> Result<String> {
    use axum::extract::Path;
    let app = axum::Router::new().route(
        "/check/{n}",
        axum::routing::get(move |Path(n): Path<usize>| async move {
            tokio::time::sleep(latency).await;
            let status = if n < failing { "firing" } else { "resolved" };
            axum::Json(json!({"status": status}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    anyhow::ensure!(plan.every > 0 && 60 % plan.every == 0, "--every must divide 60");
    let metrics = crate::setup::install_metrics()?;
    let arrivals: Arrivals = Default::default();
    let hooks = receiver(arrivals.clone()).await?;
    let targets = endpoints(plan.failing, Duration::from_millis(plan.latency_ms)).await?;
    let set = workflow(json!({"name": "check", "tasks": [
        {"name": "probe", "taskReferenceName": "probe", "type": "HTTP", "inputParameters": {"http_request": {
            "uri": format!("{targets}/check/${{workflow.input.n}}"), "method": "GET"}}},
        {"name": "alert", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "${probe.output.response.body.status}", "dedupKey": "check/${workflow.input.n}",
            "summary": "check ${workflow.input.n} failed", "notifiers": ["hook"], "repeatInterval": "never"}}
    ]}))?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let config = EngineConfig { max_running_fires: plan.limit, ..EngineConfig::default() };
    let engine = Engine::start(store, Arc::new(SystemClock), config, set, SecretValues::default()).await?;
    let hook = serde_json::from_value(
        json!({"type": "webhook", "name": "hook", "url": format!("{hooks}/hook"), "batch": 64}),
    )?;
    engine.set_notifiers(vec![hook]);
    let mut defs = Vec::with_capacity(plan.schedules);
    for i in 0..plan.schedules {
        // Spread over the interval, as monitors with jitter are.
        let offset = i as u64 % plan.every;
        let cron = format!("{offset}-59/{} * * * * *", plan.every);
        let doc = json!({"name": format!("c{i}"), "cronExpression": cron, "zoneId": "UTC",
            "startWorkflowRequest": {"name": "check", "input": {"n": i}}});
        let (def, problems) = ScheduleDef::build(&doc);
        defs.push(def.with_context(|| format!("schedule {i}: {problems:?}"))?);
    }
    let (cpu0, written0, rss0) = (cpu_seconds(), write_bytes(), rss_mb());
    engine.run_schedules(defs).await?;
    crate::output::outln!(
        "overload: {} schedules, each an HTTP check ({} ms to answer) + ALERT every {}s ({:.0} checks/s asked), {} failing, max_running_fires {}, {}s; SQLite",
        plan.schedules,
        plan.latency_ms,
        plan.every,
        plan.schedules as f64 / plan.every as f64,
        plan.failing,
        plan.limit,
        plan.seconds
    );
    let started = Instant::now();
    let (mut peak_rss, mut peak_running) = (0f64, 0usize);
    while started.elapsed() < Duration::from_secs(plan.seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_rss = peak_rss.max(rss_mb());
        peak_running = peak_running.max(engine.running_fires());
    }
    let overload = started.elapsed().as_secs_f64();
    let checks = engine.finished_count();
    let (cpu1, rendered) = (cpu_seconds(), metrics.render());
    let asked = plan.schedules as f64 * overload / plan.every as f64;
    crate::output::outln!(
        "  overload phase: {checks} checks done ({:.0}/s, {:.0}% of those asked), {:.2} ms CPU per check, {:.1} cores",
        checks as f64 / overload,
        100.0 * checks as f64 / asked,
        1000.0 * (cpu1 - cpu0) / checks.max(1) as f64,
        (cpu1 - cpu0) / overload
    );
    crate::output::outln!(
        "  fires started {:.0}, skipped by the misfire policy {:.0}; at most {peak_running} schedule instances ran at once; RSS {rss0:.0} MB before, peak {peak_rss:.0} MB",
        metric(&rendered, "vigil_schedule_fires_total"),
        metric(&rendered, "vigil_schedule_fires_skipped_total"),
    );

    // Load drops to a tenth.
    let keep = (plan.schedules / 10).max(1);
    for i in keep..plan.schedules {
        engine.schedule_command(SchedulerCmd::Pause(format!("c{i}"), true));
    }
    let dropped = Instant::now();
    let caught_up = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Caught up: no due fire waits in the scheduler, and no backlog of instances waits in
        // memory (the remaining schedules need far fewer than one running instance each).
        let waiting = metric(&metrics.render(), "vigil_schedule_fires_waiting") > 0.0;
        if !waiting && engine.running_fires() <= keep {
            break Some(dropped.elapsed());
        }
        if dropped.elapsed() > Duration::from_secs(300) {
            break None;
        }
    };
    match caught_up {
        Some(t) => crate::output::outln!(
            "  load dropped to {keep} schedules: caught up (no fire waiting, at most {keep} instances running) {:.1}s later",
            t.as_secs_f64()
        ),
        None => crate::output::outln!("  load dropped to {keep} schedules: NOT caught up within 300 s"),
    }
    // Every failing check's alert arrives once, however late its check ran.
    let expected = plan.failing.min(plan.schedules);
    let deadline = Instant::now() + Duration::from_secs(120);
    let distinct = |log: &Arrivals| {
        log.lock().expect("lock").iter().map(|(k, ..)| k.clone()).collect::<std::collections::HashSet<_>>().len()
    };
    while distinct(&arrivals) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = distinct(&arrivals);
    let total = arrivals.lock().expect("lock").len();
    crate::output::outln!(
        "  alerts: {expected} expected, {got} received, {} missing, {} duplicate notices",
        expected - got.min(expected),
        total - got
    );
    let stop = Instant::now();
    engine.shutdown().await;
    let stopped = stop.elapsed();
    let db: u64 = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    crate::output::outln!(
        "  stopped in {:.2}s; written: {:.0} MB by the process, database files {:.0} MB; {} checks in all",
        stopped.as_secs_f64(),
        (write_bytes() - written0) as f64 / 1e6,
        db as f64 / 1e6,
        engine.finished_count()
    );
    Ok(())
}
