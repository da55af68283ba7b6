//! The cluster backend: PostgreSQL. Queries and migrations mirror the SQLite backend file for file
//! (`migrations/postgres/` beside `migrations/sqlite/`), and both pass the same conformance suite.
//!
//! One pool serves reads and writes: PostgreSQL has many writers, and each transaction here is
//! short.

mod cluster;
mod work;

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row};
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::Millis;

use crate::alerts::{AlertBatch, AlertRow, DeliveryUpdate, OutboxEntry, OutboxStatus, SilenceRow};
use crate::cluster::{Fence, InboxRow, LeaseRow, NewInboxRow, partition_of};
use crate::tokens::{DefinitionRow, NodeRow, TokenRow, split_grants};
use crate::{CommitBatch, FireClaim, FireStatus, InstanceFilter, InstanceSummary, Result, ScheduleCursor, StoreError};

/// Migrations, applied in order; `vigil_migrations` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_alerts.sql"),
    include_str!("../../migrations/postgres/0003_alert_acks.sql"),
    include_str!("../../migrations/postgres/0004_tokens.sql"),
    include_str!("../../migrations/postgres/0005_definitions.sql"),
    include_str!("../../migrations/postgres/0006_nodes.sql"),
    include_str!("../../migrations/postgres/0007_cluster.sql"),
    include_str!("../../migrations/postgres/0008_token_grants.sql"),
    include_str!("../../migrations/postgres/0009_monitor_results.sql"),
    include_str!("../../migrations/postgres/0010_pings.sql"),
    include_str!("../../migrations/postgres/0011_heartbeats_compact.sql"),
    include_str!("../../migrations/postgres/0012_correlation.sql"),
    include_str!("../../migrations/postgres/0013_work_offers.sql"),
    include_str!("../../migrations/postgres/0014_retention.sql"),
    include_str!("../../migrations/postgres/0015_monitor_rollups.sql"),
    include_str!("../../migrations/postgres/0016_state_z.sql"),
    include_str!("../../migrations/postgres/0017_instances_by_created.sql"),
    include_str!("../../migrations/postgres/0018_definition_principal.sql"),
    include_str!("../../migrations/postgres/0019_ui_sessions.sql"),
    include_str!("../../migrations/postgres/0020_ping_details.sql"),
];

/// The migration that added partitions; existing alert rows get theirs computed when it runs.
const CLUSTER_MIGRATION: usize = 7;

/// Rows per multi-row INSERT (PostgreSQL allows 65535 bound parameters).
const ROWS_PER_STATEMENT: usize = 500;

/// A PostgreSQL-backed [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
    /// For `LISTEN`: a pool of its own, since the listener keeps its connection for good (closing
    /// the main pool would otherwise wait for it forever).
    listen: PgPool,
    /// When [`Store::reclaim_space`] last vacuumed (it vacuums only when the server's
    /// autovacuum is off).
    vacuumed: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// Vacuums the tables whose rows vigil deletes or rewrites all day: retention, monitor history,
/// the alert outbox, schedule cursors, and the heartbeats and leases renewed every few seconds.
const VACUUM_CHURNED: &str = "VACUUM (ANALYZE) instances, schedule_fires, schedule_state, work_offers, inbox, \
    monitor_history, monitor_rollups, monitor_results, pings, heartbeats, outbox, alerts, partition_leases, nodes";
/// How often [`Store::reclaim_space`] vacuums when autovacuum is off.
const VACUUM_EVERY: Duration = Duration::from_secs(120);

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        let pool =
            PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        migrate(&pool).await?;
        let listen = PgPoolOptions::new().max_connections(1).connect_lazy_with(pool.connect_options().as_ref().clone());
        Ok(Self { writer: pool.clone(), reader: pool, listen, vacuumed: Default::default() })
    }

    /// The server's version and the values of settings `names` (for benchmark reports).
    pub async fn settings(&self, names: &[&str]) -> Result<Vec<(String, String)>> {
        let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&self.reader).await?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let rows = sqlx::query(
            "SELECT name, setting || COALESCE(' ' || unit, '') AS value FROM pg_settings WHERE name = ANY($1) ORDER BY name",
        )
        .bind(&names)
        .fetch_all(&self.reader)
        .await?;
        let mut out = vec![("server_version".to_string(), version)];
        for r in rows {
            out.push((r.try_get("name")?, r.try_get("value")?));
        }
        Ok(out)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.writer.close().await;
    }
}

