//! Durable storage behind one trait, [`Store`], with an embedded SQLite backend.
//!
//! The runtime writes instance states in batches ([`CommitBatch`]): one transaction per batch is what
//! makes thousands of workflows per second durable. Schedule fires are claimed under a unique key
//! (schedule, fire time), so a fire time starts at most one instance, across restarts and nodes.
//! [`conformance`] holds the suite every backend must pass.

pub mod accounts;
pub mod alerting;
pub mod alerts;
pub mod audit;
pub mod cluster;
mod cluster_sql;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
#[cfg(any(test, feature = "testkit"))]
mod conformance_cluster;
#[cfg(any(test, feature = "testkit"))]
mod conformance_monitors;
#[cfg(any(test, feature = "testkit"))]
mod conformance_retention;
#[cfg(any(test, feature = "testkit"))]
mod conformance_users;
pub mod definitions;
pub mod events;
pub mod evidence;
mod listing;
pub mod monitor_live;
pub mod monitor_results;
pub mod monitors;
pub mod parked;
pub mod pings;
pub mod postgres;
pub mod retention;
pub mod schedules;
pub mod secret_box;
pub mod sessions;
mod shared_store;
pub mod sqlite;
pub mod state_codec;
pub mod status_outbox;
pub mod status_pages;
#[cfg(any(test, feature = "testkit"))]
pub mod testing;
pub mod tokens;
pub mod users;
pub mod work;
pub mod workflows;

use async_trait::async_trait;
use thiserror::Error;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::Millis;

pub use accounts::{AccountStore, AuditStore, SessionStore, TokenStore, UserStore};
pub use alerting::{AckStore, AlertStore, AlertingStore, OutboxStore, SilenceStore};
pub use alerts::{
    AlertBatch, AlertRow, DeliveryUpdate, GroupRow, MemberRow, NewOutboxEntry, OutboxEntry, OutboxStatus, SilenceRow,
};
pub use audit::{AuditQuery, AuditRow};
pub use cluster::{Fence, InboxRow, LeaseRow, NewInboxRow, Notice, PARTITIONS, fnv1a, fnv1a_bytes, partition_of};
pub use definitions::DefinitionStore;
pub use events::{EventStore, ParkedStore, StatusEventStore};
pub use evidence::CheckEvidence;
pub use monitor_live::MonitorLiveRow;
pub use monitor_results::{MonitorBatch, MonitorHistoryRow, MonitorResultRow, RollupRow, RollupScope, UptimeRow};
pub use monitors::{EvidenceStore, MonitorLiveStore, MonitorResultStore, MonitorStore, PingStore};
pub use parked::ParkedEvent;
pub use pings::{HeartbeatRow, PingOrigin, PingRow};
pub use postgres::PostgresStore;
pub use retention::{PurgeRule, Workflows};
pub use schedules::FireStore;
pub use secret_box::SecretBox;
pub use sessions::{SessionRow, SignInStateRow};
pub use sqlite::SqliteStore;
pub use status_outbox::{NewStatusEvent, StatusEventRow};
pub use status_pages::{
    IncidentRow, IncidentStore, MaintenanceRow, MaintenanceStore, MaintenanceWrite, NewNotice, NoticeRow,
    StatusPageStore, SubscriberRow, SubscriberStore, UNCONFIRMED_KEPT,
};
pub use tokens::{DefinitionRow, NodeRow, TokenRow};
pub use users::{AccountRefresh, UserRow};
pub use work::{WorkChange, WorkOffer};
pub use workflows::{InboxStore, InstanceStore, WorkStore, WorkflowStore};

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Stored data did not decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A secret could not be sealed or opened.
    #[error("secret error: {0}")]
    Secret(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The writer no longer holds the lease of these partitions: another node owns them now, and
    /// nothing of the transaction was written.
    #[error("this node no longer owns partitions {0:?}")]
    LeaseLost(Vec<u32>),
}

/// Result with [`StoreError`].
pub type Result<T> = std::result::Result<T, StoreError>;

