//! Alerts, the outbox of their notifications, notification groups, silences and acknowledgements.
//! [`AlertingStore`] sums the traits below; a backend gets them all from one [`alerting_store!`]
//! line, whose SQL is the same on SQLite and PostgreSQL: each trait's methods are written once, in
//! the macro named after it, and expanded in each backend's module, where its row helpers are.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::{AlertBatch, AlertRow, DeliveryUpdate, GroupRow, OutboxEntry, OutboxStatus, SilenceRow};

/// Alert states, their notification groups and acknowledgement requests.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Writes alert states and the outbox entries they caused in one transaction; returns the new
    /// entries' ids, in order.
    async fn commit_alerts(&self, batch: &AlertBatch) -> Result<Vec<i64>>;
    /// One alert.
    async fn alert(&self, dedup_key: &str) -> Result<Option<AlertRow>>;
    /// Alerts, most recently changed first; only `pending` and `firing` ones when `active_only`.
    async fn alerts(&self, active_only: bool, limit: u32) -> Result<Vec<AlertRow>>;
    /// Resolved alerts (`ok`), most recently resolved first, at most `limit`: read through the
    /// index that holds resolved alerts only, so it costs `limit` rows however many are kept.
    async fn resolved_alerts(&self, limit: u32) -> Result<Vec<AlertRow>>;
    /// The alerts whose dedup keys belong to `parts`.
    async fn alerts_in(&self, parts: &[u32]) -> Result<Vec<AlertRow>>;
    /// Which of `names` have an alert firing (monitors whose dependents are held).
    async fn firing_names(&self, names: &[String]) -> Result<Vec<String>>;
    /// The notification groups whose keys belong to `parts`.
    async fn groups_in(&self, parts: &[u32]) -> Result<Vec<GroupRow>>;
    /// Up to `limit` of the notification groups' alerts, as (group key, member key, alert JSON):
    /// routed pushed alerts are stored only there. An alert in several groups comes once per group.
    async fn group_member_alerts(&self, limit: u32) -> Result<Vec<(String, String, String)>>;
    /// One notification group's row (without its members).
    async fn alert_group(&self, group_key: &str) -> Result<Option<GroupRow>>;
    /// Deletes up to `limit` resolved alerts (condition `ok`, nothing due) last changed before
    /// `before`, in `parts`, with their delivered notices; returns their dedup keys.
    async fn purge_resolved_alerts(&self, before: Millis, parts: Option<&[u32]>, limit: u32) -> Result<Vec<String>>;
    /// Records an operator's acknowledgement of a key, for the alert manager to apply.
    async fn request_ack(&self, dedup_key: &str, at: Millis) -> Result<()>;
    /// Pending acknowledgement requests, oldest first.
    async fn ack_requests(&self) -> Result<Vec<String>>;
    /// Removes acknowledgement requests once they are applied and committed.
    async fn clear_ack_requests(&self, keys: &[String]) -> Result<()>;
}

/// The outbox: notifications to deliver, and what became of them.
#[async_trait]
pub trait OutboxStore: Send + Sync {
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
    /// Deletes delivered and failed outbox rows that finished before `before`; returns how many.
    async fn prune_outbox(&self, before: Millis) -> Result<u64>;
    /// Outbox entries still to deliver whose keys belong to `parts`, in id order.
    async fn pending_outbox_in(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>>;
}

/// Silences.
#[async_trait]
pub trait SilenceStore: Send + Sync {
    /// Adds or replaces a silence.
    async fn put_silence(&self, silence: &SilenceRow) -> Result<()>;
    /// All silences, including expired ones, newest first.
    async fn silences(&self) -> Result<Vec<SilenceRow>>;
    /// Deletes a silence; false when it did not exist.
    async fn delete_silence(&self, id: &str) -> Result<bool>;
}

/// Alerts, the outbox of their notifications, notification groups, silences and acknowledgements.
pub trait AlertingStore: AlertStore + OutboxStore + SilenceStore {}

impl<S: AlertStore + OutboxStore + SilenceStore + ?Sized> AlertingStore for S {}

/// `impl AlertStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! alert_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::alerting::AlertStore for $store {
        async fn commit_alerts(&self, batch: &AlertBatch) -> Result<Vec<i64>> {
            // The usual batches go to the database in one piece where the backend can send them
            // so (`commit_alerts_at_once`): one hand-off instead of one per statement.
            if let Some(ids) = self.commit_alerts_at_once(batch).await? {
                return Ok(ids);
            }
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = &batch.fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            run_each(&mut tx, |each| for_each_alert_statement(batch, each)).await?;
            let mut ids = Vec::with_capacity(batch.outbox.len());
            for chunk in batch.outbox.chunks(ROWS_PER_STATEMENT) {
                let mut q = QueryBuilder::new("");
                push_outbox_rows(&mut q, chunk);
                ids.extend(Self::insert_outbox(q, &mut tx, chunk.len()).await?);
            }
            cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
            cluster::insert_inbox(&mut tx, &batch.inbox_out).await?;
            tx.commit().await?;
            Ok(ids)
        }

