//! Silences until resolved: one made while an alert fires holds back new pages it matches and
//! ends by itself once nothing it matches fires, so the next problem pages; one that nothing
//! firing matches is refused, as it would end at once.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

/// The notices the pager got about the disk of `instance`, in order.
fn notices(hooks: &Recorder, instance: &str) -> Vec<String> {
    hooks
        .to("/pager")
        .iter()
        .filter(|r| r.body["labels"]["instance"] == json!(instance))
        .map(|r| r.body["notice"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn push(base: &str, instance: &str, firing: bool) {
    let ends = if firing { "2999-01-01T00:00:00Z" } else { "2020-01-01T00:00:00Z" };
    let alert = json!([{"labels": {"alertname": "DiskFull", "instance": instance}, "endsAt": ends}]);
    let answer =
        vigil_connectors::http_client().post(format!("{base}/api/v2/alerts")).json(&alert).send().await.unwrap();
    assert_eq!(answer.status(), 200);
}

fn silence_list(db: &std::path::Path) -> String {
    String::from_utf8(run(db, &["silence", "list"]).stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_until_resolved_ends_when_nothing_it_matches_fires() {
    let hooks = Recorder::start(|_| Reply::json(json!("ok"))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = pager_config(dir.path(), &hooks.url);
    let (child, base) = serve_api(&db, &config, free_port(), &["--alert-receivers", "pager"]).await;
    let _child = KillOnDrop(child);
    push(&base, "db1", true).await;
    until("db1 pages", || notices(&hooks, "db1") == ["trigger"]).await;

    let http = vigil_connectors::http_client();
    let by_api = http
        .post(format!("{base}/api/v1/silences"))
        .json(&json!({"matchers": {"alertname": "Nothing"}, "untilResolved": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_api.status(), 400);
    assert!(by_api.text().await.unwrap().contains("untilResolved"));
    let refused = run(&db, &["silence", "add", "--match", "alertname=Nothing", "--until-resolved"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing that fires matches"));
    let made = run(&db, &["silence", "add", "--match", "alertname=DiskFull", "--until-resolved"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(silence_list(&db).contains("until resolved"), "{}", silence_list(&db));

    // Silenced meanwhile: a second full disk does not page. The server reads the silences every
    // 2 s and nothing tells when it has read this one: time is what is waited on.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    push(&base, "db2", true).await;
    stays(Duration::from_secs(3), "held by the silence", async || notices(&hooks, "db2").is_empty()).await;

    // Both resolve: the page that went out is closed, the held one never pages, the silence ends.
    push(&base, "db1", false).await;
    push(&base, "db2", false).await;
    until("db1's page is resolved", || notices(&hooks, "db1") == ["trigger", "resolve"]).await;
    until("the silence ends once nothing it matches fires", || silence_list(&db).contains("expired")).await;
    assert!(notices(&hooks, "db2").is_empty(), "a held page that resolved is nobody's business");

    // The next problem pages.
    push(&base, "db3", true).await;
    until("db3 pages: the silence is over", || notices(&hooks, "db3") == ["trigger"]).await;
    let listed: Value = http.get(format!("{base}/api/v2/silences")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["status"]["state"], json!("expired"), "{listed:#}");
}
