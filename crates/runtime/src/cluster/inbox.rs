//! The inbox: work that reaches a node for a partition it does not own is written to the
//! database for the owner, which applies it and deletes the message in the same transaction as
//! the change it caused (so a crash in between applies it again, never loses it).
//!
//! Messages: an event for an instance (operator control, a worker's result, an alert task's
//! result), a start, a retry or restart of an ended instance, and an alert observation for a
//! dedup key owned elsewhere.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::alert::AlertRequest;
use vigil_core::interpreter::Event;
use vigil_store::{InboxRow, NewInboxRow, StoreError};

use crate::shard::messages::ShardMsg;
use crate::shared::{Shared, StartRequest};

/// Messages read per round.
const READ_LIMIT: u32 = 1_000;
/// Rounds happen at least this often, in case a notice was missed.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// A message for a partition's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum InboxMsg {
    /// An event for an instance.
    Event {
        /// The instance.
        instance: String,
        /// The event.
        event: Event,
    },
    /// Start an instance in the partition.
    Start {
        /// Workflow name.
        name: String,
        /// Version; latest when absent.
        version: Option<u32>,
        /// Input.
        input: serde_json::Value,
        /// Instance id.
        id: String,
        /// Correlation id.
        correlation_id: Option<String>,
        /// The instance's own definition, if it brings one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        definition: Option<serde_json::Value>,
        /// Who starts it: its authority travels with it to the owning node.
        #[serde(default, skip_serializing_if = "vigil_core::principal::Principal::is_system")]
        started_by: vigil_core::principal::Principal,
    },
    /// Retry an ended instance from the tasks that did not complete. Written by earlier
    /// releases (a retry is now [`InboxMsg::Revive`] with [`Event::Retry`]); still read, so rows
    /// they left in the inbox are applied.
    Retry {
        /// The instance.
        instance: String,
    },
    /// An event for an ended instance (a rerun), read back from the store on the owner.
    Revive {
        /// The instance.
        instance: String,
        /// The event.
        event: Event,
    },
    /// Run an ended instance again from the start.
    Restart {
        /// The instance.
        instance: String,
        /// On the latest definition rather than the version it ran.
        latest: bool,
    },
    /// An ALERT task's observation for a key this partition holds; the result goes back to the
    /// instance's partition.
    Observe {
        /// The instance.
        instance: String,
        /// The ALERT execution.
        task_id: String,
        /// The observation.
        request: Box<AlertRequest>,
        /// The instance's partition.
        reply_part: u32,
    },
    /// A routed alert for a notification group this partition holds.
    Member {
        /// The group.
        group: Box<vigil_core::alertmanager::group::GroupRef>,
        /// The alert's key.
        key: String,
        /// The alert.
        alert: Box<vigil_core::alertmanager::Alert>,
    },
}

impl InboxMsg {
    fn kind(&self) -> &'static str {
        match self {
            InboxMsg::Event { .. } => "event",
            InboxMsg::Start { .. } => "start",
            InboxMsg::Retry { .. } => "retry",
            InboxMsg::Revive { .. } => "revive",
            InboxMsg::Restart { .. } => "restart",
            InboxMsg::Observe { .. } => "observe",
            InboxMsg::Member { .. } => "member",
        }
    }

    fn target(&self) -> &str {
        match self {
            InboxMsg::Event { instance, .. }
            | InboxMsg::Retry { instance }
            | InboxMsg::Revive { instance, .. }
            | InboxMsg::Restart { instance, .. }
            | InboxMsg::Observe { instance, .. } => instance,
            InboxMsg::Start { id, .. } => id,
            InboxMsg::Member { group, .. } => &group.id,
        }
    }

    /// The stored row for partition `part`.
    pub(crate) fn row(&self, part: u32, now: vigil_core::time::Millis) -> NewInboxRow {
        NewInboxRow {
            part,
            kind: self.kind().into(),
            target: self.target().to_string(),
            body: serde_json::to_string(self).expect("inbox message serializes"),
            created_at: now,
        }
    }
}

/// The message starting instance `id` as `req` asks.
pub(crate) fn start_msg(req: StartRequest, id: &str) -> InboxMsg {
    InboxMsg::Start {
        name: req.name,
        version: req.version,
        input: req.input,
        id: id.to_string(),
        correlation_id: req.correlation_id,
        definition: req.definition,
        started_by: req.started_by,
    }
}

/// Writes `msg` for the owner of partition `part`; returns once it is durable.
pub(crate) async fn send(shared: &Shared, part: u32, msg: &InboxMsg) -> Result<(), StoreError> {
    shared.store.put_inbox(&[msg.row(part, shared.clock.now())]).await
}

