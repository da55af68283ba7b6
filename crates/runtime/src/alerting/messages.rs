//! The alert manager's messages: what its senders (instances, monitors, the inbox, retention)
//! need, apart from the manager itself.

use serde::{Deserialize, Serialize};
use vigil_core::alert::{AlertRequest, AlertState};
use vigil_core::time::Millis;

/// What the manager remembers per dedup key (stored as the alert row's JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The latest observation's content and rule.
    pub request: AlertRequest,
    /// The lifecycle state.
    pub state: AlertState,
    /// The notifiers that were paged, so the resolve reaches them even if the list changed since.
    #[serde(default)]
    pub paged: Vec<String>,
    /// The severity receivers were last paged with: a resolve, reminder or acknowledgement says
    /// it, not the severity of the observation that ended it (a passing check's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paged_severity: Option<String>,
    /// The escalation policies running for the current incident, with the step each reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<vigil_core::alert::escalation::Escalation>,
}

/// Where an observation came from, and so where its result goes.
#[derive(Debug, Clone, Copy)]
pub enum ObservedFrom {
    /// An instance of this node, in partition `part`.
    Local {
        /// The instance's partition.
        part: u32,
    },
    /// Another node's instance, through the inbox: message `id`, result to `reply_part`.
    Inbox {
        /// The inbox message.
        id: i64,
        /// The instance's partition.
        reply_part: u32,
    },
}

/// Work for the manager.
pub enum AlertMsg {
    /// An ALERT task (or a monitor check) reports an observation.
    Observe {
        /// The instance; empty for a monitor's observation, which wants no result.
        instance: String,
        /// The ALERT execution.
        task_id: String,
        /// The observation.
        request: Box<AlertRequest>,
        /// Where it came from.
        from: ObservedFrom,
    },
    /// A routed alert joins a notification group of this node's partitions.
    Member {
        /// The group.
        group: Box<vigil_core::alertmanager::group::GroupRef>,
        /// The alert's key.
        key: String,
        /// The alert.
        alert: Box<vigil_core::alertmanager::Alert>,
        /// The inbox message it came in, deleted with the change it makes.
        inbox: Option<i64>,
    },
    /// An alert pushed while a routing tree is loaded joins the groups it was routed to (this
    /// node's now, the others' through their owners' inboxes).
    Routed {
        /// Its member key: its fingerprint.
        key: String,
        /// The alert and its groups.
        routed: Box<vigil_core::alertmanager::group::Routed>,
    },
    /// This node now owns these partitions: load their keys and notifications.
    Gained(Vec<u32>),
    /// This node no longer owns these partitions: forget their keys.
    Lost(Vec<u32>),
    /// An operator acknowledged a key.
    Acknowledge {
        /// The key.
        dedup_key: String,
        /// Whether it existed and was firing.
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// Retention: delete the resolved alerts (and their sent notices) of the owned partitions
    /// last changed before `before`, and forget them.
    Expire {
        /// The age limit.
        before: Millis,
        /// How many alerts went.
        reply: tokio::sync::oneshot::Sender<u64>,
    },
    /// Answers once every message sent before it is committed and its notices handed to
    /// delivery (a stopping engine waits for this before it drains the outbox).
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Answers once every message sent before it is committed (a push's answer): possibly before
    /// its notices are with the delivery loop, which is woken last so that it runs first.
    Committed(tokio::sync::oneshot::Sender<()>),
}
