//! One way to run the API for a test: a real engine on a fresh SQLite file, served on loopback.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use vigil_core::def::WorkflowSet;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_store::{SecretBox, SqliteStore};

/// What the server is started with.
#[derive(Default)]
pub struct Options {
    /// Workflows loaded at start.
    pub workflows: WorkflowSet,
    /// Whether tokens are required.
    pub auth: bool,
    /// The key for secrets written through the API.
    pub secret_box: Option<SecretBox>,
    /// Whether a scheduler runs (for the schedule routes).
    pub scheduler: bool,
}

/// A running API.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client.
    pub http: reqwest::Client,
    /// The engine behind it.
    pub engine: Engine,
    /// Its store.
    pub store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

/// Starts the API with `opts`.
pub async fn serve(opts: Options) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("api.db")).await.unwrap());
    let config = EngineConfig::default();
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), config, opts.workflows, SecretValues::default())
        .await
        .unwrap();
    if opts.scheduler {
        engine.run_schedules(Vec::new()).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap();
    let app = vigil_server::app(vigil_server::AppState {
        status_pages: Default::default(),
        engine: engine.clone(),
        listen,
        public_url: None,
        metrics: Arc::new(|| "vigil_up 1\n".to_string()),
        auth: Arc::new(vigil_server::auth::Auth::new(store.clone(), opts.auth).with_teams({
            let engine = engine.clone();
            Arc::new(move || engine.teams())
        })),
        secret_box: opts.secret_box.map(Arc::new),
        allowed_hosts: Default::default(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestServer { base: format!("http://{listen}"), http: vigil_connectors::http_client(), engine, store, _dir: dir }
}

impl TestServer {
    /// Sends `method path` with a JSON `body`; the answer's status, its JSON (or its text as a JSON
    /// string) and its raw text.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text.clone())), text)
    }
}
