//! The embedded default: one SQLite file in WAL mode.
//!
//! Writes go through a single connection (SQLite has one writer anyway), reads through a small pool.
//! `synchronous = NORMAL` in WAL mode survives a process crash (`kill -9`) without losing a committed
//! transaction; only a power loss can lose the last few.

mod alert_commit;
mod checkpoint;
mod cluster;
mod work;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite};
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::Millis;

use crate::alerts::{AlertBatch, AlertRow, DeliveryUpdate, OutboxEntry, OutboxStatus, SilenceRow};
use crate::cluster::{Fence, InboxRow, LeaseRow, NewInboxRow, partition_of};
use crate::tokens::{DefinitionRow, NodeRow, TokenRow, split_grants};
use crate::{CommitBatch, FireClaim, FireStatus, InstanceFilter, InstanceSummary, Result, ScheduleCursor, StoreError};

/// Migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_alerts.sql"),
    include_str!("../../migrations/sqlite/0003_alert_acks.sql"),
    include_str!("../../migrations/sqlite/0004_tokens.sql"),
    include_str!("../../migrations/sqlite/0005_definitions.sql"),
    include_str!("../../migrations/sqlite/0006_nodes.sql"),
    include_str!("../../migrations/sqlite/0007_cluster.sql"),
    include_str!("../../migrations/sqlite/0008_token_grants.sql"),
    include_str!("../../migrations/sqlite/0009_monitor_results.sql"),
    include_str!("../../migrations/sqlite/0010_pings.sql"),
    include_str!("../../migrations/sqlite/0011_heartbeats_compact.sql"),
    include_str!("../../migrations/sqlite/0012_correlation.sql"),
    include_str!("../../migrations/sqlite/0013_work_offers.sql"),
    include_str!("../../migrations/sqlite/0014_retention.sql"),
    include_str!("../../migrations/sqlite/0015_monitor_rollups.sql"),
    include_str!("../../migrations/sqlite/0016_state_z.sql"),
    include_str!("../../migrations/sqlite/0017_instances_by_created.sql"),
    include_str!("../../migrations/sqlite/0018_definition_principal.sql"),
    include_str!("../../migrations/sqlite/0019_ui_sessions.sql"),
    include_str!("../../migrations/sqlite/0020_ping_details.sql"),
    include_str!("../../migrations/sqlite/0021_event_parked.sql"),
    include_str!("../../migrations/sqlite/0022_status_outbox.sql"),
    include_str!("../../migrations/sqlite/0023_ping_message.sql"),
    include_str!("../../migrations/sqlite/0024_silence_created_by.sql"),
    include_str!("../../migrations/sqlite/0025_alert_groups.sql"),
    include_str!("../../migrations/sqlite/0026_alert_group_members.sql"),
    include_str!("../../migrations/sqlite/0027_silence_until_resolved.sql"),
    include_str!("../../migrations/sqlite/0028_group_members_by_group.sql"),
    include_str!("../../migrations/sqlite/0029_group_members_by_id.sql"),
    include_str!("../../migrations/sqlite/0030_check_evidence.sql"),
    include_str!("../../migrations/sqlite/0031_incidents.sql"),
    include_str!("../../migrations/sqlite/0032_status_subscribers.sql"),
    include_str!("../../migrations/sqlite/0033_monitor_live.sql"),
    include_str!("../../migrations/sqlite/0034_status_maintenance.sql"),
    include_str!("../../migrations/sqlite/0035_users.sql"),
    include_str!("../../migrations/sqlite/0036_single_sign_on.sql"),
    include_str!("../../migrations/sqlite/0037_audit_log.sql"),
    include_str!("../../migrations/sqlite/0038_subscriber_addresses.sql"),
];

/// The migration that added partitions; existing alert rows get theirs computed when it runs.
const CLUSTER_MIGRATION: usize = 7;

/// Rows per multi-row INSERT (SQLite allows 32766 bound parameters).
const ROWS_PER_STATEMENT: usize = 500;

/// A SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The background checkpointer stops once the last clone of the store is dropped.
    _alive: Arc<()>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // A burst grows the WAL file; without a limit it keeps its peak size for good. With
            // one, the writer cuts it back to 64 MB when it restarts the log after a checkpoint.
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT);
        // Checkpoints copy the WAL into the database file and fsync it. Left to SQLite, one runs
        // inside whichever commit crosses 1,000 pages, holding the only writer meanwhile (the
        // alerting benchmark's p99 went from 20 ms to 100+ ms with it). Here a connection of its
        // own checkpoints in the background, beside the writer; the writer's own checkpoint stays
        // as a backstop (50,000 pages) should the WAL still grow large.
        // A connection to a file does not go stale: no ping (a round trip to the connection's
        // thread) before each use, and no idle timeout or lifetime. Without those sqlx spawns no
        // maintenance task, whose loop (sqlx-core 0.9.0, `spawn_maintenance_tasks`) runs
        // `0..num_idle()` without yielding: a read of `num_idle` while a concurrent pop had taken
        // it below zero (it is decremented after the pop, incremented after the push) made that
        // range `usize::MAX` long and pinned a runtime worker (seen in a CI-mode run: a `vigil
        // serve` at 100 % CPU in `PoolInner::try_acquire`, its test never ending).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "50000"))
            .await?;
        migrate(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().busy_timeout(checkpoint::CHECKPOINT_BUSY_TIMEOUT))
            .await?;
        let alive = Arc::new(());
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        tokio::spawn(checkpoint::checkpoint_loop(checkpointer, wal, Arc::downgrade(&alive)));
        // Readers answer the API, whose reads wander over the whole file; with the writer's 64 MB
        // cache each, four of them would grow RSS by up to 256 MB over a long run as they touch
        // more pages. 8 MB each keeps memory flat; the OS page cache still holds the file.
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options.read_only(true).pragma("cache_size", READER_CACHE_KIB))
            .await?;
        Ok(Self { writer, reader, _alive: alive })
    }

    /// Writes a consistent copy of the whole store to `target` (SQLite's `VACUUM INTO`): one read
    /// transaction, so writers (a running `vigil serve`) go on meanwhile. `target` must not exist.
    pub async fn backup_into(&self, target: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO ?").bind(target.to_string_lossy().into_owned()).execute(&self.reader).await?;
        Ok(())
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Runs a built multi-row `INSERT INTO outbox` of `rows` rows; the new rows' ids, in order.
    async fn insert_outbox(
        mut q: QueryBuilder<Sqlite>,
        tx: &mut sqlx::SqliteConnection,
        rows: usize,
    ) -> Result<Vec<i64>> {
        let done = q.build().execute(&mut *tx).await?;
        // One statement inserts its rows with consecutive AUTOINCREMENT ids, in order, while
        // this transaction holds the only writer.
        let last = done.last_insert_rowid();
        Ok((last - rows as i64 + 1..=last).collect())
    }
}

