//! Alertmanager's API served by vigil, against a real Prometheus (Debian `prometheus`; skipped
//! with a message when absent, unless `VIGIL_REQUIRE_SERVICES=1`): Prometheus, configured only
//! with vigil's address, pushes its firing rules to `POST /api/v2/alerts`, and vigil pages once
//! per alert and resolves when Prometheus resolves; a push with invalid alerts keeps the valid
//! ones and answers 400 naming the others; `amtool alert query` (Debian
//! `prometheus-alertmanager`) lists vigil's firing alerts unchanged, by matcher, with silenced
//! ones hidden unless asked for, and adds, lists and expires silences.

use crate::support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::prometheus::prometheus_scraping;
use support::*;

/// The notices the pager got for alert `name`, in order.
fn notices(hooks: &Recorder, name: &str) -> Vec<String> {
    hooks
        .to("/pager")
        .iter()
        .filter(|r| r.body["alert"].as_str().or(r.body["name"].as_str()) == Some(name))
        .map(|r| r.body["notice"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn until_notices(hooks: &Recorder, name: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while notices(hooks, name) != want {
        let seen: Vec<Value> = hooks.to("/pager").into_iter().map(|r| r.body).collect();
        assert!(Instant::now() < deadline, "{name}: expected {want:?}, got {seen:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A counter of Prometheus' own metrics, summed over its label sets.
async fn prometheus_counter(base: &str, name: &str) -> f64 {
    let text =
        vigil_connectors::http_client().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_fires_into_vigil_which_pages_once_and_resolves_when_prometheus_does() {
    let down = Arc::new(AtomicBool::new(true));
    let hooks = support::prometheus::recorder_with_briefly_down(down.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = pager_config(dir.path(), &hooks.url);
    let (child, base) = serve_api(&db, &config, free_port(), &["--alert-receivers", "pager"]).await;
    let _vigil = KillOnDrop(child);
    // One rule fires for good; one fires while the test's target serves `briefly_down 1`, and
    // resolves once it serves 0, after vigil has paged it. (A window on the wall clock raced
    // Prometheus' start on a busy machine: the alert could end before Prometheus first sent.)
    let rules = "groups:\n  - name: demo\n    interval: 1s\n    rules:\n      - alert: AlwaysDown\n        expr: vector(1)\n        labels: {severity: page}\n        annotations: {summary: 'it is down'}\n      - alert: Briefly\n        expr: briefly_down > 0\n        annotations: {summary: 'briefly down'}\n";
    let scraped = hooks.url.trim_start_matches("http://");
    let Some((_prom, prom)) = prometheus_scraping(dir.path(), &base, rules, Some(scraped)).await else { return };

    until_notices(&hooks, "AlwaysDown", &["trigger"]).await;
    until_notices(&hooks, "Briefly", &["trigger"]).await;
    down.store(false, Ordering::SeqCst);
    until_notices(&hooks, "Briefly", &["trigger", "resolve"]).await;
    let paged = hooks.to("/pager");
    let down = paged.iter().find(|r| r.body["notice"] == "trigger" && r.body["summary"] == "it is down");
    assert!(down.is_some(), "the summary annotation is the summary: {paged:#?}");
    assert_eq!(down.unwrap().body["severity"], json!("critical"), "severity=page pages");
    // Prometheus sent without an error, and nothing paged twice meanwhile.
    assert!(prometheus_counter(&prom, "prometheus_notifications_sent_total").await >= 2.0);
    assert_eq!(prometheus_counter(&prom, "prometheus_notifications_errors_total").await, 0.0);
    stays(Duration::from_secs(2), "re-sent alerts page once", async || notices(&hooks, "AlwaysDown") == ["trigger"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_alerts_are_refused_by_name_and_the_valid_ones_kept() {
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = pager_config(dir.path(), &hooks.url);
    let (child, base) = serve_api(&db, &config, free_port(), &["--alert-receivers", "pager"]).await;
    let _vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let body = json!([
        {"labels": {"alertname": "DiskFull", "instance": "db1"}, "annotations": {"summary": "disk full"}},
        {"labels": {}},
        {"labels": {"alertname": "Backwards"}, "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2029-01-01T00:00:00Z"}
    ]);
    let answer = http.post(format!("{base}/api/v2/alerts")).json(&body).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let text = answer.text().await.unwrap();
    assert!(text.contains("alerts[1]: at least one label pair required"), "{text}");
    assert!(text.contains("alerts[2]: start time must be before end time"), "{text}");
    until_notices(&hooks, "DiskFull", &["trigger"]).await;
    let not_a_list = http.post(format!("{base}/api/v2/alerts")).json(&json!({"labels": {}})).send().await.unwrap();
    assert_eq!(not_a_list.status().as_u16(), 400);
    // Resolved by an end in the past: the receiver is told.
    let resolved = json!([{"labels": {"alertname": "DiskFull", "instance": "db1"}, "endsAt": "2020-01-01T00:00:00Z"}]);
    let answer = http.post(format!("{base}/api/v2/alerts")).json(&resolved).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    until_notices(&hooks, "DiskFull", &["trigger", "resolve"]).await;
}

/// `amtool` against vigil: its output, or why it failed.
fn amtool(amtool: &std::path::Path, base: &str, args: &[&str]) -> String {
    let out = Command::new(amtool).arg(format!("--alertmanager.url={base}")).args(args).output().unwrap();
    assert!(out.status.success(), "amtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_queries_vigils_alerts_unchanged() {
    let Some(am) = service_binary(&["/usr/bin/amtool"], "amtool (Debian `prometheus-alertmanager`)") else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = pager_config(dir.path(), &hooks.url);
    let (child, base) = serve_api(&db, &config, free_port(), &["--alert-receivers", "pager"]).await;
    let _vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let body = json!([
        {"labels": {"alertname": "DiskFull", "instance": "db1", "severity": "warning"}, "annotations": {"summary": "disk full"}},
        {"labels": {"alertname": "Down", "job": "node"}, "annotations": {"summary": "node down"}}
    ]);
    assert_eq!(http.post(format!("{base}/api/v2/alerts")).json(&body).send().await.unwrap().status().as_u16(), 200);

    // The status and receivers, as Grafana's data source and `amtool config show` read them.
    amtool(&am, &base, &["config", "show"]);
    let status: Value = http.get(format!("{base}/api/v2/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["cluster"]["status"], json!("ready"), "{status}");
    assert!(status["uptime"].as_str().is_some_and(|u| u.ends_with('Z')), "{status}");
    let receivers: Value = http.get(format!("{base}/api/v2/receivers")).send().await.unwrap().json().await.unwrap();
    assert_eq!(receivers, json!([{"name": "pager"}]));

    let all = amtool(&am, &base, &["alert", "query"]);
    assert!(all.contains("DiskFull") && all.contains("disk full") && all.contains("Down"), "{all}");
    let db_only = amtool(&am, &base, &["alert", "query", "instance=~db.*"]);
    assert!(db_only.contains("DiskFull") && !db_only.contains("Down"), "{db_only}");
    let json_out = amtool(&am, &base, &["alert", "query", "alertname=DiskFull", "-o", "json"]);
    let listed: Vec<Value> = serde_json::from_str(&json_out).unwrap();
    assert_eq!(listed.len(), 1, "{json_out}");
    assert_eq!(listed[0]["labels"]["instance"], json!("db1"));
    assert_eq!(listed[0]["receivers"], json!([{"name": "pager"}]));
    assert_eq!(listed[0]["status"]["state"], json!("active"));

    // Silenced in vigil: amtool's default query hides it, `--silenced` shows it suppressed.
    let silence = json!({"matchers": {"alertname": "Down"}, "duration": "1h", "comment": "maintenance"});
    let made = http.post(format!("{base}/api/v1/silences")).json(&silence).send().await.unwrap();
    assert!(made.status().is_success(), "{}", made.text().await.unwrap());
    let shown = amtool(&am, &base, &["alert", "query"]);
    assert!(shown.contains("DiskFull") && !shown.contains("Down"), "{shown}");
    let silenced = amtool(&am, &base, &["alert", "query", "--silenced", "alertname=Down", "-o", "json"]);
    let listed: Vec<Value> = serde_json::from_str(&silenced).unwrap();
    assert_eq!(listed.len(), 1, "{silenced}");
    assert_eq!(listed[0]["status"]["state"], json!("suppressed"));
    assert_eq!(listed[0]["status"]["silencedBy"].as_array().map(Vec::len), Some(1));

    // amtool's own silences, with a regex matcher: add, query, and expire.
    let id =
        amtool(&am, &base, &["silence", "add", "instance=~db[0-9]", "-c", "disk work", "-d", "1h", "-a", "tester"]);
    let id = id.trim().to_string();
    assert!(!id.is_empty());
    let shown = amtool(&am, &base, &["alert", "query"]);
    assert!(!shown.contains("DiskFull"), "silenced by amtool's regex: {shown}");
    let listed = amtool(&am, &base, &["silence", "query", "-o", "json"]);
    let silences: Vec<Value> = serde_json::from_str(&listed).unwrap();
    let mine = silences.iter().find(|s| s["id"] == json!(id)).unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(mine["matchers"], json!([{"name": "instance", "value": "db[0-9]", "isRegex": true, "isEqual": true}]));
    assert_eq!((mine["createdBy"].clone(), mine["comment"].clone()), (json!("tester"), json!("disk work")));
    assert!(amtool(&am, &base, &["silence", "query", "-q"]).contains(&id));
    amtool(&am, &base, &["silence", "expire", &id]);
    let shown = amtool(&am, &base, &["alert", "query"]);
    assert!(shown.contains("DiskFull"), "shown again once the silence expired: {shown}");
    let expired = amtool(&am, &base, &["silence", "query", "--expired", "-o", "json"]);
    assert!(expired.contains(&id), "kept, expired: {expired}");
}

/// Issue 61, item 6: many pushed alerts under an inhibition rule are listed whole (each target
/// looked up in an index: the scan per alert made 100,000 quadratic), in fingerprint order, and a
/// page at a time with `limit`, the `Link` header naming the next page; filters apply first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_alerts_are_listed_a_page_at_a_time_with_inhibitions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let routing = "route:\n  receiver: ops\n  group_by: [alertname, job]\nreceivers:\n  - name: ops\ninhibit_rules:\n  - source_matchers: [severity=\"critical\"]\n    target_matchers: [severity=\"warning\"]\n    equal: [instance]\n";
    std::fs::write(config.join("alertmanager.yml"), routing).unwrap();
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    const WARNINGS: usize = 5_000;
    let alert = |name: &str, i: usize, severity: &str| {
        json!({"labels": {"alertname": name, "instance": format!("host-{i}"), "job": "node", "severity": severity},
               "startsAt": "2026-11-29T00:00:00Z"})
    };
    for start in (0..WARNINGS).step_by(1_000) {
        let batch: Vec<Value> = (start..start + 1_000).map(|i| alert("Load", i, "warning")).collect();
        let res = http.post(format!("{base}/api/v2/alerts")).json(&batch).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
    }
    // Every tenth host is down: its load warning is inhibited.
    let down: Vec<Value> = (0..WARNINGS).step_by(10).map(|i| alert("HostDown", i, "critical")).collect();
    assert_eq!(http.post(format!("{base}/api/v2/alerts")).json(&down).send().await.unwrap().status().as_u16(), 200);

    let all: Vec<Value> = http.get(format!("{base}/api/v2/alerts")).send().await.unwrap().json().await.unwrap();
    assert_eq!(all.len(), WARNINGS + WARNINGS / 10);
    let prints: Vec<&str> = all.iter().map(|a| a["fingerprint"].as_str().unwrap()).collect();
    assert!(prints.windows(2).all(|w| w[0] < w[1]), "in fingerprint order");
    let suppressed = all.iter().filter(|a| a["status"]["state"] == "suppressed").count();
    assert_eq!(suppressed, WARNINGS / 10, "each down host's warning, and nothing else");
    let host0 = all.iter().find(|a| a["labels"]["instance"] == "host-0" && a["labels"]["severity"] == "warning");
    assert_eq!(host0.unwrap()["status"]["inhibitedBy"].as_array().unwrap().len(), 1);

    // Page through the warnings only, 1,000 at a time, following the Link header.
    let mut next = Some("/api/v2/alerts?filter=severity%3D%22warning%22&limit=1000".to_string());
    let mut paged = Vec::new();
    while let Some(path) = next.take() {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        next = res.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with(">; rel=\"next\""), "{l}");
            l.trim_start_matches('<').split('>').next().unwrap().to_string()
        });
        let page: Vec<Value> = res.json().await.unwrap();
        assert!(page.len() <= 1_000 && (next.is_none() || page.len() == 1_000), "{}", page.len());
        paged.extend(page);
    }
    assert_eq!(paged.len(), WARNINGS, "every warning once");
    let warnings: Vec<&Value> = all.iter().filter(|a| a["labels"]["severity"] == "warning").collect();
    assert!(paged.iter().zip(warnings).all(|(a, b)| a["fingerprint"] == b["fingerprint"]), "the same order");
    let bad = http.get(format!("{base}/api/v2/alerts?limit=0")).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("limit"));
}

/// Issue 61, item 8: a pushed alert held by a route's time interval shows as `suppressed`, with
/// the interval in `mutedBy`, as Alertmanager shows it; one on a route not muted stays `active`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_held_by_a_time_interval_show_as_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let routing = "route:\n  receiver: ops\n  routes:\n    - matchers: [severity=\"low\"]\n      receiver: ops\n      \
        mute_time_intervals: [always]\nreceivers:\n  - name: ops\ntime_intervals:\n  - name: always\n    \
        time_intervals: [{weekdays: ['sunday:saturday']}]\n";
    std::fs::write(config.join("alertmanager.yml"), routing).unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let alert = |name: &str, severity: &str| json!({"labels": {"alertname": name, "severity": severity}});
    let pushed =
        http.post(format!("{base}/api/v2/alerts")).json(&json!([alert("Quiet", "low"), alert("Loud", "high")]));
    assert_eq!(pushed.send().await.unwrap().status().as_u16(), 200);
    let listed: Vec<Value> = http.get(format!("{base}/api/v2/alerts")).send().await.unwrap().json().await.unwrap();
    let status = |name: &str| listed.iter().find(|a| a["labels"]["alertname"] == name).unwrap()["status"].clone();
    assert_eq!(status("Quiet")["state"], "suppressed");
    assert_eq!(status("Quiet")["mutedBy"], json!(["always"]));
    assert_eq!(status("Loud")["state"], "active");
    assert_eq!(status("Loud")["mutedBy"], json!([]));
    // The groups' view (`amtool alert query --groups`, karma) says the same.
    let groups: Vec<Value> =
        http.get(format!("{base}/api/v2/alerts/groups")).send().await.unwrap().json().await.unwrap();
    let in_groups: Vec<&Value> = groups.iter().flat_map(|g| g["alerts"].as_array().unwrap()).collect();
    let quiet = in_groups.iter().find(|a| a["labels"]["alertname"] == "Quiet").unwrap();
    assert_eq!((&quiet["status"]["state"], &quiet["status"]["mutedBy"]), (&json!("suppressed"), &json!(["always"])));
}
