//! Runs the store conformance suite against every backend available here.

#[tokio::test]
async fn sqlite_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::SqliteStore::open(&dir.path().join("vigil.db")).await.unwrap();
    vigil_store::conformance::run_all(&store).await;
}

/// Opens the SQLite store at `path`, commits `i`, and closes it.
async fn store_and_close(path: &std::path::Path, i: &vigil_core::instance::Instance) {
    let store = vigil_store::SqliteStore::open(path).await.unwrap();
    let batch =
        vigil_store::CommitBatch { instances: vec![vigil_store::InstanceRow::from_instance(i)], ..Default::default() };
    vigil_store::InstanceStore::commit(&store, &batch).await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let i = vigil_core::instance::Instance::new("r1".into(), "w".into(), 1, serde_json::json!({}), 5);
    store_and_close(&path, &i).await;
    let store = vigil_store::SqliteStore::open(&path).await.unwrap();
    assert_eq!(vigil_store::InstanceStore::instance(&store, "r1").await.unwrap(), Some(i));
}

#[tokio::test]
async fn postgres_passes_conformance() {
    let Some(db) = vigil_store::testing::fresh_postgres("vigil_conf").await else { return };
    let store = vigil_store::PostgresStore::open(&db.url).await.unwrap();
    vigil_store::conformance::run_all(&store).await;
    // Migrating again is a no-op.
    vigil_store::PostgresStore::open(&db.url).await.unwrap().close().await;
    store.close().await;
    db.drop_now().await;
}

/// Migration 0012 fills the correlation id column from the states stored before it.
#[tokio::test]
async fn sqlite_correlation_ids_of_older_instances_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let mut i = vigil_core::instance::Instance::new("old".into(), "w".into(), 1, serde_json::json!({}), 5);
    i.correlation_id = Some("c-9".into());
    store_and_close(&path, &i).await;
    {
        // Back to the schema before 0012, with the row as that release wrote it.
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
        for sql in [
            "DROP INDEX instances_by_correlation",
            "ALTER TABLE instances DROP COLUMN correlation_id",
            "ALTER TABLE instances DROP COLUMN state_z",
            "DROP INDEX instances_ended",
            "ALTER TABLE instances DROP COLUMN ended_at",
            "ALTER TABLE definitions DROP COLUMN defined_by",
            "DROP TABLE ui_sessions",
            "ALTER TABLE pings DROP COLUMN body_raw",
            "ALTER TABLE pings DROP COLUMN method",
            "ALTER TABLE pings DROP COLUMN user_agent",
            "ALTER TABLE pings DROP COLUMN remote_addr",
            "ALTER TABLE pings DROP COLUMN scheme",
            "ALTER TABLE silences DROP COLUMN created_by",
            "DROP INDEX pings_by_message",
            "ALTER TABLE pings DROP COLUMN queue",
            "ALTER TABLE pings DROP COLUMN message_id",
            "DROP TABLE alert_groups",
            "DROP TABLE alert_group_members",
            "DROP TABLE id_blocks",
            "ALTER TABLE silences DROP COLUMN starts_at",
            "ALTER TABLE silences DROP COLUMN until_resolved",
            "ALTER TABLE api_tokens DROP COLUMN user_id",
            "ALTER TABLE api_tokens DROP COLUMN expires_at",
            "ALTER TABLE api_tokens DROP COLUMN last_used_at",
            "ALTER TABLE users DROP COLUMN external_id",
            "ALTER TABLE users DROP COLUMN provider_groups",
            "DROP TABLE sign_in_states",
            "PRAGMA user_version = 11",
        ] {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
    }
    let store = vigil_store::SqliteStore::open(&path).await.unwrap();
    let filter = vigil_store::InstanceFilter { correlation_id: Some("c-9".into()), limit: 5, ..Default::default() };
    let found = vigil_store::InstanceStore::list_instances(&store, &filter).await.unwrap();
    assert_eq!(found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["old"]);
}
