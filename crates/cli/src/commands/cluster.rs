//! Nodes: every `vigil serve` writes a heartbeat to the database; `vigil cluster status` shows the
//! nodes, their last heartbeat and the scheduling lag.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use vigil_core::time::{Clock, format_millis};
use vigil_runtime::SystemClock;
use vigil_runtime::cluster::status::{self as cluster_status, NodeState, ranges};
use vigil_store::NodeRow;

use crate::setup::DbArgs;
use crate::setup::open_store;

/// Cluster subcommands.
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// The nodes on this database, their last heartbeat, and the scheduling lag.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// This machine's host name.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// This process as node `id`.
pub fn this_node(id: String) -> NodeRow {
    let now = SystemClock.now();
    NodeRow {
        id,
        host: host_name(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: now,
        heartbeat_at: now,
        stopped_at: None,
    }
}

/// Runs a cluster subcommand.
pub async fn run(cmd: ClusterCommand) -> Result<ExitCode> {
    let ClusterCommand::Status { db } = cmd;
    let store = open_store(&db.db).await?;
    let now = SystemClock.now();
    let status = cluster_status::read(&*store, now).await?;
    crate::output::outln!(
        "{:<38} {:<20} {:<9} {:<26} {:<16} {:<30} LEASES",
        "NODE",
        "HOST",
        "VERSION",
        "STARTED",
        "LAST HEARTBEAT",
        "STATE"
    );
    for n in &status.nodes {
        let age = now - n.node.heartbeat_at;
        let state = match n.state {
            NodeState::Stopped(at) => format!("stopped {}", format_millis(at)),
            NodeState::Alive => "alive".into(),
            NodeState::Dead => format!("dead (no heartbeat for {} s)", cluster_status::DEAD_AFTER_MS / 1000),
        };
        let leases =
            if n.parts.is_empty() { "-".to_string() } else { format!("{} ({})", n.parts.len(), ranges(&n.parts)) };
        crate::output::outln!(
            "{:<38} {:<20} {:<9} {:<26} {:<16} {state:<30} {leases}",
            n.node.id,
            n.node.host,
            n.node.version,
            format_millis(n.node.started_at),
            format!("{:.1} s ago", age as f64 / 1000.0)
        );
    }
    if status.unowned.is_empty() {
        crate::output::outln!("partitions: {} leased, none unowned", status.partitions);
    } else {
        crate::output::outln!(
            "partitions: {} unowned or lapsed ({}), taken over within the lease time",
            status.unowned.len(),
            ranges(&status.unowned)
        );
    }
    match status.lag {
        None => crate::output::outln!("scheduling lag: no fires in the last 5 minutes"),
        Some(lag) => crate::output::outln!(
            "scheduling lag (last 5 minutes, {} fires): p50 {} ms, p99 {} ms, max {} ms",
            lag.fires,
            lag.p50,
            lag.p99,
            lag.max
        ),
    }
    Ok(ExitCode::SUCCESS)
}
