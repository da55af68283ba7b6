//! Conductor's JDBC task on the machine's PostgreSQL and MariaDB (issue 32, item 10): a
//! `connectionId` names a declared connection, `parameters` are bound, rows come back typed under
//! `result`, and `UPDATE` (with `expectedUpdateCount`) runs only on a connection declared
//! writable.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::*;

/// Runs a one-task JDBC workflow with `input`; its output, or the failure's text.
async fn jdbc(db: &Path, dir: &Path, task_input: Value) -> Result<Value, String> {
    let workflow = dir.join("w.json");
    std::fs::write(
        &workflow,
        json!({"name": "jdbc", "tasks": [
            {"name": "q", "taskReferenceName": "q", "type": "JDBC", "inputParameters": task_input}
        ], "outputParameters": {"out": "${q.output}"}})
        .to_string(),
    )
    .unwrap();
    let out = run_async(db.to_path_buf(), vec!["run".into(), workflow.display().to_string()]).await;
    if out.status.success() {
        Ok(stdout_json(&out)["out"].clone())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_on_postgresql_binds_types_and_writes_only_where_declared() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_jdbc").await else { return };
    let Some(psql) = service_binary(&["/usr/bin/psql"], "the PostgreSQL client (psql)") else { return };
    let made = Command::new(psql)
        .arg(&pg.url)
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg(
            "CREATE TABLE jobs (id int, name text, late numeric(6,2), ok boolean, meta jsonb, at timestamptz, \
             day date, ref uuid, big bigint, ratio double precision);
             INSERT INTO jobs VALUES
               (1, 'etl', 3.50, false, '{\"owner\": \"data\"}', '2026-11-25 21:00:00+00', '2026-11-25',
                'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 9007199254740993, 0.25),
               (2, 'mail', 0, true, NULL, NULL, NULL, NULL, NULL, NULL),
               (3, 'billing', 12, false, '[1, 2]', NULL, NULL, NULL, NULL, NULL)",
        )
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    set_secret(&db, "reports", &pg.url);
    set_secret(&db, "ledger", &json!({"url": pg.url, "writable": true}).to_string());

    let rows = jdbc(&db, dir.path(), json!({"connectionId": "reports", "type": "SELECT",
        "statement": "SELECT id, name, late, ok, meta, at, day, ref, big, ratio FROM jobs WHERE id = ? OR name = ? ORDER BY id",
        "parameters": [1, "billing"]}))
    .await
    .unwrap();
    assert_eq!(
        rows,
        json!({"result": [
            {"id": 1, "name": "etl", "late": 3.5, "ok": false, "meta": {"owner": "data"}, "at": "2026-11-25T21:00:00Z",
             "day": "2026-11-25", "ref": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "big": 9007199254740993_i64, "ratio": 0.25},
            {"id": 3, "name": "billing", "late": 12.0, "ok": false, "meta": [1, 2], "at": null, "day": null, "ref": null,
             "big": null, "ratio": null}
        ]})
    );
    // Text that would be SQL is a bound value; `??` is PostgreSQL's JSON operator.
    let rows = jdbc(&db, dir.path(), json!({"connectionId": "reports", "type": "SELECT",
        "statement": "SELECT count(*) AS n FROM jobs WHERE name = ? OR meta ?? 'owner'", "parameters": ["x' OR '1'='1"]}))
    .await
    .unwrap();
    assert_eq!(rows, json!({"result": [{"n": 1}]}));

    // A connection declared as a URL reads only: UPDATE is refused before it is sent.
    let refused = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "reports", "type": "UPDATE",
        "statement": "DELETE FROM jobs WHERE late > ?", "parameters": [1]}),
    )
    .await
    .unwrap_err();
    assert!(refused.contains("declared writable"), "{refused}");
    // Declared writable: a count other than the expected one rolls back (Conductor's message).
    let mismatch = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "ledger", "type": "UPDATE",
        "statement": "UPDATE jobs SET ok = true WHERE late > ?", "parameters": [1], "expectedUpdateCount": 1}),
    )
    .await
    .unwrap_err();
    assert!(mismatch.contains("Update count 2 does not match with expected update count 1"), "{mismatch}");
    let count =
        json!({"connectionId": "reports", "type": "SELECT", "statement": "SELECT count(*) AS n FROM jobs WHERE ok"});
    assert_eq!(jdbc(&db, dir.path(), count.clone()).await.unwrap(), json!({"result": [{"n": 1}]}));
    let updated = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "ledger", "type": "UPDATE",
        "statement": "UPDATE jobs SET ok = true WHERE late > ?", "parameters": [1], "expectedUpdateCount": 2}),
    )
    .await
    .unwrap();
    assert_eq!(updated, json!({"update_count": 2}));
    assert_eq!(jdbc(&db, dir.path(), count).await.unwrap(), json!({"result": [{"n": 3}]}));
    // A SELECT on the writable connection still runs read-only.
    let sneaky = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "ledger", "type": "SELECT",
        "statement": "WITH d AS (DELETE FROM jobs RETURNING 1) SELECT count(*) AS n FROM d"}),
    )
    .await
    .unwrap_err();
    assert!(sneaky.contains("read-only transaction"), "{sneaky}");
    pg.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_on_mariadb_binds_types_and_writes_only_where_declared() {
    let Some(client) = service_binary(&["/usr/bin/mariadb", "/usr/bin/mysql"], "the MariaDB client") else { return };
    let table = format!("vigil_jdbc_{}", std::process::id());
    let sql = |text: String| {
        Command::new(&client).args(["-h", "127.0.0.1", "-u", "root", "test", "-e"]).arg(text).output().unwrap()
    };
    let made = sql(format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id INT, name VARCHAR(20), late DECIMAL(6,2), ok BOOLEAN, \
         at DATETIME(6), big BIGINT UNSIGNED, ratio DOUBLE); INSERT INTO {table} VALUES \
         (1, 'etl', 3.5, 0, '2026-11-25 21:00:00.250000', 18446744073709551615, 0.25), (2, 'mail', 0, 1, NULL, NULL, NULL), \
         (3, 'billing', 12, 0, NULL, NULL, NULL)"
    ));
    if !mariadb_reached(&made) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let url = "mysql://root@127.0.0.1:3306/test";
    set_secret(&db, "reports", url);
    set_secret(&db, "ledger", &json!({"url": url, "writable": true}).to_string());
    let rows = jdbc(&db, dir.path(), json!({"connectionId": "reports", "type": "SELECT",
        "statement": format!("SELECT id, name, late, ok, at, big, ratio FROM {table} WHERE id = ? OR name = ? ORDER BY id"),
        "parameters": [1, "billing"]}))
    .await;
    let refused = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "reports", "type": "UPDATE",
        "statement": format!("DELETE FROM {table}")}),
    )
    .await;
    let mismatch = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "ledger", "type": "UPDATE",
        "statement": format!("UPDATE {table} SET ok = 1 WHERE late > ?"), "parameters": [1], "expectedUpdateCount": 1}),
    )
    .await;
    let updated = jdbc(
        &db,
        dir.path(),
        json!({"connectionId": "ledger", "type": "UPDATE",
        "statement": format!("UPDATE {table} SET ok = 1 WHERE late > ?"), "parameters": [1], "expectedUpdateCount": 2}),
    )
    .await;
    let _ = sql(format!("DROP TABLE {table}"));
    assert_eq!(
        rows.unwrap(),
        json!({"result": [
            {"id": 1, "name": "etl", "late": 3.5, "ok": false, "at": "2026-11-25T21:00:00.250000",
             "big": 18446744073709551615_u64, "ratio": 0.25},
            {"id": 3, "name": "billing", "late": 12.0, "ok": false, "at": null, "big": null, "ratio": null}
        ]})
    );
    assert!(refused.as_ref().unwrap_err().contains("declared writable"), "{refused:?}");
    assert!(mismatch.as_ref().unwrap_err().contains("Update count 2 does not match"), "{mismatch:?}");
    assert_eq!(updated.unwrap(), json!({"update_count": 2}));
}
