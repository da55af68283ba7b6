//! Which partitions this node owns, and until when its leases surely hold: what every actor
//! asks before it acts on a key.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use vigil_store::partition_of;

/// The partitions this node owns, and until when its leases surely hold.
pub struct Ownership {
    node: String,
    /// The only node on its store: writes need no fence.
    solo: bool,
    /// Each owned partition, with the gain that brought it (see [`Ownership::generation`]).
    parts: RwLock<BTreeMap<u32, u64>>,
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
        self.parts.read().expect("lock").contains_key(&part)
    }

    /// Which gain brought partition `part` here; `None` when it is not owned. It changes when the
    /// partition is lost and taken back, so memory of it from before (a message handed over,
    /// left unapplied when the lease was lost) can tell it is stale.
    pub fn generation(&self, part: u32) -> Option<u64> {
        self.parts.read().expect("lock").get(&part).copied()
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

    /// Whether this node owns partition `part` and its lease surely still holds.
    pub fn surely_owns(&self, part: u32) -> bool {
        Instant::now() < *self.valid_until.read().expect("lock") && self.owns(part)
    }

    /// The partitions owned, in order.
    pub fn parts(&self) -> Vec<u32> {
        self.parts.read().expect("lock").keys().copied().collect()
    }

    /// A partition this node owns for a new instance `id`: spread by the id's hash, so starts
    /// spread over the owned partitions. `None` when it owns none.
    pub fn pick(&self, id: &str) -> Option<u32> {
        let parts = self.parts.read().expect("lock");
        if parts.is_empty() {
            return None;
        }
        let preferred = partition_of(id);
        if parts.contains_key(&preferred) {
            return Some(preferred);
        }
        parts.keys().nth(preferred as usize % parts.len()).copied()
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
        ownership.add(&super::all_parts());
        ownership.confirmed(Instant::now(), Duration::from_secs(86_400));
        ownership
    }

    pub(super) fn add(&self, parts: &[u32]) {
        let mut owned = self.parts.write().expect("lock");
        let gain = self.gains.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
        for &part in parts {
            owned.entry(part).or_insert(gain);
        }
    }

    /// How many times this node gained partitions so far.
    pub fn gains(&self) -> u64 {
        self.gains.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Removes `parts`; returns those that were owned.
    pub(super) fn remove(&self, parts: &[u32]) -> Vec<u32> {
        let mut owned = self.parts.write().expect("lock");
        parts.iter().copied().filter(|p| owned.remove(p).is_some()).collect()
    }
}