/// Writes `msg` (dated `now`) in the background, retrying until it is stored (for effects that
/// already happened after a commit, such as an observation an instance made).
pub(crate) fn send_later(store: Arc<dyn vigil_store::Store>, now: vigil_core::time::Millis, part: u32, msg: InboxMsg) {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        let row = msg.row(part, now);
        while let Err(e) = store.put_inbox(std::slice::from_ref(&row)).await {
            tracing::warn!(error = %e, part, "Could not write to another partition's inbox; retrying.");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
}

/// Reads the inbox of the owned partitions whenever a notice or [`POLL_EVERY`] says so, and hands
/// each message to whoever applies it. A message handed over stays in the inbox until the
/// transaction that applied it deletes it; until then it is not handed over again, unless its
/// taker lets it go or its partition changed hands (see [`super::handed::Handed`]).
pub(crate) async fn run(shared: Arc<Shared>) {
    let handed = &shared.cluster.inbox_handed;
    loop {
        tokio::select! {
            _ = shared.cluster.inbox_wake.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let parts = shared.cluster.ownership.parts();
        if parts.is_empty() {
            handed.prune(None, &shared.cluster.ownership);
            continue;
        }
        let rows = match shared.store.inbox(&parts, READ_LIMIT).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "Could not read the inbox; will retry.");
                continue;
            }
        };
        // What is no longer there was applied (known only when every message was read).
        let present: Option<HashSet<i64>> =
            (rows.len() < READ_LIMIT as usize).then(|| rows.iter().map(|r| r.id).collect());
        handed.prune(present.as_ref(), &shared.cluster.ownership);
        for row in rows {
            let id = row.id;
            if handed.hand(id, row.msg.part, &shared.cluster.ownership) && !apply(&shared, row).await {
                handed.release(id);
            }
        }
    }
}

/// Hands `row` over; false when it should be tried again later (a read failed).
async fn apply(shared: &Arc<Shared>, row: InboxRow) -> bool {
    let (id, part) = (row.id, row.msg.part);
    let msg: InboxMsg = match serde_json::from_str(&row.msg.body) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, inbox_id = id, kind = %row.msg.kind, "An inbox message does not decode (written by a newer vigil?); dropping it.");
            let _ = shared.store.delete_inbox(&[id]).await;
            return true;
        }
    };
    let wrap = |msg: ShardMsg| ShardMsg::FromInbox { id, part, msg: Box::new(msg) };
    let unusable = |why: String| async move {
        tracing::warn!(inbox_id = id, "{why}; the message is dropped.");
        let _ = shared.store.delete_inbox(&[id]).await;
    };
    match msg {
        InboxMsg::Event { instance, event } => shared.router.place(wrap(ShardMsg::Event(instance, event))),
        InboxMsg::Start { name, version, input, id: instance_id, correlation_id, definition, started_by } => {
            // Started once: the shard holds it until the store says no instance of that id exists
            // (started by this node, or applied before a crash).
            let req =
                StartRequest { name, version, input, id: Some(instance_id), correlation_id, definition, started_by };
            match shared.new_instance(req, part) {
                Ok(instance) => shared.router.place(wrap(ShardMsg::StartOnce {
                    instance: Box::new(instance),
                    committed: None,
                    inbox: None,
                })),
                Err(e) => unusable(format!("A start from another node cannot run: {e}")).await,
            }
        }
        InboxMsg::Retry { instance } => match shared.store.instance(&instance).await {
            Ok(Some(i)) if i.status.is_terminal() => {
                shared.router.place(wrap(ShardMsg::Revive(Box::new(i), Event::Retry)))
            }
            Ok(_) => unusable(format!("Instance {instance} is not there to retry")).await,
            Err(e) => {
                tracing::warn!(error = %e, "Could not read an instance to retry; will try again.");
                return false;
            }
        },
        InboxMsg::Revive { instance, event } => match shared.store.instance(&instance).await {
            Ok(Some(i)) => shared.router.place(wrap(ShardMsg::Revive(Box::new(i), event))),
            Ok(None) => unusable(format!("Instance {instance} is not there to take an event")).await,
            Err(e) => {
                tracing::warn!(error = %e, "Could not read an instance to hand it an event; will try again.");
                return false;
            }
        },
        InboxMsg::Restart { instance, latest } => match shared.store.instance(&instance).await {
            Ok(Some(old)) if old.status.is_terminal() => match shared.rerun(old, latest) {
                Ok(fresh) => shared.router.place(wrap(ShardMsg::Restart(Box::new(fresh)))),
                Err(e) => unusable(format!("Instance {instance} cannot restart: {e}")).await,
            },
            Ok(_) => unusable(format!("Instance {instance} is not there to restart")).await,
            Err(e) => {
                tracing::warn!(error = %e, "Could not read an instance to restart; will try again.");
                return false;
            }
        },
        InboxMsg::Observe { instance, task_id, request, reply_part } => {
            let _ = shared.alerting.sender.send(crate::alerting::messages::AlertMsg::Observe {
                instance,
                task_id,
                request,
                from: crate::alerting::messages::ObservedFrom::Inbox { id, reply_part },
            });
        }
        InboxMsg::Member { group, key, alert } => {
            let _ = shared.alerting.sender.send(crate::alerting::messages::AlertMsg::Member {
                group,
                key,
                alert,
                inbox: Some(id),
            });
        }
    }
    true
}
