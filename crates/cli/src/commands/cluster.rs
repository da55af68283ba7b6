//! Nodes: every `vigil serve` writes a heartbeat to the database; `vigil cluster status` shows the
//! nodes, their last heartbeat and the scheduling lag.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use vigil_core::time::{Clock, Millis, format_millis};
use vigil_runtime::SystemClock;
use vigil_store::{NodeRow, Store};

use crate::DbArgs;
use crate::setup::open_store;

/// How often a node writes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A node silent for this long is shown as dead.
const DEAD_AFTER_MS: Millis = 15_000;
/// The window of fires the scheduling lag is computed over.
const LAG_WINDOW_MS: Millis = 5 * 60_000;

/// Cluster subcommands.
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// The nodes on this database, their last heartbeat, and the scheduling lag.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// This process as a node.
pub fn this_node() -> NodeRow {
    let now = SystemClock.now();
    NodeRow {
        id: vigil_runtime::new_instance_id(),
        host: std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
            .unwrap_or_else(|| "unknown".into()),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: now,
        heartbeat_at: now,
        stopped_at: None,
    }
}

/// Writes `node`'s heartbeat until the process ends.
pub async fn heartbeat(store: Arc<dyn Store>, mut node: NodeRow) {
    loop {
        node.heartbeat_at = SystemClock.now();
        if let Err(e) = store.node_heartbeat(&node).await {
            tracing::warn!(error = %e, "Could not write this node's heartbeat; will retry.");
        }
        tokio::time::sleep(HEARTBEAT_EVERY).await;
    }
}

/// Records that `node` stopped gracefully.
pub async fn stopped(store: &dyn Store, mut node: NodeRow) {
    let now = SystemClock.now();
    node.heartbeat_at = now;
    node.stopped_at = Some(now);
    if let Err(e) = store.node_heartbeat(&node).await {
        tracing::warn!(error = %e, "Could not record this node's stop.");
    }
}

/// Runs a cluster subcommand.
pub async fn run(cmd: ClusterCommand) -> Result<ExitCode> {
    let ClusterCommand::Status { db } = cmd;
    let store = open_store(&db.db).await?;
    let now = SystemClock.now();
    println!("{:<38} {:<20} {:<9} {:<26} {:<16} STATE", "NODE", "HOST", "VERSION", "STARTED", "LAST HEARTBEAT");
    for n in store.nodes().await? {
        let age = now - n.heartbeat_at;
        let state = match n.stopped_at {
            Some(at) => format!("stopped {}", format_millis(at)),
            None if age <= DEAD_AFTER_MS => "alive".into(),
            None => "dead (no heartbeat for 15 s)".into(),
        };
        println!(
            "{:<38} {:<20} {:<9} {:<26} {:<16} {state}",
            n.id,
            n.host,
            n.version,
            format_millis(n.started_at),
            format!("{:.1} s ago", age as f64 / 1000.0)
        );
    }
    println!("leases: none (each node runs its own work; sharing work between nodes is not built yet)");
    let mut lags = store.fire_lags(now - LAG_WINDOW_MS).await?;
    if lags.is_empty() {
        println!("scheduling lag: no fires in the last 5 minutes");
    } else {
        lags.sort_unstable();
        let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
        println!(
            "scheduling lag (last 5 minutes, {} fires): p50 {} ms, p99 {} ms, max {} ms",
            lags.len(),
            pct(0.5),
            pct(0.99),
            lags[lags.len() - 1]
        );
    }
    Ok(ExitCode::SUCCESS)
}
