//! A real Prometheus (Debian `prometheus`) sending its alerts to vigil.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{KillOnDrop, Recorder, Reply, free_port, service_binary};

#[allow(dead_code)]
/// Starts Prometheus evaluating `rules` every second and sending alerts to vigil at `vigil`.
pub async fn prometheus(dir: &std::path::Path, vigil: &str, rules: &str) -> Option<(KillOnDrop, String)> {
    prometheus_scraping(dir, vigil, rules, None).await
}

#[allow(dead_code)]
/// Like `prometheus`, also scraping `target` (`host:port`, its `/metrics`) every second: a test
/// decides when a rule's series appears or goes by what its target serves. (Changing a rule
/// and reloading is no way to resolve an alert: a reload re-discovers the alertmanagers, and
/// alerts sent meanwhile are dropped.)
pub async fn prometheus_scraping(
    dir: &std::path::Path,
    vigil: &str,
    rules: &str,
    scraped: Option<&str>,
) -> Option<(KillOnDrop, String)> {
    let binary = service_binary(&["/usr/bin/prometheus"], "Prometheus (Debian `prometheus`)")?;
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    let target = vigil.trim_start_matches("http://");
    let vigil_target = target;
    let mut conf = format!(
        "global:\n  evaluation_interval: 1s\n  scrape_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: ['{vigil_target}']\n"
    );
    if let Some(scraped) = scraped {
        conf.push_str(&format!(
            "scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: ['{scraped}']\n"
        ));
    }
    std::fs::write(dir.join("prometheus.yml"), conf).unwrap();
    let port = free_port();
    let child = KillOnDrop(
        Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Its first send can come before it has found vigil (then that send is dropped):
            // sent again each second, not each minute.
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/-/ready")).send().await.map(|r| !r.status().is_success()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "Prometheus did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some((child, base))
}

#[allow(dead_code)]
/// A recorder answering `{"ok": true}` whose `/metrics` serves `briefly_down 1` while `down`
/// holds, then `briefly_down 0`: scraped (`prometheus_scraping`), a rule `briefly_down > 0`
/// fires and resolves when the test says.
pub async fn recorder_with_briefly_down(down: Arc<AtomicBool>) -> Recorder {
    Recorder::start(move |r| match r.path.as_str() {
        "/metrics" => {
            Reply::json(serde_json::json!(format!("briefly_down {}\n", u8::from(down.load(Ordering::SeqCst)))))
        }
        _ => Reply::json(serde_json::json!({"ok": true})),
    })
    .await
}
