//! An Alertmanager configuration routing pushed alerts, end to end through `vigil serve`: alerts
//! of one group become one notification in Alertmanager's webhook format, a sub-route sends to
//! its own receiver, an inhibition rule holds alerts while their source fires (and they are told
//! once it resolves), and the group's resolve says every alert resolved. `vigil validate` reads
//! the same file, and names the field of a mistake.

use crate::support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn am_config(hooks: &str) -> String {
    format!(
        r#"
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
  - matchers: [severity="page"]
    receiver: pager
inhibit_rules:
- source_matchers: [alertname="GatewayDown"]
  target_matchers: [alertname="HostDown"]
  equal: [site]
receivers:
- name: team
  webhook_configs: [{{url: '{hooks}/team'}}]
- name: pager
  webhook_configs: [{{url: '{hooks}/pager'}}]
"#
    )
}

/// The webhook bodies `path` got.
fn bodies(hooks: &Recorder, path: &str) -> Vec<Value> {
    hooks.to(path).into_iter().map(|r| r.body).collect()
}

/// Waits until `path` got `n` notifications; returns them.
async fn until_count(hooks: &Recorder, path: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = bodies(hooks, path);
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "{path}: expected {n} notifications, got {got:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(status, instance)` of each alert of a webhook body, sorted.
fn members(body: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["status"].as_str().unwrap().to_string(), a["labels"]["instance"].as_str().unwrap_or("").to_string())
        })
        .collect();
    out.sort();
    out
}

async fn push(base: &str, alerts: Value) {
    let answer =
        vigil_connectors::http_client().post(format!("{base}/api/v2/alerts")).json(&alerts).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{}", answer.text().await.unwrap());
}

