//! Starting an instance durably: committed here, or stored in the inbox of the partition's owner
//! when this node owns none yet.

use tokio::sync::oneshot;

use crate::shard::messages::ShardMsg;
use crate::shared::{EngineError, Shared, StartRequest, new_instance_id};

/// Starts an instance and returns its id once it is committed (or, on a node that owns no
/// partition yet, once the start is stored in the owner's inbox).
pub(crate) async fn start_durable(shared: &Shared, req: StartRequest) -> Result<String, EngineError> {
    let id = req.id.clone().unwrap_or_else(new_instance_id);
    if shared.cluster.ownership.pick(&id).is_none() {
        // This node runs nothing yet: the partition's owner starts it (durable once stored).
        let msg = crate::cluster::inbox::start_msg(req, &id);
        crate::cluster::inbox::send(shared, vigil_store::partition_of(&id), &msg).await?;
        return Ok(id);
    }
    let (tx, rx) = oneshot::channel();
    shared.start(StartRequest { id: Some(id.clone()), ..req }, None, Some(tx))?;
    rx.await.map_err(|_| EngineError::ShuttingDown)?;
    Ok(id)
}

/// Starts an instance whose id is fixed by what caused it (an event handler's start, the same on
/// every delivery of its message) only in its home partition, `partition_of(id)`: started here
/// when this node surely owns it, else handed to that partition's inbox. Commits are fenced by
/// partition, so two nodes that both take the message (one losing the queue, one taking it over)
/// cannot both commit it: one partition, one writer at a time. On the owner the start is held
/// until the store says no instance of that id exists (see `shard::held`): a second delivery,
/// even one arriving after the first run ended, starts nothing.
pub(crate) async fn start_durable_at_home(shared: &Shared, req: StartRequest) -> Result<String, EngineError> {
    let id = req.id.clone().unwrap_or_else(new_instance_id);
    let home = vigil_store::partition_of(&id);
    if shared.cluster.ownership.surely_owns(home) {
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::ShuttingDown);
        }
        let instance = shared.new_instance(StartRequest { id: Some(id.clone()), ..req }, home)?;
        let (tx, rx) = oneshot::channel();
        shared.router.place(ShardMsg::StartOnce { instance: Box::new(instance), committed: Some(tx), inbox: None });
        rx.await.map_err(|_| EngineError::ShuttingDown)?;
        return Ok(id);
    }
    let msg = crate::cluster::inbox::start_msg(req, &id);
    crate::cluster::inbox::send(shared, home, &msg).await?;
    Ok(id)
}
