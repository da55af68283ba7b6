//! The SQL source on SQLite (always here); PostgreSQL and MariaDB are exercised by
//! `crates/cli/tests/it/sources.rs` against the machine's servers.

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
            assert!(e.contains("only reads"), "{e}")
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

#[tokio::test]
async fn a_sqlite_file_is_opened_read_only_whatever_the_query_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let setup = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)").execute(&setup).await.unwrap();
    let url = format!("sqlite://{}", path.display());
    // Issue 31, item 2: the pragma that lifted `query_only` leaves the connection read-only.
    let lift = config(&url, "PRAGMA query_only = 0");
    let _ = lift.ask().await;
    for attack in ["PRAGMA query_only = 0; DELETE FROM t", "DELETE FROM t", "VACUUM INTO '/tmp/x.db'"] {
        assert!(matches!(config(&url, attack).ask().await, Answer::Failed(_)), "{attack}");
    }
    let Answer::Samples(rows) = config(&url, "SELECT count(*) AS n FROM t").ask().await else { panic!() };
    assert_eq!(rows[0].fields["n"], json!("1"), "the row is still there");
    setup.close().await;
}

#[tokio::test]
async fn vigils_own_store_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let setup = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql("CREATE TABLE api_tokens (role TEXT)").execute(&setup).await.unwrap();
    protect_store(&path.display().to_string());
    let via = format!(
        "sqlite://{}/../{}/vigil.db",
        path.parent().unwrap().display(),
        dir.path().file_name().unwrap().to_string_lossy()
    );
    for url in [format!("sqlite://{}", path.display()), via] {
        match config(&url, "SELECT role FROM api_tokens").ask().await {
            Answer::Failed(e) => assert!(e.contains("vigil's own store"), "{e}"),
            other => panic!("{url} was opened: {other:?}"),
        }
    }
    setup.close().await;
}

#[test]
fn a_connection_names_a_declared_url() {
    let mut doc = json!({"connection": "reports", "query": "select 1"});
    let c: SqlConfig = serde_json::from_value(doc.clone()).unwrap();
    c.check().unwrap();
    let lookup =
        |kind: &str, name: &str| (kind == "secrets" && name == "reports").then(|| "sqlite:///x.db".to_string());
    resolve_connection(&mut doc, &lookup).unwrap();
    assert_eq!(doc, json!({"url": "sqlite:///x.db", "query": "select 1"}));
    let mut missing = json!({"connection": "nope", "query": "select 1"});
    assert!(resolve_connection(&mut missing, &lookup).unwrap_err().contains("vigil secret set nope"));
    let both: SqlConfig =
        serde_json::from_value(json!({"connection": "a", "url": "sqlite://x", "query": "q"})).unwrap();
    assert!(both.check().is_err());
}
