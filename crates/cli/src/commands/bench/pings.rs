//! `vigil bench pings`: durable heartbeat pings per second and the time to a ping's answer, with
//! N heartbeat monitors loaded. Each ping goes through the engine as the ping route sends it
//! (`Engine::ping`: resolve the id, rate-limit, group commit, answer after the commit), from
//! concurrent senders; the HTTP layer is not included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::expect::PingKind;
use vigil_runtime::pings::Ping;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};

use super::measure::{cpu_seconds, rss_mb, write_bytes};

/// What to run.
pub struct Plan {
    /// Heartbeat monitors loaded.
    pub monitors: usize,
    /// Concurrent senders.
    pub senders: usize,
    /// Seconds measured.
    pub seconds: u64,
    /// A PostgreSQL URL instead of SQLite.
    pub postgres: Option<String>,
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (store, backend): (Arc<dyn vigil_store::Store>, &str) = match &plan.postgres {
        Some(url) => (Arc::new(vigil_store::PostgresStore::open(url).await?), "PostgreSQL"),
        None => (Arc::new(vigil_store::SqliteStore::open(&dir.path().join("bench.db")).await?), "SQLite"),
    };
    let engine = Engine::start(
        store,
        Arc::new(SystemClock),
        EngineConfig::default(),
        vigil_core::def::WorkflowSet::default(),
        SecretValues::default(),
    )
    .await?;
    let mut defs = Vec::with_capacity(plan.monitors);
    for n in 0..plan.monitors {
        let doc = json!({"name": format!("hb{n}"), "every": "1h", "heartbeat": {"grace": "1h"}, "notify": []});
        let (def, problems) = MonitorDef::build(&doc);
        defs.push(def.with_context(|| format!("monitor {n}: {problems:?}"))?);
    }
    engine.set_monitors(defs);
    let ids: Vec<String> = loop {
        let ids: Vec<String> = engine.monitors().await.into_iter().filter_map(|m| m.ping_id).collect();
        if ids.len() == plan.monitors {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ids = Arc::new(ids);
    crate::output::outln!(
        "pings: {} heartbeat monitors, {} concurrent senders, {}s; {backend}; each ping answered after its commit",
        plan.monitors,
        plan.senders,
        plan.seconds
    );
    let (cpu0, wrote0) = (cpu_seconds(), write_bytes());
    let started = Instant::now();
    let until = started + Duration::from_secs(plan.seconds);
    let mut tasks = Vec::new();
    for s in 0..plan.senders {
        let (engine, ids) = (engine.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failed = 0usize;
            let mut n = s;
            while Instant::now() < until {
                let id = &ids[n % ids.len()];
                n += plan.senders;
                let t = Instant::now();
                let ping = Ping {
                    kind: PingKind::Success,
                    exit_code: None,
                    rid: None,
                    body: None,
                    origin: Default::default(),
                };
                match engine.ping(id, ping).await {
                    Ok(_) => times.push(t.elapsed()),
                    Err(_) => failed += 1,
                }
            }
            (times, failed)
        }));
    }
    let mut times = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (mine, f) = t.await?;
        times.extend(mine);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, wrote) = (cpu_seconds() - cpu0, write_bytes().saturating_sub(wrote0));
    times.sort_unstable();
    let pct = |p: f64| times.get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1))).copied();
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    crate::output::outln!(
        "  {} pings stored in {elapsed:.1}s: {:.0} pings/s ({failed} refused)",
        times.len(),
        times.len() as f64 / elapsed
    );
    crate::output::outln!(
        "  answer after commit: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    crate::output::outln!(
        "  CPU {:.1} µs per ping; {:.0} bytes written per ping; RSS {:.0} MB",
        1e6 * cpu / times.len().max(1) as f64,
        wrote as f64 / times.len().max(1) as f64,
        rss_mb()
    );
    engine.shutdown().await;
    Ok(())
}
