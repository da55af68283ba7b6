//! A real Prometheus (Debian `prometheus`) sending its alerts to vigil.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{KillOnDrop, free_port, service_binary};

#[allow(dead_code)]
/// Starts Prometheus evaluating `rules` every second and sending alerts to vigil at `vigil`.
pub async fn prometheus(dir: &std::path::Path, vigil: &str, rules: &str) -> Option<(KillOnDrop, String)> {
    let binary = service_binary(&["/usr/bin/prometheus"], "Prometheus (Debian `prometheus`)")?;
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    let target = vigil.trim_start_matches("http://");
    let conf = format!(
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: ['{target}']\n"
    );
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
