//! Instances, the workers' shared queue and the partitions' inboxes. [`WorkflowStore`] sums the
//! traits below; a backend gets them all from one [`workflows_store!`] line, whose SQL is the same
//! on SQLite and PostgreSQL: each trait's methods are written once, in the macro named after it,
//! and expanded in each backend's module, where its row helpers are.

use async_trait::async_trait;
use vigil_core::instance::Instance;
use vigil_core::time::Millis;

use crate::Result;
use crate::{CommitBatch, InboxRow, InstanceFilter, InstanceSummary, NewInboxRow, PurgeRule, WorkChange, WorkOffer};

/// Instances: their commits, reads, listings and purges.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Writes a batch in one transaction.
    async fn commit(&self, batch: &CommitBatch) -> Result<()>;
    /// One instance.
    async fn instance(&self, id: &str) -> Result<Option<Instance>>;
    /// Which of `ids` name stored instances (any status).
    async fn existing_instances(&self, ids: &[String]) -> Result<Vec<String>>;
    /// One instance's stored state, undecoded (for readers that need only some fields).
    async fn instance_json(&self, id: &str) -> Result<Option<String>>;
    /// Every instance that has not ended, for recovery.
    async fn unfinished_instances(&self) -> Result<Vec<Instance>>;
    /// The unfinished instances of `parts`, oldest first.
    async fn unfinished_instances_in(&self, parts: &[u32]) -> Result<Vec<Instance>>;
    /// Instances, newest first (then by id).
    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>>;
    /// Deletes the instances that match `filter` and have ended (a running instance is never
    /// purged), at most `filter.limit` of them. Returns their ids.
    async fn purge_instances(&self, filter: &InstanceFilter) -> Result<Vec<String>>;
    /// Deletes instance `id` if it has ended. Returns whether it did.
    async fn purge_instance(&self, id: &str) -> Result<bool>;
    /// How many instances are stored (running and ended).
    async fn count_instances(&self) -> Result<u64>;
    /// Deletes up to `limit` ended instances `rule` covers (retention); returns how many.
    async fn purge_ended(&self, rule: &PurgeRule, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` ended instances of `workflow` past the newest `keep` of their
    /// schedule (ranked over all partitions, deleted in `parts` only); returns how many.
    async fn purge_beyond_last(&self, workflow: &str, keep: u32, parts: Option<&[u32]>, limit: u32) -> Result<u64>;
}

/// The workers' shared queue.
#[async_trait]
pub trait WorkStore: Send + Sync {
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
}

/// The partitions' inboxes: messages for instances another node owns.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Adds inbox messages and tells their partitions' owners.
    async fn put_inbox(&self, rows: &[NewInboxRow]) -> Result<()>;
    /// Inbox messages of `parts`, oldest first, at most `limit`. Reading does not remove them:
    /// the transaction that applies a message deletes it.
    async fn inbox(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>>;
    /// Deletes inbox messages (ones that needed nothing written).
    async fn delete_inbox(&self, ids: &[i64]) -> Result<()>;
}

/// Instances, the workers' shared queue and the partitions' inboxes.
pub trait WorkflowStore: InstanceStore + WorkStore + InboxStore {}

impl<S: InstanceStore + WorkStore + InboxStore + ?Sized> WorkflowStore for S {}

/// `impl InstanceStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! instance_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::workflows::InstanceStore for $store {
        async fn commit(&self, batch: &CommitBatch) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = &batch.fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            for chunk in batch.instances.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO instances (id, workflow_name, workflow_version, status, created_at, updated_at, parent_id, schedule_name, part, correlation_id, state, state_z, ended_at) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.id)
                        .push_bind(&r.workflow_name)
                        .push_bind(r.workflow_version as i64)
                        .push_bind(r.status.as_str())
                        .push_bind(r.created_at)
                        .push_bind(r.updated_at)
                        .push_bind(&r.parent_id)
                        .push_bind(&r.schedule_name)
                        .push_bind(r.part as i64)
                        .push_bind(&r.correlation_id)
                        .push_bind(&r.state)
                        .push_bind(&r.state_z)
                        .push_bind(r.ended_at);
                });
                q.push(" ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, part = excluded.part, state = excluded.state, state_z = excluded.state_z, ended_at = excluded.ended_at");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in batch.started_by_fire.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("UPDATE schedule_fires SET status = 'started' WHERE instance_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
                q.build().execute(&mut *tx).await?;
            }
            cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
            for e in &batch.status_events {
                sqlx::query(crate::status_outbox::INSERT)
                    .bind(e.part as i64)
                    .bind(&e.instance_id)
                    .bind(&e.sink)
                    .bind(&e.body)
                    .bind(e.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn instance(&self, id: &str) -> Result<Option<Instance>> {
            self.instance_json(id).await?.as_deref().map(decode).transpose()
        }

        async fn existing_instances(&self, ids: &[String]) -> Result<Vec<String>> {
            let mut found = Vec::new();
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT id FROM instances WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
                let rows: Vec<String> = q.build_query_scalar().fetch_all(&self.reader).await?;
                found.extend(rows);
            }
            Ok(found)
        }

        async fn instance_json(&self, id: &str) -> Result<Option<String>> {
            let row: Option<(String, Option<Vec<u8>>)> =
                sqlx::query_as("SELECT state, state_z FROM instances WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await?;
            row.map(|(state, z)| crate::state_codec::state_of(state, z)).transpose()
        }

        async fn unfinished_instances(&self) -> Result<Vec<Instance>> {
            let rows: Vec<String> =
                sqlx::query_scalar("SELECT state FROM instances WHERE status IN ('RUNNING', 'PAUSED') ORDER BY created_at")
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter().map(|s| decode(s)).collect()
        }

        async fn unfinished_instances_in(&self, parts: &[u32]) -> Result<Vec<Instance>> {
            self.unfinished_in_impl(parts).await
        }

        async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
            self.list_instances_impl(filter).await
        }

        async fn purge_instances(&self, filter: &InstanceFilter) -> Result<Vec<String>> {
            self.purge_instances_impl(filter).await
        }

        async fn purge_instance(&self, id: &str) -> Result<bool> {
            let done = sqlx::query("DELETE FROM instances WHERE id = $1 AND status NOT IN ('RUNNING', 'PAUSED')")
                .bind(id)
                .execute(&self.writer)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn count_instances(&self) -> Result<u64> {
            self.count_instances_impl().await
        }

        async fn purge_ended(&self, rule: &crate::PurgeRule, limit: u32) -> Result<u64> {
            self.purge_ended_impl(rule, limit).await
        }

        async fn purge_beyond_last(&self, workflow: &str, keep: u32, parts: Option<&[u32]>, limit: u32) -> Result<u64> {
            self.purge_beyond_last_impl(workflow, keep, parts, limit).await
        }
        }
    };
}

