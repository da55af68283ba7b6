//! Escalation and acknowledgement links through the binary: a pushed alert told to an
//! escalation policy pages its first step, then the second when nobody acknowledges; the page
//! carries a signed link that acknowledges it without an API token (with auth on), which opening
//! alone does not do, another site cannot post, and a changed token cannot use.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn config(dir: &std::path::Path, hooks: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    for name in ["primary", "secondary"] {
        std::fs::write(
            config.join(format!("notifiers/{name}.yaml")),
            format!("name: {name}\ntype: webhook\nurl: {hooks}/{name}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        config.join("notifiers/oncall.yaml"),
        "name: oncall\ntype: escalation\nsteps:\n- notify: [primary]\n  after: 2s\n- notify: [secondary]\n",
    )
    .unwrap();
    config
}

fn notices(hooks: &Recorder, path: &str) -> Vec<String> {
    hooks.to(path).iter().map(|r| r.body["notice"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_page_escalates_and_its_link_acknowledges_without_a_token() {
    let hooks = Recorder::start(|_| Reply::json(json!("ok"))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &hooks.url);
    let token = token(&db, "write");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (child, base) =
        serve_api(&db, &config, port, &["--auth", "on", "--public-url", &public, "--alert-receivers", "oncall"]).await;
    let child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let pushed = http
        .post(format!("{base}/api/v2/alerts"))
        .bearer_auth(&token)
        .json(&json!([{"labels": {"alertname": "DiskFull", "instance": "db1"}, "endsAt": "2999-01-01T00:00:00Z"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);
    until("the first step is paged", || notices(&hooks, "/primary") == ["trigger"]).await;
    assert!(notices(&hooks, "/secondary").is_empty(), "the second step waits for its turn");
    until("nobody acknowledged: the second step is paged", || notices(&hooks, "/secondary") == ["trigger"]).await;

    let page: Value = hooks.to("/primary")[0].body.clone();
    let link = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["text"] == "Acknowledge")
        .and_then(|l| l["href"].as_str())
        .expect("the page carries an acknowledgement link")
        .to_string();
    assert!(link.starts_with(&format!("{public}/ack/")), "{link}");

    // Opening the link shows what it acknowledges, without a token, and acknowledges nothing.
    let shown = http.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(html.contains("DiskFull") && html.contains("<button"), "{html}");
    stays(Duration::from_millis(2500), "opening the link acknowledges nothing", async || {
        notices(&hooks, "/primary") == ["trigger"]
    })
    .await;

    // Another site cannot post it; a changed token is refused.
    let cross = http.post(&link).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(cross.status(), 403);
    let forged = http.post(format!("{link}A")).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let forged_page = http.get(format!("{link}A")).send().await.unwrap();
    assert_eq!(forged_page.status(), 403);

    // The button acknowledges: both steps hear of it, and the link is spent.
    let acked = http
        .post(&link)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status(), 200, "{}", acked.text().await.unwrap());
    until("both steps are told of the acknowledgement", || {
        notices(&hooks, "/primary") == ["trigger", "acknowledge"]
            && notices(&hooks, "/secondary") == ["trigger", "acknowledge"]
    })
    .await;
    let again = http.post(&link).send().await.unwrap();
    assert_eq!(again.status(), 409, "nothing left to acknowledge");
    drop(child);
}

/// Each dedup key's notices at `path`, in order, a redelivery (the same notice twice in a row:
/// sent by a node that died before recording it) counted once.
fn by_key(hooks: &Recorder, path: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in hooks.to(path) {
        let notices = out.entry(r.body["dedup_key"].as_str().unwrap_or_default().to_string()).or_default();
        let notice = r.body["notice"].as_str().unwrap_or_default().to_string();
        if notices.last() != Some(&notice) {
            notices.push(notice);
        }
    }
    out
}

/// Two nodes on PostgreSQL; alerts spread over both. The node that had the config dies by
/// SIGKILL between the first and the second step: the survivor takes its alerts and pages each
/// one's second step once, and nobody's first step again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_goes_on_after_the_node_running_it_is_killed() {
    const ALERTS: usize = 12;
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_escalation").await else { return };
    let hooks = Recorder::start(|_| Reply::json(json!("ok"))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &hooks.url);
    std::fs::write(
        config.join("notifiers/oncall.yaml"),
        "name: oncall\ntype: escalation\nsteps:\n- notify: [primary]\n  after: 6s\n- notify: [secondary]\n",
    )
    .unwrap();
    let db = std::path::PathBuf::from(&pg.url);
    let args = ["--lease-ttl", "4", "--alert-receivers", "oncall"];
    let (a, base_a) = serve_api(&db, &config, free_port(), &args).await;
    let a = KillOnDrop(a);
    let (_b, base_b) = serve_without_config(&db, &args).await;
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 2).await;
    let alerts: Vec<Value> = (0..ALERTS)
        .map(|i| json!({"labels": {"alertname": "DiskFull", "instance": format!("db{i:02}")}, "endsAt": "2999-01-01T00:00:00Z"}))
        .collect();
    for (base, half) in [(&base_a, &alerts[..ALERTS / 2]), (&base_b, &alerts[ALERTS / 2..])] {
        let answer =
            vigil_connectors::http_client().post(format!("{base}/api/v2/alerts")).json(&half).send().await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    until("every alert pages its first step", || by_key(&hooks, "/primary").len() == ALERTS).await;
    assert!(hooks.to("/secondary").is_empty(), "no second step yet");
    drop(a);
    until("every alert pages its second step", || {
        let second = by_key(&hooks, "/secondary");
        second.len() == ALERTS && second.values().all(|n| n == &["trigger"])
    })
    .await;
    stays(Duration::from_secs(3), "each step is paged once", async || {
        let once = |hook| by_key(&hooks, hook).values().all(|n| n == &["trigger"]);
        once("/primary") && once("/secondary")
    })
    .await;
    for (key, notices) in by_key(&hooks, "/primary") {
        assert_eq!(notices, ["trigger"], "{key}: the first step is paged once");
    }
    for (key, notices) in by_key(&hooks, "/secondary") {
        assert_eq!(notices, ["trigger"], "{key}: the second step is paged once");
    }
}