/// Each reader connection's page cache (negative: KiB).
const READER_CACHE_KIB: &str = "-8192";

/// The WAL size the writer cuts the file back to when it restarts the log (bytes).
const JOURNAL_SIZE_LIMIT: &str = "67108864";

/// Applies the migrations not applied yet, all in one `BEGIN IMMEDIATE` transaction: a second
/// process opening the file meanwhile waits, then finds them applied (a migration such as
/// `ALTER TABLE ... ADD COLUMN` cannot run twice).
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let done: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(pool).await?;
    if done as usize >= MIGRATIONS.len() {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let applied = apply_migrations(&mut conn).await;
    let end = if applied.is_ok() { "COMMIT" } else { "ROLLBACK" };
    sqlx::raw_sql(end).execute(&mut *conn).await?;
    applied
}

async fn apply_migrations(conn: &mut sqlx::SqliteConnection) -> Result<()> {
    let done: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *conn).await?;
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *conn).await?;
        if n + 1 == CLUSTER_MIGRATION {
            cluster::repartition_alerts(&mut *conn).await?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {}", n + 1))).execute(&mut *conn).await?;
    }
    Ok(())
}

crate::shared_store::backend_helpers!(sqlx::sqlite::SqliteRow, Sqlite, sqlx::SqliteConnection, "LIKE");
crate::alerting::alert_rows!(sqlx::sqlite::SqliteRow, Sqlite, sqlx::SqliteConnection, "LIKE");
crate::alerting::alert_statements!(sqlx::sqlite::SqliteRow, Sqlite, sqlx::SqliteConnection, "LIKE");
crate::workflows::instance_filter!(sqlx::sqlite::SqliteRow, Sqlite, sqlx::SqliteConnection, "LIKE");
crate::accounts::account_rows!(sqlx::sqlite::SqliteRow, Sqlite, sqlx::SqliteConnection, "LIKE");
crate::accounts::accounts_store!(SqliteStore, Sqlite);
crate::alerting::alerting_store!(SqliteStore, Sqlite);
crate::monitors::monitors_store!(SqliteStore, Sqlite);
crate::schedules::schedules_store!(SqliteStore, Sqlite);
crate::events::events_store!(SqliteStore, Sqlite);
crate::workflows::workflows_store!(SqliteStore, Sqlite);
crate::definitions::definitions_store!(SqliteStore, Sqlite);
crate::status_pages::status_page_store!(SqliteStore, Sqlite, sqlx::SqliteConnection);
crate::monitor_results::monitor_store_methods!(SqliteStore, Sqlite, "");
crate::monitor_results::ping_store_methods!(SqliteStore, Sqlite, "");
crate::retention::retention_store_methods!(SqliteStore, Sqlite);
crate::listing::listing_store_methods!(SqliteStore, Sqlite);

crate::shared_store::store_impl!(SqliteStore, Sqlite, {
    async fn release_memory(&self) {
        // Frees the writer's clean cached pages; a failure only leaves them cached.
        let _ = sqlx::query("PRAGMA shrink_memory").execute(&self.writer).await;
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PingStore;

    /// A database made before heartbeat states were stored WITHOUT ROWID keeps its states when it
    /// is opened by this version, and pings go on advancing them.
    #[tokio::test]
    async fn heartbeat_states_survive_the_compact_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let options =
            SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display())).unwrap().create_if_missing(true);
        let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
        let before_compact = MIGRATIONS.iter().position(|m| m.contains("heartbeats_compact")).unwrap();
        for (n, sql) in MIGRATIONS.iter().take(before_compact).enumerate() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut conn).await.unwrap();
            if n + 1 == CLUSTER_MIGRATION {
                cluster::repartition_alerts(&mut conn).await.unwrap();
            }
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {before_compact}")))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO heartbeats (monitor, success, start_ended, updated_at) VALUES ('backup', 1000, 0, 1000)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path).await.unwrap();
        let states = store.heartbeats(0).await.unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!((states[0].monitor.as_str(), states[0].beats.success), ("backup", Some(1000)));
        let ping = crate::PingRow {
            monitor: "backup".into(),
            kind: vigil_core::monitor::expect::PingKind::Success,
            exit_code: None,
            rid: None,
            body: None,
            origin: Default::default(),
            received_at: 5000,
        };
        let after = store.record_pings(&[ping], 5000).await.unwrap();
        assert_eq!(after[0].beats.success, Some(5000));
        let without_rowid: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE name = 'heartbeats' AND sql LIKE '%WITHOUT ROWID%'",
        )
        .fetch_one(&store.reader)
        .await
        .unwrap();
        assert_eq!(without_rowid, 1);
    }
}
