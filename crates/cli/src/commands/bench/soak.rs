//! `vigil bench soak --minutes N`: the W1 monitor workload (10,000 HTTP monitors every 10 s, 5%
//! failing) together with 100 schedule fires a second of a seed-000 alert workflow (INLINE
//! window → HTTP search → ALERT), with retention set short, for N minutes.
//!
//! Every sample (10 s by default) records RSS, open file descriptors, database and WAL size,
//! stored instances, check lag p99 (slot → request at the checked server), fire lag p99 and CPU.
//! It writes a CSV and one SVG chart per series, and judges the run: after the warm-up RSS and
//! database size stay within ±10% of their mean, both lags' p99 stay under 50 ms, and every
//! failing monitor and schedule was paged exactly once (none missing, no duplicates, none for
//! healthy ones).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_store::Store;

use super::measure::{Arrivals, cpu_seconds, receiver, rss_mb, workflow};
use super::monitors::{Seen, checks_server_thread, db_bytes, w1_monitors};

/// What to run (`vigil bench soak` flags).
#[derive(clap::Args)]
pub struct Plan {
    /// Minutes in all (warm-up included).
    #[arg(long, default_value_t = 60)]
    pub minutes: u64,
    /// Minutes of warm-up before the pass rules apply (retention needs one retention period to
    /// reach its level).
    #[arg(long, default_value_t = 10)]
    pub warmup_minutes: u64,
    /// HTTP monitors, every 10 s.
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Schedule fires a second (each schedule fires once a minute).
    #[arg(long, default_value_t = 100)]
    pub fires_per_second: usize,
    /// Percent of monitors and schedules that find a problem.
    #[arg(long, default_value_t = 5)]
    pub failing_pct: usize,
    /// Minutes ended instances (and fire records) are kept.
    #[arg(long, default_value_t = 5)]
    pub retention_minutes: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    pub sample_seconds: u64,
    /// A PostgreSQL server to run on (a fresh database there, dropped afterwards) instead of
    /// SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Where the CSV and the charts are written.
    #[arg(long, default_value = "target/soak")]
    pub out: PathBuf,
}

/// One sample.
#[derive(Debug, Clone, Default)]
struct Sample {
    minute: f64,
    rss_mb: f64,
    heap_mb: f64,
    fds: u64,
    db_mb: f64,
    wal_mb: f64,
    instances: u64,
    check_lag_p99_ms: f64,
    fire_lag_p99_ms: f64,
    cpu_cores: f64,
}

/// The CSV columns and the charts, in order: (column, chart title, unit).
const SERIES: [(&str, &str, &str); 9] = [
    ("rss_mb", "Resident memory", "MB"),
    ("heap_mb", "Heap in use", "MB"),
    ("fds", "Open file descriptors", "count"),
    ("db_mb", "Database size", "MB"),
    ("wal_mb", "WAL size", "MB"),
    ("instances", "Stored instances", "count"),
    ("check_lag_p99_ms", "Monitor check lag p99", "ms"),
    ("fire_lag_p99_ms", "Schedule fire lag p99", "ms"),
    ("cpu_cores", "CPU", "cores"),
];

impl Sample {
    fn values(&self) -> [f64; 9] {
        [
            self.rss_mb,
            self.heap_mb,
            self.fds as f64,
            self.db_mb,
            self.wal_mb,
            self.instances as f64,
            self.check_lag_p99_ms,
            self.fire_lag_p99_ms,
            self.cpu_cores,
        ]
    }
}

