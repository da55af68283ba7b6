//! Test support shared by the store's and the binary's tests: a fresh PostgreSQL database (the
//! `testkit` feature; not in the release binary).

pub use crate::postgres::scratch::{ScratchDatabase as TestDatabase, create_database};

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
