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
}

/// Operators' acknowledgement requests, for the alert manager to apply.
#[async_trait]
pub trait AckStore: Send + Sync {
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
pub trait AlertingStore: AlertStore + AckStore + OutboxStore + SilenceStore {}

impl<S: AlertStore + AckStore + OutboxStore + SilenceStore + ?Sized> AlertingStore for S {}

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
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "SELECT m.id, m.group_key, m.member_key, m.alert FROM alert_group_members m \
                     JOIN alert_groups g ON g.group_key = m.group_key WHERE g.part IN (",
                );
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
                rows.iter()
                    .map(|r| Ok((r.try_get("group_key")?, r.try_get("member_key")?, r.try_get("alert")?)))
                    .collect()
            }

            async fn alert_group(&self, group_key: &str) -> Result<Option<crate::GroupRow>> {
                let row = sqlx::query("SELECT * FROM alert_groups WHERE group_key = $1")
                    .bind(group_key)
                    .fetch_optional(&self.reader)
                    .await?;
                row.as_ref().map(group_of).transpose()
            }

            async fn purge_resolved_alerts(
                &self,
                before: Millis,
                parts: Option<&[u32]>,
                limit: u32,
            ) -> Result<Vec<String>> {
                self.purge_resolved_alerts_impl(before, parts, limit).await
            }
        }
    };
}

pub(crate) use alert_store;

/// `impl AckStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! ack_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::alerting::AckStore for $store {
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

pub(crate) use ack_store;

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

/// Decoders of the alerting tables' rows and builders of their multi-row inserts, for backend rows `$row` and builders of `$db`. Expanded in each backend's module.
macro_rules! alert_rows {
    ($row:ty, $db:ty, $conn:ty, $like:literal) => {
    fn alert_of(r: &$row) -> Result<AlertRow> {
        Ok(AlertRow {
            dedup_key: r.try_get("dedup_key")?,
            name: r.try_get("name")?,
            condition: r.try_get("condition")?,
            firing_since: r.try_get("firing_since")?,
            last_notified: r.try_get("last_notified")?,
            acknowledged: r.try_get::<i64, _>("acknowledged")? != 0,
            next_wake: r.try_get("next_wake")?,
            updated_at: r.try_get("updated_at")?,
            state: r.try_get("state")?,
        })
    }

    fn outbox_of(r: &$row) -> Result<OutboxEntry> {
        Ok(OutboxEntry {
            id: r.try_get("id")?,
            dedup_key: r.try_get("dedup_key")?,
            notifier: r.try_get("notifier")?,
            notice: r.try_get("notice")?,
            message: r.try_get("message")?,
            status: OutboxStatus::parse(&r.try_get::<String, _>("status")?),
            attempts: r.try_get::<i64, _>("attempts")? as u32,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            finished_at: r.try_get("finished_at")?,
        })
    }

    /// A group's row, without its members.
    fn group_of(r: &$row) -> Result<crate::GroupRow> {
        Ok(crate::GroupRow {
            group_key: r.try_get("group_key")?,
            next_wake: r.try_get("next_wake")?,
            updated_at: r.try_get("updated_at")?,
            state: r.try_get("state")?,
            members: Vec::new(),
        })
    }

    fn silence_of(r: &$row) -> Result<SilenceRow> {
        Ok(SilenceRow {
            id: r.try_get("id")?,
            matchers: r.try_get("matchers")?,
            ends_at: r.try_get("ends_at")?,
            created_at: r.try_get("created_at")?,
            comment: r.try_get("comment")?,
            created_by: r.try_get("created_by")?,
            starts_at: r.try_get("starts_at")?,
            until_resolved: r.try_get::<i64, _>("until_resolved")? != 0,
        })
    }

    /// Inserts or replaces alert rows.
    fn push_alert_rows(q: &mut QueryBuilder<$db>, rows: &[AlertRow]) {
        q.push("INSERT INTO alerts (dedup_key, name, condition, firing_since, last_notified, acknowledged, next_wake, updated_at, part, state) ");
        q.push_values(rows, |mut b, a| {
            b.push_bind(&a.dedup_key)
                .push_bind(&a.name)
                .push_bind(&a.condition)
                .push_bind(a.firing_since)
                .push_bind(a.last_notified)
                .push_bind(a.acknowledged as i64)
                .push_bind(a.next_wake)
                .push_bind(a.updated_at)
                .push_bind(partition_of(&a.dedup_key) as i64)
                .push_bind(&a.state);
        });
        q.push(
            " ON CONFLICT (dedup_key) DO UPDATE SET name = excluded.name, condition = excluded.condition, \
             firing_since = excluded.firing_since, last_notified = excluded.last_notified, acknowledged = excluded.acknowledged, \
             next_wake = excluded.next_wake, updated_at = excluded.updated_at, state = excluded.state",
        );
    }

    /// Adds outbox entries, pending.
    fn push_outbox_rows(q: &mut QueryBuilder<$db>, entries: &[crate::NewOutboxEntry]) {
        q.push("INSERT INTO outbox (dedup_key, notifier, notice, message, status, attempts, next_attempt_at, created_at, part) ");
        q.push_values(entries, |mut b, e| {
            b.push_bind(&e.dedup_key)
                .push_bind(&e.notifier)
                .push_bind(&e.notice)
                .push_bind(&e.message)
                .push_bind("pending")
                .push_bind(0i64)
                .push_bind(e.created_at)
                .push_bind(e.created_at)
                .push_bind(partition_of(&e.dedup_key) as i64);
        });
    }

    /// Inserts or replaces notification groups' headers.
    fn push_group_rows(q: &mut QueryBuilder<$db>, groups: &[crate::GroupRow]) {
        q.push("INSERT INTO alert_groups (group_key, part, next_wake, updated_at, state) ");
        q.push_values(groups, |mut b, g| {
            b.push_bind(&g.group_key)
                .push_bind(partition_of(&g.group_key) as i64)
                .push_bind(g.next_wake)
                .push_bind(g.updated_at)
                .push_bind(&g.state);
        });
        q.push(
            " ON CONFLICT (group_key) DO UPDATE SET next_wake = excluded.next_wake, updated_at = excluded.updated_at, \
             state = excluded.state",
        );
    }

    /// Inserts or replaces groups' alerts, by id.
    fn push_members(q: &mut QueryBuilder<$db>, members: &[crate::MemberRow]) {
        q.push("INSERT INTO alert_group_members (id, group_key, member_key, alert) ");
        q.push_values(members, |mut b, m| {
            b.push_bind(m.id).push_bind(&m.group_key).push_bind(&m.member_key).push_bind(&m.alert);
        });
        q.push(" ON CONFLICT (id) DO UPDATE SET alert = excluded.alert");
    }
    };
}

