//! `vigil bench ui`: the UI's busiest pages against a big store. 10,000 HTTP monitors checked by
//! the engine (against a local server, 5% failing, so alerts fire), each with 24 hours of hourly
//! rollups, and 1,000,000 ended instances of six workflows over 30 days. Times each page over
//! loopback (server-side rendering included) and reports p50, p95 and the largest, with the
//! page's size and the process's RSS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::Clock;
use vigil_runtime::SystemClock;
use vigil_store::{CommitBatch, InstanceRow, MonitorBatch, RollupRow, SqliteStore, Store};

use super::measure::{Arrivals, receiver, rss_mb, serve_api};
use super::monitors::{Seen, checks_server_thread, db_bytes, w1_monitors};

/// What to run (`vigil bench ui` flags).
#[derive(clap::Args)]
pub struct Plan {
    /// Monitors (HTTP, every 10 s).
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Ended instances in the store.
    #[arg(long, default_value_t = 1_000_000)]
    pub instances: usize,
    /// Requests timed per page.
    #[arg(long, default_value_t = 30)]
    pub requests: usize,
}

const WORKFLOWS: [&str; 6] = ["health_check", "failure_alert", "github_etl", "job_monitor", "token_refresh", "report"];
const HOUR: i64 = 3_600_000;

/// Writes `count` ended instances created over the last 30 days, 5% failed, in batches.
async fn fill_instances(store: &dyn Store, count: usize, now: i64) -> Result<()> {
    const BATCH: usize = 10_000;
    let span = 30 * 24 * HOUR;
    let mut written = 0;
    while written < count {
        let n = BATCH.min(count - written);
        let instances = (written..written + n)
            .map(|k| {
                let created = now - span + (span / count as i64) * k as i64;
                let name = WORKFLOWS[k % WORKFLOWS.len()];
                let mut i = Instance::new(format!("bench-{k:07}"), name.into(), 1, json!({"n": k}), created);
                i.status = if k % 20 == 8 { WorkflowStatus::Failed } else { WorkflowStatus::Completed };
                i.update_time = created + 1_500;
                i.end_time = Some(created + 1_500);
                i.correlation_id = Some(format!("batch-{}", k / 1000));
                InstanceRow::from_instance(&i)
            })
            .collect();
        store.commit(&CommitBatch { instances, ..Default::default() }).await?;
        written += n;
    }
    Ok(())
}

/// 24 hourly rollups per monitor (a few failing hours for the failing ones).
async fn fill_rollups(store: &dyn Store, monitors: usize, failing: usize, now: i64) -> Result<()> {
    let start = now - now.rem_euclid(HOUR) - 23 * HOUR;
    let mut rollups = Vec::with_capacity(monitors * 24);
    for m in 0..monitors {
        for h in 0..24 {
            let bad = m < failing && h % 6 == 5;
            let row = super::measure::rollup_row(m, start + h * HOUR, 360, if bad { 60 } else { 0 });
            rollups.push(RollupRow { width: HOUR, row });
        }
    }
    for batch in (MonitorBatch { rollups, ..Default::default() }).split(5_000) {
        store.put_monitor_results(&batch).await?;
    }
    Ok(())
}

/// p50, p95 and the largest of `ms` (sorted here).
fn quantiles(ms: &mut [f64]) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    (at(0.5), at(0.95), ms[ms.len() - 1])
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("ui.db")).await?);
    let now = SystemClock.now();
    let failing = plan.monitors / 20;
    let t = Instant::now();
    fill_instances(&*store, plan.instances, now).await?;
    fill_rollups(&*store, plan.monitors, failing, now).await?;
    crate::output::outln!(
        "store: {} instances and {} hourly rollups written in {:.1} s; database {:.0} MB",
        plan.instances,
        plan.monitors * 24,
        t.elapsed().as_secs_f64(),
        db_bytes(dir.path()) as f64 / 1e6
    );
    let seen: Seen = Arc::default();
    let checks = checks_server_thread(failing, seen.clone())?;
    let arrivals: Arrivals = Default::default();
    let hooks = receiver(arrivals).await?;
    let engine = super::measure::engine_with_hook(store.clone(), &hooks, None).await?;
    engine.set_monitors(w1_monitors(&checks, plan.monitors, 10)?);
    // One round of checks, so the grid has states and the failing monitors' alerts fire.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let base = serve_api(&engine, store.clone()).await?;
    let http = vigil_connectors::http_client();
    let middle = format!("{}.bench-{:07}", now - 15 * 24 * HOUR, plan.instances / 2);
    let pages = [
        ("overview", "/".to_string()),
        ("overview, grid page 40", "/?page=40".to_string()),
        ("instance list", "/ui/instances".to_string()),
        ("instance list: workflow + Failed", "/ui/instances?workflow=github_etl&status=Failed".to_string()),
        ("instance list: a page 15 days back", format!("/ui/instances?after={middle}")),
        ("instance list: correlation id", "/ui/instances?correlation=batch-500".to_string()),
        ("instance page", format!("/ui/instances/bench-{:07}", plan.instances / 2)),
        ("alerts", "/ui/alerts".to_string()),
        ("monitor page", "/ui/monitors/m7".to_string()),
        ("monitor list", "/ui/monitors".to_string()),
        ("monitor list, page 40", "/ui/monitors?page=40".to_string()),
    ];
    crate::output::outln!(
        "{:<38} {:>9} {:>9} {:>9} {:>10}",
        "page (GET, loopback, {} requests each)".replace("{}", &plan.requests.to_string()),
        "p50 ms",
        "p95 ms",
        "max ms",
        "KB"
    );
    // Times `requests` GETs of `path` (after one to warm up); the times in ms and the page's bytes.
    let time_page = async |path: &str| -> Result<(Vec<f64>, usize)> {
        let mut ms = Vec::with_capacity(plan.requests);
        let mut bytes = 0;
        for i in 0..=plan.requests {
            let t = Instant::now();
            let res = http.get(format!("{base}{path}")).send().await?;
            anyhow::ensure!(res.status().is_success(), "GET {path}: {}", res.status());
            bytes = res.bytes().await?.len();
            if i > 0 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok((ms, bytes))
    };
    for (name, path) in &pages {
        let (mut ms, bytes) = time_page(path).await.with_context(|| name.to_string())?;
        let (p50, p95, max) = quantiles(&mut ms);
        crate::output::outln!("{name:<38} {p50:>9.1} {p95:>9.1} {max:>9.1} {:>10.1}", bytes as f64 / 1024.0);
    }
    crate::output::outln!("RSS after: {:.0} MB", rss_mb());
    engine.shutdown().await;
    Ok(())
}
