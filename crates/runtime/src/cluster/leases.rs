//! The lease loop. Every `ttl / 4` (or at once when another node announces a change) a node:
//!
//! 1. writes its heartbeat and renews its leases; a partition whose lease it no longer holds is
//!    lost (another node took it after it lapsed);
//! 2. takes free or lapsed partitions up to its fair share, `ceil(partitions / alive nodes)`,
//!    and every remaining orphan once each alive node has its share, so nothing stays unowned;
//! 3. gives partitions above its fair share back while another alive node has fewer, so a node
//!    that joins gets work within a tick.
//!
//! A node counts as alive while its heartbeat is younger than two ticks, so a dead node stops
//! counting before its leases lapse (one `ttl` after its last renewal); a survivor then adopts its
//! partitions within `ttl + ttl / 4`. If renewals fail for longer than the leases surely hold,
//! the node stops sending notifications ([`super::Ownership::surely_owns_key`]) until they work
//! again, and keeps the rest: writes are fenced, so a partition taken meanwhile is found out at
//! the next commit or renewal.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::time::Millis;
use vigil_store::{Notice, PARTITIONS, StoreError};

use super::{ClusterConfig, all_parts, gain, lose};
use crate::shared::Shared;

/// A lease that outlives anything: a solo node's.
const FOREVER: Millis = i64::MAX / 2;

/// Takes this node's first partitions before the engine serves: every partition when solo, else
/// its share. Then spawns the loop (which, solo, only writes the heartbeat: nobody else can take
/// a partition).
pub(crate) async fn start(
    shared: Arc<Shared>,
    cfg: ClusterConfig,
    recover: bool,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let store = shared.store.clone();
    let mut cfg = cfg;
    if cfg.node.started_at == 0 {
        cfg.node.started_at = shared.clock.now();
    }
    if cfg.solo {
        // Every lease counts as lapsed to a solo node: the previous process on this file is gone.
        store.acquire_leases(&cfg.node.id, PARTITIONS, FOREVER, FOREVER).await?;
        shared.cluster.ownership.confirmed(Instant::now(), Duration::from_secs(100 * 365 * 86_400));
        gain(&shared, &all_parts(), recover).await?;
    } else if let Some(mut notices) = store.subscribe().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(n) = notices.recv().await {
                match n {
                    Notice::Inbox(part) if shared.cluster.ownership.owns(part) => {
                        shared.cluster.inbox_wake.notify_one()
                    }
                    Notice::Inbox(_) => {}
                    Notice::Leases => shared.cluster.lease_wake.notify_one(),
                    Notice::Definitions => shared.cluster.definitions_changed.notify_one(),
                }
            }
        });
    } else {
        tracing::warn!("This store cannot notify other nodes; they notice changes by polling.");
    }
    let solo = cfg.solo;
    let mut lease_loop = LeaseLoop { shared, cfg, recover };
    lease_loop.tick(true).await;
    if !solo {
        // Tell the others a node joined, so they give it its share now rather than at their next
        // tick.
        let _ = store.notify(&Notice::Leases).await;
    }
    Ok(tokio::spawn(async move { lease_loop.run().await }))
}

/// What one tick sees of the cluster.
struct Census {
    /// The alive nodes, this one included.
    alive: Vec<String>,
    /// Unlapsed leases per node.
    counts: HashMap<String, u32>,
    /// Partitions free or lapsed.
    orphans: usize,
}

struct LeaseLoop {
    shared: Arc<Shared>,
    cfg: ClusterConfig,
    recover: bool,
}

impl LeaseLoop {
    fn period(&self) -> Duration {
        self.cfg.lease_ttl / 4
    }

