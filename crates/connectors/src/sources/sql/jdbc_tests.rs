//! The JDBC task on SQLite (always here); PostgreSQL and MariaDB are exercised by
//! `crates/cli/tests/it/jdbc.rs` against the machine's servers.

use serde_json::json;

use super::*;
use crate::sources::sql::resolve_connection;

async fn table() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let setup = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE jobs (name TEXT, late INTEGER, ratio REAL, blob BLOB);
         INSERT INTO jobs VALUES ('etl', 3, 0.5, x'00ff'), ('mail', 0, NULL, NULL), ('billing', 7, 1.25, NULL)",
    )
    .execute(&setup)
    .await
    .unwrap();
    setup.close().await;
    let url = format!("sqlite://{}", path.display());
    (dir, url)
}

#[tokio::test]
async fn select_binds_parameters_and_answers_typed_rows() {
    let (_dir, url) = table().await;
    let config = json!({"url": url, "statement": "SELECT name, late, ratio, blob FROM jobs WHERE late > ? AND name <> ? ORDER BY name",
        "parameters": [1, "billing"], "type": "SELECT"});
    assert_eq!(
        run(config, false).await,
        JdbcOutcome::Done(json!({"result": [{"name": "etl", "late": 3, "ratio": 0.5, "blob": "AP8="}]}))
    );
    // A parameter is bound, never spliced: text that would be SQL is only a value.
    let config = json!({"url": url, "statement": "SELECT count(*) AS n FROM jobs WHERE name = ?",
        "parameters": ["x' OR '1'='1"], "type": "SELECT"});
    assert_eq!(run(config, false).await, JdbcOutcome::Done(json!({"result": [{"n": 0}]})));
    let config = json!({"url": url, "statement": "SELECT * FROM jobs WHERE late > ?", "type": "SELECT"});
    let JdbcOutcome::Refused(why) = run(config, false).await else { panic!("a missing parameter ran") };
    assert!(why.contains("1 `?` placeholder(s) and `parameters` has 0"), "{why}");
}

#[tokio::test]
async fn update_needs_a_writable_connection_and_rolls_back_an_unexpected_count() {
    let (_dir, url) = table().await;
    let delete = |expected: i64| {
        json!({"url": url, "statement": "DELETE FROM jobs WHERE late > ?", "parameters": [0],
            "type": "UPDATE", "expectedUpdateCount": expected})
    };
    let count = || json!({"url": url, "statement": "SELECT count(*) AS n FROM jobs", "type": "SELECT"});
    let JdbcOutcome::Refused(why) = run(delete(0), false).await else { panic!("a read-only connection wrote") };
    assert!(why.contains("declared writable"), "{why}");
    // Only the declaration makes a connection writable, never the task's own input.
    let mut claims = delete(0);
    claims["writable"] = json!(true);
    assert!(matches!(run(claims, false).await, JdbcOutcome::Refused(why) if why.contains("declared writable")));
    // A SELECT never writes, whatever the statement says.
    let sneaky = json!({"url": url, "statement": "DELETE FROM jobs", "type": "SELECT"});
    assert!(matches!(run(sneaky, true).await, JdbcOutcome::Refused(_)));
    assert_eq!(run(count(), false).await, JdbcOutcome::Done(json!({"result": [{"n": 3}]})));

    // Two rows match, one was expected: Conductor's failure, and nothing deleted.
    let JdbcOutcome::Failed { reason, output } = run(delete(1), true).await else {
        panic!("an unexpected count committed")
    };
    assert_eq!(reason, "Update count 2 does not match with expected update count 1");
    assert_eq!(output, json!({"update_count": 2}));
    assert_eq!(run(count(), false).await, JdbcOutcome::Done(json!({"result": [{"n": 3}]})));

    assert_eq!(run(delete(2), true).await, JdbcOutcome::Done(json!({"update_count": 2})));
    assert_eq!(run(count(), false).await, JdbcOutcome::Done(json!({"result": [{"n": 1}]})));
    let insert = json!({"url": url, "statement": "INSERT INTO jobs (name, late) VALUES (?, ?)",
        "parameters": ["new", null], "type": "INSERT"});
    assert_eq!(run(insert, true).await, JdbcOutcome::Done(json!({"update_count": 1})));
    let two = json!({"url": url, "statement": "DELETE FROM jobs; DELETE FROM jobs", "type": "UPDATE"});
    assert!(matches!(run(two, true).await, JdbcOutcome::Refused(why) if why.contains("one statement")));
}

#[test]
fn a_declaration_says_whether_it_writes_and_never_the_task() {
    let lookup = |_: &str, name: &str| match name {
        "reports" => Some("postgres://r@db/reports".to_string()),
        "ledger" => Some(r#"{"url": "postgres://w@db/ledger", "writable": true}"#.to_string()),
        "broken" => Some(r#"{"url": "postgres://w:s3cret@db/x", "writeable": true}"#.to_string()),
        _ => None,
    };
    let mut config = json!({"connection": "reports", "statement": "x"});
    assert_eq!(resolve_connection(&mut config, &lookup), Ok(false));
    assert_eq!(config["url"], "postgres://r@db/reports");
    let mut config = json!({"connection": "ledger", "statement": "x"});
    assert_eq!(resolve_connection(&mut config, &lookup), Ok(true));
    assert_eq!(config["url"], "postgres://w@db/ledger");
    let mut config = json!({"connection": "broken"});
    let why = resolve_connection(&mut config, &lookup).unwrap_err();
    assert!(!why.contains("s3cret") && why.contains("connection `broken`"), "{why}");
}
