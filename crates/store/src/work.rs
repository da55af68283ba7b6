//! SIMPLE tasks offered to workers on every node of a cluster: a shared queue, as Conductor's
//! PostgreSQL queue keeps its messages. A node that polls claims offers atomically, so each is
//! handed to one worker however many nodes poll at once.

use vigil_core::time::Millis;

/// One task offered to workers.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOffer {
    /// The instance.
    pub instance_id: String,
    /// The execution.
    pub task_id: String,
    /// What workers poll for.
    pub task_type: String,
    /// The instance's partition (where reports about it go).
    pub part: u32,
    /// Not handed out before this time.
    pub visible_at: Millis,
    /// The task as the runtime describes it to workers (JSON).
    pub body: String,
}

/// A change to the shared queue.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkChange {
    /// Offer a task; an offer of the same execution already there stays as it is.
    Offer(WorkOffer),
    /// Withdraw one execution's offer.
    Withdraw {
        /// The instance.
        instance_id: String,
        /// The execution.
        task_id: String,
    },
    /// Withdraw every offer of an instance.
    WithdrawInstance(String),
}