async fn migrate(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    // One migrator at a time, also when several nodes start together.
    sqlx::query("SELECT pg_advisory_xact_lock(7242005)").execute(&mut *tx).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS vigil_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .execute(&mut *tx)
        .await?;
    let done: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM vigil_migrations").fetch_one(&mut *tx).await?;
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
        if n + 1 == CLUSTER_MIGRATION {
            cluster::repartition_alerts(&mut tx).await?;
        }
        sqlx::query("INSERT INTO vigil_migrations (version) VALUES ($1)").bind(n as i64 + 1).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

crate::shared_store::backend_helpers!(sqlx::postgres::PgRow, Postgres, sqlx::PgConnection, "ILIKE");
crate::monitor_results::monitor_store_methods!(PostgresStore, Postgres, " FOR UPDATE");
crate::retention::retention_store_methods!(PostgresStore, Postgres);
crate::listing::listing_store_methods!(PostgresStore, Postgres);

crate::shared_store::store_impl!(PostgresStore, {
    async fn close(&self) {
        PostgresStore::close(self).await;
    }

    async fn commit(&self, batch: &CommitBatch) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        if let Some(fence) = &batch.fence {
            cluster::check_fence(&mut tx, fence).await?;
        }
        for chunk in batch.instances.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
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
            let mut q: QueryBuilder<Postgres> =
                QueryBuilder::new("UPDATE schedule_fires SET status = 'started' WHERE instance_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn size_bytes(&self) -> Result<Option<u64>> {
        let bytes: i64 =
            sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&self.reader).await?;
        Ok(Some(bytes as u64))
    }

    async fn put_definitions(&self, defs: &[DefinitionRow]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for def in defs {
            sqlx::query(
                "INSERT INTO definitions (kind, name, version, body, updated_at, defined_by) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (kind, name, version) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, \
                 defined_by = excluded.defined_by",
            )
            .bind(&def.kind)
            .bind(&def.name)
            .bind(def.version as i64)
            .bind(&def.body)
            .bind(def.updated_at)
            .bind(&def.defined_by)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn node_heartbeat(&self, node: &NodeRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (id, host, version, started_at, heartbeat_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, started_at = excluded.started_at, \
             heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at",
        )
        .bind(&node.id)
        .bind(&node.host)
        .bind(&node.version)
        .bind(node.started_at)
        .bind(node.heartbeat_at)
        .bind(node.stopped_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn claim_fires(
        &self,
        claims: &[FireClaim],
        cursors: &[ScheduleCursor],
        fence: Option<&Fence>,
    ) -> Result<Vec<bool>> {
        let mut tx = self.writer.begin().await?;
        if let Some(fence) = fence {
            cluster::check_fence(&mut tx, fence).await?;
        }
        let mut claimed = Vec::with_capacity(claims.len());
        for chunk in claims.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO schedule_fires (schedule_name, scheduled_at, instance_id, executed_at, status) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(&c.schedule)
                    .push_bind(c.scheduled_at)
                    .push_bind(&c.instance_id)
                    .push_bind(c.executed_at)
                    .push_bind(c.status.as_str());
            });
            q.push(" ON CONFLICT DO NOTHING");
            let inserted = q.build().execute(&mut *tx).await?.rows_affected() as usize;
            if inserted == chunk.len() {
                claimed.extend(std::iter::repeat_n(true, chunk.len()));
                continue;
            }
            // Some fire times were already claimed (by an earlier run or another node): find ours.
            let mut q: QueryBuilder<Postgres> =
                QueryBuilder::new("SELECT instance_id FROM schedule_fires WHERE instance_id IN (");
            let mut list = q.separated(", ");
            for c in chunk {
                list.push_bind(&c.instance_id);
            }
            q.push(")");
            let ours: std::collections::HashSet<String> = q
                .build()
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("instance_id"))
                .collect::<std::result::Result<_, _>>()?;
            claimed.extend(chunk.iter().map(|c| ours.contains(&c.instance_id)));
        }
        for chunk in cursors.chunks(ROWS_PER_STATEMENT) {
            let now = claims.first().map(|c| c.executed_at).unwrap_or_default();
            let mut q: QueryBuilder<Postgres> =
                QueryBuilder::new("INSERT INTO schedule_state (name, next_fire_at, updated_at) ");
            q.push_values(chunk, |mut b, c| {
                b.push_bind(&c.schedule).push_bind(c.next_fire_at).push_bind(now);
            });
            q.push(" ON CONFLICT (name) DO UPDATE SET next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn commit_alerts(&self, batch: &AlertBatch) -> Result<Vec<i64>> {
        let mut tx = self.writer.begin().await?;
        if let Some(fence) = &batch.fence {
            cluster::check_fence(&mut tx, fence).await?;
        }
        for chunk in batch.alerts.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO alerts (dedup_key, name, condition, firing_since, last_notified, acknowledged, next_wake, updated_at, part, state) ",
            );
            q.push_values(chunk, |mut b, a| {
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
            q.build().execute(&mut *tx).await?;
        }
        let mut ids = Vec::with_capacity(batch.outbox.len());
        for chunk in batch.outbox.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO outbox (dedup_key, notifier, notice, message, status, attempts, next_attempt_at, created_at, part) ",
            );
            q.push_values(chunk, |mut b, e| {
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
            q.push(" RETURNING id");
            // One statement takes its identity values in row order; sorted, they map back to it.
            let mut got: Vec<i64> = q
                .build()
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<std::result::Result<_, _>>()?;
            got.sort_unstable();
            ids.extend(got);
        }
        apply_deliveries(&mut tx, &batch.deliveries).await?;
        cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
        cluster::insert_inbox(&mut tx, &batch.inbox_out).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn put_silence(&self, silence: &SilenceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO silences (id, matchers, ends_at, created_at, comment) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, ends_at = excluded.ends_at, comment = excluded.comment",
        )
        .bind(&silence.id)
        .bind(&silence.matchers)
        .bind(silence.ends_at)
        .bind(silence.created_at)
        .bind(&silence.comment)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn clear_ack_requests(&self, keys: &[String]) -> Result<()> {
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Postgres> =
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

    async fn reclaim_space(&self) -> Result<()> {
        {
            let mut last = self.vacuumed.lock().expect("lock");
            if last.is_some_and(|t| t.elapsed() < VACUUM_EVERY) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        let autovacuum: String = sqlx::query_scalar("SHOW autovacuum").fetch_one(&self.reader).await?;
        if autovacuum == "on" {
            return Ok(());
        }
        // Without autovacuum, deleted rows' space is never reused and the tables grow without
        // bound; a plain VACUUM (no lock against reads or writes) makes it reusable.
        sqlx::query(VACUUM_CHURNED).execute(&self.writer).await?;
        Ok(())
    }

    async fn notify(&self, notice: &crate::Notice) -> Result<()> {
        self.notify_impl(notice).await
    }

    async fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::Notice>> {
        self.subscribe_impl().await
    }
});