/// One instance state to write, already serialized (serialization happens off the writer).
#[derive(Debug, Clone)]
pub struct InstanceRow {
    /// Instance id.
    pub id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// Workflow version.
    pub workflow_version: u32,
    /// Status.
    pub status: WorkflowStatus,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// Parent instance.
    pub parent_id: Option<String>,
    /// The schedule that started it.
    pub schedule_name: Option<String>,
    /// The partition it belongs to.
    pub part: u32,
    /// The correlation id given at start.
    pub correlation_id: Option<String>,
    /// The [`Instance`] as JSON; empty when `state_z` holds it.
    pub state: String,
    /// The JSON deflated ([`state_codec`]): an ended instance's large state.
    pub state_z: Option<Vec<u8>>,
    /// When it ended (`None` while it runs): what retention ages are counted from.
    pub ended_at: Option<Millis>,
}

impl InstanceRow {
    /// Serializes an instance.
    pub fn from_instance(i: &Instance) -> Self {
        Self {
            id: i.workflow_id.clone(),
            workflow_name: i.workflow_name.clone(),
            workflow_version: i.workflow_version,
            status: i.status,
            created_at: i.create_time,
            updated_at: i.update_time,
            parent_id: i.parent.as_ref().map(|p| p.workflow_id.clone()),
            schedule_name: i.fire.as_ref().map(|f| f.schedule.clone()),
            part: i.partition,
            correlation_id: i.correlation_id.clone(),
            state: serde_json::to_string(i).expect("instance serializes"),
            state_z: None,
            ended_at: i.status.is_terminal().then(|| i.end_time.unwrap_or(i.update_time)),
        }
        .compacted()
    }

    /// Compresses the state of an ended instance when it is large ([`state_codec`]).
    fn compacted(mut self) -> Self {
        if self.status.is_terminal() && self.state.len() >= state_codec::COMPRESS_FROM {
            self.state_z = Some(state_codec::compress(&self.state));
            self.state.clear();
        }
        self
    }
}

/// Everything one transaction writes.
#[derive(Debug, Clone, Default)]
pub struct CommitBatch {
    /// Instance states to insert or replace.
    pub instances: Vec<InstanceRow>,
    /// Instances created by schedule fires: their fire rows become `started`.
    pub started_by_fire: Vec<String>,
    /// Inbox messages this batch applied: deleted in the same transaction.
    pub inbox_done: Vec<i64>,
    /// Status changes for the status listeners, written in the same transaction.
    pub status_events: Vec<NewStatusEvent>,
    /// When set, the transaction commits only if the node owns these partitions.
    pub fence: Option<Fence>,
}

/// A claim on one schedule fire time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FireClaim {
    /// Schedule name.
    pub schedule: String,
    /// Fire time.
    pub scheduled_at: Millis,
    /// The instance it starts.
    pub instance_id: String,
    /// When it was dispatched.
    pub executed_at: Millis,
    /// `claimed`, `started` or `skipped`.
    pub status: FireStatus,
}

/// State of a fire row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireStatus {
    /// Claimed; its instance is not committed yet.
    Claimed,
    /// Its instance exists.
    Started,
    /// Not run (overlap policy).
    Skipped,
}

impl FireStatus {
    fn as_str(self) -> &'static str {
        match self {
            FireStatus::Claimed => "claimed",
            FireStatus::Started => "started",
            FireStatus::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "started" => FireStatus::Started,
            "skipped" => FireStatus::Skipped,
            _ => FireStatus::Claimed,
        }
    }
}

/// The next fire time of a schedule after a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCursor {
    /// Schedule name.
    pub schedule: String,
    /// Next fire time; `None` when the schedule has ended.
    pub next_fire_at: Option<Millis>,
}

/// A row of an instance listing.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSummary {
    /// Instance id.
    pub id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// Version.
    pub workflow_version: u32,
    /// Status.
    pub status: WorkflowStatus,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// The correlation id given at start.
    pub correlation_id: Option<String>,
}

