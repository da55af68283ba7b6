//! `vigil bench status-page` (issue 37): one public page of many components over W1's monitors
//! (HTTP checks every few seconds against a local JSON server, a share failing), with 90 days of
//! daily rollups behind it, read by many clients at once while the checks run: requests per
//! second and latency for the page, a badge and the feed, the page's size plain and gzipped, the
//! CPU of one rendering, and W1's lag while the readers read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::time::Clock;
use vigil_runtime::SystemClock;
use vigil_store::{MonitorBatch, RollupRow, SqliteStore, Store};

use super::lag::{PEER_THREAD, Seen};
use super::measure::{Arrivals, cpu_seconds, receiver, rss_mb, thread_cpu_seconds};
use super::monitors::{checks_server_thread, w1_monitors};

/// What to run.
#[derive(clap::Args)]
pub struct Plan {
    /// Monitors (W1's), every one on the page.
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Components on the page (the monitors split evenly over them).
    #[arg(long, default_value_t = 200)]
    pub components: usize,
    /// Seconds between a monitor's checks.
    #[arg(long, default_value_t = 10)]
    pub every: u64,
    /// Seconds each address is read for.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Readers at once (each a kept-alive connection).
    #[arg(long, default_value_t = 32)]
    pub readers: usize,
}

const DAY: i64 = 86_400_000;

/// 90 daily rollups per monitor (a bad day now and then for the failing ones).
async fn fill_days(store: &dyn Store, monitors: usize, failing: usize, now: i64) -> Result<()> {
    let today = now - now.rem_euclid(DAY);
    let mut rollups = Vec::with_capacity(monitors * 90);
    for m in 0..monitors {
        for d in 1..=90 {
            let bad = m < failing && d % 9 == 0;
            let row = super::measure::rollup_row(m, today - d * DAY, 8_640, if bad { 100 } else { 0 });
            rollups.push(RollupRow { width: DAY, row });
        }
    }
    for batch in (MonitorBatch { rollups, ..Default::default() }).split(10_000) {
        store.put_monitor_results(&batch).await?;
    }
    Ok(())
}

/// What the readers of one address saw.
pub(crate) struct Read {
    pub requests: usize,
    pub errors: usize,
    pub bytes: usize,
    pub ms: Vec<f64>,
    pub secs: f64,
}

/// `readers` clients reading `url` (gzip accepted, with `token` as a bearer token when given) for
/// `seconds`.
pub(crate) async fn read(url: &str, token: Option<&str>, readers: usize, seconds: u64) -> Read {
    let client = vigil_connectors::http_client();
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..readers)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.to_string(), token.map(str::to_string));
            tokio::spawn(async move {
                let (mut ms, mut errors, mut bytes) = (Vec::new(), 0, 0);
                while Instant::now() < until {
                    let t = Instant::now();
                    let mut req = client.get(&url).header("accept-encoding", "gzip");
                    if let Some(token) = &token {
                        req = req.bearer_auth(token);
                    }
                    match req.send().await {
                        Ok(r) if r.status().is_success() => bytes += r.bytes().await.map(|b| b.len()).unwrap_or(0),
                        _ => errors += 1,
                    }
                    ms.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                (ms, errors, bytes)
            })
        })
        .collect();
    let mut out = Read { requests: 0, errors: 0, bytes: 0, ms: Vec::new(), secs: 0.0 };
    for t in tasks {
        if let Ok((ms, errors, bytes)) = t.await {
            out.requests += ms.len();
            out.errors += errors;
            out.bytes += bytes;
            out.ms.extend(ms);
        }
    }
    out.secs = started.elapsed().as_secs_f64();
    out.ms.sort_by(f64::total_cmp);
    out
}

