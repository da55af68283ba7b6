//! Conductor's own Python SDK (conductor-python, from PyPI) runs a workflow with a SIMPLE task
//! against `vigil serve`: it registers definitions through its metadata client, runs a worker
//! through its task handler, starts the workflow through its workflow client, and checks the
//! worker's output. Auth is on, with a vigil token's id and secret as the SDK's key pair.

use crate::support;

use std::process::Command;

use support::*;

/// Whether `python3` can import the SDK; otherwise the test is skipped visibly (or fails when
/// `VIGIL_REQUIRE_SERVICES=1`).
fn sdk_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import conductor.client.automator.task_handler"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = "conductor-python is not installed for python3 (pip install conductor-python)";
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

/// Runs `script` (under `tests/conductor/`) with `args` against a fresh `vigil serve` with auth on,
/// a token of `role` as the SDK's key pair; returns its stdout and stderr once it succeeded.
async fn run_sdk(script: &str, args: &[&str], role: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    let out = run(&db, &["token", "create", "--role", role, "--name", "conductor-sdk"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut parts = token.splitn(3, '_').skip(1);
    let (key, secret) = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let child = KillOnDrop(child);
    let script = root().join("crates/cli/tests/conductor").join(script);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args(args)
            .env("CONDUCTOR_SERVER_URL", format!("{base}/api"))
            .env("CONDUCTOR_AUTH_KEY", key)
            .env("CONDUCTOR_AUTH_SECRET", secret)
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    drop(child);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the SDK flow failed:\n{stdout}\n{stderr}");
    (stdout.into_owned(), stderr.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_sdk_registers_runs_a_worker_and_completes_a_workflow() {
    if !sdk_available() {
        return;
    }
    let (stdout, _) = run_sdk("sdk_flow.py", &[], "write").await;
    assert!(stdout.contains("OK: workflow output {'greeting': 'hello vigil'}"), "{stdout}");
}

/// Runs one flow of `sdk_clients.py` (one conductor-python client, unchanged) with an admin token
/// (the secret client needs one).
async fn client_flow(which: &str) {
    if !sdk_available() {
        return;
    }
    let (stdout, _) = run_sdk("sdk_clients.py", &[which], "admin").await;
    assert!(stdout.contains(&format!("OK: {which}")), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_metadata_client_works_unchanged() {
    client_flow("metadata").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_workflow_client_works_unchanged() {
    client_flow("workflow").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_task_client_works_unchanged() {
    client_flow("task").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_scheduler_client_works_unchanged() {
    client_flow("scheduler").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_python_secret_client_works_unchanged() {
    client_flow("secret").await;
}
