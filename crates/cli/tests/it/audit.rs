//! The audit log end to end, against the real binary: each kind of change the issue names, made
//! through the API, the web UI, the CLI and a config reload, is recorded once with the right
//! actor, source, object and difference; it is read back filtered and as JSON lines, and only
//! by an admin; and no secret value, password or minted token is in it, in any form.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const SECRET_VALUE: &str = "Sup3rS3cretValue-8d2f";
const CLI_SECRET: &str = "cli-secret-value-71ac";
const ANA_PASSWORD: &str = "ana-long-passw0rd";

fn config_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "teams", "status-pages", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("monitors/m.yaml"), "- name: web\n  every: 1h\n  heartbeat:\n    grace: 1h\n").unwrap();
    std::fs::write(
        config.join("teams/pay.yaml"),
        "name: pay\nmembers:\n  ana: viewer\nowns:\n  monitors: [\"pay-*\"]\n",
    )
    .unwrap();
    std::fs::write(
        config.join("status-pages/acme.yaml"),
        "slug: acme\ntitle: Acme\ncomponents:\n  - name: Website\n    monitor: web\n",
    )
    .unwrap();
    std::fs::write(config.join("notifiers/hook.yaml"), "name: hook\ntype: webhook\nurl: http://127.0.0.1:9/hook\n")
        .unwrap();
    config
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method, path, Some(body)).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    /// The audit rows of `kind` (and `name`), oldest first.
    async fn audit(&self, kind: &str, name: Option<&str>) -> Vec<Value> {
        let name = name.map_or(String::new(), |n| format!("&name={n}"));
        let (status, page) = self.call("GET", &format!("/api/v1/audit?kind={kind}{name}"), None).await;
        assert_eq!(status, 200, "{page}");
        let mut rows = page["items"].as_array().unwrap().clone();
        rows.reverse();
        rows
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_is_recorded_with_its_actor() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = config_dir(dir.path());
    // The CLI: `vigil secret set` as the local user.
    {
        use std::io::Write;
        let mut child = vigil(&db)
            .env("USER", "ops-jane")
            .args(["secret", "set", "pd_key"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(CLI_SECRET.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    }
    let admin = token(&db, "admin");
    let writer = token(&db, "write");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _server = KillOnDrop(child);
    let api = Api { base: base.clone(), token: admin.clone(), http: vigil_connectors::http_client() };

    // Definitions through the API: made, changed, removed; a secret's value given through it.
    let workflow = |uri: &str| {
        json!({"name": "w1", "tasks": [{"name": "get", "taskReferenceName": "get", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": uri, "method": "GET",
                "headers": {"Authorization": format!("Bearer {SECRET_VALUE}")}}}}]})
    };
    api.ok("PUT", "/api/v1/secrets/api_key", json!({"value": SECRET_VALUE})).await;
    api.ok("PUT", "/api/v1/workflows/w1", workflow("http://127.0.0.1:9/a")).await;
    api.ok("PUT", "/api/v1/workflows/w1", workflow(&format!("http://127.0.0.1:9/b?k={SECRET_VALUE}"))).await;
    api.ok("DELETE", "/api/v1/workflows/w1", json!({})).await;
    // Silences, incidents, maintenance, accounts and tokens.
    let silence = api
        .ok("POST", "/api/v1/silences", json!({"matchers": {"team": "pay"}, "duration": "1h", "comment": "deploy"}))
        .await;
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600);
    let at = |t: jiff::Timestamp| t.round(jiff::Unit::Second).unwrap().to_string();
    api.ok(
        "POST",
        "/api/v1/status-pages/acme/maintenance",
        json!({"title": "Upgrade", "starts": at(soon),
        "ends": at(soon + jiff::SignedDuration::from_secs(600))}),
    )
    .await;
    api.ok(
        "POST",
        "/api/v1/status-pages/acme/incidents",
        json!({"title": "Slow", "impact": "degraded",
        "components": ["Website"], "message": "Looking"}),
    )
    .await;
    api.ok("POST", "/api/v1/users", json!({"name": "ana", "role": "read", "password": ANA_PASSWORD})).await;
    api.ok("PATCH", "/api/v1/users/ana", json!({"role": "respond"})).await;
    let minted = api.ok("POST", "/api/v1/users/ana/tokens", json!({"name": "laptop", "role": "read"})).await;
    let ana_token = minted["token"].as_str().unwrap().to_string();

    // The web UI: a silence added through its form.
    let http = vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={admin}&next=%2F"))
        .send()
        .await
        .unwrap();
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let session = cookie.split_once('=').unwrap().1.to_string();
    let csrf = vigil_server::ui::session::csrf_for(Some(&session));
    let posted = http
        .post(format!("{base}/ui/silences"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&matcher=team%3Dsearch&duration=2h&comment=from+the+ui"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 303, "{}", posted.text().await.unwrap());

    // A config reload: the team file changes, and a monitor of a file of monitors.
    std::fs::write(
        config.join("teams/pay.yaml"),
        "name: pay\nmembers:\n  ana: editor\nowns:\n  monitors: [\"pay-*\"]\n",
    )
    .unwrap();
    std::fs::write(config.join("monitors/m.yaml"), "- name: web\n  every: 2h\n  heartbeat:\n    grace: 1h\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.audit("team", Some("pay")).await.is_empty() || api.audit("monitor", Some("web")).await.is_empty() {
        assert!(Instant::now() < deadline, "the reload was not recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Each change, with its actor.
    let secrets = api.audit("secret", None).await;
    let who: Vec<(&str, &str, &str, &str)> = secrets
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap(),
                r["source"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(who[0].0, "cli:ops-jane", "vigil secret set: the local user");
    assert_eq!((who[0].1, who[0].2, who[0].3), ("cli", "secret set", "pd_key"));
    assert_eq!(who[1].1, "api");
    assert!(who[1].0.starts_with("token:"), "{who:?}");
    assert_eq!((who[1].2, who[1].3), ("PUT /api/v1/secrets/api_key", "api_key"));

    let w1 = api.audit("workflow", Some("w1")).await;
    assert_eq!(w1.len(), 3, "made, changed, removed: {w1:?}");
    assert!(w1[0]["change"]["created"]["tasks"].is_array(), "{}", w1[0]);
    let diff = w1[1]["change"]["diff"].as_array().unwrap();
    let paths: Vec<&str> = diff.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["tasks[0].inputParameters.http_request.uri"], "{diff:?}");
    assert_eq!(diff[0]["before"], "http://127.0.0.1:9/a");
    assert!(w1[2]["change"]["deleted"].is_object());

    let team = api.audit("team", Some("pay")).await;
    assert_eq!((team[0]["actor"].as_str(), team[0]["source"].as_str()), (Some("file:teams/pay.yaml"), Some("reload")));
    assert_eq!(team[0]["change"]["diff"], json!([{"path": "members.ana", "before": "viewer", "after": "editor"}]));
    let web = api.audit("monitor", Some("web")).await;
    assert_eq!(web.len(), 1, "a row per monitor, named as the monitor: {web:?}");
    assert_eq!(web[0]["actor"], "file:monitors/m.yaml");
    assert_eq!(web[0]["change"]["diff"], json!([{"path": "every", "before": "1h", "after": "2h"}]));

    let silences = api.audit("silence", None).await;
    assert_eq!(silences.len(), 2);
    assert_eq!(silences[0]["change"]["sent"]["comment"], "deploy");
    assert_eq!(
        (silences[1]["source"].as_str(), silences[1]["action"].as_str()),
        (Some("ui"), Some("POST /ui/silences"))
    );
    assert_eq!(silences[1]["change"]["sent"]["comment"], "from the ui");
    assert!(silence["id"].is_string() || silence["id"].is_number(), "{silence}");
    assert_eq!(api.audit("maintenance", Some("acme")).await.len(), 1);
    assert_eq!(api.audit("incident", Some("acme")).await[0]["change"]["sent"]["title"], "Slow");
    let users = api.audit("user", Some("ana")).await;
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0]["change"]["created"]["role"], "read");
    assert_eq!(users[1]["change"]["diff"], json!([{"path": "role", "before": "read", "after": "respond"}]));
    assert_eq!(api.audit("token", Some("ana")).await.len(), 1);

    // Only admins read it; an export is JSON lines of every row.
    let write_api = Api { token: writer, ..api };
    assert_eq!(write_api.call("GET", "/api/v1/audit", None).await.0, 403);
    let api = Api { token: admin, ..write_api };
    let export =
        api.http.get(format!("{base}/api/v1/audit?format=jsonl")).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let text = export.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 14, "{}", lines.len());
    let page = http.get(format!("{base}/ui/audit?kind=team")).header("cookie", &cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("file:teams/pay.yaml") && html.contains("members.ana"), "{html}");
    let page = http.get(format!("{base}/ui/monitors/web")).header("cookie", &cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("/ui/audit?kind=monitor&amp;name=web"), "the monitor's page links its changes: {html}");

    // The audit page in a real browser: the reload's row with its difference, and the filter.
    if let Some(browser) = support::webdriver::Browser::start(1200, 900).await {
        browser.sign_in(&base, &api.token).await;
        browser.goto(&format!("{base}/ui/audit")).await;
        browser.type_into(&browser.find("#audit-filter input[name=kind]").await, "team").await;
        browser.click(&browser.find("#audit-filter button[type=submit]").await).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let rows = browser.all("#audit tbody tr").await;
            let text = browser
                .script("return document.querySelector('#audit') ? document.querySelector('#audit').innerText : ''")
                .await;
            let text = text.as_str().unwrap_or_default().to_string();
            if rows.len() == 1 && text.contains("file:teams/pay.yaml") {
                assert!(text.contains("members.ana") && text.contains("\"viewer\" → \"editor\""), "{text}");
                break;
            }
            assert!(Instant::now() < deadline, "the filtered audit page: {text}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        browser.screenshot("audit-log").await;
        browser.quit().await;
    }

    // No secret value, password or token, in any form.
    use base64::Engine;
    let forms = [
        SECRET_VALUE.to_string(),
        base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE),
        CLI_SECRET.to_string(),
        ANA_PASSWORD.to_string(),
        ana_token,
    ];
    for form in &forms {
        assert!(!text.contains(form.as_str()), "the audit log holds `{form}`");
    }
}
