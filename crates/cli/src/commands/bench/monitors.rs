//! `vigil bench monitors` (benchmark W1 of issue 11): N HTTP monitors every few seconds against a
//! local static JSON server, a share of them above their threshold, alerts to a local webhook.
//! Reports CPU per check (vigil's, and the check server's apart: it runs on a thread of its own),
//! cores, lag (slot → request received by the server) p50/p99, RSS, database growth per hour, and
//! pages (each failing monitor paged once, nobody else).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::monitor::MonitorDef;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_store::SqliteStore;

use super::measure::{Arrivals, cpu_seconds, receiver, rss_mb, rss_parts_mb, thread_cpu_seconds, write_bytes};

/// What to run.
pub struct Plan {
    /// Monitors.
    pub monitors: usize,
    /// Seconds between a monitor's checks.
    pub every: u64,
    /// Seconds measured (after a warm-up of one interval).
    pub seconds: u64,
    /// Percent of monitors above their threshold.
    pub failing_pct: usize,
    /// Seconds between history writes.
    pub history_flush: u64,
    /// Threads the monitors are split over (default: the engine's, one per core).
    pub threads: Option<usize>,
    /// What the monitors check.
    pub kind: super::probe_servers::Kind,
}

pub(crate) use super::lag::{PEER_THREAD, Seen};

/// The check endpoints: `/m/{n}` answers `{"value": 99}` for failing monitors, `{"value": 10}`
/// for the others, and records when each request arrived.
async fn checks_server(failing: usize, seen: Seen) -> Result<String> {
    use axum::extract::{Path, State};
    let app = axum::Router::new()
        .route(
            "/m/{n}",
            axum::routing::get(|State((seen, failing)): State<(Seen, usize)>, Path(n): Path<usize>| async move {
                seen.lock().expect("lock").record(n, SystemClock.now());
                axum::Json(json!({"value": if n < failing { 99 } else { 10 }}))
            }),
        )
        .with_state((seen, failing));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Starts the check server on a thread of its own ([`PEER_THREAD`], one current-thread runtime):
/// the monitored endpoints are not vigil, so their CPU is counted apart from vigil's.
pub(crate) fn checks_server_thread(failing: usize, seen: Seen) -> Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name(PEER_THREAD.into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match runtime {
            Ok(runtime) => runtime.block_on(async move {
                let _ = tx.send(checks_server(failing, seen).await);
                std::future::pending::<()>().await
            }),
            Err(e) => {
                let _ = tx.send(Err(e.into()));
            }
        }
    })?;
    rx.recv().context("the check server's thread stopped")?
}

pub(crate) fn db_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

