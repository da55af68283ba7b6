//! What a message does: each active handler of its queue plans its actions
//! (`vigil_core::event_handler::plan`), then they are performed, and the message is settled:
//! acknowledged once every action is committed (or it is parked), left for later when a
//! transient failure (the store, a shutdown) stopped one.
//!
//! Nothing happens twice for one message: a started instance's id is fixed by the handler, the
//! queue, the message id and the action, and one that exists is not started again; a task that
//! already ended as asked is left alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use vigil_connectors::sinks::consume::{AckToken, Received};
use vigil_core::event_handler::{Planned, plan};
use vigil_core::interpreter::TaskResult;
use vigil_core::principal::Principal;
use vigil_store::ParkedEvent;

use super::condition::javascript;
use crate::shared::{EngineError, Shared, StartRequest};

/// Deliveries of one message that fail for a passing reason before it is parked.
pub(crate) const MAX_ATTEMPTS: u32 = 5;
/// The most of a payload a parked record keeps.
const PARKED_PAYLOAD_BYTES: usize = 64 * 1024;
/// The largest message an event handler reads (the API's request body limit): a larger one is
/// parked unread, so one message cannot take the memory and the shard its plan would
/// (docs/reliability.md#limits).
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 1 << 20;

/// Why an action did not happen.
enum Failure {
    /// It will not happen however often the message comes: the message is parked.
    Permanent(String),
    /// It may work later (the store is down, the engine stops): the message comes again.
    Passing(String),
}

/// How one message ended.
pub(crate) enum Settled {
    /// Every action is committed, or none was asked.
    Done,
    /// Parked: the handlers that could not act on it, and why (the other handlers' actions
    /// were committed: each handler acts on its own, as in Conductor).
    Parked {
        /// The handler.
        handler: String,
        /// Why.
        error: String,
    },
    /// To be delivered again.
    Again(String),
}

/// What `batch` (from queue `event`) does; which messages to acknowledge and which to have
/// delivered again. `attempts` counts the passing failures per message id across deliveries.
/// The batch's instances are looked up in one query and started together, so their commits
/// share transactions.
pub(crate) async fn handle_batch(
    shared: &Arc<Shared>,
    event: &str,
    batch: Vec<Received>,
    attempts: &mut HashMap<String, u32>,
) -> (Vec<AckToken>, Vec<AckToken>) {
    let plans: Vec<Plan> = batch.iter().map(|m| plan_message(shared, event, &m.id, &m.payload)).collect();
    let ids: Vec<String> = plans
        .iter()
        .flat_map(|(actions, _)| actions)
        .filter_map(|a| if let Planned::Start { id, .. } = &a.planned { Some(id.clone()) } else { None })
        .collect();
    let existing: HashSet<String> = match shared.store.existing_instances(&ids).await {
        Ok(found) => found.into_iter().collect(),
        Err(e) => {
            tracing::warn!(event, error = %e, "Could not look up the instances events start; they will be delivered again.");
            return (Vec::new(), batch.into_iter().map(|m| m.ack).collect());
        }
    };
    // A message delivered twice in one batch starts its instances once.
    let mut claimed: HashSet<String> = HashSet::new();
    let runs = plans.into_iter().map(|(actions, refused)| {
        let actions: Vec<Action> = actions
            .into_iter()
            .filter(|a| match &a.planned {
                Planned::Start { id, .. } => !existing.contains(id) && claimed.insert(id.clone()),
                Planned::Update(_) => true,
            })
            .collect();
        perform_all(shared, actions, refused)
    });
    let outcomes = futures_util::future::join_all(runs).await;
    let (mut done, mut again, mut parked) = (Vec::new(), Vec::new(), Vec::new());
    for (m, outcome) in batch.into_iter().zip(outcomes) {
        match outcome {
            Settled::Done => {
                attempts.remove(&m.id);
                done.push(m.ack);
            }
            Settled::Parked { handler, error } => {
                attempts.remove(&m.id);
                parked.push(parked_record(shared, event, &m, handler, error));
                done.push(m.ack);
            }
            Settled::Again(error) => {
                let n = attempts.entry(m.id.clone()).or_default();
                *n = (*n + 1).max(m.deliveries);
                if *n >= MAX_ATTEMPTS {
                    let error = format!("failed {n} times, the last: {error}");
                    attempts.remove(&m.id);
                    parked.push(parked_record(shared, event, &m, String::new(), error));
                    done.push(m.ack);
                } else {
                    tracing::warn!(event, message = %m.id, error = %error, "An event's action failed; it will be delivered again.");
                    again.push(m.ack);
                }
            }
        }
    }
    if !parked.is_empty() {
        metrics::counter!("vigil_events_parked_total").increment(parked.len() as u64);
        if let Err(e) = shared.store.park_events(&parked).await {
            // Not parked: delivered again rather than lost.
            tracing::error!(error = %e, "Could not park messages; they will be delivered again.");
            return (Vec::new(), done.into_iter().chain(again).collect());
        }
        for p in &parked {
            tracing::warn!(event, message = %p.message_id, handler = %p.handler, error = %p.error, "An event was parked.");
        }
    }
    metrics::counter!("vigil_events_consumed_total").increment(done.len() as u64);
    (done, again)
}

