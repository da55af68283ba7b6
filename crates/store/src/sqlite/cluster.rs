//! Leases, fencing and the inbox on SQLite. One process uses a SQLite file, so its node ends up
//! owning every partition; the statements are PostgreSQL's (`crate::cluster_sql`), so both
//! backends behave alike.

use sqlx::SqliteConnection;

use super::SqliteStore;

crate::cluster_sql::cluster_sql!(
    SqliteStore,
    sqlx::Sqlite,
    SqliteConnection,
    sqlx::sqlite::SqliteRow,
    fence_lock: "",
    claim_lock: ""
);
crate::cluster_sql::cluster_store_sql!(
    SqliteStore,
    sqlx::Sqlite,
    SqliteConnection,
    sqlx::sqlite::SqliteRow,
    fence_lock: "",
    claim_lock: ""
);

/// No other process shares the file: there is nobody to tell.
async fn announce(_: &mut SqliteConnection, _: &Notice) -> Result<()> {
    Ok(())
}