pub(crate) use instance_store;

/// `impl WorkStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! work_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::workflows::WorkStore for $store {
            async fn change_work(&self, changes: &[crate::WorkChange]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for change in changes {
                    crate::work::apply(&mut tx, change).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn take_work(
                &self,
                task_type: &str,
                count: u32,
                now: Millis,
                claimed_until: Millis,
            ) -> Result<Vec<crate::WorkOffer>> {
                self.take_work_impl(task_type, count, now, claimed_until).await
            }

            async fn work_sizes(&self) -> Result<Vec<(String, u64)>> {
                let rows = sqlx::query(
                    "SELECT task_type, COUNT(*) AS n FROM work_offers GROUP BY task_type ORDER BY task_type",
                )
                .fetch_all(&self.reader)
                .await?;
                rows.iter().map(|r| Ok((r.try_get("task_type")?, r.try_get::<i64, _>("n")? as u64))).collect()
            }
        }
    };
}

pub(crate) use work_store;

/// `impl InboxStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! inbox_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::workflows::InboxStore for $store {
            async fn put_inbox(&self, rows: &[NewInboxRow]) -> Result<()> {
                self.put_inbox_impl(rows).await
            }

            async fn inbox(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>> {
                self.inbox_impl(parts, limit).await
            }

            async fn delete_inbox(&self, ids: &[i64]) -> Result<()> {
                self.delete_inbox_impl(ids).await
            }
        }
    };
}

pub(crate) use inbox_store;

/// The `WHERE` conditions of an instance listing, for builders of `$db`, with `$like` the backend's case-insensitive match. Expanded in each backend's module.
macro_rules! instance_filter {
    ($row:ty, $db:ty, $conn:ty, $like:literal) => {
        /// The `WHERE` conditions of an instance listing (after `WHERE 1 = 1`).
        fn push_filter(q: &mut QueryBuilder<$db>, filter: &InstanceFilter) {
            if let Some(name) = &filter.workflow_name {
                q.push(" AND workflow_name = ").push_bind(name);
            }
            match filter.workflow_names.as_deref() {
                Some([]) => {
                    q.push(" AND 1 = 0");
                }
                Some(names) => {
                    q.push(" AND workflow_name IN (");
                    let mut list = q.separated(", ");
                    for name in names {
                        list.push_bind(name);
                    }
                    q.push(")");
                }
                None => {}
            }
            if !filter.statuses.is_empty() {
                q.push(" AND status IN (");
                let mut list = q.separated(", ");
                for status in &filter.statuses {
                    list.push_bind(status.as_str());
                }
                q.push(")");
            }
            if let Some(id) = &filter.id {
                q.push(" AND id = ").push_bind(id);
            }
            if let Some(correlation_id) = &filter.correlation_id {
                q.push(" AND correlation_id = ").push_bind(correlation_id);
            }
            if let Some(text) = &filter.text {
                // A compressed state is searched by the caller ([`crate::list_with_text`]).
                q.push(concat!(" AND (state ", $like, " "))
                    .push_bind(crate::like_pattern(text))
                    .push(" ESCAPE '\\' OR state_z IS NOT NULL)");
            }
            if let Some(from) = filter.created_from {
                q.push(" AND created_at >= ").push_bind(from);
            }
            if let Some(to) = filter.created_to {
                q.push(" AND created_at < ").push_bind(to);
            }
            if let Some((at, id)) = &filter.after {
                // `created_at <= at` first: a range the index on (created_at DESC, id) starts from.
                q.push(" AND created_at <= ").push_bind(*at);
                q.push(" AND (created_at < ").push_bind(*at).push(" OR (created_at = ").push_bind(*at);
                q.push(" AND id > ").push_bind(id).push("))");
            }
        }
    };
}

pub(crate) use instance_filter;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! workflows_store {
    ($store:ty, $db:ty) => {
        $crate::workflows::instance_store!($store, $db);
        $crate::workflows::work_store!($store, $db);
        $crate::workflows::inbox_store!($store, $db);
    };
}

pub(crate) use workflows_store;
