//! Retention: what the background purge deletes, in small chunks, on both backends.
//!
//! Every statement deletes at most `limit` rows, so one never holds SQLite's single writer (or a
//! PostgreSQL lock) for long; the caller loops, yielding between chunks. In a cluster each node
//! passes the partitions it owns, so it deletes only its own rows. Both backends run the same SQL
//! (numbered placeholders and window functions work in SQLite and PostgreSQL), written once in
//! [`retention_store_methods`].

use vigil_core::instance::WorkflowStatus;
use vigil_core::time::Millis;

/// Which workflows a [`PurgeRule`] covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workflows {
    /// These names only.
    Only(Vec<String>),
    /// Every name but these (the ones with an override of their own).
    AllBut(Vec<String>),
}

/// Ended instances to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRule {
    /// The workflows covered.
    pub workflows: Workflows,
    /// The ended statuses covered.
    pub statuses: Vec<WorkflowStatus>,
    /// Instances that ended before this time.
    pub ended_before: Millis,
    /// Only in these partitions (a cluster node's own); all when `None`.
    pub parts: Option<Vec<u32>>,
}

/// Ended instances only, exactly as the partial index `instances_ended` states it (so both
/// planners use the index).
pub(crate) const ENDED: &str = "ended_at IS NOT NULL";

/// The retention queries of both backends, written once: expands to an inherent `impl $store`
/// with `<method>_impl` functions that the backends' `Store` impls call.
macro_rules! retention_store_methods {
    ($store:ty, $db:ty) => {
        impl $store {
            pub(crate) async fn purge_ended_impl(&self, rule: &crate::retention::PurgeRule, limit: u32) -> Result<u64> {
                use crate::retention::{ENDED, Workflows};
                if rule.statuses.is_empty() || matches!(&rule.workflows, Workflows::Only(names) if names.is_empty()) {
                    return Ok(0);
                }
                let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "DELETE FROM instances WHERE id IN (SELECT id FROM instances WHERE ",
                );
                q.push(ENDED).push(" AND ended_at < ").push_bind(rule.ended_before).push(" AND status IN (");
                let mut list = q.separated(", ");
                for status in &rule.statuses {
                    list.push_bind(status.as_str());
                }
                q.push(")");
                let (names, negate) = match &rule.workflows {
                    Workflows::Only(names) => (names, false),
                    Workflows::AllBut(names) => (names, true),
                };
                if !names.is_empty() {
                    q.push(if negate { " AND workflow_name NOT IN (" } else { " AND workflow_name IN (" });
                    let mut list = q.separated(", ");
                    for name in names {
                        list.push_bind(name);
                    }
                    q.push(")");
                }
                crate::retention::push_parts(&mut q, rule.parts.as_deref());
                q.push(" LIMIT ").push_bind(limit.max(1) as i64).push(")");
                Ok(q.build().execute(&self.writer).await?.rows_affected())
            }

            pub(crate) async fn purge_beyond_last_impl(
                &self,
                workflow: &str,
                keep: u32,
                parts: Option<&[u32]>,
                limit: u32,
            ) -> Result<u64> {
                // Ranked over every partition (a schedule's instances spread over them), deleted in
                // the caller's own.
                let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "DELETE FROM instances WHERE id IN (SELECT id FROM (SELECT id, part, ROW_NUMBER() OVER \
                     (PARTITION BY schedule_name ORDER BY created_at DESC, id DESC) AS n FROM instances WHERE ",
                );
                q.push(crate::retention::ENDED)
                    .push(" AND schedule_name IS NOT NULL AND workflow_name = ")
                    .push_bind(workflow)
                    .push(") ranked WHERE n > ")
                    .push_bind(keep as i64);
                crate::retention::push_parts(&mut q, parts);
                q.push(" LIMIT ").push_bind(limit.max(1) as i64).push(")");
                Ok(q.build().execute(&self.writer).await?.rows_affected())
            }

            pub(crate) async fn purge_resolved_alerts_impl(
                &self,
                before: Millis,
                parts: Option<&[u32]>,
                limit: u32,
            ) -> Result<Vec<String>> {
                let mut tx = self.writer.begin().await?;
                let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "DELETE FROM alerts WHERE dedup_key IN (SELECT dedup_key FROM alerts WHERE condition = 'ok' \
                     AND updated_at < ",
                );
                q.push_bind(before).push(" AND next_wake IS NULL");
                crate::retention::push_parts(&mut q, parts);
                q.push(" LIMIT ").push_bind(limit.max(1) as i64).push(") RETURNING dedup_key");
                let keys: Vec<String> = {
                    use sqlx::Row;
                    let rows = q.build().fetch_all(&mut *tx).await?;
                    rows.iter().map(|r| r.try_get("dedup_key")).collect::<std::result::Result<_, _>>()?
                };
                if !keys.is_empty() {
                    // Their delivered notices go with them (pending ones are never deleted).
                    let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                        "DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND dedup_key IN (",
                    );
                    let mut list = q.separated(", ");
                    for key in &keys {
                        list.push_bind(key);
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(keys)
            }

            pub(crate) async fn prune_fires_impl(&self, before: Millis, limit: u32) -> Result<u64> {
                let done = sqlx::query(
                    "DELETE FROM schedule_fires WHERE (schedule_name, scheduled_at) IN (SELECT schedule_name, \
                     scheduled_at FROM schedule_fires WHERE executed_at < $1 AND status <> 'claimed' LIMIT $2)",
                )
                .bind(before)
                .bind(limit.max(1) as i64)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use retention_store_methods;

/// Adds ` AND part IN (...)` when `parts` is given (an empty list matches nothing).
pub(crate) fn push_parts<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, parts: Option<&[u32]>)
where
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let Some(parts) = parts else { return };
    if parts.is_empty() {
        q.push(" AND 1 = 0");
        return;
    }
    q.push(" AND part IN (");
    let mut list = q.separated(", ");
    for part in parts {
        list.push_bind(*part as i64);
    }
    q.push(")");
}
