//! The SQL source on SQLite (always here); PostgreSQL and MariaDB are exercised by
//! `crates/cli/tests/sources.rs` against the machine's servers.

use serde_json::json;

use super::*;

fn config(url: &str, query: &str) -> SqlConfig {
    let c: SqlConfig = serde_json::from_value(json!({"url": url, "query": query})).unwrap();
    c.check().unwrap();
    c
}

#[tokio::test]
async fn rows_become_series_labelled_by_their_text_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let setup = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql("CREATE TABLE queue (name TEXT, depth INTEGER, ratio REAL); INSERT INTO queue VALUES ('mail', 3, 0.5), ('billing', 120, 1.25)")
        .execute(&setup)
        .await
        .unwrap();
    setup.close().await;
    let c = config(&format!("sqlite://{}", path.display()), "SELECT name, depth, ratio FROM queue ORDER BY name");
    let Answer::Samples(rows) = c.ask().await else { panic!() };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].labels.get("name").map(String::as_str), Some("billing"));
    assert_eq!(rows[0].labels.len(), 1, "numbers are not labels");
    assert_eq!(rows[0].fields["depth"], json!("120"));
    assert_eq!(vigil_core::monitor::evaluate::pick(&rows[1].fields, Some("ratio")), Some(0.5));

    // The session is read-only: a write is refused, not done.
    let write = config(&format!("sqlite://{}", path.display()), "DELETE FROM queue");
    match write.ask().await {
        Answer::Failed(e) => {
            assert!(e.contains("readonly") || e.contains("read-only") || e.contains("query_only"), "{e}")
        }
        other => panic!("a write went through: {other:?}"),
    }
    let bad = config(&format!("sqlite://{}", path.display()), "SELECT nope FROM queue");
    assert!(matches!(bad.ask().await, Answer::Failed(e) if e.contains("no such column")));
}

#[test]
fn urls_and_passwords() {
    let c: SqlConfig = serde_json::from_value(json!({"url": "oracle://x", "query": "select 1"})).unwrap();
    assert_eq!(c.check().unwrap_err().path, "url");
    assert_eq!(redact("postgres://u:s3cret@db:5432/x"), "postgres://u:***@db:5432/x");
}