pub(crate) use alert_rows;

/// The statements of an alert batch and of delivery updates, in the order they run, for builders of `$db` on connections `$conn`. Expanded in each backend's module.
macro_rules! alert_statements {
    ($row:ty, $db:ty, $conn:ty, $like:literal) => {
    /// Every statement of an alert batch but its outbox entries and inbox messages, in the
    /// order they run: `each` is given one statement at a time, to push into a builder.
    fn for_each_alert_statement(batch: &AlertBatch, each: &mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>))) {
        for chunk in batch.alerts.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_alert_rows(q, chunk));
        }
        for chunk in batch.groups.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_group_rows(q, chunk));
        }
        for chunk in batch.group_members.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_members(q, chunk));
        }
        for chunk in batch.group_members_gone.chunks(ROWS_PER_STATEMENT) {
            each(&|q| {
                q.push("DELETE FROM alert_group_members WHERE id IN (");
                let mut list = q.separated(", ");
                for (_, id) in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
            });
        }
        for chunk in batch.groups_gone.chunks(ROWS_PER_STATEMENT) {
            each(&|q| {
                q.push("DELETE FROM alert_groups WHERE group_key IN (");
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(key);
                }
                q.push(")");
            });
        }
        for_each_delivery_statement(&batch.deliveries, each);
    }

    /// Send results: deliveries, the common case, in one statement per delivery time; retries
    /// and failures one each.
    fn for_each_delivery_statement(
        updates: &[(i64, DeliveryUpdate)],
        each: &mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>)),
    ) {
        let mut delivered: std::collections::BTreeMap<Millis, Vec<i64>> = Default::default();
        for (id, update) in updates {
            if let DeliveryUpdate::Delivered { at } = update {
                delivered.entry(*at).or_default().push(*id);
            }
        }
        for (at, ids) in &delivered {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                each(&|q| {
                    q.push("UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL, finished_at = ");
                    q.push_bind(*at).push(" WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                });
            }
        }
        for (id, update) in updates {
            match update {
                DeliveryUpdate::Delivered { .. } => {}
                DeliveryUpdate::Retry { next_attempt_at, error } => each(&|q| {
                    q.push("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ").push_bind(*next_attempt_at);
                    q.push(", last_error = ").push_bind(error.as_str()).push(" WHERE id = ").push_bind(*id);
                }),
                DeliveryUpdate::Failed { at, error } => each(&|q| {
                    q.push("UPDATE outbox SET status = 'failed', attempts = attempts + 1, finished_at = ").push_bind(*at);
                    q.push(", last_error = ").push_bind(error.as_str()).push(" WHERE id = ").push_bind(*id);
                }),
            }
        }
    }

    async fn apply_deliveries(tx: &mut $conn, updates: &[(i64, DeliveryUpdate)]) -> Result<()> {
        run_each(tx, |each| for_each_delivery_statement(updates, each)).await
    }

    /// Runs each statement a `for_each_*` gives, one after the other, on `tx`.
    async fn run_each(
        tx: &mut $conn,
        for_each: impl FnOnce(&mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>))),
    ) -> Result<()> {
        let mut statements: Vec<QueryBuilder<$db>> = Vec::new();
        for_each(&mut |push| {
            let mut q = QueryBuilder::new("");
            push(&mut q);
            statements.push(q);
        });
        for mut q in statements {
            q.build().execute(&mut *tx).await?;
        }
        Ok(())
    }
    };
}

pub(crate) use alert_statements;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! alerting_store {
    ($store:ty, $db:ty) => {
        $crate::alerting::alert_store!($store, $db);
        $crate::alerting::ack_store!($store, $db);
        $crate::alerting::outbox_store!($store, $db);
        $crate::alerting::silence_store!($store, $db);
    };
}

pub(crate) use alerting_store;
