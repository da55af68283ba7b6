//! Durable storage behind one trait, [`Store`], with an embedded SQLite backend.
//!
//! The runtime writes instance states in batches ([`CommitBatch`]): one transaction per batch is what
//! makes thousands of workflows per second durable. Schedule fires are claimed under a unique key
//! (schedule, fire time), so a fire time starts at most one instance, across restarts and nodes.
//! [`conformance`] holds the suite every backend must pass.

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
pub mod evidence;
mod listing;
pub mod monitor_live;
pub mod monitor_results;
pub mod parked;
pub mod pings;
pub mod postgres;
pub mod retention;
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

use async_trait::async_trait;
use thiserror::Error;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::Millis;

pub use alerts::{
    AlertBatch, AlertRow, DeliveryUpdate, GroupRow, MemberRow, NewOutboxEntry, OutboxEntry, OutboxStatus, SilenceRow,
};
pub use audit::{AuditQuery, AuditRow};
pub use cluster::{Fence, InboxRow, LeaseRow, NewInboxRow, Notice, PARTITIONS, fnv1a, fnv1a_bytes, partition_of};
pub use evidence::CheckEvidence;
pub use monitor_live::MonitorLiveRow;
pub use monitor_results::{MonitorBatch, MonitorHistoryRow, MonitorResultRow, RollupRow, RollupScope, UptimeRow};
pub use parked::ParkedEvent;
pub use pings::{HeartbeatRow, PingOrigin, PingRow};
pub use postgres::PostgresStore;
pub use retention::{PurgeRule, Workflows};
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

