//! Types for alert state, the outbox and silences, as the store sees them: a few queryable
//! columns plus opaque JSON that the runtime owns.

use vigil_core::time::Millis;

/// One dedup key's stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Dedup key.
    pub dedup_key: String,
    /// Alert name.
    pub name: String,
    /// `ok`, `pending` or `firing`.
    pub condition: String,
    /// When it started firing.
    pub firing_since: Option<Millis>,
    /// When receivers were last notified.
    pub last_notified: Option<Millis>,
    /// Acknowledged.
    pub acknowledged: bool,
    /// When the runtime should tick it next.
    pub next_wake: Option<Millis>,
    /// Last change.
    pub updated_at: Millis,
    /// The runtime's state, as JSON.
    pub state: String,
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEntry {
    /// The alert's dedup key.
    pub dedup_key: String,
    /// Notifier name.
    pub notifier: String,
    /// `trigger`, `remind`, `resolve` or `acknowledge`.
    pub notice: String,
    /// The alert message, as JSON.
    pub message: String,
    /// Creation time; also the first attempt time.
    pub created_at: Millis,
}

/// Delivery status of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Not delivered yet.
    Pending,
    /// Accepted by the provider.
    Delivered,
    /// Failed for good (permanent error); shown, not retried.
    Failed,
}

impl OutboxStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "delivered" => OutboxStatus::Delivered,
            "failed" => OutboxStatus::Failed,
            _ => OutboxStatus::Pending,
        }
    }
}

/// A stored outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Id; increasing, so it orders entries of one key.
    pub id: i64,
    /// Dedup key.
    pub dedup_key: String,
    /// Notifier name.
    pub notifier: String,
    /// Notice kind.
    pub notice: String,
    /// Message JSON.
    pub message: String,
    /// Status.
    pub status: OutboxStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_attempt_at: Millis,
    /// Last error.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: Millis,
    /// Delivery or final failure time.
    pub finished_at: Option<Millis>,
}

/// What a delivery attempt did to an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryUpdate {
    /// Delivered at this time.
    Delivered {
        /// When.
        at: Millis,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        /// When to try next.
        next_attempt_at: Millis,
        /// Why it failed.
        error: String,
    },
    /// Failed for good.
    Failed {
        /// When.
        at: Millis,
        /// Why.
        error: String,
    },
}

/// Alert states and the notifications they caused, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct AlertBatch {
    /// Alert rows to insert or replace.
    pub alerts: Vec<AlertRow>,
    /// Outbox entries to add.
    pub outbox: Vec<NewOutboxEntry>,
    /// Results of earlier sends, recorded in the same transaction.
    pub deliveries: Vec<(i64, DeliveryUpdate)>,
    /// Inbox messages (observations from other nodes) this batch applied: deleted with it.
    pub inbox_done: Vec<i64>,
    /// Messages for other partitions' owners (task results for their instances), added with it.
    pub inbox_out: Vec<crate::NewInboxRow>,
    /// Notification groups to insert or replace (their headers: `members` is not read).
    pub groups: Vec<GroupRow>,
    /// Groups' alerts to insert or replace, by id.
    pub group_members: Vec<MemberRow>,
    /// Notification groups that emptied: deleted (their alerts left by `group_members_gone`).
    pub groups_gone: Vec<String>,
    /// The alerts that left their groups: `(group key, id)`, deleted by id (the key says whose
    /// partition the change is).
    pub group_members_gone: Vec<(String, i64)>,
    /// When set, the transaction commits only if the node owns these partitions.
    pub fence: Option<crate::Fence>,
}

impl AlertBatch {
    /// Whether the batch only adds or changes alerts in groups (the commonest batch while
    /// Prometheus pushes).
    pub fn members_alone(&self) -> bool {
        !self.group_members.is_empty()
            && self.alerts.is_empty()
            && self.outbox.is_empty()
            && self.deliveries.is_empty()
            && self.inbox_done.is_empty()
            && self.inbox_out.is_empty()
            && self.groups.is_empty()
            && self.groups_gone.is_empty()
            && self.group_members_gone.is_empty()
    }
}

/// One stored notification group (Alertmanager's aggregation group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    /// Its key (route and group labels); its partition is the key's.
    pub group_key: String,
    /// When it next flushes.
    pub next_wake: Option<Millis>,
    /// Last written.
    pub updated_at: Millis,
    /// Its state, as JSON (without its alerts).
    pub state: String,
    /// Its alerts, when read.
    pub members: Vec<MemberRow>,
}

/// One alert of a notification group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// Its id, from a block the alert manager reserved ([`crate::Store::reserve_id_block`]).
    pub id: i64,
    /// Its group's key.
    pub group_key: String,
    /// Its key in the group (its fingerprint).
    pub member_key: String,
    /// The alert, as JSON.
    pub alert: String,
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRow {
    /// Id.
    pub id: String,
    /// Label matchers as JSON (`{"label": "value"}`).
    pub matchers: String,
    /// Expiry.
    pub ends_at: Millis,
    /// Start, when later than its creation.
    pub starts_at: Option<Millis>,
    /// Creation time.
    pub created_at: Millis,
    /// Why.
    pub comment: Option<String>,
    /// Who made it (Alertmanager's `createdBy`).
    pub created_by: Option<String>,
    /// Ends once nothing it matches fires (`ends_at` is then the latest it may last).
    pub until_resolved: bool,
}
