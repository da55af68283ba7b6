//! Cluster mode: the partitions this node owns, and what changes when it gains or loses some.
//!
//! Every instance, alert key and schedule belongs to a partition (`vigil_store::cluster`). A node
//! runs only what belongs to the partitions whose leases it holds ([`leases`]); work that reaches
//! it for another partition goes through the database inbox to the owner ([`inbox`]). On SQLite
//! the one node owns every partition (solo), and none of this shows.

pub mod inbox;
pub mod leases;
pub mod status;

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use vigil_store::{PARTITIONS, partition_of};

use crate::engine::Shared;
use crate::shard::ShardMsg;

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
            id: crate::new_instance_id(),
            host: "localhost".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: 0,
            heartbeat_at: 0,
            stopped_at: None,
        };
        Self { node, lease_ttl: Duration::from_secs(10), solo: true }
    }
}

/// The partitions this node owns, and until when its leases surely hold.
pub struct Ownership {
    node: String,
    /// The only node on its store: writes need no fence.
    solo: bool,
    parts: RwLock<BTreeSet<u32>>,
    /// After this instant a lease may have lapsed (renewals failed): act on nothing.
    valid_until: RwLock<Instant>,
    /// How many times partitions were gained (what another node did with them meanwhile is
    /// news to whoever kept memory of them).
    gains: std::sync::atomic::AtomicU64,
}

impl Ownership {
    /// Owns nothing yet.
    pub fn new(node: &str, solo: bool) -> Self {
        Self {
            node: node.to_string(),
            solo,
            parts: RwLock::default(),
            valid_until: RwLock::new(Instant::now()),
            gains: Default::default(),
        }
    }

    /// Whether this node is the only one (SQLite): nobody else runs its partitions, before or
    /// after it.
    pub fn solo(&self) -> bool {
        self.solo
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The fence for a write to `parts`: `None` when solo (nobody else writes this store).
    pub fn fence(&self, parts: impl IntoIterator<Item = u32>) -> Option<vigil_store::Fence> {
        (!self.solo).then(|| vigil_store::Fence::new(&self.node, parts))
    }

    /// Whether this node runs partition `part`. Writes to it are fenced in the store, so this
    /// may lag behind a takeover without harm.
    pub fn owns(&self, part: u32) -> bool {
        self.parts.read().expect("lock").contains(&part)
    }

    /// Whether this node runs the partition of `key` (an alert key, a schedule name).
    pub fn owns_key(&self, key: &str) -> bool {
        self.owns(partition_of(key))
    }

    /// Whether this node owns the partition of `key` and its lease surely still holds: the test
    /// before an effect no store transaction fences (sending a notification).
    pub fn surely_owns_key(&self, key: &str) -> bool {
        Instant::now() < *self.valid_until.read().expect("lock") && self.owns_key(key)
    }

    /// The partitions owned, in order.
    pub fn parts(&self) -> Vec<u32> {
        self.parts.read().expect("lock").iter().copied().collect()
    }

    /// A partition this node owns for a new instance `id`: spread by the id's hash, so starts
    /// spread over the owned partitions. `None` when it owns none.
    pub fn pick(&self, id: &str) -> Option<u32> {
        let parts = self.parts.read().expect("lock");
        if parts.is_empty() {
            return None;
        }
        let preferred = partition_of(id);
        if parts.contains(&preferred) {
            return Some(preferred);
        }
        parts.iter().nth(preferred as usize % parts.len()).copied()
    }

    /// The leases were confirmed at `at` for `ttl`: they hold until shortly before they lapse.
    pub(crate) fn confirmed(&self, at: Instant, ttl: Duration) {
        let margin = (ttl / 5).min(Duration::from_secs(2));
        *self.valid_until.write().expect("lock") = at + ttl.saturating_sub(margin);
    }

    /// A solo node that owns every partition for as long as a test runs.
    #[cfg(test)]
    pub(crate) fn owning_all(node: &str) -> Self {
        let ownership = Self::new(node, true);
        ownership.add(&all_parts());
        ownership.confirmed(Instant::now(), Duration::from_secs(86_400));
        ownership
    }

    fn add(&self, parts: &[u32]) {
        self.parts.write().expect("lock").extend(parts.iter().copied());
        self.gains.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// How many times this node gained partitions so far.
    pub fn gains(&self) -> u64 {
        self.gains.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Removes `parts`; returns those that were owned.
    fn remove(&self, parts: &[u32]) -> Vec<u32> {
        let mut owned = self.parts.write().expect("lock");
        parts.iter().copied().filter(|p| owned.remove(p)).collect()
    }
}

/// Starts running `parts`: their unfinished instances are loaded and resumed, their schedules
/// armed, their alert keys and undelivered notifications loaded, and their inbox read.
pub(crate) async fn gain(shared: &Arc<Shared>, parts: &[u32], recover: bool) -> Result<(), vigil_store::StoreError> {
    if parts.is_empty() {
        return Ok(());
    }
    shared.ownership.add(parts);
    if recover {
        let unfinished = shared.store.unfinished_instances_in(parts).await?;
        if !unfinished.is_empty() {
            tracing::info!(count = unfinished.len(), partitions = parts.len(), "Resuming unfinished instances.");
        }
        for instance in unfinished {
            if let Some(fire) = &instance.fire {
                shared.fires.started(&fire.schedule);
            }
            shared.router.place(ShardMsg::Load(Box::new(instance)));
        }
    }
    let _ = shared.alerts.send(crate::alerting::AlertMsg::Gained(parts.to_vec()));
    if let Some(tx) = shared.scheduler.lock().expect("lock").as_ref() {
        let _ = tx.send(crate::scheduler::SchedulerCmd::Gained(parts.to_vec()));
    }
    shared.inbox_wake.notify_one();
    metrics::gauge!("vigil_partitions_owned").set(shared.ownership.parts().len() as f64);
    Ok(())
}

/// Stops running `parts` (their leases were lost or given up): their instances leave memory
/// (uncommitted changes are dropped; the new owner resumes from the committed state), their
/// schedules and alert keys stop here.
pub(crate) fn lose(shared: &Shared, parts: &[u32]) {
    let lost = shared.ownership.remove(parts);
    if lost.is_empty() {
        return;
    }
    tracing::warn!(partitions = ?lost, "This node no longer owns these partitions; their work moves to their new owner.");
    shared.router.broadcast(|| ShardMsg::Evict(lost.clone()));
    let _ = shared.alerts.send(crate::alerting::AlertMsg::Lost(lost.clone()));
    if let Some(tx) = shared.scheduler.lock().expect("lock").as_ref() {
        let _ = tx.send(crate::scheduler::SchedulerCmd::Lost(lost.clone()));
    }
    metrics::gauge!("vigil_partitions_owned").set(shared.ownership.parts().len() as f64);
}

/// Every partition, for a solo node.
pub(crate) fn all_parts() -> Vec<u32> {
    (0..PARTITIONS).collect()
}
