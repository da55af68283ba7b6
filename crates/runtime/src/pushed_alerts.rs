//! Alerts pushed through Alertmanager's API (`POST /api/v2/alerts`): each becomes an observation
//! of its dedup key ([`vigil_core::alertmanager::request`]) for the alert manager, and the push is
//! answered only once every one is durable: committed by this node's manager (its partition is
//! surely this node's), or written to the inbox of the partition's owner. With an Alertmanager
//! configuration loaded, an alert is no observation but a member of the groups its routes put it
//! in (stored there only, as Alertmanager holds it): the groups tell the receivers.

use vigil_core::alertmanager::{Alert, request::to_request};
use vigil_store::partition_of;

use crate::alerting::messages::{AlertMsg, ObservedFrom};
use crate::cluster::inbox::InboxMsg;
use crate::shared::{EngineError, Shared};

/// Takes `alerts` (read at `now`), told to `notifiers`; returns once each is durable.
pub(crate) async fn push(shared: &Shared, alerts: &[Alert], notifiers: &[String]) -> Result<(), EngineError> {
    let now = shared.clock.now();
    let routing = shared.alerting.routing.read().expect("lock").clone();
    let mut local = false;
    for a in alerts {
        // With a routing tree, the alert joins its groups and is stored there only: this node's
        // manager puts it into the groups of its partitions, and into the inboxes of the others'
        // owners, in its next commit.
        if let Some(r) = &routing {
            let key = vigil_core::alertmanager::fingerprint_hex(&a.labels);
            let routed = Box::new(r.route(a.clone()));
            shared.alerting.sender.send(AlertMsg::Routed { key, routed }).map_err(|_| EngineError::ShuttingDown)?;
            local = true;
            continue;
        }
        let request = Box::new(to_request(a, now, notifiers));
        let part = partition_of(&request.dedup_key);
        if shared.cluster.ownership.surely_owns(part) {
            let msg = AlertMsg::Observe {
                instance: String::new(),
                task_id: String::new(),
                request,
                from: ObservedFrom::Local { part },
            };
            shared.alerting.sender.send(msg).map_err(|_| EngineError::ShuttingDown)?;
            local = true;
        } else {
            let msg = InboxMsg::Observe { instance: String::new(), task_id: String::new(), request, reply_part: part };
            crate::cluster::inbox::send(shared, part, &msg).await?;
        }
    }
    metrics::counter!("vigil_alerts_pushed_total").increment(alerts.len() as u64);
    if local {
        // Answered once everything sent before it is committed.
        let (tx, rx) = tokio::sync::oneshot::channel();
        shared.alerting.sender.send(AlertMsg::Committed(tx)).map_err(|_| EngineError::ShuttingDown)?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?;
    }
    Ok(())
}
