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
    /// Alerting: many distinct alerts fire within a second across three notifiers (an
    /// Alertmanager and two webhooks, all local receivers).
    Alerts {
        /// Distinct alerts.
        #[arg(long, default_value_t = 10_000)]
        alerts: usize,
        /// The alerts' state changes are spread evenly over this many milliseconds (0: all at once).
        #[arg(long, default_value_t = 1_000)]
        within_ms: u64,
        /// Webhooks send one alert per request instead of up to 64 (`batch: 64`).
        #[arg(long)]
        unbatched: bool,
    },
    /// The external-worker round trip over the Conductor API on loopback: a chain of SIMPLE tasks
    /// worked by one HTTP worker, measured as poll + result and as update-v2.
    Worker {
        /// SIMPLE tasks per instance.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Instances, one after the other.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// The 5-task workflow and the scheduling lag on PostgreSQL with several nodes (a fresh
    /// database on the server, dropped afterwards).
    Cluster {
        /// The PostgreSQL server (a database there to connect to, to create the benchmark's).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres: String,
        /// Nodes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Instances of the 5-task workflow.
        #[arg(long, default_value_t = 50_000)]
        instances: usize,
        /// Schedules firing every second, for the scheduling lag.
        #[arg(long, default_value_t = 1_000)]
        schedules: usize,
        /// How long they fire.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Durable heartbeat pings per second and the time to a ping's answer, with N heartbeat
    /// monitors loaded (each ping answered after its commit).
    Pings {
        /// Heartbeat monitors loaded.
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        /// Concurrent senders.
        #[arg(long, default_value_t = 64)]
        senders: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A PostgreSQL URL to run on instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Overload: more scheduled HTTP checks (with alerts) than the machine can run, then load
    /// drops; RSS, CPU per check, skipped fires, alerts missed, catch-up and stop time.
    Overload {
        /// Schedules, one check each.
        #[arg(long, default_value_t = 30_000)]
        schedules: usize,
        /// Seconds between a schedule's fires (a divisor of 60).
        #[arg(long, default_value_t = 10)]
        every: u64,
        /// Seconds of overload before load drops to a tenth.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Schedules whose endpoint reports a problem (one alert each).
        #[arg(long, default_value_t = 5_000)]
        failing: usize,
        /// Most schedule-started instances running at once (`vigil serve --max-running-fires`).
        #[arg(long, default_value_t = vigil_runtime::admission::DEFAULT_MAX_RUNNING_FIRES)]
        limit: usize,
        /// How long each check endpoint takes to answer, in milliseconds.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
    },
    /// W1: N HTTP monitors every few seconds against a local JSON server, some above their
    /// threshold, alerts to a local webhook: CPU per check, lag p99, RSS, database growth, pages.
    Monitors {
        /// Monitors.
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        /// Seconds between a monitor's checks.
        #[arg(long, default_value_t = 10)]
        every: u64,
        /// Seconds measured after a warm-up of one interval.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Percent of monitors above their threshold.
        #[arg(long, default_value_t = 5)]
        failing_pct: usize,
        /// Seconds between history writes (`vigil serve --monitor-history-flush`; default 600).
        #[arg(long, default_value_t = 600)]
        history_flush: u64,
        /// Threads the monitors are split over (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Soak: W1 (10,000 monitors every 10 s, 5% failing) plus 100 fires a second of the seed-000
    /// alert workflow, retention short, for N minutes; samples RSS, file descriptors, database
    /// and WAL size, instances, lag p99 and CPU into a CSV and SVG charts, and judges the run.
    Soak(super::bench_soak::Plan),
    /// The web UI's overview, instance list and other pages timed against a big store (10,000
    /// monitors with a day of rollups, 1,000,000 instances).
    Ui(super::bench_ui::Plan),
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
        Which::Alerts { alerts: n, within_ms, unbatched } => alerts(n, within_ms, unbatched).await?,
        Which::Worker { steps, runs } => worker(steps, runs).await?,
        Which::Monitors { monitors, every, seconds, failing_pct, history_flush, threads } => {
            let plan = super::bench_monitors::Plan { monitors, every, seconds, failing_pct, history_flush, threads };
            super::bench_monitors::run(plan).await?
        }
        Which::Pings { monitors, senders, seconds, postgres } => {
            super::bench_pings::run(super::bench_pings::Plan { monitors, senders, seconds, postgres }).await?
        }
        Which::Overload { schedules, every, seconds, failing, limit, latency_ms } => {
            let plan = super::bench_overload::Plan { schedules, every, seconds, failing, limit, latency_ms };
            super::bench_overload::run(plan).await?
        }
        Which::Soak(plan) => super::bench_soak::run(plan).await?,
        Which::Ui(plan) => super::bench_ui::run(plan).await?,
        Which::Cluster { postgres, nodes, instances, schedules, seconds } => {
            super::bench_cluster::run(&postgres, nodes, instances, schedules, seconds).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A workflow set holding the one workflow `doc` defines.
pub(crate) fn workflow(doc: Value) -> Result<WorkflowSet> {
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
    crate::output::outln!("chain: {steps} INLINE tasks end to end (start → committed COMPLETED), {runs} runs");
    crate::output::outln!("  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(0.50), pct(0.99), pct(1.0));
    Ok(())
}

/// CPU seconds this process has used (user + system).
pub(crate) fn cpu_seconds() -> f64 {
    stat_cpu_seconds(std::path::Path::new("/proc/self/stat"))
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
fn stat_cpu_seconds(path: &std::path::Path) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes this process has caused to be written to storage (`/proc/self/io`).
pub(crate) fn write_bytes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Resident memory of this process, in MB.
pub(crate) fn rss_mb() -> f64 {
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

async fn alerts(n: usize, within_ms: u64, unbatched: bool) -> Result<()> {
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

/// Serves the API for `engine` on a loopback port; returns its base URL.
pub(crate) async fn serve_api(engine: &Engine, store: Arc<SqliteStore>) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let listen = listener.local_addr()?;
    let app = vigil_server::app(vigil_server::AppState {
        engine: engine.clone(),
        listen,
        public_url: None,
        metrics: Arc::new(String::new),
        auth: Arc::new(vigil_server::auth::Auth::new(store, false)),
        secret_box: None,
        allowed_hosts: Default::default(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{listen}"))
}

async fn worker(steps: usize, runs: usize) -> Result<()> {
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
