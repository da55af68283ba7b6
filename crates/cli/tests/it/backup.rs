//! `vigil backup` while `vigil serve` runs, `vigil restore` refused over a live store, and a
//! restored store that resumes its running instance and keeps its alert state.

use crate::support;

use std::time::Duration;
use vigil_store::AlertStore;

use serde_json::{Value, json};
use support::*;

fn write_config(dir: &std::path::Path, hooks: &str) {
    for sub in ["workflows", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let workflow = json!({"name": "hold", "tasks": [
        {"name": "disk full", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "firing", "dedupKey": "disk-full", "notifiers": ["hook"], "repeatInterval": "never"}},
        {"name": "wait for go", "taskReferenceName": "go", "type": "WAIT", "inputParameters": {"event": "go"}},
        {"name": "after", "taskReferenceName": "after", "type": "INLINE",
         "inputParameters": {"evaluatorType": "value-param", "expression": "v", "v": "resumed"}}
    ], "outputParameters": {"said": "${after.output.result}"}});
    std::fs::write(dir.join("workflows/hold.json"), workflow.to_string()).unwrap();
    std::fs::write(dir.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {hooks}/hook\n")).unwrap();
}

/// Whether `hold` instance `id` waits for its event.
fn waiting(wf: &Value) -> bool {
    wf["tasks"].as_array().is_some_and(|t| t.len() == 2 && t[1]["status"] == "IN_PROGRESS")
}

/// On a restored store: instance `id` still waits, resumes on its event and completes, and the
/// alert it raised before pages nobody again (`pages` were sent before the backup).
async fn resumes_without_paging(http: &reqwest::Client, base: &str, id: &str, hooks: &Recorder, pages: usize) {
    until_workflow(http, base, id, waiting).await;
    let raised = http.post(format!("{base}/api/v1/instances/{id}/events/go")).json(&json!({})).send().await.unwrap();
    assert!(raised.status().is_success(), "{}", raised.text().await.unwrap());
    let done = until_workflow(http, base, id, |wf| wf["status"] == "COMPLETED").await;
    assert_eq!(done["output"], json!({"said": "resumed"}));
    stays(Duration::from_millis(500), "the restored alert is still firing: nobody is paged again", async || {
        hooks.received().len() == pages
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_a_store_that_resumes_its_instances_and_alerts() {
    rustls::crypto::ring::default_provider().install_default().ok();
    let hooks = Recorder::start(|_| Reply { status: 200, body: json!({}), delay: Duration::ZERO }).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, config, backup) = (dir.path().join("vigil.db"), dir.path().join("config"), dir.path().join("copy.db"));
    write_config(&config, &hooks.url);
    let http = vigil_connectors::http_client();

    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let first = KillOnDrop(child);
    let started = http.post(format!("{base}/api/workflow")).json(&json!({"name": "hold"})).send().await.unwrap();
    let id = started.text().await.unwrap();
    until_workflow(&http, &base, &id, waiting).await;

    // Online: the copy is taken while the server runs and keeps writing.
    let out = vigil(&db).args(["backup", backup.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = vigil(&db).args(["backup", backup.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success(), "an existing file is not overwritten");
    // A live store is not replaced.
    let refused = vigil(&db).args(["restore", backup.to_str().unwrap()]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("vigil serve"), "{said}");
    // Nor does a second server start on it.
    let port = free_port().to_string();
    let second = vigil(&db)
        .args(["serve", "--config", config.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && said.contains("is running on"), "{said}");
    drop(first);

    // Restored into a new place, with nothing else of the old one, the instance goes on.
    let elsewhere = tempfile::tempdir().unwrap();
    let restored = elsewhere.path().join("vigil.db");
    let out = vigil(&restored).args(["restore", backup.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = vigil_store::SqliteStore::open(&restored).await.unwrap();
    let alert = store.alert("disk-full").await.unwrap().expect("the alert is in the restored store");
    assert_eq!(alert.condition, "firing");
    store.close().await;
    let pages = hooks.received().len();

    let (child, base) = serve_api(&restored, &config, free_port(), &[]).await;
    let _second = KillOnDrop(child);
    resumes_without_paging(&http, &base, &id, &hooks, pages).await;
}

/// What the README documents for PostgreSQL: `pg_dump` while the node runs, `pg_restore` into an
/// empty database, and a node on the restored database resumes the instance and its alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_taken_while_serving_restores_a_postgres_store_that_resumes() {
    rustls::crypto::ring::default_provider().install_default().ok();
    let Some(tools) = service_binary(&["/usr/bin/pg_dump"], "pg_dump (PostgreSQL's client tools)") else { return };
    let restore_tool = tools.with_file_name("pg_restore");
    let Some(source) = vigil_store::testing::fresh_postgres("vigil_dump").await else { return };
    let Some(target) = vigil_store::testing::fresh_postgres("vigil_restored").await else { return };
    let hooks = Recorder::start(|_| Reply { status: 200, body: json!({}), delay: Duration::ZERO }).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write_config(&config, &hooks.url);
    let http = vigil_connectors::http_client();

    let source_db = std::path::PathBuf::from(&source.url);
    let (child, base) = serve_api(&source_db, &config, free_port(), &[]).await;
    let first = KillOnDrop(child);
    let started = http.post(format!("{base}/api/workflow")).json(&json!({"name": "hold"})).send().await.unwrap();
    let id = started.text().await.unwrap();
    until_workflow(&http, &base, &id, waiting).await;
    let dump = dir.path().join("vigil.dump");
    let out = std::process::Command::new(&tools)
        .args(["--format=custom", "--file", dump.to_str().unwrap(), &source.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(first);
    let pages = hooks.received().len();

    let out = std::process::Command::new(&restore_tool)
        .args(["--clean", "--if-exists", "--no-owner", "--dbname", &target.url, dump.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let target_db = std::path::PathBuf::from(&target.url);
    let (child, base) = serve_api(&target_db, &config, free_port(), &[]).await;
    let _second = KillOnDrop(child);
    resumes_without_paging(&http, &base, &id, &hooks, pages).await;
    drop(_second);
    source.drop_now().await;
    target.drop_now().await;
}