        async fn alert(&self, dedup_key: &str) -> Result<Option<AlertRow>> {
            let row = sqlx::query("SELECT * FROM alerts WHERE dedup_key = $1")
                .bind(dedup_key)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(alert_of).transpose()
        }

        async fn alerts(&self, active_only: bool, limit: u32) -> Result<Vec<AlertRow>> {
            let sql = if active_only {
                "SELECT * FROM alerts WHERE condition IN ('pending', 'firing') ORDER BY updated_at DESC LIMIT $1"
            } else {
                "SELECT * FROM alerts ORDER BY updated_at DESC LIMIT $1"
            };
            let rows = sqlx::query(sql).bind(limit as i64).fetch_all(&self.reader).await?;
            rows.iter().map(alert_of).collect()
        }

        async fn resolved_alerts(&self, limit: u32) -> Result<Vec<AlertRow>> {
            let sql = "SELECT * FROM alerts WHERE condition = 'ok' ORDER BY updated_at DESC LIMIT $1";
            let rows = sqlx::query(sql).bind(limit as i64).fetch_all(&self.reader).await?;
            rows.iter().map(alert_of).collect()
        }

        async fn alerts_in(&self, parts: &[u32]) -> Result<Vec<AlertRow>> {
            self.alerts_in_impl(parts).await
        }

        async fn firing_names(&self, names: &[String]) -> Result<Vec<String>> {
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let mut q: QueryBuilder<$db> =
                QueryBuilder::new("SELECT DISTINCT name FROM alerts WHERE condition = 'firing' AND name IN (");
            let mut list = q.separated(", ");
            for n in names {
                list.push_bind(n);
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.reader).await?;
            rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
        }

        async fn groups_in(&self, parts: &[u32]) -> Result<Vec<crate::GroupRow>> {
            if parts.is_empty() {
                return Ok(Vec::new());
            }
            let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM alert_groups WHERE part IN (");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.reader).await?;
            let mut groups: Vec<crate::GroupRow> = rows.iter().map(group_of).collect::<Result<_>>()?;
            let mut q: QueryBuilder<$db> =
                QueryBuilder::new("SELECT m.id, m.group_key, m.member_key, m.alert FROM alert_group_members m \
                     JOIN alert_groups g ON g.group_key = m.group_key WHERE g.part IN (");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(")");
            let mut members: std::collections::HashMap<String, Vec<crate::MemberRow>> = Default::default();
            for r in q.build().fetch_all(&self.reader).await? {
                let m = crate::MemberRow {
                    id: r.try_get("id")?,
                    group_key: r.try_get("group_key")?,
                    member_key: r.try_get("member_key")?,
                    alert: r.try_get("alert")?,
                };
                members.entry(m.group_key.clone()).or_default().push(m);
            }
            for g in &mut groups {
                g.members = members.remove(&g.group_key).unwrap_or_default();
            }
            Ok(groups)
        }

        async fn group_member_alerts(&self, limit: u32) -> Result<Vec<(String, String, String)>> {
            let rows = sqlx::query("SELECT group_key, member_key, alert FROM alert_group_members LIMIT $1")
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(|r| Ok((r.try_get("group_key")?, r.try_get("member_key")?, r.try_get("alert")?))).collect()
        }

        async fn alert_group(&self, group_key: &str) -> Result<Option<crate::GroupRow>> {
            let row = sqlx::query("SELECT * FROM alert_groups WHERE group_key = $1")
                .bind(group_key)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(group_of).transpose()
        }

        async fn purge_resolved_alerts(&self, before: Millis, parts: Option<&[u32]>, limit: u32) -> Result<Vec<String>> {
            self.purge_resolved_alerts_impl(before, parts, limit).await
        }

        async fn request_ack(&self, dedup_key: &str, at: Millis) -> Result<()> {
            sqlx::query(
                "INSERT INTO alert_ack_requests (dedup_key, requested_at) VALUES ($1, $2) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(dedup_key)
            .bind(at)
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn ack_requests(&self) -> Result<Vec<String>> {
            Ok(sqlx::query_scalar("SELECT dedup_key FROM alert_ack_requests ORDER BY requested_at")
                .fetch_all(&self.reader)
                .await?)
        }

        async fn clear_ack_requests(&self, keys: &[String]) -> Result<()> {
            for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("DELETE FROM alert_ack_requests WHERE dedup_key IN (");
                let mut list = q.separated(", ");
                for k in chunk {
                    list.push_bind(k);
                }
                q.push(")");
                q.build().execute(&self.writer).await?;
            }
            Ok(())
        }
        }
    };
}

