//! A scratch PostgreSQL database: made for a run of `vigil bench` on a server (cluster, soak,
//! Alertmanager) or for a test, and dropped afterwards.

use std::time::Duration;

use sqlx::PgPool;

/// A database made for one run or test; [`ScratchDatabase::drop_now`] removes it.
pub struct ScratchDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin: PgPool,
}

impl ScratchDatabase {
    /// Drops the database (closing whatever still uses it).
    pub async fn drop_now(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&self.admin).await;
    }
}

/// Creates an empty database named `<prefix>_<pid>_<nanos>` on the server at `admin_url` (used
/// by tests and by `vigil bench cluster`). Fails with a message when no server answers.
pub async fn create_database(admin_url: &str, prefix: &str) -> Result<ScratchDatabase, String> {
    let connect = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(admin_url);
    let admin = connect.await.map_err(|e| format!("PostgreSQL is not reachable at {admin_url}: {e}"))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let name = format!("{prefix}_{}_{nanos}", std::process::id());
    let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await;
    created.map_err(|e| format!("cannot create database {name}: {e}"))?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    Ok(ScratchDatabase { url: format!("{base}/{name}"), name, admin })
}
