//! The bad-input catalogue: broken definitions (`catalogue/definitions/`, a file or a config
//! directory each) and broken API requests (`catalogue/api/*.http`). Each one's answer is
//! snapshotted (`catalogue/snapshots/`), must be a located error (or, for a definition that only
//! earns warnings, a warning), and must leave the stored state as it was.
//!
//! Add a case by adding a file; `INSTA_UPDATE=always cargo test -p vigil --test it catalogue::` writes
//! its snapshot for review.

use crate::support;

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalogue").join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().to_string()
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "../catalogue/snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name.to_string(), text);
    });
}

/// `vigil validate` on a case, from the crate's directory so paths print relative. Chromium is
/// named (as the crate's `Cargo.toml`, a file that is always there and that no build replaces
/// while the tests run) so that what a browser check's case prints does not depend on whether
/// the machine has Chromium installed.
fn validate(case: &Path, db: &Path) -> (i32, String) {
    let rel = case.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
    let out = vigil(db)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("VIGIL_CATALOGUE_UNSET")
        .env("VIGIL_CHROMIUM", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(["validate", rel.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn broken_definitions_are_refused_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    set_secret(&db, "hook_token", "a-token");
    let cases = cases("definitions");
    assert!(cases.len() >= 100, "the catalogue keeps at least 100 broken definitions: {}", cases.len());
    for case in cases {
        let (code, out) = validate(&case, &db);
        let name = stem(&case);
        match code {
            1 => assert!(out.contains(": error: "), "{name}: exit 1 without an error:\n{out}"),
            0 => assert!(out.contains(": warning: "), "{name}: accepted without a word:\n{out}"),
            other => panic!("{name}: exit {other}:\n{out}"),
        }
        // Every line that reports a problem names its file and line.
        for line in out.lines().filter(|l| l.contains(": error: ") || l.contains(": warning: ")) {
            let located = line.split(':').nth(1).is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n > 0));
            assert!(located, "{name}: not located: {line}");
        }
        snapshot(&format!("definition-{name}"), &format!("exit {code}\n{out}"));
    }
}

/// What the API shows of the stored state: definitions, schedules, notifiers, instances,
/// secrets, silences and alerts.
async fn state(base: &str) -> String {
    let http = vigil_connectors::http_client();
    let mut out = String::new();
    for path in [
        "/api/metadata/workflow",
        "/api/metadata/taskdefs",
        "/api/v1/schedules",
        "/api/v1/notifiers",
        "/api/v1/instances?limit=1000",
        "/api/v1/secrets",
        "/api/v1/silences",
        "/api/v1/alerts",
    ] {
        let body = http.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
        out.push_str(&format!("{path}\n{body}\n"));
    }
    out
}

fn write_config(dir: &Path) {
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let set = json!({"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE", "inputParameters": {"x": 1}});
    let workflows = json!([
        {"name": "quick", "tasks": [set]},
        {"name": "waiter", "tasks": [{"name": "go", "taskReferenceName": "go", "type": "WAIT", "inputParameters": {"event": "go"}}]}
    ]);
    std::fs::write(dir.join("workflows/all.json"), workflows.to_string()).unwrap();
    let yearly = json!({"name": "yearly", "cronExpression": "0 0 1 1 *", "zoneId": "UTC", "startWorkflowRequest": {"name": "quick"}});
    std::fs::write(dir.join("schedules/yearly.json"), yearly.to_string()).unwrap();
    std::fs::write(dir.join("notifiers/hook.yaml"), "name: hook\ntype: webhook\nurl: http://127.0.0.1:9/hook\n")
        .unwrap();
}

/// A server with a running instance (`known-1`), an ended one (`done-1`) and two API-written
/// workflows (`calls-y` starts `y`).
async fn catalogue_server(dir: &Path) -> (KillOnDrop, String) {
    let config = dir.join("config");
    write_config(&config);
    let (child, base) = serve_api(&dir.join("v.db"), &config, free_port(), &[]).await;
    let child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let post = |path: String, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    let leaf = json!({"name": "y", "tasks": [{"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    let caller = json!({"name": "calls-y", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "y"}}]});
    for doc in [leaf, caller] {
        assert!(post("/api/metadata/workflow".into(), doc).await.unwrap().status().is_success());
    }
    assert!(
        post("/api/v1/workflows/waiter/instances?instanceId=known-1".into(), json!({}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert!(
        post("/api/v1/workflows/quick/instances?instanceId=done-1".into(), json!({}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http.get(format!("{base}/api/v1/instances/done-1")).send().await.unwrap().status() != StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "done-1 did not complete");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (child, base)
}

/// A request file: `METHOD PATH`, header lines, a blank line, the body. A body
/// `@repeat N C` is N copies of the character C.
fn parse_request(text: &str) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let (method, path) = lines.next().unwrap().split_once(' ').unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let body = body.strip_suffix('\n').unwrap_or(body);
    let body = match body.strip_prefix("@repeat ").and_then(|r| r.split_once(' ')) {
        Some((n, c)) => c.repeat(n.parse().unwrap()).into_bytes(),
        None => body.as_bytes().to_vec(),
    };
    (method.to_string(), path.to_string(), headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_api_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = catalogue_server(dir.path()).await;
    let http = vigil_connectors::http_client();
    let cases = cases("api");
    assert!(cases.len() >= 100, "the catalogue keeps at least 100 broken requests: {}", cases.len());
    let before = state(&base).await;
    for case in cases {
        let name = stem(&case);
        let (method, path, headers, body) = parse_request(&std::fs::read_to_string(&case).unwrap());
        let mut req = http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{base}{path}"));
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let res = req.body(body).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_client_error(), "{name}: {method} {path} answered {status}: {text}");
        let shown = match serde_json::from_str::<Value>(&text) {
            Ok(v) => {
                assert!(v["code"].is_string() && v["message"].is_string(), "{name}: not {{code, message}}: {text}");
                serde_json::to_string_pretty(&v).unwrap()
            }
            Err(_) => panic!("{name}: the answer is not JSON: {text}"),
        };
        let shown_path = if path.len() > 120 { format!("{}...", &path[..120]) } else { path.clone() };
        snapshot(&format!("api-{name}"), &format!("{method} {shown_path}\n{}\n{shown}", status.as_u16()));
        assert_eq!(state(&base).await, before, "{name} changed the stored state");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_definitions_through_the_api_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = catalogue_server(dir.path()).await;
    let http = vigil_connectors::http_client();
    let before = state(&base).await;
    let db = dir.path().join("validate.db");
    // Names of other definitions are checked when a whole directory loads; the API takes
    // definitions one at a time, in any order, as Conductor's does.
    const ORDER_FREE: [&str; 2] = ["failure-workflow-undefined", "sub-workflow-undefined"];
    let mut sent = 0;
    for case in cases("definitions").into_iter().filter(|c| c.is_file()) {
        let name = stem(&case);
        if validate(&case, &db).0 == 0 || ORDER_FREE.iter().any(|o| name.ends_with(o)) {
            continue; // warnings only, or a reference the API leaves for later: accepted there too
        }
        let text = std::fs::read_to_string(&case).unwrap();
        // A list goes to the list route; text that does not parse is sent as it is.
        let (method, body) = match vigil_core::config::parse_text(&case, &text) {
            Ok(v @ Value::Array(_)) => ("PUT", v.to_string().into_bytes()),
            Ok(v) => ("POST", v.to_string().into_bytes()),
            Err(_) => ("POST", text.into_bytes()),
        };
        let path = "/api/metadata/workflow";
        let res = http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(status.is_client_error(), "{name}: {status}: {}", res.text().await.unwrap());
        assert_eq!(state(&base).await, before, "{name} changed the stored state");
        sent += 1;
    }
    assert!(sent >= 60, "{sent} definitions went through the API");
}
