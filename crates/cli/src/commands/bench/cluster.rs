//! `vigil bench cluster`: the 5-task workflow on PostgreSQL with 1, 2 or 3 nodes (engines in this
//! process, each with its own connections and node id, sharing the partitions through leases),
//! then the scheduling lag of many schedules firing every second. Uses a fresh database on the
//! server given, dropped afterwards, and prints the server's settings beside the figures.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::FireStore;

use anyhow::{Context, Result};
use serde_json::json;
use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Clock;
use vigil_runtime::cluster::ClusterConfig;
use vigil_runtime::{Engine, EngineConfig, SecretValues, StartRequest, SystemClock};
use vigil_store::{NodeRow, PARTITIONS, PostgresStore, Store};

use super::measure::{five_tasks, workflow};

/// The PostgreSQL settings the figures depend on.
const SETTINGS: &[&str] = &[
    "shared_buffers",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "max_connections",
    "checkpoint_timeout",
    "max_wal_size",
    "work_mem",
];

/// Runs the benchmark.
pub async fn run(admin: &str, nodes: usize, instances: usize, schedules: usize, seconds: u64) -> Result<()> {
    anyhow::ensure!((1..=8).contains(&nodes), "--nodes must be between 1 and 8");
    let db = vigil_store::postgres::scratch::create_database(admin, "vigil_bench").await.map_err(anyhow::Error::msg)?;
    let outcome = measure(&db.url, nodes, instances, schedules, seconds).await;
    db.drop_now().await;
    outcome
}

async fn start_nodes(url: &str, nodes: usize) -> Result<(Vec<Engine>, Vec<Arc<PostgresStore>>)> {
    let mut engines = Vec::new();
    let mut stores = Vec::new();
    let now = SystemClock.now();
    for n in 0..nodes {
        let store = Arc::new(PostgresStore::open(url).await?);
        let cluster = ClusterConfig {
            node: NodeRow {
                id: format!("bench-node-{n}"),
                host: "bench".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                started_at: now,
                heartbeat_at: now,
                stopped_at: None,
            },
            lease_ttl: Duration::from_secs(10),
            solo: false,
        };
        let config = EngineConfig { cluster, ..EngineConfig::default() };
        let set = workflow(five_tasks())?;
        engines.push(Engine::start(store.clone(), Arc::new(SystemClock), config, set, SecretValues::default()).await?);
        stores.push(store);
    }
    // Wait until every node holds about its share (64 over 3 settles at 22, 22 and 20).
    let share = (PARTITIONS as usize / nodes).saturating_sub(2).max(1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leases = stores[0].leases().await?;
        let ok = (0..nodes).all(|n| {
            let id = format!("bench-node-{n}");
            leases.iter().filter(|l| l.owner.as_deref() == Some(id.as_str())).count() >= share
        });
        if ok {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the nodes did not share the partitions within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((engines, stores))
}

async fn measure(url: &str, nodes: usize, instances: usize, schedules: usize, seconds: u64) -> Result<()> {
    let (engines, stores) = start_nodes(url, nodes).await?;
    let finished = || engines.iter().map(Engine::finished_count).sum::<u64>();

    let started = Instant::now();
    for i in 0..instances {
        engines[i % nodes].start_instance(StartRequest {
            name: "five".into(),
            input: json!({"n": i}),
            ..StartRequest::default()
        })?;
    }
    while finished() < instances as u64 {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "only {} finished in 600 s", finished());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();

    let now = SystemClock.now();
    let first = (now / 1000 + 3) * 1000;
    let last = first + seconds as i64 * 1000 - 1;
    let mut defs = Vec::with_capacity(schedules);
    for i in 0..schedules {
        let doc = json!({"name": format!("lag-{i}"), "cronExpression": "* * * * * *", "zoneId": "UTC",
            "scheduleStartTime": first, "scheduleEndTime": last, "startWorkflowRequest": {"name": "five"}});
        let (def, problems) = ScheduleDef::build(&doc);
        defs.push(def.with_context(|| format!("schedule {i}: {problems:?}"))?);
    }
    for engine in &engines {
        engine.run_schedules(defs.clone()).await?;
    }
    tokio::time::sleep(Duration::from_millis((last - SystemClock.now()).max(0) as u64 + 3_000)).await;
    let mut lags = stores[0].fire_lags(first).await?;
    lags.sort_unstable();
    let settings = stores[0].settings(SETTINGS).await?;
    for engine in &engines {
        engine.shutdown().await;
    }
    for store in &stores {
        store.close().await;
    }

    crate::output::outln!("cluster: {nodes} node(s) on PostgreSQL, in one process");
    crate::output::outln!(
        "  throughput: {instances} instances of the 5-task workflow committed COMPLETED in {:.2}s: {:.0} workflows/s",
        took.as_secs_f64(),
        instances as f64 / took.as_secs_f64()
    );
    if lags.is_empty() {
        crate::output::outln!("  scheduling lag: no fires recorded");
    } else {
        let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
        crate::output::outln!(
            "  scheduling lag: {} fires of {schedules} schedules over {seconds}s (expected {}): p50 {} ms, p99 {} ms, max {} ms",
            lags.len(),
            schedules as u64 * seconds,
            pct(0.5),
            pct(0.99),
            lags[lags.len() - 1]
        );
    }
    let shown: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    crate::output::outln!("  postgres: {}", shown.join(", "));
    Ok(())
}
