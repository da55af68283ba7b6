//! Routes events to the shard that owns an instance.

use std::sync::Arc;

use tokio::sync::mpsc;
use vigil_core::interpreter::Event;

use crate::shard::messages::ShardMsg;

/// Routes events to the shard that owns an instance.
#[derive(Clone)]
pub struct Router {
    pub(crate) shards: Arc<Vec<mpsc::UnboundedSender<ShardMsg>>>,
}

impl Router {
    fn shard_of(&self, id: &str) -> usize {
        (vigil_store::fnv1a(id) % self.shards.len() as u64) as usize
    }

    /// Sends an event to the instance's shard.
    pub fn send(&self, id: &str, event: Event) {
        let _ = self.shards[self.shard_of(id)].send(ShardMsg::Event(id.to_string(), event));
    }

    /// Sends a message to every shard.
    pub(crate) fn broadcast(&self, msg: impl Fn() -> ShardMsg) {
        for tx in self.shards.iter() {
            let _ = tx.send(msg());
        }
    }

    /// Hands a new or recovered instance, or an event, to its shard.
    pub fn place(&self, msg: ShardMsg) {
        if let Some(n) = target(&msg).map(|id| self.shard_of(id)) {
            let _ = self.shards[n].send(msg);
        }
    }
}

/// The instance a shard message is about (`None` for one every shard gets).
fn target(msg: &ShardMsg) -> Option<&str> {
    match msg {
        ShardMsg::Start { instance, .. }
        | ShardMsg::StartOnce { instance, .. }
        | ShardMsg::Load(instance)
        | ShardMsg::Restart(instance) => Some(&instance.workflow_id),
        ShardMsg::Checked { id, .. } => Some(id),
        ShardMsg::Revive(instance, _) => Some(&instance.workflow_id),
        ShardMsg::Event(id, _) | ShardMsg::EventCommitted(id, _, _) => Some(id),
        ShardMsg::FromInbox { msg, .. } => target(msg),
        ShardMsg::Evict(_) => None,
    }
}
