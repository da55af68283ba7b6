//! Issue 31: a `write` token attacks `vigil serve` (auth on) through run-time paths, as a CI
//! pipeline's token would. Each attack must fail, and a trusted workflow must still work.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const ADMIN_SECRET: &str = "pd-routing-key-9f3a";

/// A config directory with one trusted workflow that sends the admin secret to `receiver`.
fn config(dir: &Path, receiver: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let trusted = json!({
        "name": "trusted_page", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "send", "taskReferenceName": "send", "type": "HTTP", "inputParameters": {"http_request": {
            "uri": format!("{receiver}/trusted"), "method": "POST", "headers": {"X-Key": "${workflow.secrets.adminsec}"},
        }}}],
    });
    std::fs::write(config.join("workflows/trusted.json"), trusted.to_string()).unwrap();
    config
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn put_workflow(&self, def: Value) {
        let name = def["name"].as_str().unwrap().to_string();
        let (status, body) = self.send(reqwest::Method::PUT, &format!("/api/v1/workflows/{name}"), Some(def)).await;
        assert_eq!(status, 200, "a clean definition is stored: {body}");
    }

    /// Starts `name` with `input` and waits for it to end; its final state.
    async fn run(&self, name: &str, input: Value) -> Value {
        let (status, body) =
            self.send(reqwest::Method::POST, &format!("/api/v1/workflows/{name}/instances"), Some(input)).await;
        assert_eq!(status, 202, "{body}");
        let id = body["id"].as_str().unwrap().to_string();
        self.wait(&id).await
    }

    async fn wait(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, state) = self.send(reqwest::Method::GET, &format!("/api/v1/instances/{id}"), None).await;
            if !["Running", "Pending", "Suspended"].contains(&state["runtimeStatus"].as_str().unwrap_or("Running")) {
                return state;
            }
            assert!(Instant::now() < deadline, "instance {id} did not end: {state}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn http_task(receiver: &str, header: &str) -> Value {
    json!({"name": "leak", "taskReferenceName": "leak", "type": "HTTP", "inputParameters": {"http_request": {
        "uri": format!("{receiver}/leak"), "method": "POST", "headers": {"X-Key": header},
    }}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_token_reaches_no_admin_power_through_run_time_paths() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let receiver = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = config(dir.path(), &receiver.url);
    set_secret(&db, "adminsec", ADMIN_SECRET);
    let write = token(&db, "write");
    let write_id = write.split('_').nth(1).unwrap().to_string();
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let child = KillOnDrop(child);
    let api = Api { base, token: write.clone(), http: vigil_connectors::http_client() };
    let is = |state: &Value, status: &str| state["runtimeStatus"] == json!(status);

    // Item 1: vigil's own store through SQL_QUERY, to make the token admin.
    let store_url = format!("sqlite://{}", db.display());
    let escalate = format!(
        "PRAGMA query_only = 0; UPDATE api_tokens SET role = 'admin' WHERE id = '{write_id}'; SELECT role AS v FROM \
         api_tokens WHERE id = '{write_id}'"
    );
    for (name, url) in [("own_store", store_url.clone()), ("own_store_input", "${workflow.input.url}".to_string())] {
        api.put_workflow(json!({"name": name, "version": 1, "tasks": [{"name": "q", "taskReferenceName": "q",
            "type": "SQL_QUERY", "inputParameters": {"url": url, "query": escalate}}]}))
            .await;
        let state = api.run(name, json!({"url": store_url})).await;
        assert!(is(&state, "Failed"), "{state}");
        let reason = state["reason"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains("may not connect to a database by URL"), "{reason}");
    }
    let (status, _) = api.send(reqwest::Method::GET, "/api/v1/secrets", None).await;
    assert_eq!(status, 403, "the write token is still write");

    // Item 3: an admin secret delivered at run time, four ways.
    api.put_workflow(json!({"name": "fork_tasks", "version": 1, "tasks": [
        {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC", "inputParameters":
            {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"},
         "dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs"},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"}]}))
        .await;
    let leak = http_task(&receiver.url, "${workflow.secrets.adminsec}");
    let state = api.run("fork_tasks", json!({"tasks": [leak], "inputs": {}})).await;
    assert!(is(&state, "Failed"), "{state}");
    assert!(state["reason"].as_str().unwrap().contains("not granted"), "{state}");
    let templated = http_task(&receiver.url, "${leak.input.key}");
    let state = api
        .run("fork_tasks", json!({"tasks": [templated], "inputs": {"leak": {"key": "${workflow.secrets.adminsec}"}}}))
        .await;
    assert!(is(&state, "Failed"), "{state}");

    api.put_workflow(
        json!({"name": "inline_child", "version": 1, "tasks": [{"name": "child", "taskReferenceName": "child",
        "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "x", "workflowDefinition": "${workflow.input.def}"}}]}),
    )
    .await;
    let def = json!({"name": "x", "version": 1, "tasks": [http_task(&receiver.url, "${workflow.secrets.adminsec}")]});
    let state = api.run("inline_child", json!({"def": def})).await;
    assert!(is(&state, "Failed"), "{state}");

    // Conductor's START_WORKFLOW with a `workflowDef` in its request: the same check, when it runs.
    api.put_workflow(json!({"name": "start_inline", "version": 1, "tasks": [{"name": "s", "taskReferenceName": "s",
        "type": "START_WORKFLOW", "inputParameters": {"startWorkflow": "${workflow.input.req}"}}]}))
        .await;
    let state = api.run("start_inline", json!({"req": {"name": "x", "workflowDef": def}})).await;
    assert!(is(&state, "Failed"), "{state}");
    assert!(state["reason"].as_str().unwrap_or_default().contains("workflowDef"), "{state}");

    let (status, body) = api
        .send(reqwest::Method::POST, "/api/workflow", Some(json!({"name": "x", "workflowDef": def, "input": {}})))
        .await;
    assert_eq!(status, 403, "Conductor's inline workflowDef: {body}");

    // Item 4: UPDATE_SECRET overwrites an admin secret, by name and by input.
    for (name, key) in [("swap", "adminsec".to_string()), ("swap_input", "${workflow.input.k}".to_string())] {
        api.put_workflow(json!({"name": name, "version": 1, "tasks": [{"name": "u", "taskReferenceName": "u",
            "type": "UPDATE_SECRET", "inputParameters": {"_secrets": {"secretKey": key, "secretValue": "attacker"}}}]}))
            .await;
        let state = api.run(name, json!({"k": "adminsec"})).await;
        assert!(is(&state, "Failed"), "{state}");
        assert!(state["reason"].as_str().unwrap().contains("needs an admin"), "{state}");
    }

    // The trusted workflow, started by the same write token, still pages with the secret as set.
    let state = api.run("trusted_page", json!({})).await;
    assert!(is(&state, "Completed"), "{state}");
    let got = receiver.to("/trusted");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers.get("x-key").map(String::as_str), Some(ADMIN_SECRET), "the secret was not swapped");
    assert!(receiver.to("/leak").iter().all(|r| !r.headers.values().any(|v| v.contains(ADMIN_SECRET))));
    assert!(receiver.to("/leak").is_empty(), "no leaking call was made: {:?}", receiver.to("/leak"));
    drop(child);
}

/// Item 6: with auth off (the loopback default), another site's page cannot drive vigil, and a
/// rebound host name is not answered; vigil's own clients still are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_site_cannot_drive_a_local_vigil() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let receiver = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = config(dir.path(), &receiver.url);
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let start = format!("{base}/api/v1/workflows/trusted_page/instances");
    let evil = http.post(&start).header("Origin", "http://evil.example").json(&json!({})).send().await.unwrap();
    assert_eq!(evil.status().as_u16(), 403, "a cross-origin start");
    let cross = http.post(&start).header("Sec-Fetch-Site", "cross-site").send().await.unwrap();
    assert_eq!(cross.status().as_u16(), 403, "a cross-site fetch");
    let form = http.post(&start).header("Content-Type", "text/plain").body("").send().await.unwrap();
    assert_eq!(form.status().as_u16(), 415, "a body a form can send");
    let port = base.rsplit(':').next().unwrap();
    for path in ["/api/v1/instances", "/ui/"] {
        let rebound =
            http.get(format!("{base}{path}")).header("Host", format!("evil.example:{port}")).send().await.unwrap();
        assert_eq!(rebound.status().as_u16(), 403, "{path} under a rebound name");
    }
    assert!(receiver.to("/trusted").is_empty(), "nothing was started");
    let own = http.post(&start).json(&json!({})).send().await.unwrap();
    assert_eq!(own.status().as_u16(), 202, "vigil's own clients send JSON without an Origin");
    let named =
        http.get(format!("{base}/api/v1/instances")).header("Host", format!("localhost:{port}")).send().await.unwrap();
    assert_eq!(named.status().as_u16(), 200);
    drop(child);
}

/// Item 5: a script that catches what stops it ends at its limit under `vigil serve`, a start
/// on any shard still answers meanwhile, and SIGTERM stops the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_script_holds_no_shard_and_sigterm_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let receiver = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = config(dir.path(), &receiver.url);
    let runaway = json!({"name": "runaway", "version": 1, "tasks": [{"name": "js", "taskReferenceName": "js", "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": "function f(){try{return f()}catch(e){return f()}}; f()"}}]});
    std::fs::write(config.join("workflows/runaway.json"), runaway.to_string()).unwrap();
    let switch = json!({"name": "runaway_switch", "version": 1, "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SWITCH",
        "evaluatorType": "javascript", "expression": "function f(){try{return f()}catch(e){return f()}}; f()",
        "decisionCases": {"x": []}, "defaultCase": []}]});
    std::fs::write(config.join("workflows/runaway_switch.json"), switch.to_string()).unwrap();
    set_secret(&db, "adminsec", ADMIN_SECRET);
    let (child, base) = serve_api(&db, &config, free_port(), &["--shards", "2"]).await;
    let api = Api { base, token: String::new(), http: vigil_connectors::http_client() };
    let mut runaways = Vec::new();
    for name in ["runaway", "runaway", "runaway_switch", "runaway_switch"] {
        let (status, body) =
            api.send(reqwest::Method::POST, &format!("/api/v1/workflows/{name}/instances"), Some(json!({}))).await;
        assert_eq!(status, 202, "{body}");
        runaways.push(body["id"].as_str().unwrap().to_string());
    }
    // Trivial starts, on every shard, answer and complete while the scripts run.
    for _ in 0..6 {
        let state = api.run("trusted_page", json!({})).await;
        assert_eq!(state["runtimeStatus"], json!("Completed"), "{state}");
    }
    for id in runaways {
        let state = api.wait(&id).await;
        assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
        assert!(state["reason"].as_str().unwrap().contains("limit"), "{state}");
    }
    let mut child = child;
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "vigil serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Item 5 in `vigil run`: the script fails at its limit instead of spinning.
#[test]
fn a_runaway_script_ends_at_its_limit_in_vigil_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runaway.json");
    let runaway = json!({"name": "runaway", "version": 1, "tasks": [{"name": "js", "taskReferenceName": "js", "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": "function f(){try{return f()}catch(e){return f()}}; f()"}}]});
    std::fs::write(&file, runaway.to_string()).unwrap();
    let started = Instant::now();
    let out = run(&dir.path().join("v.db"), &["run", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("limit"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "a hang guard: it ran {:?}", started.elapsed());
}

/// A client that keeps redirects to itself, for the UI's forms.
fn browser_like() -> reqwest::Client {
    vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in to the UI at `base` with `token`: the status, and the session cookie (`name=value`).
async fn ui_sign_in(http: &reqwest::Client, base: &str, token: &str) -> (u16, Option<String>) {
    let res = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    (res.status().as_u16(), cookie)
}

/// The status of the overview page with `cookie` (200 signed in, 303 to the sign-in page).
async fn ui_page(http: &reqwest::Client, base: &str, cookie: &str) -> u16 {
    http.get(format!("{base}/ui/schedules")).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

/// Signs out of the session in `cookie`, with the CSRF token its pages carry.
async fn ui_sign_out(http: &reqwest::Client, base: &str, cookie: &str) {
    let html = http.get(format!("{base}/ui/schedules")).header("cookie", cookie).send().await.unwrap().text().await;
    let html = html.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).expect("a form with a CSRF token").split('"').next();
    let res = http
        .post(format!("{base}/ui/signout"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", csrf.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "signed out");
}

/// Item 8: the UI's cookie is a session of its own, not the token; sign-out and revocation end
/// it; it outlives a restart (it is stored); wrong tokens from one address are slowed down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_sessions_are_not_the_token_and_end_when_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), "http://127.0.0.1:9");
    let read = token(&db, "read");
    let admin = token(&db, "admin");
    let port = free_port();
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on"]).await;
    let server = KillOnDrop(child);
    let http = browser_like();

    let (status, cookie) = ui_sign_in(&http, &base, &read).await;
    let cookie = cookie.expect("a session cookie");
    assert_eq!(status, 303);
    let secret = read.rsplit('_').next().unwrap();
    assert!(!cookie.contains(secret) && !cookie.contains(&read), "the cookie holds no part of the token: {cookie}");
    assert_eq!(ui_page(&http, &base, &cookie).await, 200);
    let value = cookie.split_once('=').unwrap().1;
    let as_token = http.get(format!("{base}/api/v1/schedules")).bearer_auth(value).send().await.unwrap();
    assert_eq!(as_token.status().as_u16(), 401, "a stolen cookie is no API token");

    // Stored, so a restart (or another node) knows it.
    drop(server);
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on"]).await;
    let _server = KillOnDrop(child);
    assert_eq!(ui_page(&http, &base, &cookie).await, 200, "the session outlives a restart");

    ui_sign_out(&http, &base, &cookie).await;
    assert_eq!(ui_page(&http, &base, &cookie).await, 303, "a replayed cookie after sign-out is refused");

    let (_, second) = ui_sign_in(&http, &base, &read).await;
    let second = second.unwrap();
    assert_ne!(second, cookie, "every sign-in gets a new session");
    assert_eq!(ui_page(&http, &base, &second).await, 200);
    let id = read.strip_prefix("vgl_").unwrap().split('_').next().unwrap();
    let out = run(&db, &["token", "revoke", id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ui_page(&http, &base, &second).await, 303, "revoking the token ends its sessions");

    // Wrong tokens: a few are free, then the address waits (a right token too, until it may try).
    let mut statuses = Vec::new();
    for i in 0..50 {
        statuses.push(ui_sign_in(&http, &base, &format!("vgl_guess_{i:064}")).await.0);
    }
    assert_eq!(statuses[..5], [401; 5], "the first mistakes are answered");
    assert!(statuses[5..].iter().all(|s| *s == 429), "then the address must wait: {statuses:?}");
    let slowed = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(slowed.status().as_u16(), 429);
    let retry: u64 = slowed.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(slowed.text().await.unwrap().contains("try again in"));
    let api = http.get(format!("{base}/api/v1/schedules")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 200, "the API's tokens are not slowed: they cannot be guessed");
}

/// Item 8 in a cluster: a session begun on one node works on the other, and signing out on
/// either ends it on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_sessions_are_shared_by_a_cluster() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_ui_sessions").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "http://127.0.0.1:9");
    let write = token(&db, "write");
    let (a, a_base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let (b, b_base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let (_a, _b) = (KillOnDrop(a), KillOnDrop(b));
    let http = browser_like();
    let (_, cookie) = ui_sign_in(&http, &a_base, &write).await;
    let cookie = cookie.unwrap();
    assert_eq!(ui_page(&http, &b_base, &cookie).await, 200, "node B knows node A's session");
    ui_sign_out(&http, &b_base, &cookie).await;
    assert_eq!(ui_page(&http, &a_base, &cookie).await, 303, "signed out on B, so on A too");
    drop((_a, _b));
    pg.drop_now().await;
}

/// Item 7, notifications: an endpoint that refuses a notice and echoes the request (its URL's
/// query, a header) must not put the secret they carry into the stored delivery error, the
/// alerts page or `vigil notify test`'s message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_echoed_by_a_refusing_notifier_is_masked() {
    const SECRET: &str = "Tn5P my pass+word";
    let echo = Recorder::start(|r| Reply {
        status: 400,
        body: json!({"error": "bad key", "k": r.query.get("k"), "x-key": r.headers.get("x-key")}),
        delay: Duration::ZERO,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::write(
        config.join("notifiers/wh.yaml"),
        format!(
            "name: wh\ntype: webhook\nurl: \"{}/hook?k=${{workflow.secrets.s}}\"\nheaders:\n  X-Key: \"${{workflow.secrets.s}}\"\n",
            echo.url
        ),
    )
    .unwrap();
    std::fs::write(
        config.join("monitors/down.yaml"),
        "- name: down\n  every: 1s\n  source:\n    http:\n      url: http://127.0.0.1:9/health\n      timeout: 1s\n      conditions: [\"[STATUS] == 200\"]\n  notify: [wh]\n",
    )
    .unwrap();
    set_secret(&db, "s", SECRET);
    let leaks = |text: &str| {
        let forms = [SECRET.to_string(), SECRET.replace(' ', "%20"), SECRET.replace(' ', "+").replace('+', "%2B")];
        forms.into_iter().filter(|f| text.contains(f.as_str())).collect::<Vec<_>>()
    };

    let out = run(&db, &["notify", "test", "wh", "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success() && stderr.contains("HTTP 400"), "{stderr}");
    assert!(leaks(&stderr).is_empty(), "vigil notify test printed the secret: {stderr}");

    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let _server = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = http.get(format!("{base}/ui/alerts")).send().await.unwrap().text().await.unwrap();
        if page.contains("HTTP 400") {
            break page;
        }
        assert!(Instant::now() < deadline, "no failed delivery shown on /ui/alerts");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!echo.received().is_empty(), "the endpoint was called");
    assert!(leaks(&page).is_empty(), "/ui/alerts shows the secret");
    drop(_server);
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let failed = vigil_store::OutboxStore::outbox(&store, vigil_store::OutboxStatus::Failed, 100).await.unwrap();
    let stored = format!("{failed:?}");
    assert!(stored.contains("HTTP 400") && leaks(&stored).is_empty(), "stored delivery error: {stored}");
}

/// A loopback service that keeps every byte a connection sends it (a Redis a probe could drive).
async fn loopback_service() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) =
                    tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf)).await.unwrap_or(Ok(0))
                {
                    if n == 0 {
                        break;
                    }
                    kept.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (port, got)
}

/// A server on loopback that answers every request with `302 Location: location`.
async fn redirector(location: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let location = location.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf)).await;
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

fn check_workflow(name: &str, task_type: &str, input: Value) -> Value {
    json!({"name": name, "version": 1, "tasks": [{"name": "c", "taskReferenceName": "c", "type": task_type,
        "inputParameters": input}]})
}

/// Issue 61, items 1 and 4: a write token's checks are judged on their resolved addresses. A
/// browser visit opens no `file:` page (the goto came from input and still held a literal `${`),
/// no check reaches vigil's own port, and a TCP `body` reaches a loopback service only when the
/// operator allowed it (`--probe-allow`). The config directory's workflows are not bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_token_opens_no_host_file_own_port_or_loopback_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let receiver = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = config(dir.path(), &receiver.url);
    let (redis, redis_got) = loopback_service().await;
    let (allowed, allowed_got) = loopback_service().await;
    let trusted = check_workflow(
        "trusted_probe",
        "TCP_CHECK",
        json!({"url": format!("tcp://127.0.0.1:{redis}"), "body": "PING\r\n"}),
    );
    std::fs::write(config.join("workflows/trusted_probe.json"), trusted.to_string()).unwrap();
    let write = token(&db, "write");
    let port = free_port();
    let allow = format!("127.0.0.1:{allowed}");
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on", "--probe-allow", &allow]).await;
    let _child = KillOnDrop(child);
    let api = Api { base: base.clone(), token: write, http: vigil_connectors::http_client() };
    let tasks_of = |state: &Value| state.to_string();

    // Item 4: raw bytes to a loopback service, typed in or handed in as input.
    for (name, url) in [("probe", format!("tcp://127.0.0.1:{redis}")), ("probe_input", "${workflow.input.u}".into())] {
        api.put_workflow(check_workflow(name, "TCP_CHECK", json!({"url": url, "body": "FLUSHALL\r\n"}))).await;
        let state = api.run(name, json!({"u": format!("tcp://127.0.0.1:{redis}")})).await;
        assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
        assert!(tasks_of(&state).contains("--probe-allow"), "{state}");
    }
    // Its open port may still be checked (a check that sends nothing of its own).
    api.put_workflow(check_workflow("open", "TCP_CHECK", json!({"url": format!("tcp://127.0.0.1:{redis}")}))).await;
    assert_eq!(api.run("open", json!({})).await["runtimeStatus"], json!("Completed"));
    // The target the operator allowed takes a body.
    api.put_workflow(check_workflow(
        "allowed",
        "TCP_CHECK",
        json!({"url": format!("tcp://{allow}"), "body": "PING\r\n"}),
    ))
    .await;
    assert_eq!(api.run("allowed", json!({})).await["runtimeStatus"], json!("Completed"));
    // vigil's own port, by any check or HTTP task.
    api.put_workflow(check_workflow("own_http", "HTTP_CHECK", json!({"url": "${workflow.input.u}"}))).await;
    let state = api.run("own_http", json!({"u": format!("http://localhost:{port}/api/v1/secrets")})).await;
    assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
    assert!(tasks_of(&state).contains("own listen address"), "{state}");
    api.put_workflow(json!({"name": "own_call", "version": 1, "tasks": [{"name": "h", "taskReferenceName": "h",
        "type": "HTTP", "inputParameters": {"http_request": {"uri": "${workflow.input.u}", "method": "GET"}}}]}))
        .await;
    let state = api.run("own_call", json!({"u": format!("http://127.0.0.1:{port}/api/v1/secrets")})).await;
    assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
    // ...nor by a redirect from a server elsewhere, to a name that resolves to it.
    let bounce = redirector(format!("http://localhost:{port}/api/v1/secrets")).await;
    let state = api.run("own_call", json!({"u": format!("http://127.0.0.1:{bounce}/")})).await;
    assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
    assert!(tasks_of(&state).contains("own listen address"), "a redirect carried the call: {state}");
    // A check reports what it found: nothing reached, critical, saying why.
    let state = api.run("own_http", json!({"u": format!("http://127.0.0.1:{bounce}/")})).await;
    assert_eq!(state["output"]["series"][0]["tier"], json!("critical"), "{state}");
    assert!(tasks_of(&state).contains("own listen address"), "a redirect carried the check: {state}");
    // The config directory's probe, started by the same token, is not bounded.
    let state = api.run("trusted_probe", json!({})).await;
    assert_eq!(state["runtimeStatus"], json!("Completed"), "{state}");
    wait_until(10, "the trusted probe's body never reached the service", async || {
        String::from_utf8_lossy(&redis_got.lock().unwrap()).contains("PING")
    })
    .await;
    let sent = String::from_utf8_lossy(&redis_got.lock().unwrap()).to_string();
    assert!(!sent.contains("FLUSHALL"), "a write token's body reached the loopback service: {sent:?}");
    assert!(sent.contains("PING"), "the trusted probe's body did: {sent:?}");
    assert!(String::from_utf8_lossy(&allowed_got.lock().unwrap()).contains("PING"));

    // Item 1: a file on vigil's host through a browser step whose URL came from input.
    let Ok(_) = vigil_connectors::sources::browser::chromium::find().map_err(|why| {
        assert!(!std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"), "VIGIL_REQUIRE_SERVICES=1 but {why}");
        eprintln!("SKIPPED (browser part): {why}");
    }) else {
        return;
    };
    let marker = "vigil-host-file-4711";
    let file = dir.path().join("hostname");
    std::fs::write(&file, marker).unwrap();
    api.put_workflow(check_workflow(
        "peek",
        "BROWSER_CHECK",
        json!({"url": "${workflow.input.start}",
        "steps": [{"goto": "${workflow.input.u}"}], "timeout": "20s"}),
    ))
    .await;
    let start = format!("{}/start", receiver.url);
    for (u, why) in [
        (format!("file://{}#${{x}}", file.display()), "http:// and https:// pages only"),
        ("data:text/html,hello".to_string(), "is not an http:// or https:// URL"),
        (format!("http://127.0.0.1:{port}/ui/"), "own listen address"),
    ] {
        let (_, body) = api
            .send(reqwest::Method::POST, "/api/v1/workflows/peek/instances", Some(json!({"start": start, "u": u})))
            .await;
        let id = body["id"].as_str().unwrap().to_string();
        api.wait(&id).await;
        let (_, full) = api.send(reqwest::Method::GET, &format!("/api/workflow/{id}?includeTasks=true"), None).await;
        let text = full.to_string();
        assert!(!text.contains(marker), "the file's text came back: {text}");
        assert!(text.contains(why), "{u}: {text}");
    }
}

/// Issue 61, item 3: a fan-out over a list from the request is bounded before anything is made
/// from it. 300,000 items (a 600 KB body) fail the instance at once, naming the fork, the input
/// and the count; a start meanwhile is answered and runs; a fork at the limit runs all its
/// branches; SIGTERM then stops the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_fan_out_fails_at_the_limit_and_wedges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let receiver = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = config(dir.path(), &receiver.url);
    let fan = json!({"name": "fan", "version": 1, "tasks": [
        {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC", "inputParameters":
            {"forkTaskInputs": "${workflow.input.items}", "forkTaskType": "INLINE"}},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"}]});
    std::fs::write(config.join("workflows/fan.json"), fan.to_string()).unwrap();
    set_secret(&db, "adminsec", ADMIN_SECRET);
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let mut child = KillOnDrop(child);
    let api = Api { base, token: String::new(), http: vigil_connectors::http_client() };
    for count in [300_000, 20_000] {
        let items = vec![json!(0); count];
        let (status, body) =
            api.send(reqwest::Method::POST, "/api/v1/workflows/fan/instances", Some(json!({"items": items}))).await;
        assert_eq!(status, 202, "{body}");
        let fan_id = body["id"].as_str().unwrap().to_string();
        // A start meanwhile is answered and runs.
        let other = api.run("trusted_page", json!({})).await;
        assert_eq!(other["runtimeStatus"], json!("Completed"), "{other}");
        let state = api.wait(&fan_id).await;
        assert_eq!(state["runtimeStatus"], json!("Failed"), "{state}");
        let reason = state["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(&format!("`fan`: input `forkTaskInputs` lists {count} branches")), "{reason}");
    }
    let inline = json!({"evaluatorType": "javascript", "expression": "$.input * 2"});
    let items: Vec<Value> = (0..vigil_core::interpreter::MAX_FORK_BRANCHES).map(|_| inline.clone()).collect();
    let state = api.run("fan", json!({"items": items})).await;
    assert_eq!(state["runtimeStatus"], json!("Completed"), "a fork at the limit runs: {}", state["reason"]);
    let _ = std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "vigil serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