/// `text` as a `LIKE` pattern matching it anywhere, with `%`, `_` and `\` escaped by `\`.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Filter for [`Store::list_instances`].
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Only this workflow.
    pub workflow_name: Option<String>,
    /// Only these workflows (none when the list is empty): what a caller whose roles are in
    /// teams may read.
    pub workflow_names: Option<Vec<String>>,
    /// Only these statuses (any when empty).
    pub statuses: Vec<WorkflowStatus>,
    /// Only this instance.
    pub id: Option<String>,
    /// Only instances started with this correlation id.
    pub correlation_id: Option<String>,
    /// Only instances whose stored state (input, output, tasks, ids) holds this text, ignoring
    /// ASCII case. It reads each candidate's state: narrow it with the other fields.
    pub text: Option<String>,
    /// Only instances created at or after this time.
    pub created_from: Option<Millis>,
    /// Only instances created before this time.
    pub created_to: Option<Millis>,
    /// Only instances after this one in the listing order (newest first, then by id): the
    /// continuation point of the previous page.
    pub after: Option<(Millis, String)>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// Durable storage: the sum of every feature's store traits, and the node's own methods
/// (nodes, leases, id blocks, settings, secrets, notices, space).
#[async_trait]
pub trait Store:
    StatusPageStore
    + DefinitionStore
    + AccountStore
    + AlertingStore
    + MonitorStore
    + FireStore
    + EventStore
    + WorkflowStore
    + Send
    + Sync
    + 'static
{
    /// Closes the connections (after the last write).
    async fn close(&self);
    /// The database's size on disk in bytes, where the store can tell (PostgreSQL); `None` for
    /// a file store, whose files the caller can measure.
    async fn size_bytes(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Records a node's heartbeat (inserting it the first time).
    async fn node_heartbeat(&self, node: &NodeRow) -> Result<()>;
    /// Every node that ever ran on this database, oldest first.
    async fn nodes(&self) -> Result<Vec<NodeRow>>;
    /// Stores a sealed secret.
    async fn put_secret(&self, name: &str, sealed: &[u8], now: Millis) -> Result<()>;
    /// All sealed secrets.
    async fn secrets(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// Deletes a secret; false when it did not exist.
    async fn delete_secret(&self, name: &str) -> Result<bool>;
    /// How many alert commits may run at once when they write disjoint rows: more than one where
    /// each runs on a connection of its own and waits on a server's round trips (PostgreSQL);
    /// one where commits queue for one writer anyway (SQLite).
    fn alert_commits_side_by_side(&self) -> usize {
        1
    }

    /// Every partition's lease, by partition.
    async fn leases(&self) -> Result<Vec<LeaseRow>>;
    /// Gives `node` up to `max` partitions that nobody holds or whose lease lapsed before `now`
    /// (free ones first), leased until `until`; returns them. Each acquisition bumps the epoch.
    async fn acquire_leases(&self, node: &str, max: u32, now: Millis, until: Millis) -> Result<Vec<u32>>;
    /// Extends every lease `node` holds to `until`; returns the partitions it still holds.
    async fn renew_leases(&self, node: &str, until: Millis) -> Result<Vec<u32>>;
    /// Gives up `node`'s leases of `parts`.
    async fn release_leases(&self, node: &str, parts: &[u32]) -> Result<()>;
    /// Reserves the next block of ids of sequence `name` for this process alone: its number,
    /// from 1 up. Ids `number << 32` up to the next block's are its own on every node.
    async fn reserve_id_block(&self, name: &str) -> Result<i64>;
    /// Writes store-wide setting `key` (the Alertmanager configuration every node reads).
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    /// A store-wide setting (`ping_salt`).
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Gives back memory the store's connections hold but do not need (SQLite: the pages a bulk
    /// write left in the writer's page cache; a no-op elsewhere). Called after monitor history
    /// writes, which would otherwise leave the cache a few MB larger each time, up to its cap.
    async fn release_memory(&self) {}
    /// Makes the space of deleted rows reusable where the database would not on its own:
    /// PostgreSQL with `autovacuum = off` gets a plain `VACUUM` of the tables vigil churns, at
    /// most every two minutes (with autovacuum on, and on SQLite, a no-op). Called after each
    /// retention pass.
    async fn reclaim_space(&self) -> Result<()> {
        Ok(())
    }
    /// Tells the other nodes about a change (a no-op where only one process runs, as on SQLite).
    async fn notify(&self, _notice: &Notice) -> Result<()> {
        Ok(())
    }
    /// Notices from other nodes, when the backend delivers them (PostgreSQL `LISTEN`); `None`
    /// when it does not, and the caller polls.
    async fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Notice>> {
        None
    }
}
