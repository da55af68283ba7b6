//! A shard's messages and what one of its batches hands the committer.

use vigil_core::instance::Instance;
use vigil_core::interpreter::{Action, Event};
use vigil_store::InstanceRow;

/// Work for a shard.
pub enum ShardMsg {
    /// A new instance.
    Start {
        /// Its initial state.
        instance: Box<Instance>,
        /// Whether a schedule fire started it.
        started_by_fire: bool,
        /// Told once the start is committed (or at once when the id is already running).
        committed: Option<tokio::sync::oneshot::Sender<()>>,
    },
    /// A new instance whose id names it for good (an event's start, a start from the inbox):
    /// held until the store says whether an instance of that id exists, and started only when
    /// none does. See [`super::held`].
    StartOnce {
        /// Its initial state.
        instance: Box<Instance>,
        /// Told once the start is committed, or once the id is found to exist.
        committed: Option<tokio::sync::oneshot::Sender<()>>,
        /// The inbox message it comes from (partition, id): deleted with the start's commit.
        inbox: Option<(u32, i64)>,
    },
    /// The store's answer for a held once-start: whether an instance `id` exists.
    Checked {
        /// The instance id.
        id: String,
        /// The hold it answers (an answer for an earlier hold of the id is ignored).
        seq: u64,
        /// Whether the store holds it.
        exists: bool,
    },
    /// An instance loaded from the store after a restart.
    Load(Box<Instance>),
    /// An event for an instance this shard owns.
    Event(String, Event),
    /// An event for an ended instance, read back from the store (ended instances leave memory):
    /// it is taken back into memory unless already there, and gets the event.
    Revive(Box<Instance>, Event),
    /// A fresh state for an ended instance (restart): replaces it unless it runs again already.
    Restart(Box<Instance>),
    /// An event whose sender waits until the step it causes is committed (dropped, unanswered,
    /// when the instance is not in memory).
    EventCommitted(String, Event, tokio::sync::oneshot::Sender<()>),
    /// A message from the inbox: applied as `msg`, and deleted from the inbox in the same commit.
    FromInbox {
        /// The inbox message's id.
        id: i64,
        /// Its partition.
        part: u32,
        /// What to apply.
        msg: Box<ShardMsg>,
    },
    /// These partitions moved to another node: their instances leave memory.
    Evict(Vec<u32>),
}

/// What one shard batch produced.
pub struct Batch {
    /// New states.
    pub rows: Vec<InstanceRow>,
    /// Instances started by schedule fires.
    pub started_by_fire: Vec<String>,
    /// Effects to perform after commit, per instance.
    pub actions: Vec<(String, Action)>,
    /// States to hand to watchers.
    pub watched: Vec<Instance>,
    /// Child and failure-workflow instances created in this batch, placed on their shards after
    /// commit.
    pub spawned: Vec<Instance>,
    /// Starters waiting to hear that their start is durable.
    pub committed: Vec<(String, tokio::sync::oneshot::Sender<()>)>,
    /// Inbox messages applied, with their partitions: deleted in the same commit.
    pub inbox_done: Vec<(u32, i64)>,
    /// Status changes for the status listeners, committed with the states.
    pub status_events: Vec<vigil_store::NewStatusEvent>,
    /// Ids held for a once-start: looked up in the store once this batch, and so every earlier
    /// batch of its shard, is committed.
    pub checks: Vec<(String, u64)>,
}
