//! Nodes: every `vigil serve` writes a heartbeat to the database; `vigil cluster status` shows the
//! nodes, their last heartbeat and the scheduling lag.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use vigil_core::time::{Clock, Millis, format_millis};
use vigil_runtime::SystemClock;
use vigil_store::NodeRow;

use crate::DbArgs;
use crate::setup::open_store;

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
    let leases = store.leases().await?;
    let held = |node: &str| -> Vec<u32> {
        leases.iter().filter(|l| l.owner.as_deref() == Some(node) && l.expires_at >= now).map(|l| l.part).collect()
    };
    crate::output::outln!(
        "{:<38} {:<20} {:<9} {:<26} {:<16} {:<30} LEASES",
        "NODE",
        "HOST",
        "VERSION",
        "STARTED",
        "LAST HEARTBEAT",
        "STATE"
    );
    for n in store.nodes().await? {
        let age = now - n.heartbeat_at;
        let state = match n.stopped_at {
            Some(at) => format!("stopped {}", format_millis(at)),
            None if age <= DEAD_AFTER_MS => "alive".into(),
            None => "dead (no heartbeat for 15 s)".into(),
        };
        let parts = held(&n.id);
        let leases = if parts.is_empty() { "-".to_string() } else { format!("{} ({})", parts.len(), ranges(&parts)) };
        crate::output::outln!(
            "{:<38} {:<20} {:<9} {:<26} {:<16} {state:<30} {leases}",
            n.id,
            n.host,
            n.version,
            format_millis(n.started_at),
            format!("{:.1} s ago", age as f64 / 1000.0)
        );
    }
    let unowned: Vec<u32> = leases.iter().filter(|l| l.owner.is_none() || l.expires_at < now).map(|l| l.part).collect();
    if unowned.is_empty() {
        crate::output::outln!("partitions: {} leased, none unowned", leases.len());
    } else {
        crate::output::outln!(
            "partitions: {} unowned or lapsed ({}), taken over within the lease time",
            unowned.len(),
            ranges(&unowned)
        );
    }
    let mut lags = store.fire_lags(now - LAG_WINDOW_MS).await?;
    if lags.is_empty() {
        crate::output::outln!("scheduling lag: no fires in the last 5 minutes");
    } else {
        lags.sort_unstable();
        let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
        crate::output::outln!(
            "scheduling lag (last 5 minutes, {} fires): p50 {} ms, p99 {} ms, max {} ms",
            lags.len(),
            pct(0.5),
            pct(0.99),
            lags[lags.len() - 1]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `0-9,12,20-22` for sorted partition numbers.
fn ranges(parts: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let mut j = i;
        while j + 1 < parts.len() && parts[j + 1] == parts[j] + 1 {
            j += 1;
        }
        out.push(if i == j { parts[i].to_string() } else { format!("{}-{}", parts[i], parts[j]) });
        i = j + 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn partition_lists_are_shown_as_ranges() {
        assert_eq!(super::ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(super::ranges(&[]), "");
    }
}
