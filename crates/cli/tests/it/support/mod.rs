//! Shared helpers for black-box tests: the real `vigil` binary and a local HTTP server that
//! records what it receives.
#![allow(dead_code)]

pub mod prometheus;
pub mod slapd;
pub mod sshd;
pub mod tls;
pub mod webdriver;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A fixed key so tests never create key files outside their temp dir.
pub const TEST_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A `vigil` command using `db` as its store.
pub fn vigil(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.env("VIGIL_DB", db).env("VIGIL_SECRET_KEY", TEST_KEY).env("RUST_LOG", "warn");
    // A server whose test died (a panic, a kill) stops by itself instead of living on.
    cmd.env("VIGIL_EXIT_WITH_PARENT", std::process::id().to_string());
    cmd
}

/// Runs `vigil` with args and returns its output.
pub fn run(db: &Path, args: &[&str]) -> Output {
    vigil(db).args(args).output().expect("run vigil")
}

/// Creates an API token of `role` through the CLI and returns it.
pub fn token(db: &Path, role: &str) -> String {
    let out = run(db, &["token", "create", "--role", role]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Stores a secret through the CLI.
pub fn set_secret(db: &Path, name: &str, value: &str) {
    use std::io::Write;
    let mut child = vigil(db)
        .args(["secret", "set", name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// What the local server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Headers, lower-case names.
    pub headers: HashMap<String, String>,
    /// Body as JSON (null when empty or not JSON).
    pub body: Value,
    /// Body as text (a form, say).
    pub text: String,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// What the local server answers.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// Delay before answering.
    pub delay: Duration,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(body: Value) -> Self {
        Self { status: 200, body, delay: Duration::ZERO }
    }
}

type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A local HTTP server started by a test.
#[derive(Clone)]
pub struct Recorder {
    /// Base URL, like `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    /// Starts a server answering with `handler`.
    pub async fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state: (Handler, Arc<Mutex<Vec<Received>>>) = (Arc::new(handler), received.clone());
        let app = Router::new().fallback(answer).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url: format!("http://{addr}"), received }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests to paths starting with `prefix`.
    pub fn to(&self, prefix: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path.starts_with(prefix)).collect()
    }
}

async fn answer(State((handler, received)): State<(Handler, Arc<Mutex<Vec<Received>>>)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap_or_default();
    let query = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let rec = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
        at: std::time::Instant::now(),
    };
    // Recorded and answered under one lock, so the recorded order is the order the handler saw:
    // a handler that answers "the first request fails" fails the first one recorded.
    let reply = {
        let mut received = received.lock().unwrap();
        let reply = handler(&rec);
        received.push(rec);
        reply
    };
    if !reply.delay.is_zero() {
        // A slow endpoint: the delay is the reply's, what the test asked the recorder for.
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap();
    // A reply body `{"__headers": {...}, "body": ...}` sets response headers (Retry-After, say).
    let (headers, body) = match reply.body {
        Value::Object(mut m) if m.contains_key("__headers") => {
            let headers = m.remove("__headers").unwrap_or_default();
            (headers, m.remove("body").unwrap_or(Value::Null))
        }
        body => (Value::Null, body),
    };
    let mut response = match body {
        // A JSON string is sent as plain text, as Slack answers `ok`.
        Value::String(text) => (status, text).into_response(),
        body => (status, axum::Json(body)).into_response(),
    };
    for (k, v) in headers.as_object().into_iter().flatten() {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.as_str().unwrap_or_default().parse().unwrap(),
        );
    }
    response
}

/// Runs `vigil run` on a blocking thread so the test's own servers keep answering.
pub async fn run_async(db: PathBuf, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&db, &args)
    })
    .await
    .unwrap()
}

