//! Notifiers against real servers: Prometheus Alertmanager (Debian `prometheus-alertmanager`).
//! Skipped with a message when the server is not installed; `.ci/run` installs it.

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn write_flip_config(dir: &std::path::Path, probe: &str, notifier: &str) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let workflow = json!({"name": "flip", "tasks": [
        {"name": "probe", "taskReferenceName": "probe", "type": "HTTP", "inputParameters": {"uri": format!("{probe}/probe")}},
        {"name": "disk full", "taskReferenceName": "alert", "type": "ALERT", "inputParameters": {
            "status": "${probe.output.response.body.failing}", "summary": "disk almost full on db-1",
            "severity": "warning", "labels": {"host": "db-1"}, "notifiers": ["am"], "repeatInterval": "never"
        }}
    ]});
    std::fs::write(dir.join("workflows/flip.json"), workflow.to_string()).unwrap();
    let schedule = json!({"name": "every_second", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "flip"}});
    std::fs::write(dir.join("schedules/every_second.json"), schedule.to_string()).unwrap();
    std::fs::write(dir.join("notifiers/am.yaml"), notifier).unwrap();
}

async fn am_alerts(client: &reqwest::Client, base: &str) -> Vec<Value> {
    match client.get(format!("{base}/api/v2/alerts")).send().await {
        Ok(r) => r.json::<Vec<Value>>().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_appears_in_a_real_alertmanager_and_later_resolves() {
    let Some(binary) =
        service_binary(&["/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager"], "Prometheus Alertmanager")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(&am_config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n").unwrap();
    let port = free_port();
    let am_url = format!("http://127.0.0.1:{port}");
    let _am = KillOnDrop(
        Command::new(binary)
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", dir.path().join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{am_url}/-/ready")).send().await.map(|r| !r.status().is_success()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "Alertmanager did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = failing.clone();
    let probe =
        Recorder::start(move |_| Reply::json(json!({"failing": f.load(std::sync::atomic::Ordering::SeqCst)}))).await;
    let config = dir.path().join("config");
    write_flip_config(
        &config,
        &probe.url,
        &format!("name: am\ntype: alertmanager\nurl: {am_url}\nresend_interval_seconds: 2\n"),
    );
    let db = dir.path().join("vigil.db");
    let mut serve = KillOnDrop(
        vigil(&db)
            .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        if let Some(a) =
            am_alerts(&client, &am_url).await.into_iter().find(|a| a["labels"]["alertname"] == json!("disk full"))
        {
            break a;
        }
        assert!(Instant::now() < deadline, "the alert never appeared in Alertmanager");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(alert["labels"]["host"], json!("db-1"));
    assert_eq!(alert["labels"]["severity"], json!("warning"));
    assert_eq!(alert["annotations"]["summary"], json!("disk almost full on db-1"));
    assert_eq!(alert["status"]["state"], json!("active"));

    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    while am_alerts(&client, &am_url).await.iter().any(|a| a["labels"]["alertname"] == json!("disk full")) {
        assert!(Instant::now() < deadline, "the alert never resolved in Alertmanager");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &serve.0.id().to_string()]).status();
    let _ = serve.0.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_delivered_to_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let mailbox = dir.path().join("mailbox.txt");
    let Some((_smtp, port)) = smtp_capture(&mailbox).await else { return };
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = failing.clone();
    let probe =
        Recorder::start(move |_| Reply::json(json!({"failing": f.load(std::sync::atomic::Ordering::SeqCst)}))).await;
    let config = dir.path().join("config");
    let notifier = format!(
        "name: am\ntype: email\nhost: 127.0.0.1\nport: {port}\ntls: none\nfrom: vigil@example.com\nto: [oncall@example.com]\n"
    );
    write_flip_config(&config, &probe.url, &notifier);
    let db = dir.path().join("vigil.db");
    let serve = KillOnDrop(
        vigil(&db)
            .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let read = || std::fs::read_to_string(&mailbox).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read().contains("Subject: [vigil] [FIRING] disk almost full on db-1") {
        assert!(Instant::now() < deadline, "no firing mail arrived: {}", read());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    while !read().contains("Subject: [vigil] [RESOLVED] disk almost full on db-1") {
        assert!(Instant::now() < deadline, "no resolved mail arrived: {}", read());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mail = read();
    assert!(mail.contains("X-Vigil-Dedup-Key: flip/disk full{host=db-1}"), "{mail}");
    assert!(mail.contains("oncall@example.com"));
    assert_eq!(mail.matches("Subject: [vigil] [FIRING]").count(), 1, "paged once: {mail}");
    drop(serve);
}
