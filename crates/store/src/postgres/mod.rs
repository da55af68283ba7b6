//! The cluster backend: PostgreSQL. Queries and migrations mirror the SQLite backend file for file
//! (`migrations/postgres/` beside `migrations/sqlite/`), and both pass the same conformance suite.
//!
//! One pool serves reads and writes: PostgreSQL has many writers, and each transaction here is
//! short.

mod alert_commit;
mod cluster;
pub mod scratch;
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
    include_str!("../../migrations/postgres/0021_event_parked.sql"),
    include_str!("../../migrations/postgres/0022_status_outbox.sql"),
    include_str!("../../migrations/postgres/0023_ping_message.sql"),
    include_str!("../../migrations/postgres/0024_silence_created_by.sql"),
    include_str!("../../migrations/postgres/0025_alert_groups.sql"),
    include_str!("../../migrations/postgres/0026_alert_group_members.sql"),
    include_str!("../../migrations/postgres/0027_silence_until_resolved.sql"),
    include_str!("../../migrations/postgres/0028_group_members_by_group.sql"),
    include_str!("../../migrations/postgres/0029_group_members_by_id.sql"),
    include_str!("../../migrations/postgres/0030_check_evidence.sql"),
    include_str!("../../migrations/postgres/0031_incidents.sql"),
    include_str!("../../migrations/postgres/0032_status_subscribers.sql"),
    include_str!("../../migrations/postgres/0033_monitor_live.sql"),
    include_str!("../../migrations/postgres/0034_status_maintenance.sql"),
    include_str!("../../migrations/postgres/0035_users.sql"),
    include_str!("../../migrations/postgres/0036_single_sign_on.sql"),
    include_str!("../../migrations/postgres/0037_audit_log.sql"),
    include_str!("../../migrations/postgres/0038_subscriber_addresses.sql"),
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
/// A pooled connection idle longer than this is pinged before it is used again.
const PING_WHEN_IDLE: Duration = Duration::from_secs(5);

/// How often [`Store::reclaim_space`] vacuums when autovacuum is off.
const VACUUM_EVERY: Duration = Duration::from_secs(120);

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        // A connection in steady use is not pinged before each use (a round trip to the server
        // per store call); one idle for a while is, in case the server dropped it meanwhile.
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
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

    /// PostgreSQL takes a batch of group members alone in one statement (`alert_commit`), any
    /// other in a transaction.
    async fn commit_alerts_at_once(&self, batch: &AlertBatch) -> Result<Option<Vec<i64>>> {
        self.commit_members_at_once(batch).await
    }

    /// Runs a built multi-row `INSERT INTO outbox` of `rows` rows; the new rows' ids, in order.
    async fn insert_outbox(
        mut q: QueryBuilder<Postgres>,
        tx: &mut sqlx::PgConnection,
        rows: usize,
    ) -> Result<Vec<i64>> {
        q.push(" RETURNING id");
        // One statement takes its identity values in row order; sorted, they map back to it.
        let mut got: Vec<i64> = Vec::with_capacity(rows);
        for r in q.build().fetch_all(&mut *tx).await? {
            got.push(r.try_get("id")?);
        }
        got.sort_unstable();
        Ok(got)
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
crate::alerting::alert_rows!(sqlx::postgres::PgRow, Postgres, sqlx::PgConnection, "ILIKE");
crate::alerting::alert_statements!(sqlx::postgres::PgRow, Postgres, sqlx::PgConnection, "ILIKE");
crate::workflows::instance_filter!(sqlx::postgres::PgRow, Postgres, sqlx::PgConnection, "ILIKE");
crate::accounts::account_rows!(sqlx::postgres::PgRow, Postgres, sqlx::PgConnection, "ILIKE");
crate::accounts::accounts_store!(PostgresStore, Postgres);
crate::alerting::alerting_store!(PostgresStore, Postgres);
crate::monitors::monitors_store!(PostgresStore, Postgres);
crate::schedules::schedules_store!(PostgresStore, Postgres);
crate::events::events_store!(PostgresStore, Postgres);
crate::workflows::workflows_store!(PostgresStore, Postgres);
crate::definitions::definitions_store!(PostgresStore, Postgres);
crate::status_pages::status_page_store!(PostgresStore, Postgres, sqlx::PgConnection);
crate::monitor_results::monitor_store_methods!(PostgresStore, Postgres, " FOR UPDATE");
crate::monitor_results::ping_store_methods!(PostgresStore, Postgres, " FOR UPDATE");
crate::retention::retention_store_methods!(PostgresStore, Postgres);
crate::listing::listing_store_methods!(PostgresStore, Postgres);

crate::shared_store::store_impl!(PostgresStore, Postgres, {
    /// Three: measured against one and two with `vigil bench alertmanager --postgres` (the
    /// commits that overlap are those of alerts joining groups; docs/benchmarks.md).
    fn alert_commits_side_by_side(&self) -> usize {
        3
    }

    async fn size_bytes(&self) -> Result<Option<u64>> {
        let bytes: i64 =
            sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&self.reader).await?;
        Ok(Some(bytes as u64))
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
