//! What the store keeps for a cluster of nodes: partitions leased to nodes, fencing of writes by
//! those leases, and an inbox per partition for work that reaches a node which does not own it.
//!
//! Every instance, alert key and schedule belongs to one of [`PARTITIONS`] partitions. A node owns
//! a partition while it holds its lease; only the owner runs the partition's instances, timers,
//! schedules, alert keys and outbox. Writes carry a [`Fence`]: the transaction commits only if
//! the writer still owns every partition it writes, so a node that lost a lease (a pause, a
//! network split) cannot overwrite what the new owner does.

use vigil_core::time::Millis;

/// How many partitions there are. Fixed: migration `0007` creates one lease row per partition.
pub const PARTITIONS: u32 = 64;

/// FNV-1a of `key`: stable across versions and platforms, so every node computes the same.
pub fn fnv1a(key: &str) -> u64 {
    fnv1a_bytes(key.bytes())
}

/// FNV-1a of a sequence of bytes (several strings hashed as one, say, with separators).
pub fn fnv1a_bytes(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// The partition of a key (an alert's dedup key, a schedule's name, a new instance's id).
pub fn partition_of(key: &str) -> u32 {
    (fnv1a(key) % PARTITIONS as u64) as u32
}

/// The partitions a transaction writes, and the node that must own them all for it to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The writing node.
    pub node: String,
    /// The partitions written (sorted, no repeats).
    pub parts: Vec<u32>,
}

impl Fence {
    /// A fence for `parts` (any order, repeats allowed).
    pub fn new(node: &str, parts: impl IntoIterator<Item = u32>) -> Self {
        let mut parts: Vec<u32> = parts.into_iter().collect();
        parts.sort_unstable();
        parts.dedup();
        Self { node: node.to_string(), parts }
    }
}

/// One partition's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// The partition.
    pub part: u32,
    /// The node holding it, if any.
    pub owner: Option<String>,
    /// Incremented by every acquisition.
    pub epoch: i64,
    /// When it lapses unless renewed.
    pub expires_at: Millis,
}

/// A message for a partition's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboxRow {
    /// The partition whose owner takes it.
    pub part: u32,
    /// What it is (the runtime's vocabulary: `event`, `observe`, ...).
    pub kind: String,
    /// What it is about (an instance id, a dedup key).
    pub target: String,
    /// The payload, JSON.
    pub body: String,
    /// When it was written.
    pub created_at: Millis,
}

/// A stored inbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    /// Id, increasing: the order messages are taken in.
    pub id: i64,
    /// The message.
    pub msg: NewInboxRow,
}

/// A change other nodes are told about (PostgreSQL `NOTIFY`), so they act at once instead of at
/// their next poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Inbox messages arrived for this partition.
    Inbox(u32),
    /// Definitions changed.
    Definitions,
    /// Nodes joined or left, or leases were released: look at the leases again.
    Leases,
}

impl Notice {
    /// The payload sent on the notification channel.
    pub fn payload(&self) -> String {
        match self {
            Notice::Inbox(p) => format!("inbox:{p}"),
            Notice::Definitions => "definitions".into(),
            Notice::Leases => "leases".into(),
        }
    }

    /// Reads a payload back; `None` for one this version does not know.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "definitions" => Some(Notice::Definitions),
            "leases" => Some(Notice::Leases),
            _ => s.strip_prefix("inbox:")?.parse().ok().map(Notice::Inbox),
        }
    }
}

/// The notification channel's name (PostgreSQL).
pub const CHANNEL: &str = "vigil";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("db-latency"), partition_of("db-latency"));
        let used: std::collections::HashSet<u32> = (0..1000).map(|n| partition_of(&format!("s{n}"))).collect();
        assert_eq!(used.len(), PARTITIONS as usize);
    }

    #[test]
    fn notices_round_trip() {
        for n in [Notice::Inbox(7), Notice::Definitions, Notice::Leases] {
            assert_eq!(Notice::parse(&n.payload()), Some(n));
        }
        assert_eq!(Notice::parse("something-new"), None);
    }

    #[test]
    fn fences_sort_and_dedup() {
        assert_eq!(Fence::new("n", [3, 1, 3]).parts, vec![1, 3]);
    }
}
