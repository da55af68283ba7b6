//! Upgrades: every store fixture a past release made (`tests/fixtures/stores/*.db`, written by
//! `make.sh` there) is restored and served by the code under test. Its completed instance reads
//! back, its waiting instance resumes, its alert is still firing, the page it could not deliver
//! goes out once, and its secret still opens.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn fixtures() -> Vec<PathBuf> {
    let dir = root().join("crates/cli/tests/fixtures/stores");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    found.sort();
    found
}

/// The fixture's config with the notifier pointed at `hooks`.
fn config(dir: &Path, hooks: &str) -> PathBuf {
    let source = root().join("crates/cli/tests/fixtures/stores/config");
    let config = dir.join("config");
    for sub in ["workflows", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    for name in ["hold.yaml", "quick.yaml"] {
        std::fs::copy(source.join("workflows").join(name), config.join("workflows").join(name)).unwrap();
    }
    std::fs::write(config.join("notifiers/hook.yaml"), format!("name: hook\ntype: webhook\nurl: {hooks}/hook\n"))
        .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_made_by_every_past_release_open_and_resume() {
    rustls::crypto::ring::default_provider().install_default().ok();
    let all = fixtures();
    assert!(!all.is_empty(), "at least the first release's fixture is there");
    let http = vigil_connectors::http_client();
    for fixture in all {
        let hooks = Recorder::start(|_| Reply { status: 200, body: json!({}), delay: Duration::ZERO }).await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("vigil.db");
        let out = vigil(&db).args(["restore", fixture.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}: {}", fixture.display(), String::from_utf8_lossy(&out.stderr));
        let secrets = vigil(&db).args(["secret", "list"]).output().unwrap();
        assert!(String::from_utf8_lossy(&secrets.stdout).contains("api_token"), "{}", fixture.display());

        // The fixture's secrets are sealed with its key file, which the tests' usual
        // VIGIL_SECRET_KEY would override.
        let port = free_port();
        let config = config(dir.path(), &hooks.url);
        let child = vigil(&db)
            .env_remove("VIGIL_SECRET_KEY")
            .args(["serve", "--config", config.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _serving = KillOnDrop(child);
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&base).await;
        let quick = until_workflow(&http, &base, "fixture-quick", |wf| wf["status"] == "COMPLETED").await;
        assert_eq!(quick["output"], json!({"result": 42}), "{}", fixture.display());
        let waiting =
            |wf: &Value| wf["tasks"].as_array().is_some_and(|t| t.len() == 2 && t[1]["status"] == "IN_PROGRESS");
        until_workflow(&http, &base, "fixture-hold", waiting).await;
        let raised =
            http.post(format!("{base}/api/v1/instances/fixture-hold/events/go")).json(&json!({})).send().await.unwrap();
        assert!(raised.status().is_success(), "{}", raised.text().await.unwrap());
        let done = until_workflow(&http, &base, "fixture-hold", |wf| wf["status"] == "COMPLETED").await;
        assert_eq!(done["output"], json!({"said": "resumed"}), "{}", fixture.display());
        let alerts: Value = http.get(format!("{base}/api/v1/alerts")).send().await.unwrap().json().await.unwrap();
        assert!(alerts.to_string().contains("disk-full"), "{}: {alerts}", fixture.display());
        // The fixture's page could not be delivered when it was made (its notifier pointed at a
        // closed port): the outbox still holds it and delivers it now, once, and the firing
        // alert pages nobody again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while hooks.received().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(hooks.received().len(), 1, "{}: the pending page, once", fixture.display());
    }
}