/// `vigil check ARGS --config CONFIG`: its exit code (-1 when killed) and what it printed
/// (stdout, then stderr).
pub fn check(db: &Path, config: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["--config", config.to_str().unwrap()]);
    let out = run(db, &all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// [`check`] of one monitor on a blocking thread, so the test's own servers keep answering.
pub async fn check_async(db: &Path, config: &Path, name: &str) -> (i32, String) {
    let (db, config, name) = (db.to_path_buf(), config.to_path_buf(), name.to_string());
    tokio::task::spawn_blocking(move || check(&db, &config, &[&name])).await.unwrap()
}

/// Parses stdout as JSON.
pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Finds a service binary for an integration test. When it is missing the test is skipped with a
/// visible message, unless `VIGIL_REQUIRE_SERVICES=1` (as CI sets it), where it fails.
pub fn service_binary(candidates: &[&str], what: &str) -> Option<PathBuf> {
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        let msg = format!("{what} is not installed (looked for {candidates:?})");
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
        }
        eprintln!("SKIPPED: {msg}; install it to run this test (see .ci/run)");
    }
    found
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills a child process when dropped, so a failing test leaves no server behind.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to `secs` for `done` (which may ask a server), looking every 100 ms; fails saying
/// `what` did not happen. Wait on a condition with this rather than a bare sleep.
#[allow(dead_code)]
pub async fn wait_until(secs: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Watches for `window` that `holds` stays true, looking every 100 ms, and fails at once saying
/// `what` when it does not: for what must *not* happen (no second page, nothing more sent), which
/// no condition can be waited on for. Use it in place of a sleep before such an assertion.
#[allow(dead_code)]
pub async fn stays(window: Duration, what: &str, mut holds: impl AsyncFnMut() -> bool) {
    let end = std::time::Instant::now() + window;
    loop {
        assert!(holds().await, "{what}");
        if std::time::Instant::now() >= end {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to 30 s for `done`, looking every 100 ms; fails saying `what` did not happen.
#[allow(dead_code)]
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config directory `dir/config` with one webhook notifier, `pager`, posting to `{hooks}/pager`.
#[allow(dead_code)]
pub fn pager_config(dir: &Path, hooks: &str) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::write(config.join("notifiers/pager.yaml"), format!("name: pager\ntype: webhook\nurl: {hooks}/pager\n"))
        .unwrap();
    config
}

/// Starts `vigil serve` on `config` with `db`, output discarded, plus any extra arguments.
pub fn serve(db: &Path, config: &Path, extra: &[&str]) -> std::process::Child {
    vigil(db)
        .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vigil serve")
}

/// Stops a process with SIGTERM (a graceful shutdown) and waits for it.
pub fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// `vigil serve` on `port`, once its API answers; returns the process and the API's base URL.
pub async fn serve_api(db: &Path, config: &Path, port: u16, extra: &[&str]) -> (std::process::Child, String) {
    serve_on(db, Some(config), port, extra).await
}

/// `vigil serve` without `--config` on `db` (a cluster node that runs the published copy), plus
/// any extra arguments, once its API answers; the process and the API's base URL.
#[allow(dead_code)]
pub async fn serve_without_config(db: &Path, extra: &[&str]) -> (KillOnDrop, String) {
    let (child, base) = serve_on(db, None, free_port(), extra).await;
    (KillOnDrop(child), base)
}

/// `vigil serve` on `port`, with `config` if given, once its API answers.
async fn serve_on(db: &Path, config: Option<&Path>, port: u16, extra: &[&str]) -> (std::process::Child, String) {
    let mut command = vigil(db);
    command.arg("serve");
    if let Some(config) = config {
        command.args(["--config", config.to_str().unwrap()]);
    }
    let child = command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vigil serve");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    (child, base)
}

/// Where `name` would be found on `PATH`, for [`service_binary`].
pub fn on_path(name: &str) -> Vec<String> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d}/{name}"))
        .collect()
}

/// Waits until `base/healthz` answers (20 s at most).
pub async fn wait_healthy(base: &str) {
    let http = vigil_connectors::http_client();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "vigil serve did not answer on {base}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every instance of `workflow` (at most 100,000), newest first.
pub async fn instances_of(store: &dyn vigil_store::Store, workflow: &str) -> Vec<vigil_store::InstanceSummary> {
    // Page by page: a long chaos run makes more instances than one listing returns.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let filter = vigil_store::InstanceFilter {
            workflow_name: Some(workflow.into()),
            limit: 50_000,
            after: after.clone(),
            ..Default::default()
        };
        let page = store.list_instances(&filter).await.unwrap_or_default();
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id.clone()));
        let full = page.len() == 50_000;
        all.extend(page);
        if !full {
            break;
        }
    }
    all
}

/// Each schedule in `schedules` ran each of its fire times exactly once: `fires` claims, every one
/// started, every one naming an instance of `instances`.
pub async fn assert_each_fire_once(
    store: &dyn vigil_store::Store,
    schedules: impl IntoIterator<Item = String>,
    fires: usize,
    instances: &[vigil_store::InstanceSummary],
) {
    let ids: std::collections::HashSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
    for name in schedules {
        let claims = store.fires(&name, 1_000).await.unwrap();
        assert_eq!(claims.len(), fires, "schedule {name}: {claims:?}");
        for c in &claims {
            assert_eq!(c.status, vigil_store::FireStatus::Started, "{c:?}");
            assert!(ids.contains(c.instance_id.as_str()), "fire {c:?} has no instance");
        }
    }
}