    async fn run(&mut self) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.period()) => {}
                _ = self.shared.cluster.lease_wake.notified() => {
                    // Let a burst of notices (several nodes releasing) settle into one tick.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            if self.shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            self.tick(false).await;
        }
    }

    async fn tick(&mut self, first: bool) {
        let store = self.shared.store.clone();
        let node = self.cfg.node.id.clone();
        let began = Instant::now();
        let now = self.shared.clock.now();
        let ttl = self.cfg.lease_ttl.as_millis() as Millis;
        self.cfg.node.heartbeat_at = now;
        if let Err(e) = store.node_heartbeat(&self.cfg.node).await {
            tracing::warn!(error = %e, "Could not write this node's heartbeat; will retry.");
        }
        if self.cfg.solo {
            return;
        }
        let held = match store.renew_leases(&node, now + ttl).await {
            Ok(held) => held,
            Err(e) => {
                // Keep running: writes are fenced, so if another node takes a partition meanwhile
                // the next commit finds out; notifications pause once the leases may lapse.
                tracing::warn!(error = %e, "Could not renew this node's leases; will retry.");
                return;
            }
        };
        self.shared.cluster.ownership.confirmed(began, self.cfg.lease_ttl);
        let owned: BTreeSet<u32> = self.shared.cluster.ownership.parts().into_iter().collect();
        let held_set: BTreeSet<u32> = held.iter().copied().collect();
        let lost: Vec<u32> = owned.difference(&held_set).copied().collect();
        lose(&self.shared, &lost);
        // Leases held but not run here: this node restarted under the same id.
        let resumed: Vec<u32> = held_set.difference(&owned).copied().collect();
        self.gain(&resumed).await;
        let Ok(Census { alive, counts, mut orphans }) = self.census(now).await else { return };
        let fair = PARTITIONS.div_ceil(alive.len().max(1) as u32);
        let mine = held.len() as u32;
        // With no free or lapsed partition (the usual tick) nothing is written to take one.
        if orphans > 0 && mine < fair {
            match store.acquire_leases(&node, fair - mine, now, now + ttl).await {
                Ok(got) => {
                    orphans = orphans.saturating_sub(got.len());
                    self.gain(&got).await
                }
                Err(e) => tracing::warn!(error = %e, "Could not acquire partitions; will retry."),
            }
        }
        let mine = self.shared.cluster.ownership.parts().len() as u32;
        let starving = alive.iter().any(|n| *n != node && counts.get(n).copied().unwrap_or(0) + 1 < fair);
        if orphans > 0 && mine >= fair && !starving {
            // Everyone alive has its share: adopt what is left (a dead node's lapsed partitions).
            match store.acquire_leases(&node, PARTITIONS, now, now + ttl).await {
                Ok(got) => self.gain(&got).await,
                Err(e) => tracing::warn!(error = %e, "Could not acquire partitions; will retry."),
            }
        }
        let mine = self.shared.cluster.ownership.parts();
        if mine.len() as u32 > fair && starving && !first {
            let give: Vec<u32> = mine[fair as usize..].to_vec();
            tracing::info!(partitions = give.len(), fair, "Giving partitions to a node with fewer than its share.");
            lose(&self.shared, &give);
            if let Err(e) = store.release_leases(&node, &give).await {
                tracing::warn!(error = %e, "Could not release partitions; they lapse instead.");
            }
            let _ = store.notify(&Notice::Leases).await;
        }
    }

    async fn gain(&self, parts: &[u32]) {
        if parts.is_empty() {
            return;
        }
        tracing::info!(partitions = ?parts, "This node now owns these partitions.");
        if let Err(e) = gain(&self.shared, parts, self.recover).await {
            tracing::error!(error = %e, "Could not load the work of newly owned partitions; giving them back.");
            lose(&self.shared, parts);
            let _ = self.shared.store.release_leases(&self.cfg.node.id, parts).await;
        }
    }

    /// The alive nodes, how many partitions each holds, and how many nobody holds.
    async fn census(&self, now: Millis) -> Result<Census, StoreError> {
        let fresh = 2 * self.period().as_millis() as Millis;
        let mut alive: Vec<String> = self
            .shared
            .store
            .nodes()
            .await?
            .into_iter()
            .filter(|n| n.stopped_at.is_none() && now - n.heartbeat_at <= fresh)
            .map(|n| n.id)
            .collect();
        if !alive.contains(&self.cfg.node.id) {
            alive.push(self.cfg.node.id.clone());
        }
        let mut counts = HashMap::new();
        let mut orphans = 0;
        for lease in self.shared.store.leases().await? {
            match lease.owner.filter(|_| lease.expires_at >= now) {
                Some(owner) => *counts.entry(owner).or_insert(0) += 1,
                None => orphans += 1,
            }
        }
        Ok(Census { alive, counts, orphans })
    }
}

/// On a graceful stop: marks the node stopped and gives its partitions back at once, so the
/// others take them without waiting for the leases to lapse.
pub(crate) async fn stop(shared: &Shared, cfg: &ClusterConfig) {
    let mut node = cfg.node.clone();
    let now = shared.clock.now();
    node.heartbeat_at = now;
    node.stopped_at = Some(now);
    if let Err(e) = shared.store.node_heartbeat(&node).await {
        tracing::warn!(error = %e, "Could not record this node's stop.");
    }
    if cfg.solo {
        return;
    }
    let parts = shared.cluster.ownership.parts();
    match shared.store.release_leases(&node.id, &parts).await {
        Ok(()) => {
            let _ = shared.store.notify(&Notice::Leases).await;
            tracing::info!(partitions = parts.len(), "Released this node's partitions.");
        }
        Err(e) => tracing::warn!(error = %e, "Could not release this node's partitions; they lapse instead."),
    }
}