/// The value at quantile `q` of `sorted`.
pub(crate) fn at(sorted: &[f64], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    let failing = plan.monitors * 5 / 100;
    let seen: Seen = Arc::default();
    let base = checks_server_thread(failing, seen.clone())?;
    let hooks = receiver(Arrivals::default()).await?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let filling = Instant::now();
    fill_days(&*store, plan.monitors, failing, SystemClock.now()).await?;
    let filled = filling.elapsed().as_secs_f64();
    let _metrics = crate::setup::install_metrics()?;
    let engine = super::measure::engine_with_hook(store.clone(), &hooks, Some(64)).await?;
    let defs = w1_monitors(&base, plan.monitors, plan.every)?;
    seen.lock().expect("lock").expect(&defs, plan.every);
    engine.set_monitors(defs);
    let per = plan.monitors.div_ceil(plan.components.max(1));
    let components: Vec<_> = (0..plan.components)
        .map(|c| {
            let monitors: Vec<String> =
                (c * per..((c + 1) * per).min(plan.monitors)).map(|m| format!("m{m}")).collect();
            json!({"name": format!("Service {c}"), "monitors": monitors})
        })
        .collect();
    let (page, problems) = vigil_core::status_page::build_status_page(
        &json!({"slug": "bench", "title": "Bench status", "components": components}),
    );
    engine.status_pages().set_status_pages(vec![page.with_context(|| format!("{problems:?}"))?]);
    let api = super::measure::serve_api(&engine, store).await?;
    crate::output::outln!(
        "status page: {} components over {} W1 monitors every {}s ({failing} failing), 90 days of daily rollups ({:.0}k rows, written in {filled:.0} s); {} readers, {} s per address",
        plan.components,
        plan.monitors,
        plan.every,
        plan.monitors as f64 * 90.0 / 1000.0,
        plan.readers,
        plan.seconds
    );
    tokio::time::sleep(Duration::from_secs(plan.every)).await;

    // One rendering, timed alone (the cache serves the readers from it for two seconds).
    let (cpu0, peer0, t) = (cpu_seconds(), thread_cpu_seconds(PEER_THREAD), Instant::now());
    let view = engine.status_pages().status_page_view("bench").await.context("the page")??;
    let render_ms = t.elapsed().as_secs_f64() * 1000.0;
    let render_cpu = (cpu_seconds() - cpu0) - (thread_cpu_seconds(PEER_THREAD) - peer0);
    let plain = http_len(&format!("{api}/status/bench"), false).await?;
    let gzipped = http_len(&format!("{api}/status/bench"), true).await?;
    crate::output::outln!(
        "  one rendering: {render_ms:.0} ms ({:.0} ms of CPU, W1's checks included); the page {:.0} KB, gzipped {:.1} KB; {} components",
        render_cpu * 1000.0,
        plain as f64 / 1024.0,
        gzipped as f64 / 1024.0,
        view.components.len()
    );
    let targets = [
        ("page", format!("{api}/status/bench")),
        ("badge", format!("{api}/api/v1/endpoints/bench_service-7/uptimes/30d/badge.svg")),
        ("feed", format!("{api}/status/bench/feed.atom")),
    ];
    for (name, url) in targets {
        let from = SystemClock.now();
        seen.lock().expect("lock").window = Some((from, i64::MAX));
        let (cpu0, rss0) = (cpu_seconds(), rss_mb());
        let r = read(&url, None, plan.readers, plan.seconds).await;
        let cpu = cpu_seconds() - cpu0;
        let lag = {
            let mut log = seen.lock().expect("lock");
            log.window = Some((from, SystemClock.now()));
            [log.percentile(0.5), log.percentile(0.99)]
        };
        crate::output::outln!(
            "  {name}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, {:.1} KB per answer; CPU {:.2} cores (readers included); RSS {rss0:.0} → {:.0} MB; W1's lag meanwhile p50 {} ms, p99 {} ms",
            r.requests as f64 / r.secs,
            at(&r.ms, 0.5),
            at(&r.ms, 0.99),
            r.errors,
            r.bytes as f64 / r.requests.max(1) as f64 / 1024.0,
            cpu / r.secs,
            rss_mb(),
            lag[0],
            lag[1]
        );
    }
    engine.shutdown().await;
    Ok(())
}

/// The body length of `url`, gzip asked for or not (a client that does not unzip).
async fn http_len(url: &str, gzip: bool) -> Result<usize> {
    let mut req = vigil_connectors::http_client().get(url);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    Ok(req.send().await?.bytes().await?.len())
}
