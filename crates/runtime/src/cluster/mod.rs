//! Cluster mode: the partitions this node owns, and what changes when it gains or loses some.
//!
//! Every instance, alert key and schedule belongs to a partition (`vigil_store::cluster`). A node
//! runs only what belongs to the partitions whose leases it holds ([`leases`]); work that reaches
//! it for another partition goes through the database inbox to the owner ([`inbox`]). On SQLite
//! the one node owns every partition (solo), and none of this shows.

pub(crate) mod handed;
pub mod inbox;
pub mod leases;
pub(crate) mod ownership;
pub(crate) mod state;
pub mod status;

pub use ownership::Ownership;
pub(crate) use state::ClusterState;

use std::sync::Arc;
use std::time::Duration;

use vigil_store::PARTITIONS;

use crate::shard::messages::ShardMsg;
use crate::shared::Shared;

/// How this node takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This node (its heartbeat row). Its id is the owner recorded on its leases; stable across
    /// restarts of one node, so a restarted node takes its own partitions back at once.
    pub node: vigil_store::NodeRow,
    /// How long a lease lasts unless renewed: a dead node's partitions move on within this time
    /// (plus one renewal period).
    pub lease_ttl: Duration,
    /// Own every partition at once, without waiting for leases to lapse: for a store only one
    /// process uses (SQLite).
    pub solo: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        let node = vigil_store::NodeRow {
            id: crate::shared::new_instance_id(),
            host: "localhost".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: 0,
            heartbeat_at: 0,
            stopped_at: None,
        };
        Self { node, lease_ttl: Duration::from_secs(10), solo: true }
    }
}

/// Starts running `parts`: their unfinished instances are loaded and resumed, their schedules
/// armed, their alert keys and undelivered notifications loaded, and their inbox read.
pub(crate) async fn gain(shared: &Arc<Shared>, parts: &[u32], recover: bool) -> Result<(), vigil_store::StoreError> {
    if parts.is_empty() {
        return Ok(());
    }
    shared.cluster.ownership.add(parts);
    if recover {
        let unfinished = shared.store.unfinished_instances_in(parts).await?;
        if !unfinished.is_empty() {
            tracing::info!(count = unfinished.len(), partitions = parts.len(), "Resuming unfinished instances.");
        }
        for instance in unfinished {
            if let Some(fire) = &instance.fire {
                shared.schedules.admission.started(&fire.schedule);
            }
            shared.router.place(ShardMsg::Load(Box::new(instance)));
        }
    }
    let _ = shared.alerting.sender.send(crate::alerting::messages::AlertMsg::Gained(parts.to_vec()));
    if let Some(tx) = shared.schedules.commands.lock().expect("lock").as_ref() {
        let _ = tx.send(crate::scheduler::command::SchedulerCmd::Gained(parts.to_vec()));
    }
    shared.cluster.inbox_wake.notify_one();
    metrics::gauge!("vigil_partitions_owned").set(shared.cluster.ownership.parts().len() as f64);
    Ok(())
}

/// Stops running `parts` (their leases were lost or given up): their instances leave memory
/// (uncommitted changes are dropped; the new owner resumes from the committed state), their
/// schedules and alert keys stop here.
pub(crate) fn lose(shared: &Shared, parts: &[u32]) {
    let lost = shared.cluster.ownership.remove(parts);
    if lost.is_empty() {
        return;
    }
    tracing::warn!(partitions = ?lost, "This node no longer owns these partitions; their work moves to their new owner.");
    shared.router.broadcast(|| ShardMsg::Evict(lost.clone()));
    let _ = shared.alerting.sender.send(crate::alerting::messages::AlertMsg::Lost(lost.clone()));
    if let Some(tx) = shared.schedules.commands.lock().expect("lock").as_ref() {
        let _ = tx.send(crate::scheduler::command::SchedulerCmd::Lost(lost.clone()));
    }
    metrics::gauge!("vigil_partitions_owned").set(shared.cluster.ownership.parts().len() as f64);
}

/// Every partition, for a solo node.
pub(crate) fn all_parts() -> Vec<u32> {
    (0..PARTITIONS).collect()
}