/// Durable storage for instances, schedules and secrets.
#[async_trait]
pub trait Store: StatusPageStore + Send + Sync + 'static {
    /// Writes a batch in one transaction.
    async fn commit(&self, batch: &CommitBatch) -> Result<()>;
    /// Closes the connections (after the last write).
    async fn close(&self);
    /// One instance.
    async fn instance(&self, id: &str) -> Result<Option<Instance>>;
    /// Which of `ids` name stored instances (any status).
    async fn existing_instances(&self, ids: &[String]) -> Result<Vec<String>>;
    /// One instance's stored state, undecoded (for readers that need only some fields).
    async fn instance_json(&self, id: &str) -> Result<Option<String>>;
    /// Every instance that has not ended, for recovery.
    async fn unfinished_instances(&self) -> Result<Vec<Instance>>;
    /// Instances, newest first (then by id).
    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>>;
    /// Deletes the instances that match `filter` and have ended (a running instance is never
    /// purged), at most `filter.limit` of them. Returns their ids.
    async fn purge_instances(&self, filter: &InstanceFilter) -> Result<Vec<String>>;
    /// Deletes instance `id` if it has ended. Returns whether it did.
    async fn purge_instance(&self, id: &str) -> Result<bool>;
    /// How many instances are stored (running and ended).
    async fn count_instances(&self) -> Result<u64>;
    /// The database's size on disk in bytes, where the store can tell (PostgreSQL); `None` for
    /// a file store, whose files the caller can measure.
    async fn size_bytes(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Deletes up to `limit` ended instances `rule` covers (retention); returns how many.
    async fn purge_ended(&self, rule: &PurgeRule, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` ended instances of `workflow` past the newest `keep` of their
    /// schedule (ranked over all partitions, deleted in `parts` only); returns how many.
    async fn purge_beyond_last(&self, workflow: &str, keep: u32, parts: Option<&[u32]>, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` resolved alerts (condition `ok`, nothing due) last changed before
    /// `before`, in `parts`, with their delivered notices; returns their dedup keys.
    async fn purge_resolved_alerts(&self, before: Millis, parts: Option<&[u32]>, limit: u32) -> Result<Vec<String>>;
    /// Deletes up to `limit` schedule fire records (started or skipped) executed before `before`.
    async fn prune_fires(&self, before: Millis, limit: u32) -> Result<u64>;
    /// Writes (or replaces) definitions, all or none, in one transaction.
    async fn put_definitions(&self, defs: &[DefinitionRow]) -> Result<()>;
    /// Writes (or replaces) one definition.
    async fn put_definition(&self, def: &DefinitionRow) -> Result<()> {
        self.put_definitions(std::slice::from_ref(def)).await
    }
    /// The definitions of `kind`, by name then version.
    async fn definitions(&self, kind: &str) -> Result<Vec<DefinitionRow>>;
    /// The newest version of definition `name` of `kind`, if any.
    async fn latest_definition(&self, kind: &str, name: &str) -> Result<Option<DefinitionRow>>;
    /// Deletes one version of a definition, or all when `version` is `None`; returns how many.
    async fn delete_definition(&self, kind: &str, name: &str, version: Option<u32>) -> Result<u64>;
    /// Records a node's heartbeat (inserting it the first time).
    async fn node_heartbeat(&self, node: &NodeRow) -> Result<()>;
    /// Every node that ever ran on this database, oldest first.
    async fn nodes(&self) -> Result<Vec<NodeRow>>;
    /// How late each fire since `since` started (executed minus scheduled time, ms), newest first,
    /// at most 10,000.
    async fn fire_lags(&self, since: Millis) -> Result<Vec<Millis>>;
    /// Adds an API token.
    async fn put_token(&self, token: &TokenRow) -> Result<()>;
    /// Every API token, revoked ones included, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRow>>;
    /// Revokes token `id` and ends its UI sessions; false when it does not exist or was
    /// already revoked.
    async fn revoke_token(&self, id: &str, at: Millis) -> Result<bool>;
    /// Records that token `id` was used at `at`.
    async fn touch_token(&self, id: &str, at: Millis) -> Result<()>;
    /// Adds an account, or changes what an admin changes of it (not its password, code or
    /// sign-in counts); ends its UI sessions when `end_sessions` (the account disabled).
    async fn put_user(&self, user: &UserRow, end_sessions: bool) -> Result<()>;
    /// Adds an account unless one has its id (a first sign-in on two nodes at once); false when
    /// one had.
    async fn add_user(&self, user: &UserRow) -> Result<bool>;
    /// The account `id`.
    async fn user(&self, id: &str) -> Result<Option<UserRow>>;
    /// Every account, by id.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// Takes a sign-in try for `id` at `at`, before its password is checked (a success clears
    /// it): the tries in a row, this one included; `None` when the account is paused or gone.
    /// From the `free`th try in a row it also pauses the account until `pause_until`, at once.
    async fn reserve_sign_in(&self, id: &str, at: Millis, free: u32, pause_until: Millis) -> Result<Option<u32>>;
    /// Pauses `id`'s sign-ins until `until` (a longer pause is kept).
    async fn pause_sign_ins(&self, id: &str, until: Millis) -> Result<()>;
    /// Sets or removes `id`'s password hash, and ends its UI sessions.
    async fn set_password(&self, id: &str, hash: Option<&str>) -> Result<()>;
    /// Sets or removes `id`'s sealed one-time-code secret; ends its UI sessions when
    /// `end_sessions`.
    async fn set_totp(&self, id: &str, sealed: Option<&str>, end_sessions: bool) -> Result<()>;
    /// Records that `id` signed in at `at`.
    async fn user_signed_in(&self, id: &str, at: Millis) -> Result<()>;
    /// Takes one-time-code time step `step` for `id`; false when it, or a later one, was taken.
    async fn claim_totp_step(&self, id: &str, step: i64) -> Result<bool>;
    /// Status events of the partitions `parts` to publish now (`next_attempt_at <= now`), oldest
    /// first.
    async fn pending_status_events(&self, parts: &[u32], now: Millis, limit: u32) -> Result<Vec<StatusEventRow>>;
    /// Forgets published status events.
    async fn delete_status_events(&self, ids: &[i64]) -> Result<()>;
    /// Records a failed attempt: not before `next_attempt_at`.
    async fn defer_status_event(&self, id: i64, next_attempt_at: Millis, error: &str) -> Result<()>;
    /// Parks messages an event handler could not act on (one per queue and message id).
    async fn park_events(&self, parked: &[ParkedEvent]) -> Result<()>;
    /// Parked messages, newest first.
    async fn parked_events(&self, limit: u32) -> Result<Vec<ParkedEvent>>;
    /// Forgets a parked message; false when there was none.
    async fn delete_parked_event(&self, id: i64) -> Result<bool>;
    /// Keeps a failed browser check's evidence, and forgets all but the monitor's newest
    /// [`evidence::KEPT_PER_MONITOR`].
    async fn keep_check_evidence(&self, evidence: &CheckEvidence) -> Result<()>;
    /// A monitor's kept evidence, newest first, without the screenshots' bytes.
    async fn check_evidence(&self, monitor: &str, limit: u32) -> Result<Vec<CheckEvidence>>;
    /// Forgets every monitor's evidence from before `before` (a deleted monitor's goes this way);
    /// how many were forgotten.
    async fn prune_check_evidence(&self, before: Millis) -> Result<u64>;
    /// The screenshot of a monitor's evidence from `at`.
    async fn check_screenshot(&self, monitor: &str, at: Millis) -> Result<Option<Vec<u8>>>;
    /// Asks the node running monitor `monitor` to relay what its memory holds of it until
    /// `until`, and returns what it relayed so far (see [`monitor_live`]).
    async fn want_monitor_live(&self, monitor: &str, until: Millis) -> Result<Option<MonitorLiveRow>>;
    /// The monitors some node wants relayed at `now`.
    async fn wanted_monitor_live(&self, now: Millis) -> Result<Vec<String>>;
    /// Writes the relayed bodies `(monitor, body)`, dated `at`.
    async fn put_monitor_live(&self, rows: &[(String, String)], at: Millis) -> Result<()>;
    /// Forgets the relays nobody wanted since `before`.
    async fn forget_monitor_live(&self, before: Millis) -> Result<()>;
    /// Adds a UI session, and forgets those that expired by its start.
    async fn put_session(&self, session: &SessionRow) -> Result<()>;
    /// The session whose id hashes to `id_hash`, unless it expired by `now`.
    async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<SessionRow>>;
    /// Ends a session; false when there was none.
    async fn delete_session(&self, id_hash: &str) -> Result<bool>;
    /// Brings an account up to date at a sign-in through its provider; false when it is disabled
    /// or no longer that provider's person.
    async fn refresh_signed_in(&self, refresh: &AccountRefresh) -> Result<bool>;
    /// Gives account `id`, made by an admin for a provider (`external_id` = `marker`), to the
    /// person `external_id` signing in through it; false when it is not (or no longer) so.
    async fn claim_account(&self, id: &str, marker: &str, external_id: &str, source: &str) -> Result<bool>;
    /// Records a change in the audit log; gives its id.
    async fn append_audit(&self, row: &AuditRow) -> Result<i64>;
    /// Audit rows matching `query`, newest first.
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// Deletes at most `limit` audit rows recorded before `before`; how many went.
    async fn prune_audit(&self, before: Millis, limit: u32) -> Result<u64>;
    /// Adds a sign-in sent to an identity provider, and forgets those expired by `now`.
    async fn put_sign_in_state(&self, state: &SignInStateRow, now: Millis) -> Result<()>;
    /// Takes (deletes and gives) the pending sign-in whose `state` hashes to `state_hash`, if it
    /// has not expired by `now`: once, on any node.
    async fn take_sign_in_state(&self, state_hash: &str, now: Millis) -> Result<Option<SignInStateRow>>;
    /// Claims fire times and moves schedule cursors in one transaction. Returns, per claim, whether
    /// this call inserted it (false: another process already claimed that fire time).
    /// With `fence`, nothing is claimed unless the node owns the schedules' partitions.
    async fn claim_fires(
        &self,
        claims: &[FireClaim],
        cursors: &[ScheduleCursor],
        fence: Option<&Fence>,
    ) -> Result<Vec<bool>>;
    /// Persisted next fire time per schedule.
    async fn schedule_cursors(&self) -> Result<Vec<ScheduleCursor>>;
    /// Fires claimed whose instance was never committed (a crash between the two).
    async fn unstarted_fires(&self) -> Result<Vec<FireClaim>>;
    /// Fires of one schedule, newest first.
    async fn fires(&self, schedule: &str, limit: u32) -> Result<Vec<FireClaim>>;
    /// Stores a sealed secret.
    async fn put_secret(&self, name: &str, sealed: &[u8], now: Millis) -> Result<()>;
    /// All sealed secrets.
    async fn secrets(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// Deletes a secret; false when it did not exist.
    async fn delete_secret(&self, name: &str) -> Result<bool>;

    /// Writes alert states and the outbox entries they caused in one transaction; returns the new
    /// entries' ids, in order.
    async fn commit_alerts(&self, batch: &AlertBatch) -> Result<Vec<i64>>;
    /// How many alert commits may run at once when they write disjoint rows: more than one where
    /// each runs on a connection of its own and waits on a server's round trips (PostgreSQL);
    /// one where commits queue for one writer anyway (SQLite).
    fn alert_commits_side_by_side(&self) -> usize {
        1
    }
    /// One alert.
    async fn alert(&self, dedup_key: &str) -> Result<Option<AlertRow>>;
    /// Alerts, most recently changed first; only `pending` and `firing` ones when `active_only`.
    async fn alerts(&self, active_only: bool, limit: u32) -> Result<Vec<AlertRow>>;
    /// Resolved alerts (`ok`), most recently resolved first, at most `limit`: read through the
    /// index that holds resolved alerts only, so it costs `limit` rows however many are kept.
    async fn resolved_alerts(&self, limit: u32) -> Result<Vec<AlertRow>>;
    /// Outbox entries still to deliver, in id order.
    async fn pending_outbox(&self) -> Result<Vec<OutboxEntry>>;
    /// Outbox entries of one status, newest first.
    async fn outbox(&self, status: OutboxStatus, limit: u32) -> Result<Vec<OutboxEntry>>;
    /// One alert's notifications, whatever their status, newest first, at most `limit`: who was
    /// told what and when.
    async fn alert_outbox(&self, dedup_key: &str, limit: u32) -> Result<Vec<OutboxEntry>>;
    /// Records the result of a delivery attempt (and counts the attempt).
    async fn record_delivery(&self, id: i64, update: &DeliveryUpdate) -> Result<()> {
        self.record_deliveries(&[(id, update.clone())]).await
    }
    /// Records many delivery results in one transaction.
    async fn record_deliveries(&self, updates: &[(i64, DeliveryUpdate)]) -> Result<()>;
    /// Adds or replaces a silence.
    async fn put_silence(&self, silence: &SilenceRow) -> Result<()>;
    /// All silences, including expired ones, newest first.
    async fn silences(&self) -> Result<Vec<SilenceRow>>;
    /// Deletes a silence; false when it did not exist.
    async fn delete_silence(&self, id: &str) -> Result<bool>;
    /// Records an operator's acknowledgement of a key, for the alert manager to apply.
    async fn request_ack(&self, dedup_key: &str, at: Millis) -> Result<()>;
    /// Pending acknowledgement requests, oldest first.
    async fn ack_requests(&self) -> Result<Vec<String>>;
    /// Removes acknowledgement requests once they are applied and committed.
    async fn clear_ack_requests(&self, keys: &[String]) -> Result<()>;
    /// Deletes delivered and failed outbox rows that finished before `before`; returns how many.
    async fn prune_outbox(&self, before: Millis) -> Result<u64>;

    /// Every partition's lease, by partition.
    async fn leases(&self) -> Result<Vec<LeaseRow>>;
    /// Gives `node` up to `max` partitions that nobody holds or whose lease lapsed before `now`
    /// (free ones first), leased until `until`; returns them. Each acquisition bumps the epoch.
    async fn acquire_leases(&self, node: &str, max: u32, now: Millis, until: Millis) -> Result<Vec<u32>>;
    /// Extends every lease `node` holds to `until`; returns the partitions it still holds.
    async fn renew_leases(&self, node: &str, until: Millis) -> Result<Vec<u32>>;
    /// Gives up `node`'s leases of `parts`.
    async fn release_leases(&self, node: &str, parts: &[u32]) -> Result<()>;
    /// The unfinished instances of `parts`, oldest first.
    async fn unfinished_instances_in(&self, parts: &[u32]) -> Result<Vec<Instance>>;
    /// The alerts whose dedup keys belong to `parts`.
    async fn alerts_in(&self, parts: &[u32]) -> Result<Vec<AlertRow>>;
    /// Outbox entries still to deliver whose keys belong to `parts`, in id order.
    async fn pending_outbox_in(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>>;
    /// Which of `names` have an alert firing (monitors whose dependents are held).
    async fn firing_names(&self, names: &[String]) -> Result<Vec<String>>;
    /// The notification groups whose keys belong to `parts`.
    async fn groups_in(&self, parts: &[u32]) -> Result<Vec<GroupRow>>;
    /// Up to `limit` of the notification groups' alerts, as (group key, member key, alert JSON):
    /// routed pushed alerts are stored only there. An alert in several groups comes once per group.
    async fn group_member_alerts(&self, limit: u32) -> Result<Vec<(String, String, String)>>;
    /// Reserves the next block of ids of sequence `name` for this process alone: its number,
    /// from 1 up. Ids `number << 32` up to the next block's are its own on every node.
    async fn reserve_id_block(&self, name: &str) -> Result<i64>;
    /// One notification group's row (without its members).
    async fn alert_group(&self, group_key: &str) -> Result<Option<GroupRow>>;
    /// Writes store-wide setting `key` (the Alertmanager configuration every node reads).
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    /// Applies changes to the workers' shared queue, in order, in one transaction.
    async fn change_work(&self, changes: &[WorkChange]) -> Result<()>;
    /// Claims up to `count` offers of `task_type` visible at `now`, oldest first: each offer is
    /// returned to one caller only, however many nodes ask at once, and hidden until
    /// `claimed_until` (returned with the time it was visible from). The claimer removes it with
    /// [`WorkChange::Taken`] once its claim is delivered; unremoved, it shows again then.
    async fn take_work(
        &self,
        task_type: &str,
        count: u32,
        now: Millis,
        claimed_until: Millis,
    ) -> Result<Vec<WorkOffer>>;
    /// How many offers wait, per task type.
    async fn work_sizes(&self) -> Result<Vec<(String, u64)>>;
    /// Adds inbox messages and tells their partitions' owners.
    async fn put_inbox(&self, rows: &[NewInboxRow]) -> Result<()>;
    /// Inbox messages of `parts`, oldest first, at most `limit`. Reading does not remove them:
    /// the transaction that applies a message deletes it.
    async fn inbox(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>>;
    /// Deletes inbox messages (ones that needed nothing written).
    async fn delete_inbox(&self, ids: &[i64]) -> Result<()>;
    /// Writes monitor results: latest readings, closed history buckets and gone series, in one
    /// transaction.
    async fn put_monitor_results(&self, batch: &MonitorBatch) -> Result<()>;
    /// The latest reading of every series, or of `monitor`'s (`""`: every monitor's).
    async fn monitor_results(&self, monitor: &str) -> Result<Vec<MonitorResultRow>>;
    /// The latest reading of every series of `monitors`, by monitor and series.
    async fn monitor_results_of(&self, monitors: &[String]) -> Result<Vec<MonitorResultRow>>;
    /// `monitor`'s history buckets from `since` on, oldest first, at most `limit`.
    async fn monitor_history(&self, monitor: &str, since: Millis, limit: u32) -> Result<Vec<MonitorHistoryRow>>;
    /// Deletes history buckets older than `before`, at most `limit` of them; returns how many.
    async fn prune_monitor_history(&self, before: Millis, limit: u32) -> Result<u64>;
    /// One monitor's downsampled buckets of `width` from `since` on, oldest first, at most `limit`;
    /// with an empty name, every monitor's, by monitor and then oldest first.
    async fn monitor_rollups(
        &self,
        monitor: &str,
        width: Millis,
        since: Millis,
        limit: u32,
    ) -> Result<Vec<MonitorHistoryRow>>;
    /// Checks and failing checks per series in the `width` rollups from `since` on, of one
    /// monitor or (empty name) of all.
    async fn monitor_uptime(&self, monitor: &str, width: Millis, since: Millis) -> Result<Vec<UptimeRow>>;
    /// The checks and failing checks of `monitors` together (every series) per rollup bucket of
    /// `width` from `since` on, summed in the database: `(bucket, checks, failing)`, oldest first.
    async fn rollup_sums(&self, monitors: &[String], width: Millis, since: Millis) -> Result<Vec<(Millis, u64, u64)>>;
    /// Deletes up to `limit` rollups of `scope` older than `before`; returns how many.
    async fn prune_monitor_rollups(&self, scope: &RollupScope, before: Millis, limit: u32) -> Result<u64>;
    /// Appends pings and advances their heartbeats' states, in one transaction; returns the new
    /// states of the heartbeats the pings were for.
    async fn record_pings(&self, pings: &[PingRow], now: Millis) -> Result<Vec<HeartbeatRow>>;
    /// Heartbeat states changed at or after `since` (0: all).
    async fn heartbeats(&self, since: Millis) -> Result<Vec<HeartbeatRow>>;
    /// `monitor`'s latest pings, newest first, at most `limit`.
    async fn pings(&self, monitor: &str, limit: u32) -> Result<Vec<PingRow>>;
    /// Deletes pings received before `before`, at most `limit`; returns how many.
    async fn prune_pings(&self, before: Millis, limit: u32) -> Result<u64>;
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
