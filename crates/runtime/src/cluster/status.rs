//! The cluster as an operator sees it: each node's state and partitions, partitions nobody holds,
//! and the scheduling lag. One reading for `vigil cluster status` and the UI's cluster page.

use vigil_core::time::Millis;
use vigil_store::{NodeRow, Store};

/// A node silent for this long is shown as dead.
pub const DEAD_AFTER_MS: Millis = 15_000;
/// The window of fires the scheduling lag is computed over.
pub const LAG_WINDOW_MS: Millis = 5 * 60_000;

/// Whether a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Its heartbeat is recent.
    Alive,
    /// No heartbeat for [`DEAD_AFTER_MS`].
    Dead,
    /// Stopped gracefully at this time.
    Stopped(Millis),
}

/// One node with its state and the partitions it holds.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    /// The node's row.
    pub node: NodeRow,
    /// Alive, dead or stopped.
    pub state: NodeState,
    /// Partitions it holds, sorted.
    pub parts: Vec<u32>,
}

/// Scheduling lag over [`LAG_WINDOW_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// Fires in the window.
    pub fires: usize,
    /// Median lag, ms.
    pub p50: Millis,
    /// 99th percentile, ms.
    pub p99: Millis,
    /// Largest, ms.
    pub max: Millis,
}

/// The whole reading.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    /// Every node that ever ran on this store.
    pub nodes: Vec<NodeStatus>,
    /// Partitions in the lease table.
    pub partitions: usize,
    /// Partitions nobody holds (or whose lease lapsed), sorted.
    pub unowned: Vec<u32>,
    /// The scheduling lag, when anything fired in the window.
    pub lag: Option<Lag>,
}

impl ClusterStatus {
    /// Nodes alive now.
    pub fn alive(&self) -> usize {
        self.nodes.iter().filter(|n| n.state == NodeState::Alive).count()
    }
}

/// Reads the cluster's status at `now`.
pub async fn read(store: &dyn Store, now: Millis) -> vigil_store::Result<ClusterStatus> {
    let leases = store.leases().await?;
    let nodes = store
        .nodes()
        .await?
        .into_iter()
        .map(|node| {
            let state = match node.stopped_at {
                Some(at) => NodeState::Stopped(at),
                None if now - node.heartbeat_at <= DEAD_AFTER_MS => NodeState::Alive,
                None => NodeState::Dead,
            };
            let mut parts: Vec<u32> = leases
                .iter()
                .filter(|l| l.owner.as_deref() == Some(node.id.as_str()) && l.expires_at >= now)
                .map(|l| l.part)
                .collect();
            parts.sort_unstable();
            NodeStatus { node, state, parts }
        })
        .collect();
    let mut unowned: Vec<u32> =
        leases.iter().filter(|l| l.owner.is_none() || l.expires_at < now).map(|l| l.part).collect();
    unowned.sort_unstable();
    let mut lags = store.fire_lags(now - LAG_WINDOW_MS).await?;
    lags.sort_unstable();
    let lag = (!lags.is_empty()).then(|| {
        let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
        Lag { fires: lags.len(), p50: pct(0.5), p99: pct(0.99), max: lags[lags.len() - 1] }
    });
    Ok(ClusterStatus { nodes, partitions: leases.len(), unowned, lag })
}

/// `0-9,12,20-22` for sorted partition numbers.
pub fn ranges(parts: &[u32]) -> String {
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
