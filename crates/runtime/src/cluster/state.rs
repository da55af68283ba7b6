//! What the engine shares with the cluster's loops (a leaf: the engine's shared state holds it).

use std::sync::Arc;

use super::handed;
use super::ownership::Ownership;

/// What the engine shares with the cluster's loops: the partitions this node runs, and what wakes
/// the loops.
pub(crate) struct ClusterState {
    /// The partitions this node runs.
    pub ownership: Arc<Ownership>,
    /// Wakes the inbox reader (a notice, a gained partition).
    pub inbox_wake: tokio::sync::Notify,
    /// The inbox messages handed over and not applied yet.
    pub inbox_handed: Arc<handed::Handed>,
    /// Wakes the lease loop (another node released or joined).
    pub lease_wake: tokio::sync::Notify,
    /// Told when another node changed the definitions.
    pub definitions_changed: tokio::sync::Notify,
}

impl ClusterState {
    /// The state of node `node` (owning every partition at once when `solo`).
    pub(crate) fn new(node: &str, solo: bool) -> Self {
        Self {
            ownership: Arc::new(Ownership::new(node, solo)),
            inbox_wake: tokio::sync::Notify::new(),
            inbox_handed: Arc::default(),
            lease_wake: tokio::sync::Notify::new(),
            definitions_changed: tokio::sync::Notify::new(),
        }
    }
}