/// `(version, cluster)` of the local PostgreSQL cluster on port 5432 that `pg_ctlcluster` manages,
/// for tests that restart it. When there is none the test is skipped visibly (`why` says what it
/// would do), unless `VIGIL_REQUIRE_SERVICES=1`, where it fails.
pub fn restartable_postgres(why: &str) -> Option<(String, String)> {
    let found = Command::new("pg_lsclusters").arg("--no-header").output().ok().and_then(|out| {
        String::from_utf8_lossy(&out.stdout).lines().find_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols.len() >= 3 && cols[2] == "5432").then(|| (cols[0].to_string(), cols[1].to_string()))
        })
    });
    if found.is_none() {
        let msg = "no local PostgreSQL cluster on port 5432 managed by pg_ctlcluster";
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
        }
        eprintln!("SKIPPED: {msg}; {why}");
    }
    found
}

/// Waits (up to 15 s) until `nodes` nodes hold the partitions' leases between them.
#[allow(dead_code)]
pub async fn wait_for_lease_owners(store: &dyn vigil_store::Store, nodes: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let owners: std::collections::HashSet<String> =
            store.leases().await.unwrap().into_iter().filter_map(|l| l.owner).collect();
        if owners.len() == nodes {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the partitions were not shared by {nodes} nodes: {owners:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Imports `examples/robopager/checklist.yaml` (seed 001's README example, verbatim) with an
/// etl.cfg of `etl` into `dir/config` through `vigil import robopager`; the command's output and
/// the config directory.
pub fn import_robopager(db: &Path, dir: &Path, etl: &str) -> (Output, PathBuf) {
    let checklist = dir.join("checklist.yaml");
    std::fs::copy(root().join("examples/robopager/checklist.yaml"), &checklist).unwrap();
    let etl_file = dir.join("etl.cfg");
    std::fs::write(&etl_file, etl).unwrap();
    let config = dir.join("config");
    let args = [
        "import",
        "robopager",
        checklist.to_str().unwrap(),
        "--etl-cfg",
        etl_file.to_str().unwrap(),
        "--out",
        config.to_str().unwrap(),
    ];
    let out = run(db, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (out, config)
}

/// `minutes` ago as batchy writes its times: naive UTC, `YYYY-MM-DDTHH:MM:SS.ffffff`.
pub fn batchy_time(minutes: i64) -> String {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes);
    at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%dT%H:%M:%S.000000").to_string()
}

/// Reads `/api/workflow/{id}` until `done` holds for it (at most 15 s), and returns it.
#[allow(dead_code)]
pub async fn until_workflow(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let wf: serde_json::Value =
            http.get(format!("{base}/api/workflow/{id}")).send().await.unwrap().json().await.unwrap();
        if done(&wf) {
            return wf;
        }
        assert!(std::time::Instant::now() < deadline, "{id}: {wf}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether the MariaDB client's setup ran; when not, the test is skipped visibly (or fails under
/// `VIGIL_REQUIRE_SERVICES=1`).
pub fn mariadb_reached(made: &std::process::Output) -> bool {
    if made.status.success() {
        return true;
    }
    let msg = format!("MariaDB is not reachable at 127.0.0.1:3306: {}", String::from_utf8_lossy(&made.stderr));
    assert!(std::env::var("VIGIL_REQUIRE_SERVICES").map_or(true, |v| v != "1"), "VIGIL_REQUIRE_SERVICES=1 but {msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// A broker's URL from `env`, or `default`, when it answers on its port. When it does not, the
/// test is skipped with a visible message, unless `VIGIL_REQUIRE_SERVICES=1` (CI).
#[allow(dead_code)]
pub fn broker_url(name: &str, env: &str, default: &str) -> Option<String> {
    let url = std::env::var(env).unwrap_or_else(|_| default.to_string());
    let parsed = reqwest::Url::parse(&url).expect("a broker URL");
    let addr = format!("{}:{}", parsed.host_str().expect("a host"), parsed.port().expect("a port"));
    let up = std::net::TcpStream::connect_timeout(&addr.parse().expect("an address"), Duration::from_secs(1)).is_ok();
    if !up {
        let msg = format!("{name} is not running at {addr} (set {env})");
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
        }
        eprintln!("SKIPPED: {msg}; start it to run this test (see .ci/run)");
        return None;
    }
    Some(url)
}

/// Waits (up to 30 s) for `child`, armed with `VIGIL_CRASH_AT=point`, to abort there (SIGABRT);
/// kills it and fails the test when it does not.
#[allow(dead_code)]
pub async fn aborted_at(child: &mut std::process::Child, point: &str) {
    use std::os::unix::process::ExitStatusExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("vigil never reached crash point {point}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.signal(), Some(6), "vigil aborted at {point}: {status:?}");
}

/// Every broker the event tests use (RabbitMQ, NATS with JetStream, Mosquitto, Redis), or `None`
/// (skipped with a message, unless `VIGIL_REQUIRE_SERVICES=1`) when one is not running.
#[allow(dead_code)]
pub fn running_brokers() -> Option<vigil_connectors::sinks::Brokers> {
    Some(vigil_connectors::sinks::Brokers {
        amqp: Some(broker_url("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?),
        nats: Some(broker_url("NATS", "VIGIL_TEST_NATS_URL", "nats://127.0.0.1:4222")?),
        mqtt: Some(broker_url("Mosquitto", "VIGIL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")?),
        redis: Some(broker_url("Redis", "VIGIL_TEST_REDIS_URL", "redis://127.0.0.1:6379")?),
    })
}

/// `--amqp-url ... --redis-url ...` for the brokers `b` has.
#[allow(dead_code)]
pub fn flags_for(b: &vigil_connectors::sinks::Brokers) -> Vec<String> {
    let pairs = [("--amqp-url", &b.amqp), ("--nats-url", &b.nats), ("--mqtt-url", &b.mqtt), ("--redis-url", &b.redis)];
    pairs.iter().filter_map(|(f, u)| Some([f.to_string(), u.as_ref()?.clone()])).flatten().collect()
}

/// `vigil serve` on `port` with `config` and the brokers `b`, armed to abort at crash point
/// `point` when given; output dropped. Does not wait for it to answer.
#[allow(dead_code)]
pub fn serve_armed(
    db: &Path,
    config: &Path,
    b: &vigil_connectors::sinks::Brokers,
    port: u16,
    point: Option<&str>,
) -> std::process::Child {
    let mut cmd = vigil(db);
    cmd.args(["serve", "--config", config.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
        .args(flags_for(b))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(point) = point {
        cmd.env("VIGIL_CRASH_AT", point);
    }
    cmd.spawn().unwrap()
}

/// axe-core's script, from where `.ci/run` installs it (`npm install --prefix /opt/vigil-test-npm
/// axe-core`, or `VIGIL_AXE_CORE` naming `axe.min.js`); `None`, with a note, when it is absent.
#[allow(dead_code)]
pub fn axe_core() -> Option<String> {
    let path = std::env::var("VIGIL_AXE_CORE")
        .unwrap_or_else(|_| "/opt/vigil-test-npm/node_modules/axe-core/axe.min.js".to_string());
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(e) => {
            let why = format!("axe-core is not at {path} ({e}): npm install --prefix /opt/vigil-test-npm axe-core");
            assert!(std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(), "VIGIL_REQUIRE_SERVICES is set but {why}");
            eprintln!("SKIPPED the accessibility check: {why}");
            None
        }
    }
}

/// Starts a real SMTP server (aiosmtpd, Debian's python3-aiosmtpd) printing every message it
/// receives to `mailbox`; the server and its port, once it listens. `None` (skipped, with a
/// note) when aiosmtpd is not installed, a failure under `VIGIL_REQUIRE_SERVICES=1`.
#[allow(dead_code)]
pub async fn smtp_capture(mailbox: &Path) -> Option<(KillOnDrop, u16)> {
    let installed = Command::new("python3").args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        let msg = "the SMTP server aiosmtpd is not installed (Debian python3-aiosmtpd)";
        assert!(
            std::env::var("VIGIL_REQUIRE_SERVICES").map(|v| v != "1").unwrap_or(true),
            "VIGIL_REQUIRE_SERVICES=1 but {msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = KillOnDrop(
        Command::new("python3")
            .args(["-u", "-m", "aiosmtpd", "-n", "-l", &listen, "-c", "aiosmtpd.handlers.Debugging", "stdout"])
            .stdout(std::fs::File::create(mailbox).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the SMTP server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some((server, port))
}

/// A config directory `dir/config` for single sign-on tests: monitors `pay-api` and
/// `search-index`, teams `pay` and `search` that give their provider groups (`pay-eng`,
/// `search-eng`) an editor's role on their monitors, and the identity provider file `provider`.
#[allow(dead_code)]
pub fn sso_config(dir: &Path, provider: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "teams", "identity-providers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let beat = |name: &str| format!("- name: {name}\n  every: 1h\n  heartbeat:\n    grace: 1h\n");
    std::fs::write(config.join("monitors/m.yaml"), beat("pay-api") + &beat("search-index")).unwrap();
    std::fs::write(
        config.join("teams/pay.yaml"),
        "name: pay\ngroups:\n  pay-eng: editor\nowns:\n  monitors: [\"pay-*\"]\n",
    )
    .unwrap();
    std::fs::write(
        config.join("teams/search.yaml"),
        "name: search\ngroups:\n  search-eng: editor\nowns:\n  monitors: [\"search-*\"]\n",
    )
    .unwrap();
    std::fs::write(config.join("identity-providers/corp.yaml"), provider).unwrap();
    config
}
