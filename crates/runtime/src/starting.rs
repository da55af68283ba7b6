//! Starting an instance durably: committed here, or stored in the inbox of the partition's owner
//! when this node owns none yet.

use tokio::sync::oneshot;

use crate::shared::{EngineError, Shared, StartRequest, new_instance_id};

/// Starts an instance and returns its id once it is committed (or, on a node that owns no
/// partition yet, once the start is stored in the owner's inbox).
pub(crate) async fn start_durable(shared: &Shared, req: StartRequest) -> Result<String, EngineError> {
    let id = req.id.clone().unwrap_or_else(new_instance_id);
    if shared.ownership.pick(&id).is_none() {
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
