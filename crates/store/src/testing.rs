//! Test support shared by the store's and the binary's tests: a fresh PostgreSQL database.

use std::time::Duration;

use sqlx::PgPool;

/// A database created for one test; [`TestDatabase::drop_now`] removes it.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin: PgPool,
}

impl TestDatabase {
    /// Drops the database (closing whatever still uses it).
    pub async fn drop_now(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&self.admin).await;
    }
}

/// Creates an empty database on the server `VIGIL_TEST_POSTGRES` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`). When no server answers the test is skipped with
/// a visible `SKIPPED:` message (`None`), unless `VIGIL_REQUIRE_SERVICES=1`, where that panics.
pub async fn fresh_postgres(prefix: &str) -> Option<TestDatabase> {
    let admin_url =
        std::env::var("VIGIL_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match create_database(&admin_url, prefix).await {
        Ok(db) => Some(db),
        Err(msg) => {
            if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
            }
            eprintln!("SKIPPED: {msg}; set VIGIL_TEST_POSTGRES or start a server to run this test");
            None
        }
    }
}

/// Creates an empty database named `<prefix>_<pid>_<nanos>` on the server at `admin_url` (used
/// by tests and by `vigil bench cluster`). Fails with a message when no server answers.
pub async fn create_database(admin_url: &str, prefix: &str) -> Result<TestDatabase, String> {
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
    Ok(TestDatabase { url: format!("{base}/{name}"), name, admin })
}