pub(crate) use alert_store;

/// `impl OutboxStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! outbox_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::alerting::OutboxStore for $store {
            async fn pending_outbox(&self) -> Result<Vec<OutboxEntry>> {
                let rows = sqlx::query("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id")
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(outbox_of).collect()
            }

            async fn outbox(&self, status: OutboxStatus, limit: u32) -> Result<Vec<OutboxEntry>> {
                let rows = sqlx::query("SELECT * FROM outbox WHERE status = $1 ORDER BY id DESC LIMIT $2")
                    .bind(status.as_str())
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(outbox_of).collect()
            }

            async fn alert_outbox(&self, dedup_key: &str, limit: u32) -> Result<Vec<OutboxEntry>> {
                // Through the index on (dedup_key, notifier, id).
                let rows = sqlx::query("SELECT * FROM outbox WHERE dedup_key = $1 ORDER BY id DESC LIMIT $2")
                    .bind(dedup_key)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(outbox_of).collect()
            }

            async fn record_deliveries(&self, updates: &[(i64, DeliveryUpdate)]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                apply_deliveries(&mut tx, updates).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn prune_outbox(&self, before: Millis) -> Result<u64> {
                let done =
                    sqlx::query("DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND finished_at < $1")
                        .bind(before)
                        .execute(&self.writer)
                        .await?;
                Ok(done.rows_affected())
            }

            async fn pending_outbox_in(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>> {
                self.pending_outbox_in_impl(parts).await
            }
        }
    };
}

pub(crate) use outbox_store;

/// `impl SilenceStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! silence_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::alerting::SilenceStore for $store {
        async fn put_silence(&self, silence: &SilenceRow) -> Result<()> {
            sqlx::query(
                "INSERT INTO silences (id, matchers, ends_at, created_at, comment, created_by, starts_at, until_resolved) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, ends_at = excluded.ends_at, comment = excluded.comment, \
                 created_by = excluded.created_by, starts_at = excluded.starts_at, until_resolved = excluded.until_resolved",
            )
            .bind(&silence.id)
            .bind(&silence.matchers)
            .bind(silence.ends_at)
            .bind(silence.created_at)
            .bind(&silence.comment)
            .bind(&silence.created_by)
            .bind(silence.starts_at)
            .bind(i64::from(silence.until_resolved))
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn silences(&self) -> Result<Vec<SilenceRow>> {
            let rows = sqlx::query("SELECT * FROM silences ORDER BY created_at DESC, id").fetch_all(&self.reader).await?;
            rows.iter().map(silence_of).collect()
        }

        async fn delete_silence(&self, id: &str) -> Result<bool> {
            let done = sqlx::query("DELETE FROM silences WHERE id = $1").bind(id).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }
        }
    };
}

pub(crate) use silence_store;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! alerting_store {
    ($store:ty, $db:ty) => {
        $crate::alerting::alert_store!($store, $db);
        $crate::alerting::outbox_store!($store, $db);
        $crate::alerting::silence_store!($store, $db);
    };
}

pub(crate) use alerting_store;
