//! Alerts pushed through Alertmanager's API (`POST /api/v2/alerts`): each becomes an observation
//! of its dedup key ([`vigil_core::alertmanager::request`]) for the alert manager, and the push is
//! answered only once every one is durable: committed by this node's manager (its partition is
//! surely this node's), or written to the inbox of the partition's owner. With an Alertmanager
//! configuration loaded, each carries its routes: the groups it joins tell the receivers.

use vigil_core::alertmanager::{Alert, request::to_request};
use vigil_store::partition_of;

use crate::alerting::messages::{AlertMsg, ObservedFrom};
use crate::cluster::inbox::InboxMsg;
use crate::shared::{EngineError, Shared};

/// Takes `alerts` (read at `now`), told to `notifiers`; returns once each is durable.
pub(crate) async fn push(shared: &Shared, alerts: &[Alert], notifiers: &[String]) -> Result<(), EngineError> {
    let now = shared.clock.now();
    let routing = shared.routing.read().expect("lock").clone();
    let mut local = false;
    for a in alerts {
        let request = Box::new(match &routing {
            Some(r) => {
                let mut request = to_request(a, now, &[]);
                request.routed = Some(Box::new(r.route(a.clone())));
                request
            }
            None => to_request(a, now, notifiers),
        });
        let part = partition_of(&request.dedup_key);
        if shared.ownership.surely_owns(part) {
            let msg = AlertMsg::Observe {
                instance: String::new(),
                task_id: String::new(),
                request,
                from: ObservedFrom::Local { part },
            };
            shared.alerts.send(msg).map_err(|_| EngineError::ShuttingDown)?;
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
        shared.alerts.send(AlertMsg::Flush(tx)).map_err(|_| EngineError::ShuttingDown)?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?;
    }
    Ok(())
}