/// W1's monitors: `/m/{n}` of the check server every `every` seconds, critical above 90, paged
/// through the `hook` notifier once.
pub(crate) fn w1_monitors(base: &str, count: usize, every: u64) -> Result<Vec<MonitorDef>> {
    (0..count)
        .map(|n| {
            let doc = json!({
                "name": format!("m{n}"), "every": format!("{every}s"),
                "source": {"http": {"url": format!("{base}/m/{n}"), "timeout": "5s"}},
                "value": "body.value", "critical": "> 90", "notify": ["hook"], "repeatInterval": "never",
            });
            let (def, problems) = MonitorDef::build(&doc);
            def.with_context(|| format!("monitor {n}: {problems:?}"))
        })
        .collect()
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    use super::probe_servers::{Kind, dns_server, on_peer_thread, tcp_server};
    // Loopback always answers ping: no ICMP monitor fails.
    let failing = if plan.kind == Kind::Icmp { 0 } else { plan.monitors * plan.failing_pct / 100 };
    let seen: Seen = Arc::default();
    let peer = seen.clone();
    let base = match plan.kind {
        Kind::Http => checks_server_thread(failing, seen.clone())?,
        Kind::Tcp => on_peer_thread(move || tcp_server(failing, peer))?,
        Kind::Dns => on_peer_thread(move || dns_server(failing, peer))?,
        Kind::Icmp => String::new(),
    };
    let arrivals: Arrivals = Default::default();
    let hooks = receiver(arrivals.clone()).await?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    // Metrics are recorded as under `vigil serve` (their cost is part of a check's).
    let _metrics = crate::setup::install_metrics()?;
    let engine = Engine::start(
        store,
        Arc::new(SystemClock),
        EngineConfig {
            monitor_history: vigil_runtime::monitors::record::HistorySettings {
                flush: plan.history_flush as i64 * 1000,
                ..Default::default()
            },
            monitor_threads: plan.threads.unwrap_or(EngineConfig::default().monitor_threads),
            ..EngineConfig::default()
        },
        vigil_core::def::WorkflowSet::default(),
        SecretValues::default(),
    )
    .await?;
    let hook = serde_json::from_value(
        json!({"type": "webhook", "name": "hook", "url": format!("{hooks}/hook"), "batch": 64}),
    )?;
    engine.set_notifiers(vec![hook]);
    let defs = match plan.kind {
        Kind::Http => w1_monitors(&base, plan.monitors, plan.every)?,
        kind => super::probe_servers::monitors(kind, &base, plan.monitors, plan.every)?,
    };
    seen.lock().expect("lock").expect(&defs, plan.every);
    let rss_before = rss_mb();
    engine.set_monitors(defs);
    crate::output::outln!(
        "monitors: {} {} monitors every {}s ({:.0} checks/s) against a local {}, {failing} failing, alerts to a local webhook; SQLite; warm-up {}s, then {}s measured",
        plan.monitors,
        format!("{:?}", plan.kind).to_uppercase(),
        plan.every,
        plan.monitors as f64 / plan.every as f64,
        match plan.kind {
            Kind::Http => "JSON server",
            Kind::Tcp => "TCP server",
            Kind::Dns => "DNS server",
            Kind::Icmp => "loopback (the kernel answers)",
        },
        plan.every,
        plan.seconds
    );
    // Warm-up: one interval, so every monitor has run once and the alerts are out.
    tokio::time::sleep(Duration::from_secs(plan.every)).await;
    let (cpu0, peer0) = (cpu_seconds(), thread_cpu_seconds(PEER_THREAD));
    let (db0, wrote0, from) = (db_bytes(dir.path()), write_bytes(), SystemClock.now());
    seen.lock().expect("lock").window = Some((from, i64::MAX));
    let started = Instant::now();
    let (mut peak_rss, mut parts) = (0f64, (0f64, 0f64));
    while started.elapsed() < Duration::from_secs(plan.seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss = rss_mb();
        if rss > peak_rss {
            (peak_rss, parts) = (rss, rss_parts_mb());
        }
    }
    let (cpu1, peer1) = (cpu_seconds(), thread_cpu_seconds(PEER_THREAD));
    let (db1, wrote1) = (db_bytes(dir.path()), write_bytes());
    let elapsed = started.elapsed().as_secs_f64();
    let (count, pct) = {
        // Closed under the lock: what arrived until now counts, nothing after.
        let mut log = seen.lock().expect("lock");
        log.window = Some((from, SystemClock.now()));
        let pct = |p: f64| log.percentile(p);
        (log.total() as usize, [pct(0.5), pct(0.99), pct(1.0)])
    };
    let expected_checks = plan.monitors as f64 * elapsed / plan.every as f64;
    // Loopback's replies to pings are the kernel's: their arrivals are not seen, so the checks
    // due stand in for those made.
    let count = if plan.kind == Kind::Icmp { expected_checks.round() as usize } else { count };
    let checks = count.max(1);
    crate::output::outln!(
        "  checks: {} in {elapsed:.0}s ({:.0}/s, {:.1}% of those due)",
        count,
        count as f64 / elapsed,
        100.0 * count as f64 / expected_checks,
    );
    let (all, peer) = (cpu1 - cpu0, peer1 - peer0);
    crate::output::outln!(
        "  CPU per check: vigil {:.1} µs, the check server {:.1} µs more; cores: vigil {:.2}, in all {:.2}",
        1e6 * (all - peer) / checks as f64,
        1e6 * peer / checks as f64,
        (all - peer) / elapsed,
        all / elapsed
    );
    if plan.kind == Kind::Icmp {
        crate::output::outln!("  lag: not seen (the kernel answers loopback's pings)");
    } else {
        crate::output::outln!(
            "  lag, slot → request at the server: p50 {} ms, p99 {} ms, max {} ms",
            pct[0],
            pct[1],
            pct[2]
        );
    }
    crate::output::outln!(
        "  RSS before the monitors {rss_before:.0} MB, peak {peak_rss:.0} MB ({:.0} anonymous, {:.0} file-backed); database growth {:.1} MB/hour ({} bytes in {elapsed:.0}s)",
        parts.0,
        parts.1,
        (db1.saturating_sub(db0)) as f64 * 3600.0 / elapsed / 1e6,
        db1.saturating_sub(db0)
    );
    let wrote = wrote1.saturating_sub(wrote0) as f64;
    crate::output::outln!(
        "  bytes written to disk: {:.1} MB/hour, {:.0} bytes per check (history buckets of {}s written every {}s, latest results)",
        wrote * 3600.0 / elapsed / 1e6,
        wrote / checks as f64,
        vigil_runtime::monitors::record::HistorySettings::default().bucket / 1000,
        plan.history_flush
    );
    let log = arrivals.lock().expect("lock").clone();
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for (key, ..) in &log {
        *per_key.entry(key.clone()).or_default() += 1;
    }
    let paged_failing = (0..failing).filter(|n| per_key.contains_key(&format!("monitor/m{n}"))).count();
    let duplicates: usize = per_key.values().map(|c| c.saturating_sub(1)).sum();
    let wrong = per_key
        .keys()
        .filter(|k| k.strip_prefix("monitor/m").and_then(|n| n.parse::<usize>().ok()).is_none_or(|n| n >= failing))
        .count();
    crate::output::outln!(
        "  pages: {} notices for {failing} failing monitors: {} missed, {duplicates} duplicates, {wrong} for monitors that were fine",
        log.len(),
        failing - paged_failing
    );
    engine.shutdown().await;
    // The floor, once vigil has stopped: the same exchange by a bare client, with the same peer.
    if let Some(floor) = super::floor::cpu_per_exchange_us(plan.kind, &base, plan.monitors.saturating_sub(1))? {
        crate::output::outln!(
            "  the floor: a bare client's CPU for the same exchange with the same peer {floor:.1} µs (blocking sockets; on loopback the kernel's work for the peer's side of a connection counts as the client's); vigil above it: {:.1} µs",
            1e6 * (all - peer) / checks as f64 - floor
        );
    }
    Ok(())
}
