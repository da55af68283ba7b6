//! The workers' queue of a cluster node: offers live in the store (`work_offers`), so a worker
//! polling any node gets any partition's tasks. Offers and withdrawals go to the store in order
//! through one writer; a poll claims offers in one statement, so each goes to one worker. Events
//! about a claimed task (polled, lease expired) go to the node that runs its instance. A claim
//! hides its offer for [`CLAIM_HOLD`]; the offer is removed only once the instance's owner has
//! the `Polled` event (in its inbox, or in memory when it is this node), so a node that dies
//! between the two loses no task: the offer shows again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use vigil_core::interpreter::Event;
use vigil_store::{Store, WorkChange};

/// Hands `event` to instance `instance` of partition `part`, wherever it runs; done once the
/// event is with its owner (in memory here, or stored in its inbox).
pub type Deliver = Arc<
    dyn Fn(String, u32, Event) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// How long a claimed offer stays hidden before it shows again, unless its claim was delivered.
pub const CLAIM_HOLD: Duration = Duration::from_secs(30);

/// The store-backed half of a cluster node's [`super::WorkQueue`].
pub struct SharedQueue {
    pub(super) store: Arc<dyn Store>,
    pub(super) deliver: Deliver,
    changes: mpsc::UnboundedSender<WorkChange>,
}

/// Changes written per transaction at most.
const CHANGES_PER_WRITE: usize = 500;

impl SharedQueue {
    /// A queue on `store`; its writer runs on the current runtime until the queue is dropped.
    pub fn start(store: Arc<dyn Store>, deliver: Deliver) -> Self {
        let (changes, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(store.clone(), rx));
        Self { store, deliver, changes }
    }

    /// Queues `change` for the store, after every change queued before it.
    pub(super) fn change(&self, change: WorkChange) {
        let _ = self.changes.send(change);
    }
}

/// Applies changes in order, in batches, retrying a batch the store refused.
async fn write(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<WorkChange>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, CHANGES_PER_WRITE).await > 0 {
        let mut delay = Duration::from_millis(50);
        while let Err(e) = store.change_work(&batch).await {
            tracing::warn!(error = %e, changes = batch.len(), "Could not update the workers' shared queue; retrying.");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        batch.clear();
    }
}