/// The search endpoint of the alert workflow: `/search/{n}` answers `{"totalHits": 3}` for the
/// failing schedules and 0 for the others.
async fn search_server(failing: usize) -> Result<String> {
    use axum::extract::Path;
    let app = axum::Router::new().route(
        "/search/{n}",
        axum::routing::get(move |Path(n): Path<usize>| async move {
            axum::Json(json!({"totalHits": if n < failing { 3 } else { 0 }, "results": []}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Seed 000's alert workflow against the local search endpoint.
fn alert_workflow(search: &str) -> Result<vigil_core::def::WorkflowSet> {
    workflow(json!({"name": "failure_alert", "tasks": [
        {"name": "compute_window", "taskReferenceName": "window", "type": "INLINE", "inputParameters": {
            "evaluatorType": "javascript", "slot": "${workflow.input._scheduledTime}",
            "expression": "({from: $.slot - 600000, to: $.slot})"}},
        {"name": "search_failures", "taskReferenceName": "search", "type": "HTTP", "inputParameters": {
            "http_request": {"uri": format!("{search}/search/${{workflow.input.n}}?from=${{window.output.result.from}}"), "method": "GET"}}},
        {"name": "failed runs", "taskReferenceName": "page", "type": "ALERT", "inputParameters": {
            "status": "${search.output.response.body.totalHits}", "dedupKey": "soak/${workflow.input.n}",
            "summary": "${search.output.response.body.totalHits} failed runs", "notifiers": ["hook"],
            "repeatInterval": "never"}}
    ]}))
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0)
}

/// Runs the soak and writes its CSV and charts.
pub async fn run(plan: Plan) -> Result<()> {
    anyhow::ensure!(plan.minutes > plan.warmup_minutes, "--minutes must be longer than --warmup-minutes");
    let pg = match &plan.postgres {
        Some(admin) => Some(
            vigil_store::postgres::scratch::create_database(admin, "vigil_soak").await.map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let outcome = measure(&plan, pg.as_ref().map(|d| d.url.clone())).await;
    if let Some(db) = pg {
        db.drop_now().await;
    }
    outcome
}

async fn measure(plan: &Plan, postgres: Option<String>) -> Result<()> {
    let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
    let failing_monitors = plan.monitors * plan.failing_pct / 100;
    let schedules = plan.fires_per_second * 60;
    let failing_schedules = schedules * plan.failing_pct / 100;
    let seen: Seen = Arc::default();
    let checks = checks_server_thread(failing_monitors, seen.clone())?;
    let search = search_server(failing_schedules).await?;
    let arrivals: Arrivals = Default::default();
    let hooks = receiver(arrivals.clone()).await?;
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = match &postgres {
        Some(url) => Arc::new(vigil_store::PostgresStore::open(url).await?),
        None => Arc::new(vigil_store::SqliteStore::open(&dir.path().join("soak.db")).await?),
    };
    let _metrics = crate::setup::install_metrics()?;
    let keep = plan.retention_minutes as i64 * 60_000;
    let config = EngineConfig {
        retention: vigil_runtime::retention::RetentionSettings {
            instances: vigil_core::retention::Policy { completed: keep, failed: keep },
            // Fire records grow as fast as instances (one per fire): kept as long.
            fires: keep,
            every: Duration::from_secs(10),
            ..Default::default()
        },
        monitor_history: vigil_runtime::monitors::record::HistorySettings {
            keep,
            rollup_keep: 2 * keep,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let engine =
        Engine::start(store.clone(), Arc::new(SystemClock), config, alert_workflow(&search)?, SecretValues::default())
            .await?;
    let hook = serde_json::from_value(
        json!({"type": "webhook", "name": "hook", "url": format!("{hooks}/hook"), "batch": 64}),
    )?;
    engine.set_notifiers(vec![hook]);
    let monitors = w1_monitors(&checks, plan.monitors, 10)?;
    {
        let mut log = seen.lock().expect("lock");
        log.expect(&monitors, 10);
        log.window = Some((0, i64::MAX));
    }
    engine.set_monitors(monitors);
    let mut defs = Vec::with_capacity(schedules);
    for i in 0..schedules {
        let doc = json!({"name": format!("s{i}"), "cronExpression": format!("{} * * * * *", i % 60), "zoneId": "UTC",
            "startWorkflowRequest": {"name": "failure_alert", "input": {"n": i}}});
        let (def, problems) = ScheduleDef::build(&doc);
        defs.push(def.with_context(|| format!("schedule {i}: {problems:?}"))?);
    }
    engine.run_schedules(defs).await?;
    crate::output::outln!(
        "soak: {} HTTP monitors every 10s ({failing_monitors} failing) + {schedules} schedules of the seed-000 alert workflow ({} fires/s, {failing_schedules} failing), instance retention {} min; {backend}; {} min ({} warm-up), a sample every {}s",
        plan.monitors,
        plan.fires_per_second,
        plan.retention_minutes,
        plan.minutes,
        plan.warmup_minutes,
        plan.sample_seconds
    );
    std::fs::create_dir_all(&plan.out)?;
    let csv_path = plan.out.join(format!("soak-{backend}.csv"));
    let mut csv = format!("minute,{}\n", SERIES.map(|s| s.0).join(","));
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let (mut cpu_before, mut last) = (cpu_seconds(), SystemClock.now());
    while started.elapsed() < Duration::from_secs(plan.minutes * 60) {
        tokio::time::sleep(Duration::from_secs(plan.sample_seconds)).await;
        let now = SystemClock.now();
        let (_, check_p99) = seen.lock().expect("lock").take(0.99);
        let mut fire_lags = store.fire_lags(last).await.unwrap_or_default();
        fire_lags.sort_unstable();
        let fire_p99 = fire_lags.get((fire_lags.len() * 99).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0);
        let cpu = cpu_seconds();
        let (db, wal) = match store.size_bytes().await? {
            Some(bytes) => (bytes, 0),
            None => {
                let wal = std::fs::metadata(dir.path().join("soak.db-wal")).map(|m| m.len()).unwrap_or(0);
                (db_bytes(dir.path()).saturating_sub(wal), wal)
            }
        };
        let sample = Sample {
            minute: started.elapsed().as_secs_f64() / 60.0,
            rss_mb: rss_mb(),
            heap_mb: vigil_core::memory::heap_in_use().unwrap_or(0) as f64 / 1e6,
            fds: open_fds(),
            db_mb: db as f64 / 1e6,
            wal_mb: wal as f64 / 1e6,
            instances: store.count_instances().await?,
            check_lag_p99_ms: check_p99 as f64,
            fire_lag_p99_ms: fire_p99 as f64,
            cpu_cores: (cpu - cpu_before) / ((now - last) as f64 / 1000.0),
        };
        (cpu_before, last) = (cpu, now);
        csv.push_str(&format!("{:.2},{}\n", sample.minute, sample.values().map(|v| format!("{v:.2}")).join(",")));
        std::fs::write(&csv_path, &csv)?;
        samples.push(sample);
    }
    engine.shutdown().await;
    for (i, (column, title, unit)) in SERIES.iter().enumerate() {
        let points: Vec<(f64, f64)> = samples.iter().map(|s| (s.minute, s.values()[i])).collect();
        let path = plan.out.join(format!("soak-{backend}-{}.svg", column.replace('_', "-")));
        chart(&path, &format!("{title} ({backend})"), unit, plan.warmup_minutes as f64, &points)?;
    }
    judge(plan, &samples, &arrivals, (failing_monitors, failing_schedules));
    crate::output::outln!("  CSV: {}; charts: {}/soak-{backend}-*.svg", csv_path.display(), plan.out.display());
    Ok(())
}

/// Prints each pass rule and whether it held.
fn judge(plan: &Plan, samples: &[Sample], arrivals: &Arrivals, (monitors, schedules): (usize, usize)) {
    let judged: Vec<&Sample> = samples.iter().filter(|s| s.minute >= plan.warmup_minutes as f64).collect();
    let spread = |f: fn(&Sample) -> f64| {
        let values: Vec<f64> = judged.iter().map(|s| f(s)).collect();
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        (mean, 100.0 * (lo - mean) / mean, 100.0 * (hi - mean) / mean)
    };
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    for (name, f) in
        [("RSS", (|s: &Sample| s.rss_mb) as fn(&Sample) -> f64), ("database + WAL", |s| s.db_mb + s.wal_mb)]
    {
        let (mean, lo, hi) = spread(f);
        crate::output::outln!(
            "  {name} after warm-up: mean {mean:.1} MB, {lo:+.1}% / {hi:+.1}% → {}",
            verdict(lo >= -10.0 && hi <= 10.0)
        );
    }
    let worst = |f: fn(&Sample) -> f64| judged.iter().map(|s| f(s)).fold(0.0, f64::max);
    let (check, fire) = (worst(|s| s.check_lag_p99_ms), worst(|s| s.fire_lag_p99_ms));
    crate::output::outln!(
        "  lag p99, worst sample after warm-up: checks {check:.0} ms, fires {fire:.0} ms → {}",
        verdict(check < 50.0 && fire < 50.0)
    );
    let log = arrivals.lock().expect("lock");
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for (key, ..) in log.iter() {
        *per_key.entry(key.as_str()).or_default() += 1;
    }
    let expected: Vec<String> =
        (0..monitors).map(|n| format!("monitor/m{n}")).chain((0..schedules).map(|n| format!("soak/{n}"))).collect();
    let missing = expected.iter().filter(|k| !per_key.contains_key(k.as_str())).count();
    let duplicates: usize = per_key.values().map(|c| c - 1).sum();
    let wrong = per_key.len() - (expected.len() - missing);
    crate::output::outln!(
        "  pages: {} expected, {missing} missing, {duplicates} duplicates, {wrong} for healthy checks → {}",
        expected.len(),
        verdict(missing == 0 && duplicates == 0 && wrong == 0)
    );
}

/// Draws one series as an SVG line chart, with the warm-up shaded.
fn chart(path: &std::path::Path, title: &str, unit: &str, warmup: f64, points: &[(f64, f64)]) -> Result<()> {
    use plotters::prelude::*;
    let x_max = points.last().map_or(1.0, |p| p.0).max(1.0);
    let y_max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let root = SVGBackend::new(path, (720, 300)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("minutes")
        .y_desc(unit)
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (warmup.min(x_max), y_max)],
            RGBColor(238, 238, 238).filled(),
        )))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(points.iter().copied(), RGBColor(31, 119, 180).stroke_width(2)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