fn host(instance: &str, ends: Option<&str>) -> Value {
    let mut a = json!({"labels": {"alertname": "HostDown", "instance": instance, "site": "s1"}, "annotations": {"summary": "down"}});
    if let Some(e) = ends {
        a["endsAt"] = json!(e);
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_grouped_routed_and_inhibited_as_alertmanager_would() {
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, am_config(&hooks.url)).unwrap();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}/");
    let flags = ["--alertmanager-config", am.to_str().unwrap(), "--public-url", &public];
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, port, &flags).await;
    let _vigil = KillOnDrop(child);

    // Three hosts down at once: one notification of the group, in Alertmanager's format.
    push(&base, json!([host("a", None), host("b", None), host("c", None)])).await;
    let team = until_count(&hooks, "/team", 1).await;
    assert_eq!(
        members(&team[0]),
        [("firing".into(), "a".into()), ("firing".into(), "b".into()), ("firing".into(), "c".into())]
    );
    assert_eq!(team[0]["version"], "4");
    assert_eq!(team[0]["receiver"], "team");
    assert_eq!(team[0]["externalURL"], json!(public.trim_end_matches('/')), "vigil's --public-url");
    assert_eq!(team[0]["groupLabels"], json!({"alertname": "HostDown"}));
    assert_eq!(team[0]["commonLabels"], json!({"alertname": "HostDown", "site": "s1"}));
    assert_eq!(team[0]["groupKey"], r#"{}:{alertname="HostDown"}"#);

    // A paging alert takes its sub-route to its own receiver.
    push(&base, json!([{"labels": {"alertname": "DiskFull", "severity": "page", "instance": "db"}}])).await;
    let pager = until_count(&hooks, "/pager", 1).await;
    assert_eq!(members(&pager[0]), [("firing".into(), "db".into())]);

    // The site's gateway goes down: a fourth host behind it is held, and so are the three told.
    push(&base, json!([{"labels": {"alertname": "GatewayDown", "site": "s1"}}])).await;
    until_count(&hooks, "/team", 2).await;
    push(&base, json!([host("d", None)])).await;
    // Two group intervals: long enough for a flush that would tell of d if it were not held.
    stays(Duration::from_secs(4), "the host behind the failing gateway is held", async || {
        bodies(&hooks, "/team").len() == 2
    })
    .await;
    let team = bodies(&hooks, "/team");
    // The API says so, as Alertmanager's does: suppressed, inhibited by the gateway.
    let http = vigil_connectors::http_client();
    let held: Value =
        http.get(format!("{base}/api/v2/alerts?filter=instance%3D%22d%22")).send().await.unwrap().json().await.unwrap();
    assert_eq!(held[0]["status"]["state"], "suppressed", "{held:#}");
    assert_eq!(held[0]["status"]["inhibitedBy"].as_array().map(Vec::len), Some(1), "{held:#}");
    assert_eq!(held[0]["receivers"], json!([{"name": "team"}]));
    // Routed alerts are kept in their groups only, and vigil's own alert list shows them too.
    let listed: Value = http.get(format!("{base}/api/v1/alerts")).send().await.unwrap().json().await.unwrap();
    let keys: Vec<&str> = listed["items"].as_array().unwrap().iter().filter_map(|a| a["dedupKey"].as_str()).collect();
    for want in ["alertmanager/HostDown{instance=d,site=s1}", "alertmanager/GatewayDown{site=s1}"] {
        assert!(keys.contains(&want), "{want} is listed: {listed:#}");
    }
    assert_eq!(keys.len(), 6, "each alert once: {listed:#}");
    let groups: Value =
        http.get(format!("{base}/api/v2/alerts/groups?receiver=team")).send().await.unwrap().json().await.unwrap();
    let hosts =
        groups.as_array().unwrap().iter().find(|g| g["labels"] == json!({"alertname": "HostDown"})).expect("the group");
    assert_eq!(hosts["receiver"], json!({"name": "team"}));
    assert_eq!(hosts["alerts"].as_array().unwrap().len(), 4);
    let active: Value =
        http.get(format!("{base}/api/v2/alerts/groups?inhibited=false")).send().await.unwrap().json().await.unwrap();
    assert!(active.as_array().unwrap().iter().all(|g| g["labels"] != json!({"alertname": "HostDown"})), "{active:#}");
    assert_eq!(team[1]["groupLabels"], json!({"alertname": "GatewayDown"}), "the gateway's own group");

    // The gateway resolves: the held host is news, and is told with the rest of its group.
    push(&base, json!([{"labels": {"alertname": "GatewayDown", "site": "s1"}, "endsAt": "2020-01-01T00:00:00Z"}]))
        .await;
    let team = until_count(&hooks, "/team", 4).await;
    let host_down: Vec<&Value> = team.iter().filter(|b| b["groupLabels"]["alertname"] == "HostDown").collect();
    assert_eq!(host_down.len(), 2, "{team:#?}");
    assert_eq!(members(host_down[1]).len(), 4);
    let gateway: Vec<&Value> = team.iter().filter(|b| b["groupLabels"]["alertname"] == "GatewayDown").collect();
    assert_eq!(gateway.last().unwrap()["status"], "resolved");

    // Every host resolves: one notification says so, with each of them.
    let past = Some("2020-01-01T00:00:00Z");
    push(&base, json!([host("a", past), host("b", past), host("c", past), host("d", past)])).await;
    let team = until_count(&hooks, "/team", 5).await;
    assert_eq!(team[4]["status"], "resolved");
    assert_eq!(members(&team[4]).iter().filter(|(s, _)| s == "resolved").count(), 4);

    // A silence for later is pending until it starts.
    let later = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    let body = json!({"matchers": [{"name": "alertname", "value": "HostDown", "isRegex": false}],
        "startsAt": later.to_string(), "endsAt": later.checked_add(jiff::SignedDuration::from_hours(1)).unwrap().to_string(),
        "createdBy": "ops", "comment": "maintenance"});
    let http = vigil_connectors::http_client();
    let made: Value =
        http.post(format!("{base}/api/v2/silences")).json(&body).send().await.unwrap().json().await.unwrap();
    let id = made["silenceID"].as_str().expect("an id");
    let shown: Value = http.get(format!("{base}/api/v2/silence/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["status"]["state"], "pending");
    // vigil's own API takes a window to come too.
    let own = json!({"matchers": {"alertname": "HostDown"}, "startsAt": later.to_string(), "duration": "30m"});
    let made: Value =
        http.post(format!("{base}/api/v1/silences")).json(&own).send().await.unwrap().json().await.unwrap();
    let own_id = made["id"].as_str().expect("an id");
    let shown: Value = http.get(format!("{base}/api/v2/silence/{own_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["status"]["state"], "pending", "{shown:#}");
    assert_eq!(shown["startsAt"].as_str().map(|s| &s[..16]), Some(&later.to_string()[..16]));
    push(&base, json!([host("e", None)])).await;
    let team = until_count(&hooks, "/team", 6).await;
    assert_eq!(members(&team[5]), [("firing".into(), "e".into())], "a pending silence mutes nothing yet");

    // A routed alert is acknowledged by its own key through its group, once.
    let url = format!("{base}/api/v1/alerts/ack");
    let ack = |key: &str| {
        let (http, url) = (http.clone(), url.clone());
        let body = json!({"dedupKey": key});
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(ack("alertmanager/HostDown{instance=e,site=s1}").await, 202);
    assert_eq!(ack("alertmanager/HostDown{instance=e,site=s1}").await, 404, "acknowledged already");
    assert_eq!(ack("alertmanager/HostDown{instance=z,site=s1}").await, 404, "no such alert");

    // `vigil alert ack` does the same from the command line: the paging group is acknowledged by
    // the running server.
    let db = dir.path().join("v.db");
    let out = run(&db, &["alert", "ack", "alertmanager/DiskFull{instance=db,severity=page}"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let missing = run(&db, &["alert", "ack", "alertmanager/DiskFull{instance=nowhere}"]);
    assert!(!missing.status.success(), "no such alert");
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let all: Vec<u32> = (0..vigil_store::PARTITIONS).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let groups = vigil_store::AlertStore::groups_in(&store, &all).await.unwrap();
        let disk = groups.iter().find(|g| g.state.contains("DiskFull")).expect("the paging group");
        if disk.state.contains(r#""acknowledged":true"#) {
            break;
        }
        assert!(Instant::now() < deadline, "the CLI's acknowledgement was never applied: {}", disk.state);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prometheus, configured with nothing but vigil's address: a rule with two series is one
/// notification of its group; a rule that stops firing resolves its group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alerts_are_grouped_and_resolved() {
    let down = Arc::new(AtomicBool::new(true));
    let hooks = support::prometheus::recorder_with_briefly_down(down.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("alertmanager.yml"), am_config(&hooks.url)).unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    // Briefly fires while the test's target serves `briefly_down 1`, until its firing is told
    // (a wall-clock window raced Prometheus' start).
    let rules = "groups:\n  - name: demo\n    interval: 1s\n    rules:\n\
         \x20     - alert: DiskFull\n        expr: label_replace(vector(1), \"instance\", \"x\", \"\", \"\") or label_replace(vector(2), \"instance\", \"y\", \"\", \"\")\n\
         \x20     - alert: Briefly\n        expr: briefly_down > 0\n";
    let scraped = Some(hooks.url.trim_start_matches("http://"));
    let Some((_prom, _)) = support::prometheus::prometheus_scraping(dir.path(), &base, rules, scraped).await else {
        return;
    };
    let of = |name: &str| -> Vec<Value> {
        bodies(&hooks, "/team").into_iter().filter(|b| b["groupLabels"]["alertname"] == name).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while of("DiskFull").is_empty() || of("Briefly").is_empty() {
        assert!(Instant::now() < deadline, "{:#?}", bodies(&hooks, "/team"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    down.store(false, Ordering::SeqCst);
    while of("Briefly").len() < 2 {
        assert!(Instant::now() < deadline, "{:#?}", bodies(&hooks, "/team"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let disk = of("DiskFull");
    assert_eq!(
        members(&disk[0]),
        [("firing".into(), "x".into()), ("firing".into(), "y".into())],
        "one notification for the group"
    );
    let briefly = of("Briefly");
    assert_eq!((briefly[0]["status"].as_str(), briefly[1]["status"].as_str()), (Some("firing"), Some("resolved")));
    assert_eq!(briefly.len(), 2, "{briefly:#?}");
    assert_eq!(of("DiskFull").len(), 1, "Prometheus' re-sends are not news");
}

/// vigil's own monitors that name no notifier go through the same tree: their labels route them,
/// their alerts group, and their resolves reach the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_without_notifiers_are_routed_by_the_tree() {
    let down = Arc::new(AtomicBool::new(true));
    let flag = down.clone();
    let hooks = Recorder::start(move |r| {
        let failing = r.path == "/status" && flag.load(Ordering::SeqCst);
        Reply { status: if failing { 503 } else { 200 }, ..Reply::json(json!({"ok": !failing})) }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::write(config.join("alertmanager.yml"), am_config(&hooks.url)).unwrap();
    let monitor = format!(
        "name: web\nevery: 1s\nlabels: {{severity: page, instance: web-1}}\nsource:\n  http:\n    url: {}/status\n    conditions: [\"[STATUS] == 200\"]\nrepeatInterval: never\n",
        hooks.url
    );
    std::fs::write(config.join("monitors/web.yaml"), monitor).unwrap();
    let (child, _base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let pager = until_count(&hooks, "/pager", 1).await;
    assert_eq!(pager[0]["groupLabels"], json!({"alertname": "web"}), "{pager:#?}");
    assert_eq!(members(&pager[0]), [("firing".into(), "web-1".into())]);
    down.store(false, Ordering::SeqCst);
    let pager = until_count(&hooks, "/pager", 2).await;
    assert_eq!(pager[1]["status"], "resolved");
    assert!(bodies(&hooks, "/team").is_empty(), "the sub-route took it");
}

/// Prometheus' rules imported as monitors (`vigil import prometheus-rules`): vigil evaluates them
/// against a real Prometheus (which only answers queries) and the routing tree tells the firing
/// one; the one whose expression returns nothing never fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_prometheus_rules_fire_through_the_tree() {
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let Some((_prom, prom)) = support::prometheus::prometheus(dir.path(), "http://127.0.0.1:9", "groups: []\n").await
    else {
        return;
    };
    let rules = dir.path().join("alerts.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: demo\n  interval: 1s\n  rules:\n  - alert: AlwaysOn\n    expr: label_replace(vector(1), \"instance\", \"a\", \"\", \"\")\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.instance }} is on'}\n  - alert: Never\n    expr: vector(1) == 0\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    let db = dir.path().join("v.db");
    let out = vigil(&db)
        .args([
            "import",
            "prometheus-rules",
            rules.to_str().unwrap(),
            "--url",
            &prom,
            "--out",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(config.join("alertmanager.yml"), am_config(&hooks.url)).unwrap();
    let (child, _base) = serve_api(&db, &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let pager = until_count(&hooks, "/pager", 1).await;
    assert_eq!(pager[0]["groupLabels"], json!({"alertname": "AlwaysOn"}), "{pager:#?}");
    assert_eq!(pager[0]["alerts"][0]["annotations"]["summary"], "a is on");
    stays(Duration::from_secs(3), "the alert that never fires is never told", async || {
        let all = [bodies(&hooks, "/pager"), bodies(&hooks, "/team")].concat();
        all.iter().all(|b| b["groupLabels"]["alertname"] != "Never")
    })
    .await;
}

#[test]
fn validate_reads_an_alertmanager_configuration_and_locates_its_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("alertmanager.yml");
    std::fs::write(&good, am_config("http://127.0.0.1:9")).unwrap();
    let out = vigil(&dir.path().join("v.db")).args(["validate", good.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok: Alertmanager configuration: 2 route(s), 2 receiver(s), 1 inhibition rule(s)"), "{text}");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "route:\n  receiver: team\n  routes:\n  - receiver: nobody\nreceivers:\n- name: team\n  telegram_configs: [{chat_id: 1}]\n",
    )
    .unwrap();
    let out = vigil(&dir.path().join("v.db")).args(["validate", bad.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("bad.yml:4:5: error: route.routes[0].receiver: undefined receiver \"nobody\" used in route"),
        "{text}"
    );
    // A template file outside vigil's Go-template subset is named by its file and line.
    std::fs::write(dir.path().join("bad.tmpl"), "{{ define \"t\" }}\n{{ slice . 1 }}\n{{ end }}\n").unwrap();
    let with_template = dir.path().join("templated.yml");
    std::fs::write(&with_template, format!("templates: ['*.tmpl']\n{}", am_config("http://127.0.0.1:9"))).unwrap();
    let out = vigil(&dir.path().join("v.db")).args(["validate", with_template.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("bad.tmpl:2:1: error: line 2: function \"slice\" not defined"), "{text}");
}

/// `vigil import alertmanager`: the same configuration, its receivers as vigil notifiers whose
/// URLs are secrets, routes pushed alerts as Alertmanager's file did; nothing secret in the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_alertmanager_configuration_routes_through_vigil_notifiers() {
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, am_config(&format!("{}/secret-token", hooks.url))).unwrap();
    let (config, db) = (dir.path().join("config"), dir.path().join("v.db"));
    let out = vigil(&db)
        .args(["import", "alertmanager", am.to_str().unwrap(), "--out", config.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for file in ["alertmanager.yml", "notifiers/team.yaml", "notifiers/pager.yaml"] {
        let written = std::fs::read_to_string(config.join(file)).unwrap();
        assert!(!written.contains("secret-token"), "{file} keeps a credential:\n{written}");
    }
    // The printed commands store the URLs as secrets.
    for line in text.lines().filter(|l| l.contains("vigil secret set")) {
        let (value, name) = line.trim().trim_start_matches("printf %s '").split_once("' | vigil secret set ").unwrap();
        set_secret(&db, name, value);
    }
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    push(&base, json!([host("a:9100", None), {"labels": {"alertname": "Disk", "severity": "page"}}])).await;
    let team = until_count(&hooks, "/secret-token/team", 1).await;
    assert_eq!(members(&team[0]), [("firing".to_string(), "a:9100".to_string())], "{team:#?}");
    assert_eq!(team[0]["receiver"], "team", "Alertmanager's webhook format, as before");
    let pager = until_count(&hooks, "/secret-token/pager", 1).await;
    assert_eq!(pager[0]["groupLabels"], json!({"alertname": "Disk"}));
}

/// Notification templates: a Slack receiver's `title` from a template file the configuration
/// names (`templates:`, a glob beside it) and its `text` inline, rendered by vigil's Go-template
/// subset; a receiver without its own keeps Alertmanager's default title. The template file is
/// read once, with the configuration, and published with it: removing it changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_notification_templates_render_as_alertmanager_would() {
    let hooks = Recorder::start(|_| Reply { status: 200, body: json!("ok"), delay: Duration::ZERO }).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmpl")).unwrap();
    std::fs::write(
        dir.path().join("tmpl/team.tmpl"),
        r#"{{ define "team.title" }}{{ .CommonLabels.alertname }} on {{ len .Alerts.Firing }} host(s){{ end }}"#,
    )
    .unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am,
        format!(
            r#"templates: ['tmpl/*.tmpl']
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
  routes:
  - matchers: [severity="page"]
    receiver: plain
receivers:
- name: team
  slack_configs:
  - api_url: '{hooks}/slack-team'
    title: '{{{{ template "team.title" . }}}}'
    text: '{{{{ range .Alerts }}}}* {{{{ .Labels.instance }}}}: {{{{ .Annotations.summary | toUpper }}}}{{{{ "\n" }}}}{{{{ end }}}}'
- name: plain
  slack_configs:
  - api_url: '{hooks}/slack-plain'
"#,
            hooks = hooks.url
        ),
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let (child, base) =
        serve_api(&dir.path().join("v.db"), &config, free_port(), &["--alertmanager-config", am.to_str().unwrap()])
            .await;
    let _vigil = KillOnDrop(child);
    std::fs::remove_dir_all(dir.path().join("tmpl")).unwrap();
    push(&base, json!([host("a:9100", None), host("b:9100", None), {"labels": {"alertname": "Disk", "severity": "page", "instance": "c"}}])).await;
    // Alertmanager's Slack layout: one attachment of the rendered title and text.
    let team = until_count(&hooks, "/slack-team", 1).await;
    let attachment = &team[0]["attachments"][0];
    assert!(attachment["title"].as_str().unwrap().ends_with("HostDown on 2 host(s)"), "{:#}", team[0]);
    assert!(attachment["text"].as_str().unwrap().contains("* a:9100: DOWN\n* b:9100: DOWN"), "{:#}", team[0]);
    let plain = until_count(&hooks, "/slack-plain", 1).await;
    let title = plain[0]["attachments"][0]["title"].as_str().unwrap_or_default().to_string();
    assert!(title.ends_with("[FIRING:1] Disk (c page)"), "{:#}", plain[0]);
}

/// Issue 61, item 8: `vigil validate` reads each of Alertmanager 0.25's 24 test configurations
/// as `amtool check-config` does (`crates/core/tests/alertmanager/testdata/verdicts.txt`): the
/// valid ones load (a `*_file` secret missing on this machine is a warning, as Alertmanager reads
/// it only when it sends), the invalid ones are refused. With amtool installed, the recorded
/// verdicts are checked against it too. The one kept difference (an SNS receiver vigil cannot
/// send to) is refused naming the receiver.
#[test]
fn alertmanagers_test_configurations_are_judged_as_amtool_judges_them() {
    let dir = root().join("crates/core/tests/alertmanager/testdata");
    let verdicts = std::fs::read_to_string(dir.join("verdicts.txt")).unwrap();
    let amtool = service_binary(&["/usr/bin/amtool"], "amtool (Debian `prometheus-alertmanager`)");
    let db = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in verdicts.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (verdict, file, differs) = (words[0] == "ok", words[1], words.get(2).is_some());
        let path = dir.join(file);
        if let Some(amtool) = &amtool {
            let said = Command::new(amtool).current_dir(&dir).args(["check-config", file]).output().unwrap();
            assert_eq!(said.status.success(), verdict, "amtool on {file}: {}", String::from_utf8_lossy(&said.stdout));
        }
        let out = run(&db.path().join("v.db"), &["validate", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let accepted = out.status.success();
        match (differs, accepted == verdict) {
            (false, true) => {}
            (false, false) => wrong.push(format!("{file}: amtool {}, vigil {}:\n{text}", words[0], accepted)),
            (true, _) => {
                assert!(!accepted && text.contains("receiver `sns-api-notifications`"), "{file}: {text}");
                assert!(text.contains("webhook_configs"), "names the alternative: {text}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 24, "every test configuration of Alertmanager 0.25.0");
    assert!(wrong.is_empty(), "vigil and amtool disagree on:\n{}", wrong.join("\n"));
}

/// Issue 61, item 8: `/api/v2/status` serves the loaded configuration with its secrets masked,
/// so `amtool config show` prints it and `amtool config routes` draws and tests its tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_shows_and_tests_the_loaded_routing_tree() {
    let Some(amtool) = service_binary(&["/usr/bin/amtool"], "amtool (Debian `prometheus-alertmanager`)") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let routing = "global:\n  slack_api_url: https://hooks.slack.com/services/T0/B0/slack-secret-1\nroute:\n  receiver: ops\n  \
        group_by: [alertname]\n  routes:\n    - matchers: [severity=\"critical\"]\n      receiver: pager\nreceivers:\n  \
        - name: ops\n    slack_configs: [{channel: '#ops'}]\n  - name: pager\n    pagerduty_configs: [{routing_key: rk-secret-2}]\n";
    std::fs::write(config.join("alertmanager.yml"), routing).unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _vigil = KillOnDrop(child);
    let amtool = |args: &[&str]| {
        let out = Command::new(&amtool).arg(format!("--alertmanager.url={base}")).args(args).output().unwrap();
        assert!(out.status.success(), "amtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = amtool(&["config", "show"]);
    assert!(shown.contains("pager") && shown.contains("<secret>"), "{shown}");
    assert!(!shown.contains("slack-secret-1") && !shown.contains("rk-secret-2"), "secrets masked: {shown}");
    let tree = amtool(&["config", "routes"]);
    assert!(tree.contains("receiver: ops") && tree.contains("{severity=\"critical\"}  receiver: pager"), "{tree}");
    assert_eq!(amtool(&["config", "routes", "test", "severity=critical"]).trim(), "pager");
    assert_eq!(amtool(&["config", "routes", "test", "severity=info"]).trim(), "ops");
}

/// Issue 61, item 8: a `slack_configs` receiver keeps its `channel`, `username`, `icon_emoji` and
/// `color`, and posts Alertmanager's default Slack layout (one attachment: the default title and
/// link, colour `danger` while firing and `good` once resolved), not vigil's blocks with the
/// group's data dumped after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_receivers_post_alertmanagers_layout_as_configured() {
    let hooks = Recorder::start(|_| Reply::json(json!("ok"))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let routing = format!(
        "global:\n  slack_api_url: '{}/slack'\nroute:\n  receiver: chat\n  group_by: [alertname]\n  group_wait: 1s\n  \
         group_interval: 1s\nreceivers:\n- name: chat\n  slack_configs:\n  - {{channel: '#ops', username: vigil-bot, \
         icon_emoji: ':fire:', send_resolved: true}}\n",
        hooks.url
    );
    std::fs::write(config.join("alertmanager.yml"), routing).unwrap();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, port, &["--public-url", &public]).await;
    let _vigil = KillOnDrop(child);
    push(&base, json!([host("a", None)])).await;
    let firing = until_count(&hooks, "/slack", 1).await;
    let body = &firing[0];
    assert_eq!(
        (&body["channel"], &body["username"], &body["icon_emoji"]),
        (&json!("#ops"), &json!("vigil-bot"), &json!(":fire:"))
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "danger", "{body}");
    assert_eq!(attachment["title"], "[FIRING:1] HostDown (a s1)", "{body}");
    assert_eq!(attachment["title_link"], json!(format!("{public}/#/alerts?receiver=chat")), "{body}");
    assert!(body.get("blocks").is_none() && !body.to_string().contains("groupKey"), "no raw group data: {body}");
    push(&base, json!([host("a", Some("2020-01-01T00:00:00Z"))])).await;
    let resolved = until_count(&hooks, "/slack", 2).await;
    assert_eq!(resolved[1]["attachments"][0]["color"], "good", "{}", resolved[1]);
}
