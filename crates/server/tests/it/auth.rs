//! With auth on, every route but health needs a token: every mutating route (read from the
//! OpenAPI document, so a new route is covered without touching this test) refuses a request
//! without a token and one with a read-only token, and a revoked token stops working.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::TokenStore;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_server::auth::{Role, mint};
use vigil_store::SqliteStore;

struct Setup {
    base: String,
    http: reqwest::Client,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("auth.db")).await.unwrap());
    let mut set = WorkflowSet::default();
    let (def, _) =
        build_workflow(&json!({"name": "hold", "tasks": [{"name": "h", "taskReferenceName": "h", "type": "HUMAN"}]}));
    set.insert(def.unwrap());
    let engine =
        Engine::start(store.clone(), Arc::new(SystemClock), EngineConfig::default(), set, SecretValues::default())
            .await
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap();
    let app = vigil_server::app(vigil_server::AppState {
        status_pages: Default::default(),
        engine,
        listen,
        public_url: None,
        metrics: Arc::new(String::new),
        auth: Arc::new(vigil_server::auth::Auth::new(store.clone(), true)),
        secret_box: None,
        allowed_hosts: Default::default(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup { base: format!("http://{listen}"), http: vigil_connectors::http_client(), store, _dir: dir }
}

impl Setup {
    async fn token(&self, role: Role) -> (String, String) {
        self.token_granted(role, &[]).await
    }

    async fn token_granted(&self, role: Role, grants: &[&str]) -> (String, String) {
        let m = mint("test", role, grants.iter().map(|g| g.to_string()).collect(), SystemClock.now());
        self.store.put_token(&m.row).await.unwrap();
        (m.row.id, m.token)
    }

    async fn send(&self, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req =
            self.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method != "GET" && method != "DELETE" {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Every (method, path) in the OpenAPI document, path parameters filled in.
async fn documented_routes(s: &Setup, token: &str) -> Vec<(String, String)> {
    let (code, doc) = s.send("GET", "/api/v1/openapi.json", Some(token)).await;
    assert_eq!(code, StatusCode::OK);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let filled = path
            .replace("{name}", "hold")
            .replace("{id}", "i1")
            .replace("{event}", "go")
            .replace("{taskType}", "t")
            .replace("{taskId}", "i1~1")
            .replace("{version}", "1");
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), filled.clone()));
        }
    }
    assert!(routes.len() >= 10, "{routes:?}");
    routes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_route_refuses_no_token_and_a_read_token() {
    let s = setup().await;
    let (_, read) = s.token(Role::Read).await;
    let (_, write) = s.token(Role::Write).await;
    let routes = documented_routes(&s, &read).await;
    // The token exchange is open: it checks the key pair itself.
    let mutating: Vec<_> =
        routes.iter().filter(|(m, p)| (m != "GET" || p.starts_with("/api/tasks/poll")) && p != "/api/token").collect();
    assert!(mutating.len() >= 8, "{mutating:?}");
    for (method, path) in &mutating {
        let (code, body) = s.send(method, path, None).await;
        assert_eq!((code, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!("unauthorized")), "{method} {path}");
        let (code, body) = s.send(method, path, Some(&read)).await;
        assert_eq!(
            (code, body["code"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden")),
            "{method} {path} with a read token"
        );
        let (code, _) = s.send(method, path, Some(&format!("{write}x"))).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{method} {path} with a wrong secret");
    }
    // Reads need a token too; health does not.
    for (method, path) in routes.iter().filter(|(m, p)| m == "GET" && !p.starts_with("/api/tasks/poll")) {
        let (code, _) = s.send(method, path, None).await;
        let open = path == "/healthz" || path == "/readyz";
        assert_eq!(code == StatusCode::UNAUTHORIZED, !open, "{method} {path}");
        let (code, _) = s.send(method, path, Some(&read)).await;
        let admin_only = ["/api/v1/secrets", "/api/secrets", "/api/v1/users", "/api/v1/audit"];
        if admin_only.iter().any(|p| path.starts_with(p)) {
            assert_eq!(code, StatusCode::FORBIDDEN, "secrets, accounts and the audit log are for admin tokens");
            assert_eq!(s.send(method, path, Some(&write)).await.0, StatusCode::FORBIDDEN, "{method} {path} with write");
            continue;
        }
        if path.ends_with("/subscribers") {
            assert_eq!(code, StatusCode::FORBIDDEN, "a page's subscribers are people's addresses: write tokens");
            assert_ne!(s.send(method, path, Some(&write)).await.0, StatusCode::FORBIDDEN, "{method} {path} with write");
            continue;
        }
        assert!(
            code != StatusCode::UNAUTHORIZED && code != StatusCode::FORBIDDEN,
            "{method} {path} with a read token: {code}"
        );
    }
    let (_, admin) = s.token(Role::Admin).await;
    // A token created this instant is known after the next re-read (at most 250 ms on a miss).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.send("GET", "/api/v1/secrets", Some(&admin)).await.0, StatusCode::OK);
    // Conductor SDKs trade a token's id and secret for the token.
    let (id, secret) = read.strip_prefix("vgl_").unwrap().split_once('_').unwrap();
    let exchange = |key: &str, secret: &str| {
        s.http.post(format!("{}/api/token", s.base)).json(&json!({"keyId": key, "keySecret": secret})).send()
    };
    let res = exchange(id, secret).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["token"], json!(read));
    assert_eq!(exchange(id, "wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A write token does what a read token may not.
    let (code, body) = s.send("POST", "/api/v1/workflows/hold/instances?instanceId=i1", Some(&write)).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let res =
        s.http.get(format!("{}/api/v1/instances/i1", s.base)).header("X-Authorization", &read).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED, "Conductor's X-Authorization header works too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_within_the_refresh_period() {
    let s = setup().await;
    let (id, token) = s.token(Role::Write).await;
    assert_eq!(s.send("GET", "/api/v1/instances", Some(&token)).await.0, StatusCode::OK);
    assert!(s.store.revoke_token(&id, SystemClock.now()).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.send("GET", "/api/v1/instances", Some(&token)).await.0 != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "a revoked token still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, _) = s.send("GET", "/api/v1/instances", Some("vgl_nope_nope")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = s.send("GET", "/api/v1/instances", Some("garbage")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_token_references_only_the_secrets_granted_to_it() {
    let s = setup().await;
    let (_, write) = s.token(Role::Write).await;
    let (_, granted) = s.token_granted(Role::Write, &["pd_key", "env:HOME"]).await;
    let (_, admin) = s.token(Role::Admin).await;
    let workflow = |reference: &str| {
        json!({"name": "leak", "tasks": [{"name": "h", "taskReferenceName": "h", "type": "HTTP",
        "inputParameters": {"http_request": {"uri": "http://127.0.0.1:9/x", "method": "POST", "body": {"v": reference}}}}]})
    };
    let put = |token: String, doc: Value| {
        s.http.put(format!("{}/api/v1/workflows/leak", s.base)).bearer_auth(token).json(&doc).send()
    };
    for reference in ["${workflow.secrets.db_password}", "${env.VIGIL_SECRET_KEY}", "${env.HOME}"] {
        let res = put(write.clone(), workflow(reference)).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{reference}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("--grant"), "{body}");
    }
    assert_eq!(
        put(granted.clone(), workflow("${workflow.secrets.db_password}")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(granted.clone(), workflow("${workflow.secrets.pd_key} ${env.HOME}")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(put(admin.clone(), workflow("${workflow.secrets.db_password}")).await.unwrap().status(), StatusCode::OK);
    // The Conductor routes and notifiers are held to the same grants.
    let res = s
        .http
        .post(format!("{}/api/metadata/workflow?overwrite=true", s.base))
        .bearer_auth(&write)
        .json(&workflow("${workflow.secrets.db_password}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .http
        .put(format!("{}/api/metadata/workflow", s.base))
        .bearer_auth(&write)
        .json(&json!([workflow("${workflow.secrets.db_password}")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let hook = json!({"name": "out", "type": "webhook", "url": "http://127.0.0.1:9/x", "headers": {"X": "${workflow.secrets.db_password}"}});
    let res =
        s.http.put(format!("{}/api/v1/notifiers/out", s.base)).bearer_auth(&write).json(&hook).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