fn parked_record(shared: &Shared, event: &str, m: &Received, handler: String, error: String) -> ParkedEvent {
    let text = String::from_utf8_lossy(&m.payload);
    let mut payload: String = text.chars().take(PARKED_PAYLOAD_BYTES).collect();
    if payload.len() < text.len() {
        payload.push('…');
    }
    ParkedEvent {
        id: 0,
        event: event.to_string(),
        handler,
        message_id: m.id.clone(),
        payload,
        error,
        attempts: m.deliveries.max(1),
        parked_at: shared.clock.now(),
    }
}

/// An action a message asks for, and of which handler, with whose authority.
struct Action {
    planned: Planned,
    by: Principal,
    handler: String,
}

/// A message's actions, and the handlers that cannot act on it, each with why.
type Plan = (Vec<Action>, Vec<(String, String)>);

/// What message `id` with body `payload` on queue `event` asks of each active handler of the
/// queue, and the handlers that cannot act on it, with why.
fn plan_message(shared: &Shared, event: &str, id: &str, payload: &[u8]) -> Plan {
    if payload.len() > MAX_EVENT_PAYLOAD_BYTES {
        let handlers = shared.events.handlers.read().expect("lock").clone();
        let why =
            format!("the message is {} bytes; an event handler reads at most {MAX_EVENT_PAYLOAD_BYTES}", payload.len());
        let refused = handlers.for_event(event).iter().map(|r| (r.handler.name.clone(), why.clone())).collect();
        return (Vec::new(), refused);
    }
    let payload: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    let handlers = shared.events.handlers.read().expect("lock").clone();
    let mut actions = Vec::new();
    let mut refused = Vec::new();
    for r in handlers.for_event(event) {
        match plan(&r.handler, event, id, &payload, &mut javascript) {
            Ok(Some(planned)) => actions.extend(planned.into_iter().map(|planned| Action {
                planned,
                by: r.by.clone(),
                handler: r.handler.name.clone(),
            })),
            Ok(None) => {}
            Err(e) => refused.push((r.handler.name.clone(), e.reason)),
        }
    }
    (actions, refused)
}

/// Performs a message's actions in order (a handler's failure does not stop another's); how the
/// message ends, counting `refused`, the handlers that could not plan.
async fn perform_all(shared: &Arc<Shared>, actions: Vec<Action>, mut refused: Vec<(String, String)>) -> Settled {
    let mut passing = None;
    let mut failed: std::collections::HashSet<String> = refused.iter().map(|(h, _)| h.clone()).collect();
    for Action { planned, by, handler } in actions {
        // A handler's later actions wait on its earlier ones, as Conductor runs them in order.
        if failed.contains(&handler) {
            continue;
        }
        match perform(shared, planned, by, &handler).await {
            Ok(()) => {}
            Err(Failure::Permanent(error)) => {
                failed.insert(handler.clone());
                refused.push((handler, error));
            }
            Err(Failure::Passing(why)) => passing = Some(format!("event handler `{handler}`: {why}")),
        }
    }
    match (passing, refused.is_empty()) {
        (Some(why), _) => Settled::Again(why),
        (None, true) => Settled::Done,
        (None, false) => Settled::Parked {
            handler: refused.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().join(", "),
            error: refused.iter().map(|(h, e)| format!("{h}: {e}")).collect::<Vec<_>>().join("; "),
        },
    }
}

/// What message `id` with body `payload` on queue `event` does (vigil's own queue: one at a
/// time, as its EVENT task publishes it).
pub(crate) async fn handle(shared: &Arc<Shared>, event: &str, id: &str, payload: &[u8]) -> Settled {
    let (actions, refused) = plan_message(shared, event, id, payload);
    let ids: Vec<String> = actions
        .iter()
        .filter_map(|a| if let Planned::Start { id, .. } = &a.planned { Some(id.clone()) } else { None })
        .collect();
    let existing: HashSet<String> = match shared.store.existing_instances(&ids).await {
        Ok(found) => found.into_iter().collect(),
        Err(e) => return Settled::Again(format!("looking up the instances it starts: {e}")),
    };
    let actions = actions
        .into_iter()
        .filter(|a| !matches!(&a.planned, Planned::Start { id, .. } if existing.contains(id)))
        .collect();
    perform_all(shared, actions, refused).await
}

/// Performs one action; returns once it is committed.
async fn perform(shared: &Arc<Shared>, action: Planned, by: Principal, handler: &str) -> Result<(), Failure> {
    match action {
        Planned::Start { id, name, version, input, correlation_id } => {
            let req =
                StartRequest { name, version, input, id: Some(id), correlation_id, definition: None, started_by: by };
            crate::starting::start_durable_at_home(shared, req).await.map(drop).map_err(|e| match e {
                EngineError::UnknownWorkflow { .. } | EngineError::InvalidDefinition(_) | EngineError::Forbidden(_) => {
                    Failure::Permanent(e.to_string())
                }
                other => Failure::Passing(other.to_string()),
            })
        }
        Planned::Update(update) => {
            let by = format!("event handler `{handler}`");
            match crate::task_update::update(shared, &by, *update).await {
                TaskResult::Completed(_) => Ok(()),
                TaskResult::Failed { reason, terminal: true, .. } => Err(Failure::Permanent(reason)),
                TaskResult::Failed { reason, .. } => Err(Failure::Passing(reason)),
                TaskResult::InProgress { .. } => Ok(()),
                TaskResult::TimedOut { reason, .. } => Err(Failure::Permanent(reason)),
            }
        }
    }
}
